package refreshbatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/refreshbatch"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/memqueue"
)

// refresher is a function-field double of the refresh.
type refresher func(ctx context.Context, job refresh.Job) (refresh.Report, error)

func (f refresher) Refresh(ctx context.Context, job refresh.Job) (refresh.Report, error) {
	return f(ctx, job)
}

var _ refreshbatch.Reports = (*reports)(nil)

// logs is a JSON log, as Lambda receives it, read back line by line.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }

func (l *logs) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

var at = time.Date(2026, 12, 1, 10, 20, 0, 0, time.UTC)

func jobBody(conn string) string {
	b, _ := json.Marshal(refresh.Job{Connection: conn, At: at})
	return string(b)
}

type env struct {
	queue, dlq *memqueue.Queue
	log        *logs
	calls      []refresh.Job
	reports    *reports
	mu         sync.Mutex
}

// reports records the reports the handler stores, refusing them with err
// when set.
type reports struct {
	mu    sync.Mutex
	err   error
	saved []refresh.Report
}

func (r *reports) SaveReport(_ context.Context, rep refresh.Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.saved = append(r.saved, rep)
	return nil
}

func (r *reports) all() []refresh.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]refresh.Report(nil), r.saved...)
}

func newEnv() *env {
	dlq := memqueue.New("refresh-dlq", memqueue.Options{})
	return &env{dlq: dlq, queue: memqueue.New("refresh", memqueue.Options{Visibility: 30 * time.Minute, MaxReceiveCount: 3, DLQ: dlq}),
		log: &logs{}, reports: &reports{}}
}

func (e *env) handler(cfg refreshbatch.Config, f refresher) *refreshbatch.Handler {
	counted := refresher(func(ctx context.Context, job refresh.Job) (refresh.Report, error) {
		e.mu.Lock()
		e.calls = append(e.calls, job)
		e.mu.Unlock()
		return f(ctx, job)
	})
	return refreshbatch.New(cfg, counted, e.queue, e.reports, slog.New(slog.NewJSONHandler(e.log, nil)))
}

// receive sends body, receives it receives times (each time but the last
// made visible again at once, as its retry wait ending) and returns the
// last receive.
func (e *env) receive(t *testing.T, body string, receives int) events.SQSMessage {
	t.Helper()
	if err := e.queue.Send(context.Background(), body, map[string]string{"connection": "acme"}); err != nil {
		t.Fatal(err)
	}
	var m events.SQSMessage
	for i := range receives {
		got, err := e.queue.Receive(1)
		if err != nil || len(got) != 1 {
			t.Fatalf("receive %d = %v, %v", i+1, got, err)
		}
		m = got[0]
		if i < receives-1 {
			_ = e.queue.RetryIn(context.Background(), m.ReceiptHandle, 0)
		}
	}
	return m
}

// untilMoved receives the queue's messages and hands them to h, as the
// event source mapping does, until the redrive policy has moved the job to
// the DLQ; it returns the DLQ's messages.
func (e *env) untilMoved(t *testing.T, h *refreshbatch.Handler) []memqueue.Message {
	t.Helper()
	for range 10 {
		if dl := e.dlq.Messages(); len(dl) > 0 {
			return dl
		}
		got, err := e.queue.Receive(1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			continue
		}
		resp, err := h.Handle(context.Background(), events.SQSEvent{Records: got})
		if err != nil || len(resp.BatchItemFailures) != 1 {
			t.Fatalf("Handle = %+v, %v; a job failed for good is never deleted", resp, err)
		}
	}
	t.Fatal("the job never reached the DLQ")
	return nil
}

