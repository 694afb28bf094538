package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// listed is the order m of acme, last synced at with result and code.
func listed(m string, at time.Time, result order.SyncResult, code string) order.State {
	st := shippedOrder(at)
	st.Ref = order.Ref{StoreOrderID: "s-" + m, StoreOrderName: "#" + m, MarketplaceOrderID: m}
	st.Sync = order.SyncOutcome{Result: result, ErrorCode: code, At: at}
	return st
}

// marketIDs are the marketplace order ids of sts.
func marketIDs(sts []order.State) []string {
	out := make([]string, len(sts))
	for i, st := range sts {
		out[i] = st.Ref.MarketplaceOrderID
	}
	return out
}

func (s *suite) listOrders(t *testing.T) {
	h := s.fresh(t)
	ctx := t.Context()
	b := s.base
	saved := map[string]order.State{}
	for _, st := range []order.State{
		listed("m1", b.Add(-3*time.Hour), order.SyncSynced, ""),
		listed("m2", b.Add(-1*time.Hour), order.SyncSynced, ""),
		listed("m3", b.Add(-2*time.Hour), order.SyncSynced, ""),
		listed("m4", b.Add(-1*time.Hour), order.SyncFailed, "sku_not_found"),
		listed("m5", b.Add(-1*time.Hour), order.SyncFailed, "marketplace_unavailable"),
		listed("m6", b.Add(-1*time.Hour), order.SyncPending, "marketplace_unavailable"),
		listed("m7", b.Add(-1*time.Hour), order.SyncHeld, "address_missing"),
		listed("m8", time.Time{}, "", ""),
		listed("m9", b.Add(-1*time.Hour), order.SyncFailed, "order_not_editable"),
	} {
		if st.Ref.MarketplaceOrderID == "m8" {
			st.StoreUpdatedAt = b.Add(-time.Minute)
		}
		got, err := h.Store.SaveOrder(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		saved[st.Ref.MarketplaceOrderID] = got
	}
	other := listed("o1", b.Add(-time.Hour), order.SyncSynced, "")
	other.Connection = "other"
	if _, err := h.Store.SaveOrder(ctx, other); err != nil {
		t.Fatal(err)
	}
	list := func(q merchantapi.OrderQuery) []order.State {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		got, err := h.Store.ListOrders(ctx, "acme", q)
		if err != nil {
			t.Fatalf("ListOrders(%+v): %v", q, err)
		}
		return got
	}
	synced := order.StateSynced
	tests := []struct {
		name string
		q    merchantapi.OrderQuery
		want []string
	}{
		{"synced, newest first", merchantapi.OrderQuery{State: synced}, []string{"m2", "m3", "m1"}},
		{"failed: permanent codes", merchantapi.OrderQuery{State: order.StateFailed}, []string{"m9", "m4"}},
		{"requires_sync: transient, tries ran out", merchantapi.OrderQuery{State: order.StateRequiresSync}, []string{"m5"}},
		{"retrying", merchantapi.OrderQuery{State: order.StateRetrying}, []string{"m6"}},
		{"held", merchantapi.OrderQuery{State: order.StateHeld}, []string{"m7"}},
		{"pending, by the store's time", merchantapi.OrderQuery{State: order.StatePending}, []string{"m8"}},
		{"by code", merchantapi.OrderQuery{State: order.StateFailed, Code: "sku_not_found"}, []string{"m4"}},
		{"by a code no order has", merchantapi.OrderQuery{State: order.StateFailed, Code: "auth_expired"}, []string{}},
		{"a page", merchantapi.OrderQuery{State: synced, Limit: 2}, []string{"m2", "m3"}},
		{"the page after", merchantapi.OrderQuery{State: synced, After: merchantapi.OrderKey(saved["m3"])}, []string{"m1"}},
		{"after the last", merchantapi.OrderQuery{State: synced, After: merchantapi.OrderKey(saved["m1"])}, []string{}},
		{"since, inclusive", merchantapi.OrderQuery{State: synced, Since: b.Add(-2 * time.Hour)}, []string{"m2", "m3"}},
		{"until, exclusive", merchantapi.OrderQuery{State: synced, Until: b.Add(-1 * time.Hour)}, []string{"m3", "m1"}},
		{"since and until", merchantapi.OrderQuery{State: synced, Since: b.Add(-2 * time.Hour), Until: b.Add(-time.Hour)}, []string{"m3"}},
		{"since, after a cursor", merchantapi.OrderQuery{State: synced, Since: b.Add(-2 * time.Hour), After: merchantapi.OrderKey(saved["m2"])}, []string{"m3"}},
		{"a cursor before since", merchantapi.OrderQuery{State: synced, Since: b.Add(-2 * time.Hour), After: merchantapi.OrderKey(saved["m1"])}, []string{}},
		{"a code, a page", merchantapi.OrderQuery{State: order.StateFailed, Code: "order_not_editable", Limit: 1}, []string{"m9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := list(tt.q)
			if g := marketIDs(got); !slices.Equal(g, tt.want) {
				t.Errorf("ListOrders(%+v) = %v, want %v", tt.q, g, tt.want)
			}
			for _, st := range got {
				if want := merchantapi.Listed(saved[st.Ref.MarketplaceOrderID]); jsonOf(t, st) != jsonOf(t, want) {
					t.Errorf("listed %s = %s, want %s (merchantapi.Listed)", st.Ref.MarketplaceOrderID, jsonOf(t, st), jsonOf(t, want))
				}
			}
		})
	}
	t.Run("a save moves the order to its new state", func(t *testing.T) {
		st := saved["m4"]
		st.Sync = order.SyncOutcome{Result: order.SyncSynced, At: b}
		if _, err := h.Store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
		if got := marketIDs(list(merchantapi.OrderQuery{State: order.StateFailed})); !slices.Equal(got, []string{"m9"}) {
			t.Errorf("failed = %v, want [m9]", got)
		}
		if got := marketIDs(list(merchantapi.OrderQuery{State: synced})); !slices.Equal(got, []string{"m4", "m2", "m3", "m1"}) {
			t.Errorf("synced = %v, want [m4 m2 m3 m1]", got)
		}
	})
	t.Run("many pages", func(t *testing.T) {
		for i := range 30 {
			if _, err := h.Store.SaveOrder(ctx, listed(fmt.Sprintf("h%02d", i), b.Add(-10*time.Hour), order.SyncHeld, "address_missing")); err != nil {
				t.Fatal(err)
			}
		}
		var all []string
		q := merchantapi.OrderQuery{State: order.StateHeld, Code: "address_missing", Limit: 7}
		for range 10 {
			page := list(q)
			all = append(all, marketIDs(page)...)
			if len(page) < q.Limit {
				break
			}
			q.After = merchantapi.OrderKey(page[len(page)-1])
		}
		// Same time: by id, descending; m7 is newer.
		if len(all) != 31 || all[0] != "m7" || all[1] != "h29" || all[30] != "h00" {
			t.Errorf("paged through %d: %v; want m7, h29 ... h00", len(all), all)
		}
	})
}

func (s *suite) findByName(t *testing.T) {
	h := s.fresh(t)
	ctx := t.Context()
	save := func(conn, m, name string) order.State {
		t.Helper()
		st := listed(m, s.base, order.SyncSynced, "")
		st.Connection, st.Ref.StoreOrderName = conn, name
		got, err := h.Store.SaveOrder(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	save("acme", "m1", "#1001")
	save("acme", "m2", "#1001")
	m3 := save("acme", "m3", "#1002")
	save("other", "o1", "#1001")
	save("acme", "m4", "")
	find := func(name string) []string {
		t.Helper()
		got, err := h.Store.FindOrdersByName(ctx, "acme", name)
		if err != nil || got == nil {
			t.Fatalf("FindOrdersByName(%q) = %v, %v; want a list", name, got, err)
		}
		return got
	}
	for _, tt := range []struct {
		name string
		want []string
	}{{"#1001", []string{"m1", "m2"}}, {"#1002", []string{"m3"}}, {"#9", []string{}}, {"1001", []string{}}, {"", []string{}}} {
		if got := find(tt.name); !slices.Equal(got, tt.want) {
			t.Errorf("FindOrdersByName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	m3.Ref.StoreOrderName = "#1003"
	if _, err := h.Store.SaveOrder(ctx, m3); err != nil {
		t.Fatal(err)
	}
	if got := find("#1002"); len(got) != 0 {
		t.Errorf("after the rename, #1002 = %v, want none", got)
	}
	if got := find("#1003"); !slices.Equal(got, []string{"m3"}) {
		t.Errorf("after the rename, #1003 = %v, want [m3]", got)
	}
}

func (s *suite) jobs(t *testing.T) {
	h := s.fresh(t)
	ctx := t.Context()
	many := make([]string, 2500)
	for i := range many {
		many[i] = fmt.Sprintf("m%05d", i)
	}
	job := func(id string, at time.Time) merchantapi.Job {
		return merchantapi.Job{ID: id, Connection: "acme", ByIDs: true, Status: merchantapi.JobAccepted, CreatedAt: at, Orders: 3}
	}
	j1 := job("20261201T100000.000Z-a", s.base.Add(-2*time.Hour))
	j2 := job("20261201T110000.000Z-b", s.base.Add(-time.Hour))
	j2.Filter = &merchantapi.JobFilter{State: order.StateFailed, Code: "sku_not_found", Since: s.base.Add(-48 * time.Hour)}
	for _, put := range []struct {
		j      merchantapi.Job
		orders []string
	}{{j1, many}, {j2, nil}, {merchantapi.Job{ID: "x", Connection: "other", CreatedAt: s.base}, []string{"o1"}}} {
		if err := h.Store.PutJob(ctx, put.j, put.orders); err != nil {
			t.Fatal(err)
		}
	}
	orders := func(id string) []string {
		t.Helper()
		got, err := h.Store.JobOrders(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, err := h.Store.Job(ctx, "acme", j2.ID); err != nil || jsonOf(t, got) != jsonOf(t, j2) {
		t.Errorf("Job = %s, %v; want %s", jsonOf(t, got), err, jsonOf(t, j2))
	}
	if got := orders(j1.ID); !slices.Equal(got, many) {
		t.Errorf("JobOrders = %d ids, want the %d put, in order", len(got), len(many))
	}
	if got := orders(j2.ID); len(got) != 0 {
		t.Errorf("JobOrders of a job without orders = %v", got)
	}
	j1.Status, j1.Queued = merchantapi.JobQueued, 2500
	if err := h.Store.PutJob(ctx, j1, nil); err != nil {
		t.Fatal(err)
	}
	if got := orders(j1.ID); len(got) != len(many) {
		t.Errorf("a put without orders left %d orders, want %d", len(got), len(many))
	}
	if err := h.Store.PutJob(ctx, j1, many[:5]); err != nil {
		t.Fatal(err)
	}
	if got := orders(j1.ID); !slices.Equal(got, many[:5]) {
		t.Errorf("after a put of 5 orders, JobOrders = %d ids, want %v", len(got), many[:5])
	}
	// The API writes a job done when a read finds every order settled:
	// the whole job again, without its orders, which stay.
	j1.Status = merchantapi.JobDoneWithFailures
	if err := h.Store.PutJob(ctx, j1, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Store.Jobs(ctx, "acme", 10); err != nil || len(got) != 2 || jsonOf(t, got[1]) != jsonOf(t, j1) {
		t.Errorf("Jobs after the job's end = %s, %v; want %s second", jsonOf(t, got), err, jsonOf(t, j1))
	}
	if got := orders(j1.ID); !slices.Equal(got, many[:5]) {
		t.Errorf("after the job's end, JobOrders = %d ids, want %v", len(got), many[:5])
	}
	list := func(limit int) []string {
		t.Helper()
		js, err := h.Store.Jobs(ctx, "acme", limit)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, j := range js {
			out = append(out, j.ID)
		}
		return out
	}
	if got, want := list(10), []string{j2.ID, j1.ID}; !slices.Equal(got, want) {
		t.Errorf("Jobs = %v, want %v (newest first)", got, want)
	}
	if got := list(1); !slices.Equal(got, []string{j2.ID}) {
		t.Errorf("Jobs(1) = %v, want [%s]", got, j2.ID)
	}
	if _, err := h.Store.Job(ctx, "acme", "nope"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("Job(nope) = %v, want order.ErrNotFound", err)
	}
	if _, err := h.Store.Job(ctx, "other", j1.ID); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("another connection's job = %v, want order.ErrNotFound", err)
	}
	if err := h.Store.PutJob(ctx, job("too-many", s.base), make([]string, merchantapi.MaxJobOrders+1)); err == nil {
		t.Error("PutJob took more than MaxJobOrders orders")
	}
	// A week after j1 was created, it is gone; j2, an hour younger, not yet.
	h.Clock.Set(j1.CreatedAt.Add(merchantapi.JobRetention))
	if _, err := h.Store.Job(ctx, "acme", j1.ID); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("a job a week old = %v, want order.ErrNotFound", err)
	}
	if got := list(10); !slices.Equal(got, []string{j2.ID}) {
		t.Errorf("Jobs a week on = %v, want [%s]", got, j2.ID)
	}
}
