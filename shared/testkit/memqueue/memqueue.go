// Package memqueue is an in-memory stand-in for an SQS standard queue and
// its Lambda event source mapping, for use-case tests and the soak: it
// keeps SQS's delivery semantics (visibility timeouts, receive counts,
// delays, redrive to a dead-letter queue after maxReceiveCount) so the
// sync's retry paths run as they do on AWS, without an emulator.
//
// It implements the producer side (Enqueue, Send, Resend), the receiving
// function's side (RetryIn) and, through Mapping, the event source mapping
// (receive a batch, invoke, delete what did not fail).
package memqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
)

// Options configure a queue. Zero fields take the defaults.
type Options struct {
	// Visibility is the queue's visibility timeout (30 s).
	Visibility time.Duration
	// MaxReceiveCount and DLQ are the redrive policy: a message received
	// MaxReceiveCount times and not deleted moves to DLQ when it would be
	// received once more. No DLQ: messages are never moved.
	MaxReceiveCount int
	DLQ             *Queue
	// Faults, when set, is asked before each operation ("send",
	// "visibility", "receive"); a non-nil answer fails it, as an SQS
	// outage would.
	Faults func(op string) error
	Now    func() time.Time
}

// Message is a message as the queue holds it.
type Message struct {
	ID         string
	Body       string
	Attributes map[string]string
	// Receives is the message's ApproximateReceiveCount.
	Receives int
	// Source names the queue a dead-lettered message was moved from by
	// the redrive policy ("" for one sent straight to the queue).
	Source string
	// VisibleAt is when a receive may next return the message: the end
	// of its delay, or of its visibility timeout once received (SQS does
	// not show it; a test reads a retry's timing from it). Set only on
	// the copies Messages returns.
	VisibleAt time.Time
}

type entry struct {
	Message
	visibleAt    time.Time
	firstReceive time.Time
	receipt      string
}

// Queue is one in-memory queue. It is safe for concurrent use.
type Queue struct {
	name string
	opts Options
	mu   sync.Mutex
	msgs map[string]*entry // by message id
	fifo []string          // message ids in send order, for fair receives
	seq  int
	sent int
}

// New returns an empty queue called name.
func New(name string, opts Options) *Queue {
	if opts.Visibility <= 0 {
		opts.Visibility = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Queue{name: name, opts: opts, msgs: map[string]*entry{}}
}

// ErrUnknownReceipt is returned for a receipt handle the queue does not
// hold (the message was deleted, or received again since).
var ErrUnknownReceipt = errors.New("memqueue: receipt handle is not valid")

func (q *Queue) fault(op string) error {
	if q.opts.Faults == nil {
		return nil
	}
	if err := q.opts.Faults(op); err != nil {
		return fmt.Errorf("memqueue %s: %s: %w", q.name, op, err)
	}
	return nil
}

// Enqueue sends one order event, encoded as the sync queue's producers
// encode it (order.EncodeMessage).
func (q *Queue) Enqueue(ctx context.Context, e order.Event) error {
	body, err := order.EncodeMessage(e)
	if err != nil {
		return fmt.Errorf("memqueue: %w", err)
	}
	return q.Send(ctx, body, map[string]string{"connection": e.Connection, "source_event_id": e.SourceEventID})
}

// EnqueueBatch sends order events as Enqueue does each, in their order.
// Like SQS's SendMessageBatch it answers per event: one that fails (too
// large, a send fault) is reported in the error, and the others are sent.
func (q *Queue) EnqueueBatch(ctx context.Context, es []order.Event) error {
	var errs []error
	for i, e := range es {
		if err := q.Enqueue(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("event %d (%s): %w", i, e.SourceEventID, err))
		}
	}
	return errors.Join(errs...)
}

// Send sends a body with attributes. Like SQS, it refuses a message over
// order.MaxMessageBytes, attributes included.
func (q *Queue) Send(ctx context.Context, body string, attrs map[string]string) error {
	return q.send(ctx, body, attrs, 0, "")
}

// Resend sends body again as a new message, delivered after d.
func (q *Queue) Resend(ctx context.Context, body string, d time.Duration) error {
	return q.send(ctx, body, nil, d, "")
}

