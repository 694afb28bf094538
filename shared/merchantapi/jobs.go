package merchantapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
)

// Limits of the re-sync jobs.
const (
	// MaxJobOrders is the most orders one job re-syncs: a filter matching
	// more re-syncs the newest MaxJobOrders and says so (Truncated).
	MaxJobOrders = 10_000
	// MaxJobBodyBytes is the largest job body accepted (decoded): room for
	// MaxJobOrders ids of the longest kind, quoted.
	MaxJobBodyBytes = MaxJobOrders*(order.MaxIDBytes+3) + 1<<10
	// JobRetention is how long a job and its results are kept.
	JobRetention = 7 * 24 * time.Hour
	// DefaultJobs and MaxJobs bound one listing of jobs; DefaultResults
	// and MaxResults, one page of a job's per-order results.
	DefaultJobs, MaxJobs       = 20, 100
	DefaultResults, MaxResults = 100, 100
	// jobBatch is how many events the worker queues in one call.
	jobBatch = 100
)

// JobStatus says how far a job went.
type JobStatus string

// Job statuses.
const (
	// JobAccepted: stored; the worker has not queued its orders yet.
	JobAccepted JobStatus = "accepted"
	// JobQueued: every order of the job is on the sync queue, and one of
	// them at least has not settled since.
	JobQueued JobStatus = "queued"
	// JobDone: every order of the job settled (synced, or named by id and
	// not found), none failed. A job that queued nothing is done at once.
	JobDone JobStatus = "done"
	// JobDoneWithFailures: every order of the job settled, and one of
	// them at least failed (or is held): its results say which.
	JobDoneWithFailures JobStatus = "done_with_failures"
	// JobFailed: the job could not be handed to the worker; nothing was
	// queued. The merchant asks again.
	JobFailed JobStatus = "failed"
)

// expanded reports whether the worker queued the job's orders: it has
// per-order results.
func (s JobStatus) expanded() bool {
	return s == JobQueued || s == JobDone || s == JobDoneWithFailures
}

