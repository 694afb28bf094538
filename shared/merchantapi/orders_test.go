package merchantapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// ordersAnswer is the answer of GET orders, as a caller reads it.
type ordersAnswer struct {
	Connection string `json:"connection"`
	State      string `json:"state"`
	Orders     []struct {
		Order order.Ref `json:"order"`
		State string    `json:"state"`
		Sync  struct {
			Result    string `json:"result"`
			ErrorCode string `json:"error_code"`
			Kind      string `json:"kind"`
		} `json:"sync"`
	} `json:"orders"`
	NextCursor string `json:"next_cursor"`
}

func (a ordersAnswer) ids() []string {
	out := []string{}
	for _, o := range a.Orders {
		out = append(out, o.Order.MarketplaceOrderID)
	}
	return out
}

// saveOutcome stores an order of acme (new, or stored before) with the
// outcome given, synced at.
func (e *env) saveOutcome(mkID string, at time.Time, result order.SyncResult, code string) {
	e.t.Helper()
	st, err := e.store.LoadOrder(context.Background(), "acme", mkID)
	if err != nil {
		st = e.saveOrder("acme", mkID)
	}
	st.Sync = order.SyncOutcome{Result: result, ErrorCode: code, At: at}
	if _, err := e.store.SaveOrder(context.Background(), st); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) listOrders(query map[string]string) resp {
	e.t.Helper()
	return e.send(req{method: "GET", route: merchantapi.RouteOrders, conn: "acme", query: query, auth: "Bearer " + acmeKey})
}

