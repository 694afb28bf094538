// Package syncbatch drives the sync from the sync queue: it takes an SQS
// batch as the event source mapping delivers it, runs one order's messages
// in their order and different orders concurrently within bounds, hands
// each message to the syncer, and carries out what the syncer decided
// (delete, retry after a delay, dead-letter), answering with a partial
// batch response. A message failed for good is dead-lettered by the sync
// queue's redrive policy (it is made visible again at once until SQS moves
// it, so SQS records its source queue), or, given a DLQ of its own, sent
// there with its reason in attributes.
package syncbatch

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/emf"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/redrive"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// DLQ message attributes: an operator filters and redrives on these.
const (
	AttrErrorCode     = "error_code"
	AttrOrderKey      = "order_key"
	AttrConnection    = "connection"
	AttrFirstFailedAt = "first_failed_at"
	AttrAttempts      = "attempts"
)

// Config bounds a batch. Zero fields take the defaults.
type Config struct {
	// Concurrency bounds how many orders of one batch sync at once; zero
	// (the default) runs every order of the batch at once, so a batch
	// takes about as long as its slowest order, not the sum of its
	// slowest few. Orders of one connection run side by side too: their
	// calls are paced by the marketplace's own rate limit, per connection,
	// by the marketplace clients (shared/pace, wired in syncapp), not by a
	// fixed count of orders per batch.
	Concurrency int
	// DeadlineMargin: no new message starts with less time than this left.
	DeadlineMargin time.Duration
	// SendReserve is the time kept, at the end of the invocation, for
	// carrying out the syncer's outcome (the DLQ send, the visibility
	// change): the syncer's own deadline is the invocation's less this.
	SendReserve time.Duration
}

func (c Config) withDefaults() Config {
	c.Concurrency = max(c.Concurrency, 0)
	if c.SendReserve <= 0 {
		c.SendReserve = 2 * time.Second
	}
	if c.DeadlineMargin <= 0 {
		// The syncer's bookkeeping (5 s by default) and the send.
		c.DeadlineMargin = 5*time.Second + c.SendReserve
	}
	return c
}

// Queue is the sync queue, as seen while handling one of its messages.
type Queue interface {
	// RetryIn makes the received message visible again after d.
	RetryIn(ctx context.Context, receiptHandle string, d time.Duration) error
	// Resend sends body again as a new message, delivered after d.
	Resend(ctx context.Context, body string, d time.Duration) error
}

// DeadLetters is the failure store (the sync queue's DLQ), for a handler
// that sends failures there itself. A handler given none leaves that to
// the queue's redrive policy: SQS then moves the message and records its
// source queue, so the console's "Redrive to source queue(s)" works.
type DeadLetters interface {
	Send(ctx context.Context, body string, attrs map[string]string) error
}

// Handler handles batches of the sync queue.
type Handler struct {
	cfg   Config
	sync  *syncer.Syncer
	queue Queue
	dlq   DeadLetters
	log   *slog.Logger
	// failing remembers the messages this handler left to the redrive
	// policy, by id, with the receive count of their failure.
	failing *redrive.Failing
}

// New returns a Handler. A nil dlq leaves dead-lettering to the queue's
// redrive policy (see DeadLetters).
func New(cfg Config, s *syncer.Syncer, queue Queue, dlq DeadLetters, log *slog.Logger) *Handler {
	return &Handler{cfg: cfg.withDefaults(), sync: s, queue: queue, dlq: dlq, log: log, failing: redrive.NewFailing()}
}

// Handle processes one SQS batch. Messages for the same order run in their
// order; different orders run concurrently, at most Concurrency at once (all
// of them by default). It reports the messages to try again, and
// those left to the redrive policy, as batch item failures; every other
// message ended applied or in the DLQ. It returns an error, failing the whole batch, only when
// it could not work at all: every message failed on ordersync's own
// storage (DynamoDB unreachable, say).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	groups := map[groupKey][]events.SQSMessage{}
	var keys []groupKey
	for _, m := range ev.Records {
		k := keyOf(m.Body)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], m)
	}
	var (
		mu       sync.Mutex
		failed   []events.SQSBatchItemFailure
		infraErr error
		infraN   int
		wg       sync.WaitGroup
		sem      = make(chan struct{}, cmp.Or(h.cfg.Concurrency, len(keys)))
	)
	for _, k := range keys {
		wg.Add(1)
		go func(msgs []events.SQSMessage) {
			sem <- struct{}{}
			defer func() { <-sem; wg.Done() }()
			for _, m := range msgs {
				r := h.handleOne(ctx, m)
				if r.done {
					continue
				}
				mu.Lock()
				failed = append(failed, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				if r.infra != nil {
					infraN++
					infraErr = r.infra
				}
				mu.Unlock()
			}
		}(groups[k])
	}
	wg.Wait()
	if n := len(ev.Records); n > 0 && infraN == n {
		return events.SQSEventResponse{}, fmt.Errorf("syncbatch: no message of the batch could be handled: %w", infraErr)
	}
	return events.SQSEventResponse{BatchItemFailures: failed}, nil
}

// groupKey names the order a message is about, so one order's messages
// are handled one after the other, and its connection.
type groupKey struct{ connection, order string }

func keyOf(body string) groupKey {
	e, err := order.DecodeMessage(body)
	if err != nil {
		return groupKey{"", "unreadable:" + body}
	}
	if e.Order.MarketplaceOrderID != "" {
		return groupKey{e.Connection, "m#" + e.Order.MarketplaceOrderID}
	}
	return groupKey{e.Connection, "s#" + e.Order.StoreOrderID}
}