// Job is a bulk re-sync: the orders a filter matches when the worker runs
// it, or the ids the merchant listed. Its per-order results are not
// written back by the sync: they are read from the orders' states (an
// order whose last sync is after QueuedAt was synced by it, or failed).
// Nor is its end: a read of the job that finds every order settled
// writes it done (see showJob).
type Job struct {
	ID         string     `json:"id"`
	Connection string     `json:"connection"`
	Filter     *JobFilter `json:"filter,omitempty"`
	// ByIDs says the merchant named the orders.
	ByIDs     bool      `json:"by_ids,omitempty"`
	Status    JobStatus `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// QueuedAt is when the worker began to queue the job's orders.
	QueuedAt time.Time `json:"queued_at,omitzero"`
	// Orders is how many orders the job names; Queued, how many of them
	// it queued; NotFound, how many named by id ordersync holds none of.
	Orders   int `json:"orders"`
	Queued   int `json:"queued"`
	NotFound int `json:"not_found"`
	// Truncated says the filter matched more than MaxJobOrders orders.
	Truncated bool `json:"truncated,omitempty"`
}

// JobFilter is what a job's orders are selected by, as the listing's
// query parameters (state required).
type JobFilter struct {
	State order.SyncState `json:"state"`
	Code  string          `json:"code,omitempty"`
	Since time.Time       `json:"since,omitzero"`
	Until time.Time       `json:"until,omitzero"`
}

// query is the listing that selects f's orders, a page of limit.
func (f JobFilter) query(limit int) OrderQuery {
	return OrderQuery{State: f.State, Code: f.Code, Since: f.Since, Until: f.Until, Limit: limit}
}

// jobMessage is the job queue's message: the job to expand.
type jobMessage struct {
	Connection string `json:"connection"`
	Job        string `json:"job"`
}

// The jobs' refusals.
var (
	errMalformedJob  = httpapi.Problem{Status: http.StatusBadRequest, Code: "malformed_body", Case: "job"}
	errTooManyJobIDs = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_orders", Case: "job_too_many", Args: maxArg(MaxJobOrders)}
	errNoJobIDs      = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_orders", Case: "job_none"}
	errJobBodySize   = httpapi.Problem{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Args: map[string]string{"max_bytes": strconv.Itoa(MaxJobBodyBytes)}}
	errJobNotFound   = httpapi.Problem{Status: http.StatusNotFound, Code: "job_not_found"}
	errInvalidJobID  = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_id", Field: "job", Args: maxArg(order.MaxIDBytes)}
	errJobsLimit     = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "limit", Args: maxArg(MaxJobs)}
)

// WithJobs gives h the queue of the job worker, which POST jobs needs
// (without it, it answers 503), and returns h. Call it before h serves.
func (h *Handler) WithJobs(q JobQueue) *Handler {
	h.jobs = q
	return h
}

// jobsRoute answers GET (the list) and POST (a new job) on
// /connections/{connection}/jobs.
func (h *Handler) jobsRoute(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	if c.req.RequestContext.HTTP.Method == http.MethodPost {
		return h.createJob(ctx, c)
	}
	return h.listJobs(ctx, c)
}

// jobView is a job as the API answers it.
type jobView struct {
	Job
	// Results are the per-order results of a page, on GET of one job.
	Results    []jobResult `json:"results,omitempty"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

type jobAnswer struct {
	Job jobView `json:"job"`
}

// createJob answers POST /connections/{connection}/jobs with
// {"filter": {...}} or {"ids": [...]}: the job is stored, then handed to
// the worker, and answered 202 at once.
func (h *Handler) createJob(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	if h.jobs == nil {
		return c.unavailable(errors.New("no job queue"))
	}
	b, err := httpapi.Body(c.req, MaxJobBodyBytes)
	switch {
	case errors.Is(err, httpapi.ErrBodyTooLarge):
		return c.fail(errJobBodySize)
	case err != nil:
		return c.fail(errMalformedJob)
	}
	filter, ids, p := parseJob(b)
	if p != nil {
		return c.fail(*p)
	}
	now := h.cfg.Now().UTC()
	j := Job{ID: newJobID(now), Connection: c.conn.ID, Filter: filter, ByIDs: ids != nil, Status: JobAccepted, CreatedAt: now, Orders: len(ids)}
	if err := h.store.PutJob(ctx, j, ids); err != nil {
		return c.unavailable(err)
	}
	msg, _ := json.Marshal(jobMessage{Connection: j.Connection, Job: j.ID}) // strings always marshal
	if err := h.jobs.Send(ctx, string(msg), map[string]string{"connection": j.Connection, "job": j.ID}); err != nil {
		// Not queued: say so on the job, which no worker will run.
		j.Status = JobFailed
		if perr := h.store.PutJob(ctx, j, nil); perr != nil {
			err = errors.Join(err, perr)
		}
		return c.unavailable(err)
	}
	c.attrs = append(c.attrs, slog.String("job", j.ID), slog.Int("ids", len(ids)))
	return reply(http.StatusAccepted, jobAnswer{Job: jobView{Job: j}})
}

// newJobID is a job id that sorts by creation time: the UTC time to the
// millisecond, then random hex.
func newJobID(now time.Time) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b)
}