func TestListOrders(t *testing.T) {
	e := newEnv(t)
	e.saveOutcome("m1", e.now.Add(-3*time.Hour), order.SyncFailed, "sku_not_found")
	e.saveOutcome("m2", e.now.Add(-1*time.Hour), order.SyncFailed, "sku_not_found")
	e.saveOutcome("m3", e.now.Add(-2*time.Hour), order.SyncFailed, "shipping_data_missing")
	e.saveOutcome("m4", e.now.Add(-2*time.Hour), order.SyncFailed, "marketplace_unavailable")
	e.saveOutcome("m5", e.now.Add(-2*time.Hour), order.SyncSynced, "")
	e.saveOrder("other", "o1")

	tests := []struct {
		name  string
		query map[string]string
		want  []string
	}{
		{"failed, newest first", map[string]string{"state": "failed"}, []string{"m2", "m3", "m1"}},
		{"by code", map[string]string{"state": "failed", "code": "sku_not_found"}, []string{"m2", "m1"}},
		{"since a date", map[string]string{"state": "failed", "since": e.now.Add(-150 * time.Minute).Format(time.RFC3339)}, []string{"m2", "m3"}},
		{"until", map[string]string{"state": "failed", "until": e.now.Add(-90 * time.Minute).Format(time.RFC3339)}, []string{"m3", "m1"}},
		{"requires_sync", map[string]string{"state": "requires_sync"}, []string{"m4"}},
		{"synced", map[string]string{"state": "synced"}, []string{"m5"}},
		{"none held", map[string]string{"state": "held"}, []string{}},
		{"found by marketplace order id", map[string]string{"marketplace_order_id": "m3"}, []string{"m3"}},
		{"no such marketplace order", map[string]string{"marketplace_order_id": "nope"}, []string{}},
		{"found by store order name", map[string]string{"store_order_name": "#m2"}, []string{"m2"}},
		{"another connection's order is not found", map[string]string{"marketplace_order_id": "o1"}, []string{}},
		{"another connection's name is not found", map[string]string{"store_order_name": "#o1"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.listOrders(tt.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d %s, want 200", r.status, r.body)
			}
			if got := decode[ordersAnswer](t, r).ids(); !slices.Equal(got, tt.want) {
				t.Errorf("orders = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("the view", func(t *testing.T) {
		r := e.listOrders(map[string]string{"state": "requires_sync"})
		a := decode[ordersAnswer](t, r)
		if len(a.Orders) != 1 || a.Orders[0].State != "requires_sync" || a.Orders[0].Sync.Kind != "transient" || a.Orders[0].Sync.ErrorCode != "marketplace_unavailable" {
			t.Errorf("got %s, want m4 requires_sync, transient marketplace_unavailable", r.body)
		}
		// Neither the address nor the lines are listed.
		if s := string(r.body); strings.Contains(s, "Victor Hugo") || strings.Contains(s, "IPH12") {
			t.Errorf("the listing shows the address or the lines: %s", s)
		}
	})
	t.Run("pages", func(t *testing.T) {
		var got []string
		q := map[string]string{"state": "failed", "limit": "2"}
		pages := 0
		for ; pages < 5; pages++ {
			a := decode[ordersAnswer](t, e.listOrders(q))
			got = append(got, a.ids()...)
			if a.NextCursor == "" {
				break
			}
			q["cursor"] = a.NextCursor
		}
		if !slices.Equal(got, []string{"m2", "m3", "m1"}) || pages != 1 {
			t.Errorf("paged %v in %d pages, want [m2 m3 m1] in 2", got, pages+1)
		}
	})
}

func TestListOrdersRefusals(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("acme", "m1")
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name  string
		query map[string]string
	}{
		{"no state", map[string]string{}},
		{"an unknown state", map[string]string{"state": "broken"}},
		{"a state in capitals", map[string]string{"state": "FAILED"}},
		{"an unknown code", map[string]string{"state": "failed", "code": "no_such_code"}},
		{"an empty code", map[string]string{"state": "failed", "code": ""}},
		{"a bad since", map[string]string{"state": "failed", "since": "yesterday"}},
		{"a bad until", map[string]string{"state": "failed", "until": "2026-13-01"}},
		{"until before since", map[string]string{"state": "failed", "since": "2026-12-02", "until": "2026-12-01"}},
		{"since equal to until", map[string]string{"state": "failed", "since": "2026-12-01", "until": "2026-12-01"}},
		{"limit 0", map[string]string{"state": "failed", "limit": "0"}},
		{"limit 101", map[string]string{"state": "failed", "limit": "101"}},
		{"limit not a number", map[string]string{"state": "failed", "limit": "ten"}},
		{"a cursor not base64", map[string]string{"state": "failed", "cursor": "%%%"}},
		{"a cursor of something else", map[string]string{"state": "failed", "cursor": b64("hello")}},
		{"a cursor with a bad id", map[string]string{"state": "failed", "cursor": b64("2026-12-01T00:00:00.000000000Z#a/b")}},
		{"a cursor with a loose time", map[string]string{"state": "failed", "cursor": b64("2026-12-01T00:00:00Z#m1")}},
		{"an unknown parameter", map[string]string{"state": "failed", "days": "3"}},
		{"both finds", map[string]string{"marketplace_order_id": "m1", "store_order_name": "#m1"}},
		{"a find with a state", map[string]string{"marketplace_order_id": "m1", "state": "failed"}},
		{"a bad marketplace order id", map[string]string{"marketplace_order_id": "a#b"}},
		{"an empty store order name", map[string]string{"store_order_name": ""}},
		{"a store order name with a control character", map[string]string{"store_order_name": "#10\x0001"}},
		{"a store order name too long", map[string]string{"store_order_name": strings.Repeat("x", order.MaxIDBytes+1)}},
		{"a store order name not UTF-8", map[string]string{"store_order_name": "#\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.listOrders(tt.query)
			if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_parameter" {
				t.Errorf("got %d %s, want 400 invalid_parameter", r.status, r.body)
			}
		})
	}
}

// jobQueue is the job worker's queue in memory.
type jobQueue struct {
	mu   sync.Mutex
	msgs []string
	err  error
}

func (q *jobQueue) Send(_ context.Context, body string, _ map[string]string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.msgs = append(q.msgs, body)
	return nil
}

// take returns the job queue's messages as an SQS event, and empties it.
func (q *jobQueue) take() events.SQSEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ev events.SQSEvent
	for i, m := range q.msgs {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("msg-", i), Body: m})
	}
	q.msgs = nil
	return ev
}