// TestHandle: how each way a job can end is carried out.
func TestHandle(t *testing.T) {
	report := refresh.Report{Connection: "acme", At: at, MarketplaceListed: 7, StoreListed: 5, Resumed: true,
		InSync: refresh.Orders{Count: 4}, Recovered: refresh.Orders{Count: 1, IDs: []string{"261671"}}, Imports: refresh.Orders{Count: 2}, Requeued: 3}
	down := syncerr.E(syncerr.MarketplaceUnavailable, "status", "503")
	tests := []struct {
		name       string
		body       string
		receives   int
		refresh    refresher
		refuse     error // the report store's answer
		wantCalls  int
		wantFailed bool          // a batch item failure: tried again
		wantRetry  time.Duration // its wait, when tried again
		wantDLQ    bool          // failed for good: released until the redrive policy moves it
		// wantReport is the failure stored on the connection's report for
		// the job's hour ("code", "attempts"), nil for none.
		wantReport map[string]string
	}{
		{name: "refreshed: deleted", body: jobBody("acme"), receives: 1, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) { return report, nil }},
		{name: "an unreadable job: to the DLQ, never run, no report", body: `{"connection":`, receives: 1, wantDLQ: true},
		{name: "a job naming no connection: the DLQ, no report", body: `{"at":"2026-12-01T10:20:00Z"}`, receives: 1, wantDLQ: true},
		{name: "a connection the store does not know: the DLQ at once, no report", body: jobBody("gone"), receives: 1, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) {
				return refresh.Report{}, fmt.Errorf("dynamostore: connection gone: %w", order.ErrNotFound)
			},
			wantDLQ: true},
		{name: "a transient failure, first try: tried again after 1 x base", body: jobBody("acme"), receives: 1, wantCalls: 1,
			refresh:    func(context.Context, refresh.Job) (refresh.Report, error) { return refresh.Report{}, down },
			wantFailed: true, wantRetry: 15 * time.Second},
		{name: "a rate limit asking for longer than the wait: its Retry-After", body: jobBody("acme"), receives: 1, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) {
				return refresh.Report{}, syncerr.E(syncerr.RateLimited).After(2 * time.Minute)
			},
			wantFailed: true, wantRetry: 2 * time.Minute},
		{name: "a rate limit asking for less than the wait: the wait", body: jobBody("acme"), receives: 2, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) {
				return refresh.Report{}, syncerr.E(syncerr.RateLimited).After(time.Second)
			},
			wantFailed: true, wantRetry: 30 * time.Second},
		{name: "an unclassified failure, second try: after 2 x base", body: jobBody("acme"), receives: 2, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) {
				return refresh.Report{}, errors.New("connection reset")
			},
			wantFailed: true, wantRetry: 30 * time.Second},
		{name: "a transient failure on the last try: the DLQ, its reason on the report", body: jobBody("acme"), receives: 3, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) { return refresh.Report{}, down },
			wantDLQ: true, wantReport: map[string]string{"code": "marketplace_unavailable", "detail": `marketplace_unavailable status="503"`, "attempts": "3"}},
		{name: "a permanent failure: the DLQ at once, its reason on the report", body: jobBody("acme"), receives: 1, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) {
				return refresh.Report{}, syncerr.E(syncerr.PlatformUnsupported, "platform", "amazon")
			},
			wantDLQ: true, wantReport: map[string]string{"code": "platform_unsupported", "attempts": "1"}},
		{name: "the report cannot be stored before the last try: tried again", body: jobBody("acme"), receives: 1, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) {
				return refresh.Report{}, syncerr.E(syncerr.PlatformUnsupported, "platform", "amazon")
			},
			refuse: errors.New("dynamodb: throttled"), wantFailed: true, wantRetry: 15 * time.Second},
		{name: "the report cannot be stored on the last try: the DLQ all the same", body: jobBody("acme"), receives: 3, wantCalls: 1,
			refresh: func(context.Context, refresh.Job) (refresh.Report, error) { return refresh.Report{}, down },
			refuse:  errors.New("dynamodb: throttled"), wantDLQ: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv()
			e.reports.err = tt.refuse
			m := e.receive(t, tt.body, tt.receives)
			h := e.handler(refreshbatch.Config{}, tt.refresh)
			resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{m}})
			if err != nil {
				t.Fatalf("Handle = %v, want nil (a batch is never failed whole)", err)
			}
			if got := len(e.calls); got != tt.wantCalls {
				t.Errorf("%d refreshes, want %d", got, tt.wantCalls)
			}
			// Tried again, or left to the redrive policy: never deleted.
			if got := len(resp.BatchItemFailures) == 1; got != (tt.wantFailed || tt.wantDLQ) {
				t.Errorf("batch item failures %+v, want failed %v", resp.BatchItemFailures, tt.wantFailed || tt.wantDLQ)
			}
			if tt.wantFailed {
				msgs := e.queue.Messages()
				if len(msgs) != 1 {
					t.Fatalf("%d messages on the queue, want the job", len(msgs))
				}
				// memqueue's own clock: the wait is from now, give or take the test's run.
				if d := time.Until(msgs[0].VisibleAt); d > tt.wantRetry || d < tt.wantRetry-time.Minute/2 {
					t.Errorf("visible again in %s, want %s", d, tt.wantRetry)
				}
			}
			if !tt.wantDLQ {
				if dl := e.dlq.Messages(); len(dl) != 0 {
					t.Errorf("DLQ = %+v, want empty", dl)
				}
			} else {
				msgs := e.queue.Messages()
				if len(msgs) != 1 || time.Until(msgs[0].VisibleAt) > 0 {
					t.Fatalf("queue = %+v, want the job visible again at once, for the redrive policy", msgs)
				}
				dl := e.untilMoved(t, h)
				if len(dl) != 1 || dl[0].Body != tt.body || dl[0].Source != "refresh" {
					t.Fatalf("DLQ = %+v, want the job's body, moved from the refresh queue", dl)
				}
				if got := len(e.calls); got != tt.wantCalls {
					t.Errorf("%d refreshes by the time it reached the DLQ, want %d: a job failed for good is not run again", got, tt.wantCalls)
				}
				if got := len(e.log.lines(t, "refresh job dead-lettered")); got != 1 {
					t.Errorf("%d dead-lettered lines, want 1", got)
				}
			}
			saved := e.reports.all()
			if tt.wantReport == nil {
				if len(saved) != 0 {
					t.Errorf("reports %+v, want none", saved)
				}
				return
			}
			if len(saved) != 1 || saved[0].Failed == nil {
				t.Fatalf("reports %+v, want one with the failure", saved)
			}
			r, f := saved[0], saved[0].Failed
			if r.Connection != "acme" || !r.At.Equal(at) || r.FinishedAt.IsZero() {
				t.Errorf("report %+v: want the job's connection and hour", r)
			}
			if f.Code != tt.wantReport["code"] || fmt.Sprint(f.Attempts) != tt.wantReport["attempts"] || f.Detail == "" || f.FirstFailedAt.IsZero() {
				t.Errorf("failure %+v, want %v with a detail and first_failed_at", f, tt.wantReport)
			}
			if want, ok := tt.wantReport["detail"]; ok && f.Detail != want {
				t.Errorf("detail %q, want %q", f.Detail, want)
			}
			// What the merchant reads is the catalogue's words for a
			// refresh that failed with this code, not the Go error.
			_, rerr := tt.refresh(context.Background(), refresh.Job{})
			x := syncerr.ExplainRefresh(rerr)
			if f.Title != x.Title || f.Cause != x.Cause || f.Remedy != x.Remedy {
				t.Errorf("failure words %q / %q / %q, want the catalogue's %q / %q / %q", f.Title, f.Cause, f.Remedy, x.Title, x.Cause, x.Remedy)
			}
			for _, text := range []string{f.Title, f.Cause, f.Remedy} {
				if text == "" || strings.Contains(text, f.Detail) || strings.Contains(text, "(unknown") {
					t.Errorf("merchant words %q: want the catalogue's, filled, without the error's text %q", text, f.Detail)
				}
			}
		})
	}
}

