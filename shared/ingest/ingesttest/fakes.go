// Package ingesttest provides in-memory fakes of the ingest ports, for the
// handler's tests and for end-to-end tests that need no AWS, and a
// conformance suite every Deduper implementation must pass.
package ingesttest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
)

// Connections is an in-memory ingest.Connections. Err, when set, is
// returned by every call (a store outage).
type Connections struct {
	mu    sync.Mutex
	byID  map[string]order.Connection
	Err   error
	Calls int
}

var _ ingest.Connections = (*Connections)(nil)

// NewConnections returns Connections holding conns.
func NewConnections(conns ...order.Connection) *Connections {
	c := &Connections{byID: make(map[string]order.Connection, len(conns))}
	for _, conn := range conns {
		c.byID[conn.ID] = conn
	}
	return c
}

// Put adds or replaces a connection.
func (c *Connections) Put(conn order.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID[conn.ID] = conn
}

// Connection returns the connection with id, or an error wrapping
// order.ErrNotFound.
func (c *Connections) Connection(_ context.Context, id string) (order.Connection, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Calls++
	if c.Err != nil {
		return order.Connection{}, c.Err
	}
	conn, ok := c.byID[id]
	if !ok {
		return order.Connection{}, fmt.Errorf("connection %q: %w", id, order.ErrNotFound)
	}
	return conn, nil
}

// Secrets is an in-memory ingest.Secrets, name to value. Err, when set, is
// returned by every call.
type Secrets struct {
	mu     sync.Mutex
	byName map[string]string
	Err    error
}

var _ ingest.Secrets = (*Secrets)(nil)

// NewSecrets returns Secrets holding byName.
func NewSecrets(byName map[string]string) *Secrets {
	s := &Secrets{byName: make(map[string]string, len(byName))}
	for k, v := range byName {
		s.byName[k] = v
	}
	return s
}

// Put adds or replaces a secret.
func (s *Secrets) Put(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byName[name] = value
}

// Secret returns the secret called name, or an error wrapping
// order.ErrNotFound.
func (s *Secrets) Secret(_ context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return "", s.Err
	}
	v, ok := s.byName[name]
	if !ok {
		return "", fmt.Errorf("secret %q: %w", name, order.ErrNotFound)
	}
	return v, nil
}

// Deduper is an in-memory ingest.Deduper with the semantics the DynamoDB one
// must have: a confirmed key is a Duplicate until its ttl passes; an
// unconfirmed claim is InFlight until InFlightWindow passes, then stale and
// taken over. Now is its clock (time.Now when nil). ClaimErr, ConfirmErr and
// ReleaseErr, when set, are returned by those calls.
type Deduper struct {
	Now            func() time.Time
	InFlightWindow time.Duration // default 1 minute

	ClaimErr, ConfirmErr, ReleaseErr error

	mu   sync.Mutex
	keys map[string]dedupEntry
	// Released counts successful Release calls per key.
	Released map[string]int
}

type dedupEntry struct {
	confirmed bool
	claimedAt time.Time
	expires   time.Time
	event     order.Event // as confirmed
}

var _ ingest.Deduper = (*Deduper)(nil)

// NewDeduper returns an empty Deduper.
func NewDeduper() *Deduper {
	return &Deduper{keys: map[string]dedupEntry{}, Released: map[string]int{}}
}

func (d *Deduper) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Claim implements ingest.Deduper.
func (d *Deduper) Claim(_ context.Context, key string, ttl time.Duration) (ingest.ClaimResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ClaimErr != nil {
		return 0, d.ClaimErr
	}
	now := d.now()
	window := d.InFlightWindow
	if window <= 0 {
		window = time.Minute
	}
	if e, ok := d.keys[key]; ok && now.Before(e.expires) {
		if e.confirmed {
			return ingest.Duplicate, nil
		}
		if now.Before(e.claimedAt.Add(window)) {
			return ingest.InFlight, nil
		}
	}
	d.keys[key] = dedupEntry{claimedAt: now, expires: now.Add(ttl)}
	return ingest.Claimed, nil
}

// Confirm implements ingest.Deduper.
func (d *Deduper) Confirm(_ context.Context, key string, ev order.Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ConfirmErr != nil {
		return d.ConfirmErr
	}
	e, ok := d.keys[key]
	if !ok {
		return fmt.Errorf("confirm %q: no claim: %w", key, order.ErrNotFound)
	}
	e.confirmed, e.event = true, ev
	d.keys[key] = e
	return nil
}

// Event returns the event confirmed under key, and whether there is one.
func (d *Deduper) Event(key string) (order.Event, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.keys[key]
	return e.event, ok && e.confirmed
}

// Release implements ingest.Deduper.
func (d *Deduper) Release(_ context.Context, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ReleaseErr != nil {
		return d.ReleaseErr
	}
	if e, ok := d.keys[key]; ok && !e.confirmed {
		delete(d.keys, key)
	}
	d.Released[key]++
	return nil
}

// Len returns how many keys the Deduper holds.
func (d *Deduper) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.keys)
}

// State reports what the Deduper holds for key: "", "claimed" or "confirmed".
func (d *Deduper) State(key string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.keys[key]
	switch {
	case !ok:
		return ""
	case e.confirmed:
		return "confirmed"
	}
	return "claimed"
}

// Queue is an in-memory ingest.Queue. Err, when set, is returned by Enqueue
// and nothing is queued.
type Queue struct {
	mu     sync.Mutex
	events []order.Event
	Err    error
}

var _ ingest.Queue = (*Queue)(nil)

// Enqueue implements ingest.Queue.
func (q *Queue) Enqueue(_ context.Context, e order.Event) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.Err != nil {
		return q.Err
	}
	q.events = append(q.events, e)
	return nil
}

// Events returns a copy of what was queued, oldest first.
func (q *Queue) Events() []order.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]order.Event(nil), q.events...)
}

// Reset empties the queue (benchmarks reuse one).
func (q *Queue) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.events = q.events[:0]
}

// EncodingQueue is an ingest.Queue that encodes each event as the SQS
// adapter does (order.EncodeMessage) and keeps only counts, so a benchmark
// pays the real path's marshalling without a fake's memory growing with
// every iteration. It builds no message attributes and no send input, which
// the adapter (shared/sqsqueue) also does before its send: infra/benchrun
// measures the webhook over the adapter itself. Err, when set, is returned
// by Enqueue.
type EncodingQueue struct {
	mu    sync.Mutex
	Err   error
	sent  int
	bytes int64
}

var _ ingest.EncodedQueue = (*EncodingQueue)(nil)

// Enqueue implements ingest.Queue. It returns EncodeMessage's error (an
// event too large wraps order.ErrEventTooLarge), as the adapter does.
func (q *EncodingQueue) Enqueue(_ context.Context, e order.Event) error {
	if q.Err != nil {
		return q.Err
	}
	body, err := order.EncodeMessage(e)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent++
	q.bytes += int64(len(body))
	return nil
}

// EnqueueEncoded implements ingest.EncodedQueue: it counts body, the
// event's encoding, without encoding it again, as the adapter does.
func (q *EncodingQueue) EnqueueEncoded(_ context.Context, _ order.Event, body string) error {
	if q.Err != nil {
		return q.Err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent++
	q.bytes += int64(len(body))
	return nil
}

// Sent returns how many events were encoded and the bytes of their bodies.
func (q *EncodingQueue) Sent() (n int, bytes int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sent, q.bytes
}
