// Package redrive is a queue worker's memory of the messages it failed for
// good and left on their queue, so that the queue's redrive policy moves
// them to the DLQ (where SQS records their source queue, and the console's
// default "Redrive to source queue(s)" works).
package redrive

import "sync"

// maxFailing bounds the memory; past it, it starts over.
const maxFailing = 10000

// Failing remembers message ids failed for good, with the receive count of
// their final failure. It only saves work: a message received again by this
// instance goes back at once, without being run again; one another
// instance receives is run again, which the worker must make harmless.
// The zero value is not ready; use NewFailing. It is safe for concurrent
// use.
type Failing struct {
	mu  sync.Mutex
	ids map[string]int // message id -> receive count of its final failure
}

// NewFailing returns an empty memory.
func NewFailing() *Failing { return &Failing{ids: map[string]int{}} }

// Remember records that message id failed for good at receive attempt.
func (f *Failing) Remember(id string, attempt int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ids) >= maxFailing {
		f.ids = map[string]int{}
	}
	f.ids[id] = attempt
}

// Forget drops message id (it ended otherwise after all).
func (f *Failing) Forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ids, id)
}

// FailedBefore reports whether message id failed for good at a receive
// before this one. A message redriven from the DLQ is a new message (a new
// id, its receive count starting over), so it runs again.
func (f *Failing) FailedBefore(id string, attempt int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.ids[id]
	return ok && n < attempt
}