// TestTheReportIsOneLineWithItsCountsAsMetrics reads the log line of a
// refreshed job as CloudWatch Logs would: every metric the _aws directive
// names is a number on the line, and the counts are the report's.
func TestTheReportIsOneLineWithItsCountsAsMetrics(t *testing.T) {
	e := newEnv()
	rep := refresh.Report{Connection: "acme", At: at, MarketplaceListed: 7, StoreListed: 5,
		Behind: refresh.Orders{Count: 2, IDs: []string{"1", "2"}}, StillFailing: refresh.Orders{Count: 1}, GaveUp: 1}
	h := e.handler(refreshbatch.Config{}, func(context.Context, refresh.Job) (refresh.Report, error) { return rep, nil })
	if _, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{e.receive(t, jobBody("acme"), 1)}}); err != nil {
		t.Fatal(err)
	}
	lines := e.log.lines(t, "refreshed")
	if len(lines) != 1 {
		t.Fatalf("%d report lines, want 1", len(lines))
	}
	l := lines[0]
	want := map[string]float64{"marketplace_listed": 7, "store_listed": 5, "behind": 2, "still_failing": 1, "gave_up": 1,
		"in_sync": 0, "jobs_refreshed": 1}
	for k, v := range want {
		if got, ok := l[k].(float64); !ok || got != v {
			t.Errorf("%s = %v, want %v", k, l[k], v)
		}
	}
	if l["connection"] != "acme" || l["service"] != "refresh" {
		t.Errorf("line %v: want the connection and the service dimension", l)
	}
	var doc struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	b, _ := json.Marshal(l["_aws"])
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.CloudWatchMetrics) != 1 || doc.Timestamp == 0 {
		t.Fatalf("_aws = %s (%v), want one EMF directive with a timestamp", b, err)
	}
	d := doc.CloudWatchMetrics[0]
	if d.Namespace != refreshbatch.Namespace || len(d.Dimensions) != 1 || len(d.Dimensions[0]) != 1 || l[d.Dimensions[0][0]] == nil {
		t.Errorf("directive %+v: want the namespace and a dimension the line holds", d)
	}
	names := map[string]bool{}
	for _, m := range d.Metrics {
		names[m.Name] = true
		if _, ok := l[m.Name].(float64); !ok {
			t.Errorf("metric %s: %v on the line, want a number", m.Name, l[m.Name])
		}
	}
	for k := range want {
		if !names[k] {
			t.Errorf("%s is not a metric", k)
		}
	}
	if _, ok := l["behind_ids"]; ok || strings.Contains(fmt.Sprint(l), "[1 2]") {
		t.Errorf("line %v: the ids stay in the stored report", l)
	}
}