// result is how the handling of one message ended.
type result struct {
	done  bool  // applied or dead-lettered: delete it from the queue
	infra error // not done because ordersync's own storage failed
}

// handleOne hands one message to the syncer and carries out its outcome.
func (h *Handler) handleOne(ctx context.Context, m events.SQSMessage) result {
	attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	d := syncer.Delivery{Attempt: max(attempt, 1)}
	if h.dlq == nil && h.failing.FailedBefore(m.MessageId, d.Attempt) {
		// Failed for good already, and recorded: on its way to the DLQ.
		return h.toRedrivePolicy(ctx, m, d.Attempt)
	}
	var err error
	if d.Event, err = order.DecodeMessage(m.Body); err != nil || d.Event.Connection == "" {
		h.log.Error("unreadable sync message", "message_id", m.MessageId)
		d.Event = order.Event{}
		return h.carryOut(ctx, m, h.sync.Fail(ctx, d, syncerr.E(syncerr.InvalidData, "field", "sync message")))
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < h.cfg.DeadlineMargin {
		h.log.Warn("not started: the invocation is about to time out", "message_id", m.MessageId)
		return h.carryOut(ctx, m, h.sync.Untried(ctx, d, syncerr.E(syncerr.MarketplaceUnavailable, "reason", "out of time")))
	}
	sctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		sctx, cancel = context.WithDeadline(ctx, dl.Add(-h.cfg.SendReserve))
		defer cancel()
	}
	out := h.sync.Sync(sctx, d)
	h.countRedrive(m, d, out)
	return h.carryOut(ctx, m, out)
}

// countRedrive logs, and counts as the metric "redriven", a message back
// from the DLQ: one the order records the event of as failed for good,
// received for the first time (out.RedrivenFor: the console's redrive, a
// message move task, keeps nothing else), or one carrying the code it was
// dead-lettered for (AttrErrorCode: the operator's CLI adds it, and a DLQ
// of the handler's own sets it) on its first receive. A redriven message
// is a new one: its later receives (its retries) are not counted again.
func (h *Handler) countRedrive(m events.SQSMessage, d syncer.Delivery, out syncer.Outcome) {
	code := out.RedrivenFor
	if a, ok := m.MessageAttributes[AttrErrorCode]; ok && a.StringValue != nil && d.Attempt == 1 {
		code = *a.StringValue
	}
	if code == "" {
		return
	}
	h.log.Info("redriven message received", append([]any{"message_id", m.MessageId, "connection", d.Event.Connection,
		"dead_lettered_for", code}, emf.Of(time.Now(), "sync", nil, emf.Count("redriven", 1))...)...)
}

// carryOut does what the syncer decided for message m.
func (h *Handler) carryOut(ctx context.Context, m events.SQSMessage, out syncer.Outcome) result {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.SendReserve)
	defer cancel()
	switch out.Verdict {
	case syncer.Done:
		return result{done: true}
	case syncer.Interrupted:
		return result{infra: out.Err}
	case syncer.Resend:
		err := h.queue.Resend(ctx, m.Body, out.After)
		if err == nil {
			return result{done: true}
		}
		// Left on the queue, it comes back once more; past its last
		// receive, SQS's redrive keeps it in the DLQ.
		h.log.Error("could not send the message again", "message_id", m.MessageId, "err", err)
	case syncer.DeadLetter:
		if h.dlq == nil {
			attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
			return h.toRedrivePolicy(ctx, m, max(attempt, 1))
		}
		f := out.Failure
		attrs := map[string]string{
			AttrErrorCode:     string(f.Code),
			AttrOrderKey:      f.OrderKey,
			AttrConnection:    f.Connection,
			AttrFirstFailedAt: f.FirstFailedAt.UTC().Format(time.RFC3339),
			AttrAttempts:      strconv.Itoa(f.Attempts),
		}
		err := h.dlq.Send(ctx, m.Body, attrs)
		if err == nil {
			return result{done: true}
		}
		// Keep the message: it comes back like a transient failure, and
		// after its last try SQS's own redrive policy moves it to the DLQ.
		h.log.Error("could not dead-letter the message; SQS redrive will", "err", err)
	}
	h.failing.Forget(m.MessageId)
	if err := h.queue.RetryIn(ctx, m.ReceiptHandle, out.After); err != nil {
		// The message still comes back, after the queue's visibility timeout.
		h.log.Error("could not time the retry", "message_id", m.MessageId, "err", err)
	}
	return result{}
}

// toRedrivePolicy leaves message m, failed for good and recorded (on the
// order, in the error list), for the queue's redrive policy to move to
// the DLQ: it is never deleted, only made visible again at once, so its
// receive count passes maxReceiveCount after a few quick receives and
// SQS moves it, noting the sync queue as its source.
func (h *Handler) toRedrivePolicy(ctx context.Context, m events.SQSMessage, attempt int) result {
	h.failing.Remember(m.MessageId, attempt)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.SendReserve)
	defer cancel()
	if err := h.queue.RetryIn(ctx, m.ReceiptHandle, 0); err != nil {
		// It still reaches the DLQ, after the visibility timeout.
		h.log.Error("could not release the failed message", "message_id", m.MessageId, "err", err)
	}
	return result{}
}
