// Package refreshbatch drives the refresh from the refresh queue: it takes
// an SQS batch of jobs (one connection each) as the event source mapping
// delivers it, runs each job's refresh under the invocation's deadline,
// and carries out how it ended: deleted once refreshed (its report logged,
// with its counts as CloudWatch metrics); tried again after a wait while
// the queue gives it more tries; failed for good once it cannot succeed
// (an unreadable job, a connection that is gone, a permanent failure) or
// has had its last try. A job failed for good has its reason stored on the
// connection's report for its hour (where the merchant reads it, GET
// /connections/{id}/reports) and logged, and is left on the queue, made
// visible again at once, until the queue's redrive policy moves it to the
// refresh DLQ: SQS then records its source queue, so the console's default
// "Redrive to source queue(s)" works. A job is never dropped without a
// reason.
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
	"github.com/ordersync/ordersync/shared/redrive"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// maxReasonBytes bounds a failure's reason: an error's message, which may
// quote a marketplace's answer.
const maxReasonBytes = 1000

// Config is the worker's retry policy and time budget. Zero fields take
// the defaults.
type Config struct {
	// MaxReceives is the refresh queue's maxReceiveCount (3): a job that
	// fails on its last receive is failed for good here, with its reason
	// stored, rather than only moved by SQS's redrive, without one.
	MaxReceives int
	// RetryBase: the wait before try n+1 is n times this (15 s), or the
	// platform's Retry-After when longer, at most MaxRetryWait (5 min).
	RetryBase, MaxRetryWait time.Duration
	// DeadlineMargin: no job starts with less time than this left (10 s).
	DeadlineMargin time.Duration
	// SendReserve is the time kept, at the end of the invocation, for
	// carrying out how a job ended (its report, the visibility change):
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

// Reports stores a connection's reports (the refresh's store).
type Reports interface {
	// SaveReport stores the report of one connection and hour, replacing
	// any of the same connection and At (idempotent).
	SaveReport(ctx context.Context, r refresh.Report) error
}

// Handler handles batches of the refresh queue.
type Handler struct {
	cfg     Config
	refresh Refresher
	queue   Queue
	reports Reports
	log     *slog.Logger
	// failing remembers the jobs this handler failed for good and left to
	// the redrive policy, by message id, with the receive count of their
	// failure.
	failing *redrive.Failing
}

// New returns a Handler. A job failed for good is recorded in reports
// and left to the refresh queue's redrive policy.
func New(cfg Config, r Refresher, queue Queue, reports Reports, log *slog.Logger) *Handler {
	return &Handler{cfg: cfg.withDefaults(), refresh: r, queue: queue, reports: reports, log: log, failing: redrive.NewFailing()}
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
// the jobs to try again, and those left to the redrive policy, as batch
// item failures; every other job was refreshed. It never fails the batch
// as a whole: that would run again the jobs that succeeded.
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
// the message is done with (refreshed).
func (h *Handler) handleOne(ctx context.Context, m events.SQSMessage) bool {
	attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	attempt = max(attempt, 1)
	if h.failing.FailedBefore(m.MessageId, attempt) {
		// Failed for good already, and recorded: on its way to the DLQ.
		h.retryIn(ctx, m, 0)
		return false
	}
	job, err := DecodeJob(m.Body)
	if err != nil {
		return h.deadLetter(ctx, m, job, nil, attempt, syncerr.E(syncerr.InvalidData).Wrap(fmt.Errorf("unreadable refresh job: %w", err)))
	}
	if dl, ok := ctx.Deadline(); ok && dl.Sub(h.cfg.Now()) < h.cfg.DeadlineMargin {
		return h.failed(ctx, m, job, refresh.Report{}, attempt, errors.New("not started: the invocation was about to time out"))
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
		return h.failed(ctx, m, job, rep, attempt, err)
	}
	h.logReport(ctx, job, rep, took)
	return true
}

// failed carries out a failed refresh (rep: what it did before it
// failed): a connection that is gone, or a failure no retry cures, fails
// for good at once; another is tried again while the queue gives it tries,
// and fails for good on its last.
func (h *Handler) failed(ctx context.Context, m events.SQSMessage, job refresh.Job, rep refresh.Report, attempt int, err error) bool {
	switch {
	case errors.Is(err, order.ErrNotFound):
		return h.deadLetter(ctx, m, job, nil, attempt, syncerr.E(syncerr.InvalidData).Wrap(fmt.Errorf("connection %s is not known: %w", job.Connection, err)))
	case syncerr.KindOf(err) != syncerr.Transient, attempt >= h.cfg.MaxReceives:
		return h.deadLetter(ctx, m, job, &rep, attempt, err)
	}
	wait := h.retryWait(attempt, err)
	h.log.Warn("refresh failed; tried again", append([]any{"connection", job.Connection, "at", job.At, "attempt", attempt,
		"retry_in", wait.String(), "error_code", string(syncerr.CodeOf(err)), "err", err}, h.emf(metric{"jobs_retried", 1, ""})...)...)
	h.retryIn(ctx, m, wait)
	return false
}

// deadLetter fails the job for good with err: its reason is stored on the
// connection's report for the job's hour (rep, what the run did before it
// failed, with the failure: the catalogue's words for err's code, which the
// merchant reads, and err's text as the operator's detail; nil for a job
// naming no connection, or one the store does not know: no merchant reads
// it, the log and the DLQ keep it), and the message is left on the queue, made visible again at once,
// for the queue's redrive policy to move to the refresh DLQ, noting its
// source queue. It reports false: the message is
// never deleted. A report that could not be stored is logged (with its
// reason) and, before the job's last try, tried again with the job.
func (h *Handler) deadLetter(ctx context.Context, m events.SQSMessage, job refresh.Job, rep *refresh.Report, attempt int, err error) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.SendReserve)
	defer cancel()
	first := h.cfg.Now()
	if ms, err := strconv.ParseInt(m.Attributes["ApproximateFirstReceiveTimestamp"], 10, 64); err == nil && ms > 0 {
		first = time.UnixMilli(ms)
	}
	x := syncerr.ExplainRefresh(err)
	code, reason := x.Code, truncate(err.Error(), maxReasonBytes)
	if rep != nil {
		r := *rep
		r.Connection, r.At, r.FinishedAt = job.Connection, job.At.UTC(), h.cfg.Now().UTC()
		r.Failed = &refresh.JobFailure{Code: string(code), Title: x.Title, Cause: x.Cause, Remedy: x.Remedy,
			Detail: reason, Attempts: attempt, FirstFailedAt: first.UTC()}
		if err := h.reports.SaveReport(ctx, r); err != nil {
			h.log.Error("could not store the refresh job's failure", "message_id", m.MessageId, "connection", job.Connection,
				"attempts", attempt, "error_code", string(code), "reason", reason, "err", err)
			if attempt < h.cfg.MaxReceives {
				h.retryIn(ctx, m, h.retryWait(attempt, nil))
				return false
			}
		}
	}
	h.log.Error("refresh job dead-lettered", append([]any{"message_id", m.MessageId, "connection", job.Connection, "at", job.At,
		"attempts", attempt, "error_code", string(code), "reason", reason}, h.emf(metric{"jobs_dead_lettered", 1, ""})...)...)
	h.failing.Remember(m.MessageId, attempt)
	// Released at once: its receive count passes maxReceiveCount after a
	// few quick receives and SQS moves it. If the release fails, it still
	// reaches the DLQ, after the visibility timeout.
	h.retryIn(ctx, m, 0)
	return false
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