// TestAJobThatWouldNotFinishFailsOnItsOwn: the refresh runs under the
// invocation's deadline less the send reserve, so a job that overruns is
// cut, fails with "out of time" and is carried out before the Lambda
// would be killed; with too little time left a job does not start.
func TestAJobThatWouldNotFinishFailsOnItsOwn(t *testing.T) {
	cfg := refreshbatch.Config{SendReserve: 200 * time.Millisecond, DeadlineMargin: time.Second}
	t.Run("cut at the deadline less the reserve", func(t *testing.T) {
		e := newEnv()
		var gotDeadline time.Time
		h := e.handler(cfg, func(ctx context.Context, _ refresh.Job) (refresh.Report, error) {
			gotDeadline, _ = ctx.Deadline()
			<-ctx.Done() // a marketplace that never answers
			return refresh.Report{}, ctx.Err()
		})
		m := e.receive(t, jobBody("slow"), 3)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		dl, _ := ctx.Deadline()
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{m}})
		if err != nil || len(resp.BatchItemFailures) != 1 {
			t.Fatalf("Handle = %+v, %v; want the job failed for good on its last try, left to the redrive policy", resp, err)
		}
		if !gotDeadline.Equal(dl.Add(-cfg.SendReserve)) {
			t.Errorf("refresh deadline %v, want the invocation's less %s (%v)", gotDeadline, cfg.SendReserve, dl.Add(-cfg.SendReserve))
		}
		reps := e.reports.all()
		if len(reps) != 1 || reps[0].Failed == nil || !strings.Contains(reps[0].Failed.Detail, "out of time") {
			t.Errorf("reports %+v, want the job's with an out-of-time reason", reps)
		}
	})
	t.Run("too little time left: not started, tried again", func(t *testing.T) {
		e := newEnv()
		h := e.handler(cfg, func(context.Context, refresh.Job) (refresh.Report, error) { return refresh.Report{}, nil })
		ctx, cancel := context.WithTimeout(context.Background(), cfg.DeadlineMargin/2)
		defer cancel()
		resp, _ := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{e.receive(t, jobBody("acme"), 1)}})
		if len(e.calls) != 0 || len(resp.BatchItemFailures) != 1 {
			t.Errorf("%d refreshes, failures %+v; want none started and the job tried again", len(e.calls), resp.BatchItemFailures)
		}
	})
}