// jobAnswer is a job as a caller reads it.
type jobAnswer struct {
	Job struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Orders    int    `json:"orders"`
		Queued    int    `json:"queued"`
		NotFound  int    `json:"not_found"`
		Truncated bool   `json:"truncated"`
		Results   []struct {
			ID     string `json:"marketplace_order_id"`
			Result string `json:"result"`
			Code   string `json:"code"`
		} `json:"results"`
		NextCursor string `json:"next_cursor"`
	} `json:"job"`
}

func (a jobAnswer) results() string {
	var b strings.Builder
	for _, r := range a.Job.Results {
		fmt.Fprintf(&b, "%s:%s%s ", r.ID, r.Result, strings.TrimSuffix(":"+r.Code, ":"))
	}
	return strings.TrimSpace(b.String())
}

// jobEnv is env with the job queue and the worker.
type jobEnv struct {
	*env
	jobs   *jobQueue
	worker *merchantapi.Worker
}

func newJobEnv(t *testing.T) *jobEnv {
	e := newEnv(t)
	je := &jobEnv{env: e, jobs: &jobQueue{}}
	e.h = e.h.WithJobs(je.jobs)
	je.worker = merchantapi.NewWorker(e.store, e.queue, func() time.Time { return e.now }, nil)
	return je
}

func (e *jobEnv) post(body string) resp {
	e.t.Helper()
	return e.send(req{method: "POST", route: merchantapi.RouteJobs, conn: "acme", body: body, auth: "Bearer " + acmeKey})
}

func (e *jobEnv) show(id string, query map[string]string) resp {
	e.t.Helper()
	return e.send(req{method: "GET", route: merchantapi.RouteJob, conn: "acme", job: id, query: query, auth: "Bearer " + acmeKey})
}

// work runs the worker on what the job queue holds.
func (e *jobEnv) work() {
	e.t.Helper()
	out, err := e.worker.Handle(context.Background(), e.jobs.take())
	if err != nil || len(out.BatchItemFailures) != 0 {
		e.t.Fatalf("worker: %+v, %v", out, err)
	}
}

func TestJobByIDs(t *testing.T) {
	e := newJobEnv(t)
	e.saveOutcome("m1", e.now.Add(-time.Hour), order.SyncFailed, "sku_not_found")
	e.saveOutcome("m2", e.now.Add(-time.Hour), order.SyncFailed, "sku_not_found")
	r := e.post(`{"ids": ["m1", "m2", "nope", "m1"]}`)
	a := decode[jobAnswer](t, r)
	if r.status != http.StatusAccepted || a.Job.Status != "accepted" || a.Job.Orders != 3 {
		t.Fatalf("got %d %s, want 202 an accepted job of 3 orders", r.status, r.body)
	}
	if n := e.queueLength(); n != "0" {
		t.Errorf("the API queued %s re-syncs itself, want none: the worker does", n)
	}
	if got := decode[jobAnswer](t, e.show(a.Job.ID, nil)); got.Job.Status != "accepted" || len(got.Job.Results) != 0 {
		t.Errorf("before the worker: %+v, want accepted, no results", got.Job)
	}
	e.work()
	evs := e.queued()
	var got []string
	for _, ev := range evs {
		if ev.Topic != "merchant/resync" || ev.Source != merchantapi.Source {
			t.Errorf("event %+v, want topic merchant/resync from %s", ev, merchantapi.Source)
		}
		got = append(got, ev.Order.MarketplaceOrderID)
	}
	if slices.Sort(got); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Errorf("queued %v, want [m1 m2]", got)
	}
	shown := decode[jobAnswer](t, e.show(a.Job.ID, nil))
	if j := shown.Job; j.Status != "queued" || j.Orders != 3 || j.Queued != 2 || j.NotFound != 1 {
		t.Errorf("job = %+v, want queued, 3 orders, 2 queued, 1 not found", j)
	}
	if got, want := shown.results(), "m1:queued m2:queued nope:not_found"; got != want {
		t.Errorf("results = %s, want %s", got, want)
	}
	// The sync ran: m1 synced, m2 failed again.
	e.saveOutcome("m1", e.now.Add(time.Minute), order.SyncSynced, "")
	e.saveOutcome("m2", e.now.Add(time.Minute), order.SyncFailed, "sku_not_found")
	shown = decode[jobAnswer](t, e.show(a.Job.ID, nil))
	if got, want := shown.results(), "m1:synced m2:failed:sku_not_found nope:not_found"; got != want {
		t.Errorf("results after the sync = %s, want %s", got, want)
	}
	t.Run("a page of results", func(t *testing.T) {
		p1 := decode[jobAnswer](t, e.show(a.Job.ID, map[string]string{"limit": "2"}))
		p2 := decode[jobAnswer](t, e.show(a.Job.ID, map[string]string{"limit": "2", "cursor": p1.Job.NextCursor}))
		if p1.results() != "m1:synced m2:failed:sku_not_found" || p2.results() != "nope:not_found" || p2.Job.NextCursor != "" {
			t.Errorf("pages %q (next %q), %q (next %q)", p1.results(), p1.Job.NextCursor, p2.results(), p2.Job.NextCursor)
		}
	})
	t.Run("a message delivered again queues nothing more", func(t *testing.T) {
		if err := e.worker.Expand(context.Background(), "acme", a.Job.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.queueLength(); n != "0" {
			t.Errorf("%s queued again", n)
		}
	})
}

