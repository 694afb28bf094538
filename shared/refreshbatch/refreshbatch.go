// Package refreshbatch drives the refresh from the refresh queue: it takes
// an SQS batch of jobs (one connection each) as the event source mapping
// delivers it, runs each job's refresh under the invocation's deadline,
// and carries out how it ended: deleted once refreshed (its report logged,
// with its counts as CloudWatch metrics); tried again after a wait while
// the queue gives it more tries; in the refresh DLQ, with its reason in
// message attributes, once it cannot succeed (an unreadable job, a
// connection that is gone, a permanent failure) or has had its last try.
// A job is never dropped without a reason.
package refreshbatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Refresh DLQ message attributes: an operator filters and redrives on these.
const (
	AttrErrorCode     = "error_code"
	AttrReason        = "reason"
	AttrConnection    = "connection"
	AttrAttempts      = "attempts"
	AttrFirstFailedAt = "first_failed_at"
	AttrScheduledAt   = "scheduled_at"
)

// maxReasonBytes bounds the reason attribute: an error's message, which
// may quote a marketplace's answer.
const maxReasonBytes = 1000

// Config is the worker's retry policy and time budget. Zero fields take
// the defaults.
type Config struct {
	// MaxReceives is the refresh queue's maxReceiveCount (3): a job that
	// fails on its last receive is dead-lettered here, with its reason,
	// rather than by SQS's redrive, without one.
	MaxReceives int
	// RetryBase: the wait before try n+1 is n times this (15 s), or the
	// platform's Retry-After when longer, at most MaxRetryWait (5 min).
	RetryBase, MaxRetryWait time.Duration
	// DeadlineMargin: no job starts with less time than this left (10 s).
	DeadlineMargin time.Duration
	// SendReserve is the time kept, at the end of the invocation, for
	// carrying out how a job ended (the DLQ send, the visibility change):
	// the refresh's own deadline is the invocation's less this (3 s), so a
	// job that would not finish fails on its own instead of with the
	// Lambda.
	SendReserve time.Duration
	// Service is the metrics' dimension ("refresh").
	Service string
	Now     func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxReceives <= 0 {
		c.MaxReceives = 3
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 15 * time.Second
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = 5 * time.Minute
	}
	if c.SendReserve <= 0 {
		c.SendReserve = 3 * time.Second
	}
	if c.DeadlineMargin <= 0 {
		c.DeadlineMargin = 10 * time.Second
	}
	if c.Service == "" {
		c.Service = "refresh"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Refresher refreshes one connection (*refresh.Refresher).
type Refresher interface {
	// Refresh returns the job's report, or an error: a wrapped
	// order.ErrNotFound for a connection the store does not know; any other
	// error, classified by syncerr where it can be, means the job may
	// succeed if tried again.
	Refresh(ctx context.Context, job refresh.Job) (refresh.Report, error)
}

// Queue is the refresh queue, as seen while handling one of its messages.
type Queue interface {
	// RetryIn makes the received message visible again after d.
	RetryIn(ctx context.Context, receiptHandle string, d time.Duration) error
}

// DeadLetters is the refresh DLQ.
type DeadLetters interface {
	Send(ctx context.Context, body string, attrs map[string]string) error
}

// Handler handles batches of the refresh queue.
type Handler struct {
	cfg     Config
	refresh Refresher
	queue   Queue
	dlq     DeadLetters
	log     *slog.Logger
}

// New returns a Handler.
func New(cfg Config, r Refresher, queue Queue, dlq DeadLetters, log *slog.Logger) *Handler {
	return &Handler{cfg: cfg.withDefaults(), refresh: r, queue: queue, dlq: dlq, log: log}
}

// DecodeJob reads a refresh queue message body: a refresh.Job as JSON,
// naming a connection and a time. Anything else is an error.
func DecodeJob(body string) (refresh.Job, error) {
	var j refresh.Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		return refresh.Job{}, fmt.Errorf("refreshbatch: job: %w", err)
	}
	if j.Connection == "" || j.At.IsZero() {
		return refresh.Job{}, errors.New("refreshbatch: job: no connection or no time")
	}
	return j, nil
}

// Handle runs the batch's jobs, each on its own (the template gives the
// worker one at a time: a slow connection holds up no other). It reports
// the jobs to try again as batch item failures; every other job was
// refreshed or is in the DLQ with its reason. It never fails the batch as
// a whole: that would run again the jobs that succeeded.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu     sync.Mutex
		failed []events.SQSBatchItemFailure
		wg     sync.WaitGroup
	)
	for _, m := range ev.Records {
		wg.Go(func() {
			if h.handleOne(ctx, m) {
				return
			}
			mu.Lock()
			failed = append(failed, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			mu.Unlock()
		})
	}
	wg.Wait()
	return events.SQSEventResponse{BatchItemFailures: failed}, nil
}

