// Package storefronttest holds what every storefront connector's tests
// share: the conformance suite each connector runs against its fake
// (RunConformance, as go-cloud's drivertest), and the fault switch and call
// log the platform fakes embed.
package storefronttest

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Fault is a failure a fake answers with instead of doing its work.
type Fault struct {
	// Status is the HTTP status to answer (429, 503, 401, …). Zero answers
	// normally, after Delay.
	Status int
	// RetryAfter is, with a 429, the delay the fake asks for, written in the
	// platform's own header.
	RetryAfter time.Duration
	// Count is how many requests the fault applies to. Zero means every
	// request until the fault is replaced.
	Count int
	// Delay holds each faulted answer back this long, or until the client
	// gives up, whichever comes first.
	Delay time.Duration
}

// Call is one request a fake received. Credentials are never recorded.
type Call struct {
	Method string
	Path   string
	// Query is the raw URL query.
	Query string
	// Operation is the GraphQL root field, for GraphQL fakes.
	Operation string
	// Body is the request body as received.
	Body string
}

// Switch is the fault switch and call log a fake embeds. Its zero value is
// ready to use and it is safe for concurrent use.
type Switch struct {
	mu    sync.Mutex
	fault Fault
	left  int // requests the fault still applies to; -1 for all
	calls []Call
}

// SetFault makes the fake answer as f says, for f.Count requests (every
// request when f.Count is zero). SetFault(Fault{}) clears it.
func (s *Switch) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
	s.left = f.Count
	if f.Count == 0 {
		s.left = -1
	}
}

// Calls returns a copy of the requests received so far, oldest first.
func (s *Switch) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Record appends c to the call log.
func (s *Switch) Record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// Take returns the fault that applies to the current request, consuming
// one of its count, and whether there is one.
func (s *Switch) Take() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left == 0 || (s.fault == Fault{}) {
		return Fault{}, false
	}
	if s.left > 0 {
		s.left--
	}
	return s.fault, true
}

// Apply takes the current fault, if any, and acts on it: it waits out the
// delay (returning true if the client gave up meanwhile), then, for a
// fault with a status, calls write to answer in the platform's own words
// and returns true. It returns false when the request should be served
// normally.
func (s *Switch) Apply(w http.ResponseWriter, r *http.Request, write func(w http.ResponseWriter, f Fault)) bool {
	f, ok := s.Take()
	if !ok {
		return false
	}
	if f.Delay > 0 && !Wait(r.Context(), f.Delay) {
		return true // the client is gone; nothing to answer
	}
	if f.Status == 0 {
		return false
	}
	write(w, f)
	return true
}

// Wait blocks for d or until ctx is done, and reports whether the whole
// delay passed.
func Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