// parseJob reads a job body: exactly {"filter": {"state", "code", "since",
// "until"}} (state required) or {"ids": [...]} with 1 to MaxJobOrders
// valid ids once duplicates are dropped, in UTF-8, nothing else.
func parseJob(body []byte) (*JobFilter, []string, *httpapi.Problem) {
	if !utf8.Valid(body) {
		return nil, nil, &errMalformedJob
	}
	var in struct {
		Filter *struct {
			State *string `json:"state"`
			Code  *string `json:"code"`
			Since *string `json:"since"`
			Until *string `json:"until"`
		} `json:"filter"`
		IDs []string `json:"ids"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, nil, &errMalformedJob
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, &errMalformedJob
	}
	if (in.Filter == nil) == (in.IDs == nil) {
		return nil, nil, &errMalformedJob // neither, or both
	}
	if f := in.Filter; f != nil {
		q := map[string]string{}
		for k, v := range map[string]*string{"state": f.State, "code": f.Code, "since": f.Since, "until": f.Until} {
			if v != nil {
				q[k] = *v
			}
		}
		oq, p := parseOrderQuery(q, 1, 1)
		if p != nil {
			return nil, nil, p
		}
		return &JobFilter{State: oq.State, Code: oq.Code, Since: oq.Since, Until: oq.Until}, nil, nil
	}
	seen := make(map[string]bool, len(in.IDs))
	ids := make([]string, 0, len(in.IDs))
	for _, id := range in.IDs {
		if !order.ValidID(id) {
			return nil, nil, &errInvalidOrderID
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		return nil, nil, &errNoJobIDs
	case len(ids) > MaxJobOrders:
		return nil, nil, &errTooManyJobIDs
	}
	return nil, ids, nil
}

// jobsView is the answer of GET jobs.
type jobsView struct {
	Connection string `json:"connection"`
	Limit      int    `json:"limit"`
	Jobs       []Job  `json:"jobs"`
}

// listJobs answers GET /connections/{connection}/jobs?limit=: the jobs of
// the past week, newest first.
func (h *Handler) listJobs(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	limit, ok := intParam(c.req.QueryStringParameters["limit"], DefaultJobs, MaxJobs)
	if !ok {
		return c.fail(errJobsLimit)
	}
	js, err := h.store.Jobs(ctx, c.conn.ID, limit)
	if err != nil {
		return c.unavailable(err)
	}
	if js == nil {
		js = []Job{}
	}
	return reply(http.StatusOK, jobsView{Connection: c.conn.ID, Limit: limit, Jobs: js})
}

// Per-order results of a job.
const (
	ResultQueued   = "queued"    // on the sync queue, or being retried
	ResultSynced   = "synced"    // synced since the job queued it
	ResultFailed   = "failed"    // failed (or held) since the job queued it: see code
	ResultNotFound = "not_found" // named by id; ordersync holds no such order
)

// jobResult is one order's result in a job.
type jobResult struct {
	MarketplaceOrderID string    `json:"marketplace_order_id"`
	Result             string    `json:"result"`
	Code               string    `json:"code,omitempty"`
	At                 time.Time `json:"at,omitzero"`
}

// ResultOf is the result of an order queued by a job at queuedAt, from its
// state now (ok false: no state). The sync does not write results back:
// an order whose last sync is after queuedAt was synced by the job (or by
// something later, which ends the same), or failed with its code.
func ResultOf(st order.State, ok bool, queuedAt time.Time) (result, code string) {
	if !ok {
		return ResultNotFound, ""
	}
	if queuedAt.IsZero() || !st.Sync.At.After(queuedAt) {
		return ResultQueued, ""
	}
	switch SyncState(st) {
	case order.StateSynced:
		return ResultSynced, ""
	case order.StateRetrying, order.StatePending:
		return ResultQueued, ""
	}
	return ResultFailed, st.Sync.ErrorCode
}

// showJob answers GET /connections/{connection}/jobs/{job}?limit=&cursor=:
// the job, and one page of its per-order results, in the job's order.
func (h *Handler) showJob(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	id := c.req.PathParameters["job"]
	if !order.ValidID(id) {
		return c.fail(errInvalidJobID)
	}
	q := c.req.QueryStringParameters
	limit, ok := intParam(q["limit"], DefaultResults, MaxResults)
	if !ok {
		return c.fail(errLimit)
	}
	offset := 0
	if cur := q["cursor"]; cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		n, aerr := strconv.Atoi(string(b))
		if err != nil || aerr != nil || n < 1 || n > MaxJobOrders || strconv.Itoa(n) != string(b) {
			return c.fail(errCursor)
		}
		offset = n
	}
	j, err := h.store.Job(ctx, c.conn.ID, id)
	switch {
	case errors.Is(err, order.ErrNotFound):
		return c.fail(errJobNotFound)
	case err != nil:
		return c.unavailable(err)
	}
	v := jobView{Job: j, Results: []jobResult{}}
	if !j.Status.expanded() {
		return reply(http.StatusOK, jobAnswer{Job: v})
	}
	ids, err := h.store.JobOrders(ctx, c.conn.ID, id)
	if err != nil {
		return c.unavailable(err)
	}
	from, to := min(offset, len(ids)), min(offset+limit, len(ids))
	page := ids[from:to]
	states, err := h.store.LoadOrders(ctx, c.conn.ID, page)
	if err != nil {
		return c.unavailable(err)
	}
	for _, mk := range page {
		st, ok := states[mk]
		r, code := ResultOf(st, ok, j.QueuedAt)
		res := jobResult{MarketplaceOrderID: mk, Result: r, Code: code}
		if r == ResultSynced || r == ResultFailed {
			res.At = st.Sync.At.UTC()
		}
		v.Results = append(v.Results, res)
	}
	if next := offset + len(page); next < len(ids) {
		v.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(next)))
	}
	if j.Status == JobQueued {
		end, err := h.jobEnd(ctx, j, ids, from, to, states)
		if err != nil {
			return c.unavailable(err)
		}
		if end != JobQueued {
			// Written once, so that the list says it too and no later
			// read looks at every order again. The answer is right
			// without it: a write that failed is made by the next read.
			j.Status, v.Status = end, end
			if err := h.store.PutJob(ctx, j, nil); err != nil {
				c.attrs = append(c.attrs, slog.String("job_end_unsaved", err.Error()))
			}
		}
	}
	return reply(http.StatusOK, jobAnswer{Job: v})
}

// jobEnd is the status the orders of queued job j give it now: JobQueued
// while one of them has not settled since j queued it, else JobDone, or
// JobDoneWithFailures when one of them failed. ids are j's orders, of
// which ids[from:to] (the page answered) are read already, into states:
// those are looked at first, then the others, read MaxResults at a time,
// the ones after the page first (queued last, the likeliest not to have
// settled). It stops at the first order not settled, so that a running
// job costs few reads; a done one is read whole once.
func (h *Handler) jobEnd(ctx context.Context, j Job, ids []string, from, to int, states map[string]order.State) (JobStatus, error) {
	failed := false
	settled := func(page []string, states map[string]order.State) bool {
		for _, mk := range page {
			st, ok := states[mk]
			r, _ := ResultOf(st, ok, j.QueuedAt)
			if r == ResultQueued {
				return false
			}
			failed = failed || r == ResultFailed
		}
		return true
	}
	if !settled(ids[from:to], states) {
		return JobQueued, nil
	}
	for _, rest := range [][]string{ids[to:], ids[:from]} {
		for lo := 0; lo < len(rest); lo += MaxResults {
			part := rest[lo:min(lo+MaxResults, len(rest))]
			m, err := h.store.LoadOrders(ctx, j.Connection, part)
			if err != nil {
				return "", err
			}
			if !settled(part, m) {
				return JobQueued, nil
			}
		}
	}
	if failed {
		return JobDoneWithFailures, nil
	}
	return JobDone, nil
}

// batchQueue is a Queue that also sends many events per call.
type batchQueue interface {
	EnqueueBatch(ctx context.Context, es []order.Event) error
}

// Worker expands jobs: it lists a job's orders and queues a re-sync of
// each, off the API's request (a job of 10,000 orders takes longer than
// API Gateway waits). It is safe for concurrent use.
type Worker struct {
	store Store
	queue Queue
	now   func() time.Time
	log   *slog.Logger
}

// NewWorker builds a Worker. A nil now is time.Now; a nil log discards.
func NewWorker(store Store, q Queue, now func() time.Time, log *slog.Logger) *Worker {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, queue: q, now: now, log: log}
}

// Handle expands the job of each message of the job queue, and reports
// those that failed (SQS delivers them again; a job expanded twice queues
// its orders twice, which a re-sync bears).
func (w *Worker) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var out events.SQSEventResponse
	for _, m := range ev.Records {
		var msg jobMessage
		if err := json.Unmarshal([]byte(m.Body), &msg); err != nil || !order.ValidID(msg.Connection) || !order.ValidID(msg.Job) {
			// Never ours: dropped, not retried.
			w.log.Error("job message unreadable; dropped", "message_id", m.MessageId)
			continue
		}
		if err := w.Expand(ctx, msg.Connection, msg.Job); err != nil {
			w.log.Error("job not expanded; retrying", "connection", msg.Connection, "job", msg.Job, "err", err)
			out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return out, nil
}

// Expand queues a re-sync of every order of the job: those the filter
// matches now (the newest MaxJobOrders), or those named that ordersync
// holds. A job gone, or already queued, is left as it is.
func (w *Worker) Expand(ctx context.Context, connID, id string) error {
	j, err := w.store.Job(ctx, connID, id)
	switch {
	case errors.Is(err, order.ErrNotFound):
		w.log.Warn("job gone; nothing to do", "connection", connID, "job", id)
		return nil
	case err != nil:
		return err
	}
	if j.Status != JobAccepted {
		return nil
	}
	conn, err := w.store.Connection(ctx, connID)
	switch {
	case errors.Is(err, order.ErrNotFound):
		w.log.Warn("job of a connection gone; nothing to do", "connection", connID, "job", id)
		return nil
	case err != nil:
		return fmt.Errorf("connection: %w", err)
	}
	var ids []string
	var states []order.State
	if j.Filter != nil {
		if states, j.Truncated, err = w.match(ctx, connID, *j.Filter); err != nil {
			return err
		}
		ids = make([]string, len(states))
		for i, st := range states {
			ids[i] = st.Ref.MarketplaceOrderID
		}
	} else {
		if ids, err = w.store.JobOrders(ctx, connID, id); err != nil {
			return err
		}
		m, err := w.store.LoadOrders(ctx, connID, ids)
		if err != nil {
			return err
		}
		for _, mk := range ids {
			if st, ok := m[mk]; ok {
				states = append(states, st)
			}
		}
	}
	j.QueuedAt = w.now().UTC()
	evs := make([]order.Event, len(states))
	for i, st := range states {
		evs[i] = resyncEvent(conn, st.Ref.MarketplaceOrderID, st)
	}
	if err := w.enqueue(ctx, evs); err != nil {
		return err
	}
	j.Status, j.Orders, j.Queued, j.NotFound = JobQueued, len(ids), len(evs), len(ids)-len(states)
	if len(evs) == 0 {
		j.Status = JobDone // nothing to wait for
	}
	var put []string
	if j.Filter != nil {
		put = ids
		if put == nil {
			put = []string{}
		}
	}
	if err := w.store.PutJob(ctx, j, put); err != nil {
		return err
	}
	w.log.Info("job queued", "connection", connID, "job", id, "orders", j.Orders, "queued", j.Queued, "truncated", j.Truncated)
	return nil
}

// match lists the orders f matches, newest first, at most MaxJobOrders,
// and whether there were more.
func (w *Worker) match(ctx context.Context, conn string, f JobFilter) ([]order.State, bool, error) {
	var out []order.State
	q := f.query(MaxLimit)
	for {
		page, err := w.store.ListOrders(ctx, conn, q)
		if err != nil {
			return nil, false, err
		}
		out = append(out, page...)
		if len(out) > MaxJobOrders {
			return out[:MaxJobOrders], true, nil
		}
		if len(page) < q.Limit {
			return out, false, nil
		}
		q.After = OrderKey(page[len(page)-1])
	}
}

// enqueue queues evs, jobBatch at a time when the queue takes batches.
func (w *Worker) enqueue(ctx context.Context, evs []order.Event) error {
	if bq, ok := w.queue.(batchQueue); ok {
		n := (len(evs) + jobBatch - 1) / jobBatch
		return each(n, func(i int) error {
			return bq.EnqueueBatch(ctx, evs[i*jobBatch:min((i+1)*jobBatch, len(evs))])
		})
	}
	return each(len(evs), func(i int) error { return w.queue.Enqueue(ctx, evs[i]) })
}