func (q *Queue) send(ctx context.Context, body string, attrs map[string]string, delay time.Duration, source string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := q.fault("send"); err != nil {
		return err
	}
	// SQS counts each attribute's name, type and value.
	n := len(body)
	for k, v := range attrs {
		if v != "" {
			n += len(k) + len("String") + len(v)
		}
	}
	if n > order.MaxMessageBytes {
		return fmt.Errorf("memqueue %s: send: a message of %d bytes, over SQS's %d", q.name, n, order.MaxMessageBytes)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	q.sent++
	id := q.name + "-" + strconv.Itoa(q.seq)
	a := make(map[string]string, len(attrs))
	for k, v := range attrs {
		if v != "" {
			a[k] = v
		}
	}
	q.msgs[id] = &entry{Message: Message{ID: id, Body: body, Attributes: a, Source: source}, visibleAt: q.opts.Now().Add(delay)}
	q.fifo = append(q.fifo, id)
	return nil
}

// RetryIn changes a received message's visibility timeout to d from now.
func (q *Queue) RetryIn(ctx context.Context, receipt string, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := q.fault("visibility"); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.byReceipt(receipt)
	if e == nil {
		return ErrUnknownReceipt
	}
	e.visibleAt = q.opts.Now().Add(d)
	return nil
}

// Delete deletes a received message.
func (q *Queue) Delete(receipt string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.byReceipt(receipt)
	if e == nil {
		return ErrUnknownReceipt
	}
	delete(q.msgs, e.ID)
	return nil
}

func (q *Queue) byReceipt(receipt string) *entry {
	id, _, _ := cutLast(receipt)
	e := q.msgs[id]
	if e == nil || e.receipt != receipt {
		return nil
	}
	return e
}

func cutLast(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '#' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Receive receives up to max visible messages, as SQS does: each becomes
// invisible for the queue's visibility timeout and counts one more
// receive; a message past the redrive policy's maxReceiveCount moves to
// the DLQ instead of being received.
func (q *Queue) Receive(max int) ([]events.SQSMessage, error) {
	if err := q.fault("receive"); err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.opts.Now()
	var out []events.SQSMessage
	keep := q.fifo[:0]
	for _, id := range q.fifo {
		e, ok := q.msgs[id]
		if !ok {
			continue // deleted
		}
		keep = append(keep, id)
		if len(out) >= max || e.visibleAt.After(now) {
			continue
		}
		if q.opts.DLQ != nil && q.opts.MaxReceiveCount > 0 && e.Receives >= q.opts.MaxReceiveCount {
			delete(q.msgs, id)
			keep = keep[:len(keep)-1]
			// A moved message keeps its attributes and counts, as SQS's
			// redrive does, and records its source queue.
			_ = q.opts.DLQ.send(context.Background(), e.Body, e.Attributes, 0, q.name)
			continue
		}
		e.Receives++
		if e.Receives == 1 {
			e.firstReceive = now
		}
		q.seq++
		e.receipt = id + "#" + strconv.Itoa(q.seq)
		e.visibleAt = now.Add(q.opts.Visibility)
		attrs := map[string]string{"ApproximateReceiveCount": strconv.Itoa(e.Receives),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(e.firstReceive.UnixMilli(), 10)}
		ma := map[string]events.SQSMessageAttribute{}
		for k, v := range e.Attributes {
			ma[k] = events.SQSMessageAttribute{DataType: "String", StringValue: &v}
		}
		out = append(out, events.SQSMessage{MessageId: id, ReceiptHandle: e.receipt, Body: e.Body, Attributes: attrs,
			MessageAttributes: ma, EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:local:000000000000:" + q.name})
	}
	q.fifo = keep
	return out, nil
}

// Counts reports the messages held: visible now, in flight (received and
// not yet visible again) or delayed, and in all.
func (q *Queue) Counts() (visible, invisible, total int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.opts.Now()
	for _, e := range q.msgs {
		if e.visibleAt.After(now) {
			invisible++
		} else {
			visible++
		}
	}
	return visible, invisible, len(q.msgs)
}

// Sent is how many messages were ever sent to the queue.
func (q *Queue) Sent() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sent
}

// Messages returns copies of every message held, in send order.
func (q *Queue) Messages() []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Message
	for _, id := range q.fifo {
		if e, ok := q.msgs[id]; ok {
			m := e.Message
			m.VisibleAt = e.visibleAt
			m.Attributes = make(map[string]string, len(e.Attributes))
			for k, v := range e.Attributes {
				m.Attributes[k] = v
			}
			out = append(out, m)
		}
	}
	return out
}

// Source is a queue the mapping polls: a *Queue, or a real SQS queue
// behind the same two calls.
type Source interface {
	// Receive receives up to max messages; none is not an error.
	Receive(max int) ([]events.SQSMessage, error)
	// Delete deletes a received message.
	Delete(receipt string) error
}

// Handler is a function the event source mapping invokes.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Mapping is the Lambda event source mapping of a queue: Concurrency
// pollers, each receiving batches of up to BatchSize, invoking the handler
// with a Timeout deadline and deleting the messages it did not report as
// failed (none when it returned an error).
type Mapping struct {
	Queue       Source
	Handler     Handler
	BatchSize   int
	Concurrency int
	Timeout     time.Duration
	// Poll is how long a poller waits when the queue had nothing (5 ms).
	Poll time.Duration
	// Cancel, when set, is asked before each invocation for a shorter
	// life than Timeout: a worker killed mid-batch.
	Cancel func() (time.Duration, bool)
}

// Run polls until ctx ends.
func (m Mapping) Run(ctx context.Context) {
	if m.BatchSize <= 0 {
		m.BatchSize = 10
	}
	if m.Concurrency <= 0 {
		m.Concurrency = 1
	}
	if m.Timeout <= 0 {
		m.Timeout = time.Minute
	}
	if m.Poll <= 0 {
		m.Poll = 5 * time.Millisecond
	}
	var wg sync.WaitGroup
	for range m.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if !m.once(ctx) {
					select {
					case <-ctx.Done():
					case <-time.After(m.Poll):
					}
				}
			}
		}()
	}
	wg.Wait()
}

// once receives and handles one batch; it reports whether there was one.
func (m Mapping) once(ctx context.Context) bool {
	msgs, err := m.Queue.Receive(m.BatchSize)
	if err != nil || len(msgs) == 0 {
		return false
	}
	life, killed := m.Timeout, false
	if m.Cancel != nil {
		if d, ok := m.Cancel(); ok {
			life, killed = d, true
		}
	}
	ictx, cancel := context.WithTimeout(ctx, life)
	resp, herr := m.Handler(ictx, events.SQSEvent{Records: msgs})
	cut := ictx.Err() != nil
	cancel()
	if herr != nil || (killed && cut) {
		// An error, or a worker killed before it answered: every
		// message comes back after its visibility timeout.
		return true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, msg := range msgs {
		if !failed[msg.MessageId] {
			_ = m.Queue.Delete(msg.ReceiptHandle)
		}
	}
	return true
}
