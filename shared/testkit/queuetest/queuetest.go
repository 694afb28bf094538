// Package queuetest is an in-memory sync queue for the tests of the use
// cases that enqueue order events (the refresh, the merchant API), so that
// they need no SQS emulator. What goes on the queue travels as JSON, as it
// does on SQS: a test reads back what the sync would receive.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ordersync/ordersync/shared/order"
)

// Queue records enqueued events. Err, when set, is returned by Enqueue and
// nothing is queued (an outage). The zero Queue is empty and ready. It is
// safe for concurrent use.
type Queue struct {
	mu     sync.Mutex
	bodies []string
	Err    error
}

// Enqueue queues e, as the body order.EncodeMessage writes.
func (q *Queue) Enqueue(_ context.Context, e order.Event) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.Err != nil {
		return q.Err
	}
	b, err := order.EncodeMessage(e)
	if err != nil {
		return fmt.Errorf("queuetest: %w", err)
	}
	q.bodies = append(q.bodies, b)
	return nil
}

// EnqueueBatch queues events in their order, as Enqueue does each. Err,
// when set, fails the whole batch and nothing is queued; an event too
// large for a message is left out and reported, the others are queued (as
// SQS's SendMessageBatch answers per entry).
func (q *Queue) EnqueueBatch(_ context.Context, es []order.Event) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.Err != nil {
		return q.Err
	}
	var errs []error
	for i, e := range es {
		b, err := order.EncodeMessage(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("queuetest: event %d (%s): %w", i, e.SourceEventID, err))
			continue
		}
		q.bodies = append(q.bodies, b)
	}
	return errors.Join(errs...)
}

// Take returns every queued event, oldest first, and empties the queue (as
// a consumer receiving and deleting them would).
func (q *Queue) Take() ([]order.Event, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]order.Event, 0, len(q.bodies))
	for _, b := range q.bodies {
		e, err := order.DecodeMessage(b)
		if err != nil {
			return nil, fmt.Errorf("queuetest: message %.200s: %w", b, err)
		}
		out = append(out, e)
	}
	q.bodies = nil
	return out, nil
}

// Len returns how many events wait on the queue.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.bodies)
}