func TestJobByFilter(t *testing.T) {
	e := newJobEnv(t)
	e.saveOutcome("m1", e.now.Add(-time.Hour), order.SyncFailed, "sku_not_found")
	e.saveOutcome("m2", e.now.Add(-2*time.Hour), order.SyncFailed, "shipping_data_missing")
	e.saveOutcome("m3", e.now.Add(-time.Hour), order.SyncSynced, "")
	r := e.post(`{"filter": {"state": "failed", "code": "sku_not_found", "since": "` + e.now.Add(-48*time.Hour).Format(time.RFC3339) + `"}}`)
	if r.status != http.StatusAccepted {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	id := decode[jobAnswer](t, r).Job.ID
	e.work()
	if evs := e.queued(); len(evs) != 1 || evs[0].Order.MarketplaceOrderID != "m1" {
		t.Errorf("queued %+v, want m1 alone", evs)
	}
	shown := decode[jobAnswer](t, e.show(id, nil))
	if j := shown.Job; j.Status != "queued" || j.Orders != 1 || j.Queued != 1 || shown.results() != "m1:queued" {
		t.Errorf("job = %+v, want queued, m1", j)
	}
	// A second job. (Both are made at the test's one time: jobs of the
	// same millisecond come in no particular order.)
	r2 := e.post(`{"filter": {"state": "synced"}}`)
	list := e.send(req{method: "GET", route: merchantapi.RouteJobs, conn: "acme", auth: "Bearer " + acmeKey})
	var jobs struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	err := json.Unmarshal(list.body, &jobs)
	if err != nil || len(jobs.Jobs) != 2 || !slices.ContainsFunc(jobs.Jobs, func(j struct {
		ID string `json:"id"`
	}) bool {
		return j.ID == decode[jobAnswer](t, r2).Job.ID
	}) {
		t.Errorf("GET jobs = %d %s, want the two jobs", list.status, list.body)
	}
	// Another connection sees none of them.
	other := e.send(req{method: "GET", route: merchantapi.RouteJob, conn: "other", job: id, auth: "Bearer " + otherKey})
	if other.status != http.StatusNotFound || other.errorCode(t) != "job_not_found" {
		t.Errorf("another connection's GET job = %d %s, want 404 job_not_found", other.status, other.body)
	}
}

func TestAJobIsDoneOnceEveryOrderOfItSettled(t *testing.T) {
	e := newJobEnv(t)
	for _, id := range []string{"m1", "m2", "m3"} {
		e.saveOutcome(id, e.now.Add(-time.Hour), order.SyncFailed, "sku_not_found")
	}
	id := decode[jobAnswer](t, e.post(`{"ids": ["m1", "m2", "m3", "nope"]}`)).Job.ID
	e.work()
	e.queued()
	status := func(query map[string]string) string {
		t.Helper()
		return decode[jobAnswer](t, e.show(id, query)).Job.Status
	}
	listed := func() string {
		t.Helper()
		list := e.send(req{method: "GET", route: merchantapi.RouteJobs, conn: "acme", auth: "Bearer " + acmeKey})
		var jobs struct {
			Jobs []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal(list.body, &jobs); err != nil || len(jobs.Jobs) != 1 || jobs.Jobs[0].ID != id {
			t.Fatalf("GET jobs = %d %s, want the one job", list.status, list.body)
		}
		return jobs.Jobs[0].Status
	}
	// Two of three settled: still queued, on a page that holds only
	// settled orders too.
	e.saveOutcome("m1", e.now.Add(time.Minute), order.SyncSynced, "")
	e.saveOutcome("m2", e.now.Add(time.Minute), order.SyncSynced, "")
	if got := status(nil); got != "queued" {
		t.Errorf("m3 not synced yet: status %s, want queued", got)
	}
	if got := status(map[string]string{"limit": "2"}); got != "queued" {
		t.Errorf("m3 not synced yet, on a page of m1 and m2: status %s, want queued", got)
	}
	// The last one settles: the job is done, on every page and in the list.
	e.saveOutcome("m3", e.now.Add(2*time.Minute), order.SyncSynced, "")
	if got := status(map[string]string{"limit": "1"}); got != "done" {
		t.Errorf("every order settled: status %s, want done", got)
	}
	shown := decode[jobAnswer](t, e.show(id, nil))
	if j := shown.Job; j.Status != "done" || shown.results() != "m1:synced m2:synced m3:synced nope:not_found" {
		t.Errorf("job = %+v, want done with every result", j)
	}
	if got := listed(); got != "done" {
		t.Errorf("GET jobs: status %s, want done", got)
	}
	// Done is how the job ended: a later sync that fails does not reopen it.
	e.saveOutcome("m3", e.now.Add(time.Hour), order.SyncPending, "marketplace_unavailable")
	if got := status(nil); got != "done" {
		t.Errorf("after a later retry: status %s, want done still", got)
	}

	t.Run("with failures", func(t *testing.T) {
		e.saveOutcome("f1", e.now.Add(-time.Hour), order.SyncFailed, "sku_not_found")
		e.saveOutcome("f2", e.now.Add(-time.Hour), order.SyncFailed, "sku_not_found")
		id := decode[jobAnswer](t, e.post(`{"ids": ["f1", "f2"]}`)).Job.ID
		e.work()
		e.queued()
		e.saveOutcome("f1", e.now.Add(time.Minute), order.SyncSynced, "")
		e.saveOutcome("f2", e.now.Add(time.Minute), order.SyncFailed, "sku_not_found")
		if j := decode[jobAnswer](t, e.show(id, nil)).Job; j.Status != "done_with_failures" {
			t.Errorf("f2 failed again: job = %+v, want done_with_failures", j)
		}
	})
	t.Run("with nothing to queue", func(t *testing.T) {
		id := decode[jobAnswer](t, e.post(`{"filter": {"state": "held"}}`)).Job.ID
		e.work()
		if j := decode[jobAnswer](t, e.show(id, nil)).Job; j.Status != "done" || j.Orders != 0 {
			t.Errorf("a filter matching nothing: job = %+v, want done, no orders", j)
		}
	})
}

func TestJobRefusals(t *testing.T) {
	e := newJobEnv(t)
	e.saveOrder("acme", "m1")
	many := make([]string, merchantapi.MaxJobOrders+1)
	for i := range many {
		many[i] = fmt.Sprintf("m%d", i)
	}
	tooMany, _ := json.Marshal(map[string][]string{"ids": many})
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"too many ids", string(tooMany), 400, "invalid_orders"},
		{"no ids", `{"ids": []}`, 400, "invalid_orders"},
		{"an invalid id", `{"ids": ["a#b"]}`, 400, "invalid_orders"},
		{"neither filter nor ids", `{}`, 400, "malformed_body"},
		{"both filter and ids", `{"filter": {"state": "failed"}, "ids": ["m1"]}`, 400, "malformed_body"},
		{"an unknown field", `{"ids": ["m1"], "priority": 1}`, 400, "malformed_body"},
		{"an unknown filter field", `{"filter": {"state": "failed", "days": 3}}`, 400, "malformed_body"},
		{"a filter without a state", `{"filter": {"code": "sku_not_found"}}`, 400, "invalid_parameter"},
		{"a filter with a bad state", `{"filter": {"state": "broken"}}`, 400, "invalid_parameter"},
		{"a filter with a bad code", `{"filter": {"state": "failed", "code": "nope"}}`, 400, "invalid_parameter"},
		{"a filter with a bad date", `{"filter": {"state": "failed", "since": "last week"}}`, 400, "invalid_parameter"},
		{"a filter with until before since", `{"filter": {"state": "failed", "since": "2026-12-02", "until": "2026-12-01"}}`, 400, "invalid_parameter"},
		{"not UTF-8", "{\"ids\": [\"m\xff\"]}", 400, "malformed_body"},
		{"not JSON", `ids=m1`, 400, "malformed_body"},
		{"something after the object", `{"ids": ["m1"]} {}`, 400, "malformed_body"},
		{"too large", `{"ids": ["` + strings.Repeat("x", merchantapi.MaxJobBodyBytes) + `"]}`, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(tt.body)
			if r.status != tt.status || r.errorCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	gets := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"an unknown job", req{method: "GET", route: merchantapi.RouteJob, job: "20261201T000000.000Z-00"}, 404, "job_not_found"},
		{"an invalid job id", req{method: "GET", route: merchantapi.RouteJob, job: "a#b"}, 400, "invalid_id"},
		{"jobs limit 0", req{method: "GET", route: merchantapi.RouteJobs, query: map[string]string{"limit": "0"}}, 400, "invalid_parameter"},
		{"jobs limit 101", req{method: "GET", route: merchantapi.RouteJobs, query: map[string]string{"limit": "101"}}, 400, "invalid_parameter"},
	}
	for _, tt := range gets {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.conn, tt.r.auth = "acme", "Bearer "+acmeKey
			r := e.send(tt.r)
			if r.status != tt.status || r.errorCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	t.Run("a bad results cursor", func(t *testing.T) {
		id := decode[jobAnswer](t, e.post(`{"ids": ["m1"]}`)).Job.ID
		e.work()
		e.queued()
		for _, cur := range []string{"%%", base64.RawURLEncoding.EncodeToString([]byte("-1")), base64.RawURLEncoding.EncodeToString([]byte("01"))} {
			if r := e.show(id, map[string]string{"cursor": cur}); r.status != 400 || r.errorCode(t) != "invalid_parameter" {
				t.Errorf("cursor %q: got %d %s, want 400 invalid_parameter", cur, r.status, r.body)
			}
		}
	})
	js, err := e.store.Jobs(context.Background(), "acme", 100)
	if err != nil || len(js) != 1 {
		t.Errorf("jobs stored = %d, %v; want only the one job accepted", len(js), err)
	}
	if len(e.jobs.take().Records) != 0 {
		t.Error("a refused job was sent to the worker")
	}
}

func TestJobQueueOutage(t *testing.T) {
	e := newJobEnv(t)
	e.saveOrder("acme", "m1")
	e.jobs.err = errors.New("sqs: no such queue")
	r := e.post(`{"ids": ["m1"]}`)
	if r.status != http.StatusServiceUnavailable || r.headers["Retry-After"] == "" {
		t.Errorf("got %d %s, want 503 with Retry-After", r.status, r.body)
	}
	js, err := e.store.Jobs(context.Background(), "acme", 10)
	if err != nil || len(js) != 1 || js[0].Status != merchantapi.JobFailed {
		t.Errorf("jobs = %+v, %v; want the one job, marked failed (no worker runs it)", js, err)
	}
	t.Run("no job queue at all", func(t *testing.T) {
		h := newEnv(t)
		if r := h.send(req{method: "POST", route: merchantapi.RouteJobs, conn: "acme", body: `{"ids": ["m1"]}`, auth: "Bearer " + acmeKey}); r.status != 503 {
			t.Errorf("got %d %s, want 503", r.status, r.body)
		}
	})
}

func TestWorkerLeavesWhatItCannotRun(t *testing.T) {
	e := newJobEnv(t)
	e.saveOrder("acme", "m1")
	ctx := context.Background()
	gone := merchantapi.Job{ID: "20261201T000000.000Z-gone", Connection: "nobody", ByIDs: true, Status: merchantapi.JobAccepted, CreatedAt: e.now}
	failed := merchantapi.Job{ID: "20261201T000000.000Z-failed", Connection: "acme", ByIDs: true, Status: merchantapi.JobFailed, CreatedAt: e.now}
	for _, j := range []merchantapi.Job{gone, failed} {
		if err := e.store.PutJob(ctx, j, []string{"m1"}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ name, conn, job string }{
		{"no such job", "acme", "20261201T000000.000Z-none"},
		{"a connection gone", gone.Connection, gone.ID},
		{"a job that failed", failed.Connection, failed.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.worker.Expand(ctx, tt.conn, tt.job); err != nil {
				t.Errorf("Expand = %v, want nil (nothing to retry)", err)
			}
			if n := e.queueLength(); n != "0" {
				t.Errorf("%s queued, want none", n)
			}
		})
	}
	t.Run("an unreadable message is dropped", func(t *testing.T) {
		out, err := e.worker.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "x", Body: "{"}, {MessageId: "y", Body: `{"connection":"a#b","job":"j"}`}}})
		if err != nil || len(out.BatchItemFailures) != 0 {
			t.Errorf("Handle = %+v, %v; want no failures (not retried)", out, err)
		}
	})
	t.Run("a store outage is retried", func(t *testing.T) {
		w := merchantapi.NewWorker(failingStore{errors.New("dynamodb: throttled")}, e.queue, nil, nil)
		out, err := w.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "z", Body: `{"connection":"acme","job":"j1"}`}}})
		if err != nil || len(out.BatchItemFailures) != 1 || out.BatchItemFailures[0].ItemIdentifier != "z" {
			t.Errorf("Handle = %+v, %v; want message z failed, to be retried", out, err)
		}
	})
}