// handleOne runs one job and carries out how it ended. It reports whether
// the message is done with (refreshed, or dead-lettered).
func (h *Handler) handleOne(ctx context.Context, m events.SQSMessage) bool {
	attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	attempt = max(attempt, 1)
	job, err := DecodeJob(m.Body)
	if err != nil {
		return h.deadLetter(ctx, m, job, attempt, syncerr.InvalidData, "unreadable refresh job: "+err.Error())
	}
	if dl, ok := ctx.Deadline(); ok && dl.Sub(h.cfg.Now()) < h.cfg.DeadlineMargin {
		return h.failed(ctx, m, job, attempt, errors.New("not started: the invocation was about to time out"))
	}
	rctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		rctx, cancel = context.WithDeadline(ctx, dl.Add(-h.cfg.SendReserve))
		defer cancel()
	}
	start := h.cfg.Now()
	rep, err := h.refresh.Refresh(rctx, job)
	took := h.cfg.Now().Sub(start)
	if err != nil {
		if rctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("out of time after %s, the invocation's deadline less %s: %w", took.Round(time.Millisecond), h.cfg.SendReserve, err)
		}
		return h.failed(ctx, m, job, attempt, err)
	}
	h.logReport(ctx, job, rep, took)
	return true
}

// failed carries out a failed refresh: a connection that is gone, or a
// failure no retry cures, goes to the DLQ at once; another is tried again
// while the queue gives it tries, and dead-lettered on its last.
func (h *Handler) failed(ctx context.Context, m events.SQSMessage, job refresh.Job, attempt int, err error) bool {
	switch {
	case errors.Is(err, order.ErrNotFound):
		return h.deadLetter(ctx, m, job, attempt, syncerr.InvalidData, "connection "+job.Connection+" is not known: "+err.Error())
	case syncerr.KindOf(err) != syncerr.Transient:
		return h.deadLetter(ctx, m, job, attempt, syncerr.CodeOf(err), err.Error())
	case attempt >= h.cfg.MaxReceives:
		return h.deadLetter(ctx, m, job, attempt, syncerr.CodeOf(err), err.Error())
	}
	wait := h.retryWait(attempt, err)
	h.log.Warn("refresh failed; tried again", append([]any{"connection", job.Connection, "at", job.At, "attempt", attempt,
		"retry_in", wait.String(), "error_code", string(syncerr.CodeOf(err)), "err", err}, h.emf(metric{"jobs_retried", 1, ""})...)...)
	h.retryIn(ctx, m, wait)
	return false
}

// deadLetter sends the job to the refresh DLQ with its reason. It reports
// whether it did; if not, the job is left on the queue, where it comes
// back and, past its last receive, SQS's redrive moves it to the DLQ.
func (h *Handler) deadLetter(ctx context.Context, m events.SQSMessage, job refresh.Job, attempt int, code syncerr.Code, reason string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.SendReserve)
	defer cancel()
	first := h.cfg.Now()
	if ms, err := strconv.ParseInt(m.Attributes["ApproximateFirstReceiveTimestamp"], 10, 64); err == nil && ms > 0 {
		first = time.UnixMilli(ms)
	}
	attrs := map[string]string{
		AttrErrorCode:     string(code),
		AttrReason:        truncate(reason, maxReasonBytes),
		AttrConnection:    job.Connection,
		AttrAttempts:      strconv.Itoa(attempt),
		AttrFirstFailedAt: first.UTC().Format(time.RFC3339),
	}
	if !job.At.IsZero() {
		attrs[AttrScheduledAt] = job.At.UTC().Format(time.RFC3339)
	}
	if err := h.dlq.Send(ctx, m.Body, attrs); err != nil {
		h.log.Error("could not dead-letter the refresh job; SQS redrive will", "message_id", m.MessageId,
			"connection", job.Connection, "error_code", string(code), "reason", reason, "err", err)
		h.retryIn(ctx, m, h.retryWait(attempt, nil))
		return false
	}
	h.log.Error("refresh job dead-lettered", append([]any{"message_id", m.MessageId, "connection", job.Connection, "at", job.At,
		"attempts", attempt, "error_code", string(code), "reason", reason}, h.emf(metric{"jobs_dead_lettered", 1, ""})...)...)
	return true
}

// retryWait is the wait before try attempt+1: attempt times the base, or
// the Retry-After a platform asked for in err when that is longer; capped.
// Unlike the sync's, a refresh job never retries sooner than its base
// wait: it lists whole connections, so a short Retry-After on one page says
// little about the next.
func (h *Handler) retryWait(attempt int, err error) time.Duration {
	return min(max(time.Duration(attempt)*h.cfg.RetryBase, syncerr.RetryAfterOf(err)), h.cfg.MaxRetryWait)
}

func (h *Handler) retryIn(ctx context.Context, m events.SQSMessage, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.SendReserve)
	defer cancel()
	if err := h.queue.RetryIn(ctx, m.ReceiptHandle, d); err != nil {
		// The message still comes back, after the queue's visibility timeout.
		h.log.Error("could not time the retry", "message_id", m.MessageId, "err", err)
	}
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