// TestTheQueueRetriesThenDeadLettersWhileOthersFinish runs jobs through
// the event source mapping, in memory: a connection that is down is tried
// three times, its reason stored on its report, and moved to the DLQ by
// the redrive policy, one that is slow holds up
// no other, and every other is refreshed once.
func TestTheQueueRetriesThenDeadLettersWhileOthersFinish(t *testing.T) {
	e := newEnv()
	release := make(chan struct{})
	var mu sync.Mutex
	refreshed := map[string]int{}
	h := e.handler(refreshbatch.Config{RetryBase: time.Millisecond}, func(ctx context.Context, job refresh.Job) (refresh.Report, error) {
		switch job.Connection {
		case "down":
			return refresh.Report{}, syncerr.E(syncerr.MarketplaceUnavailable, "status", "503")
		case "slow":
			select {
			case <-release:
			case <-ctx.Done():
				return refresh.Report{}, ctx.Err()
			}
		}
		mu.Lock()
		refreshed[job.Connection]++
		mu.Unlock()
		return refresh.Report{Connection: job.Connection, At: job.At}, nil
	})
	conns := []string{"slow", "down", "c1", "c2", "c3", "c4"}
	for _, c := range conns {
		if err := e.queue.Send(context.Background(), jobBody(c), map[string]string{"connection": c}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		memqueue.Mapping{Queue: e.queue, Handler: h.Handle, BatchSize: 1, Concurrency: 3, Timeout: time.Minute}.Run(ctx)
		close(done)
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, "the others refreshed and the down one dead-lettered while the slow one runs", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(refreshed) == 4 && len(e.dlq.Messages()) == 1
	})
	close(release)
	waitFor(t, "the slow one refreshed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return refreshed["slow"] == 1
	})
	for _, c := range []string{"c1", "c2", "c3", "c4", "slow"} {
		if refreshed[c] != 1 {
			t.Errorf("%s refreshed %d times, want once", c, refreshed[c])
		}
	}
	dl := e.dlq.Messages()
	if dl[0].Attributes["connection"] != "down" || dl[0].Source != "refresh" {
		t.Errorf("DLQ %+v: want the down connection's job, moved by the redrive policy from the refresh queue", dl[0])
	}
	if reps := e.reports.all(); len(reps) != 1 || reps[0].Connection != "down" || reps[0].Failed == nil ||
		reps[0].Failed.Attempts != 3 || reps[0].Failed.Code != "marketplace_unavailable" {
		t.Errorf("reports %+v: want the down connection's, failed after 3 tries", reps)
	}
	waitFor(t, "the queue empty", func() bool { _, _, n := e.queue.Counts(); return n == 0 })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// FuzzDecodeJob: whatever a message holds, DecodeJob answers a job with a
// connection and a time, or an error; never a panic.
func FuzzDecodeJob(f *testing.F) {
	f.Add(jobBody("acme"))
	f.Add(`{"connection":"acme"}`)
	f.Add(`{"connection":"","at":"2026-12-01T10:20:00Z"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		j, err := refreshbatch.DecodeJob(body)
		if err == nil && (j.Connection == "" || j.At.IsZero()) {
			t.Errorf("DecodeJob(%q) = %+v, nil; want a connection and a time", body, j)
		}
	})
}