// TestJobOfTooManyOrders: a filter matching more than MaxJobOrders orders
// queues the newest MaxJobOrders and says it was truncated.
func TestJobOfTooManyOrders(t *testing.T) {
	e := newJobEnv(t)
	ctx := context.Background()
	for i := range merchantapi.MaxJobOrders + 1 {
		st := order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: fmt.Sprintf("m%05d", i)},
			Sync: order.SyncOutcome{Result: order.SyncHeld, ErrorCode: "address_missing", At: e.now.Add(time.Duration(i) * time.Second)}}
		if _, err := e.store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	id := decode[jobAnswer](t, e.post(`{"filter": {"state": "held"}}`)).Job.ID
	e.work()
	evs := e.queued()
	j, err := e.store.Job(ctx, "acme", id)
	if err != nil || !j.Truncated || j.Orders != merchantapi.MaxJobOrders || j.Queued != merchantapi.MaxJobOrders || len(evs) != merchantapi.MaxJobOrders {
		t.Fatalf("job %+v (%v), %d queued; want truncated at %d", j, err, len(evs), merchantapi.MaxJobOrders)
	}
	for _, ev := range evs {
		if ev.Order.MarketplaceOrderID == "m00000" {
			t.Error("the oldest order was queued; want the newest 10,000")
		}
	}
}
