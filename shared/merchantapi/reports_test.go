package merchantapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

func TestAnErrorWhoseOrderSyncedSinceSaysHowItWasResolved(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	failed := e.now.Add(-2 * time.Hour)
	for _, id := range []string{"fixed", "still", "again"} {
		if err := e.store.RecordError(ctx, order.ErrorRecord{Connection: "acme", MarketplaceOrderID: id, Code: "tracking_missing", At: failed}); err != nil {
			t.Fatal(err)
		}
	}
	fixed := &order.Resolution{Code: "tracking_missing", At: failed.Add(time.Hour), How: refresh.TopicStoreChanged}
	for _, st := range []order.State{
		{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "fixed"}, Sync: order.SyncOutcome{Result: order.SyncSynced}, Resolved: fixed},
		{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "still"}, Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "tracking_missing"}},
		// Resolved once before, and failed again since: not this error's end.
		{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "again"}, Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "tracking_missing"},
			Resolved: &order.Resolution{Code: "rate_limited", At: failed.Add(-time.Hour), How: "webhook"}},
	} {
		if _, err := e.store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", auth: "Bearer " + acmeKey})
	if r.status != http.StatusOK {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	type item struct {
		Order    order.Ref         `json:"order"`
		Resolved *order.Resolution `json:"resolved"`
	}
	got := decode[struct {
		Errors []item `json:"errors"`
	}](t, r)
	seen := 0
	for _, it := range got.Errors {
		switch it.Order.MarketplaceOrderID {
		case "fixed":
			seen++
			if it.Resolved == nil || it.Resolved.How != refresh.TopicStoreChanged || !it.Resolved.At.Equal(fixed.At) {
				t.Errorf("fixed: resolved = %+v, want %+v", it.Resolved, fixed)
			}
		case "still", "again":
			seen++
			if it.Resolved != nil {
				t.Errorf("%s: resolved = %+v, want none", it.Order.MarketplaceOrderID, it.Resolved)
			}
		}
	}
	if seen != 3 {
		t.Errorf("listed %d of the 3 errors", seen)
	}
}

func TestReportsNewestFirst(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 30 {
		rep := refresh.Report{Connection: "acme", At: e.now.Add(-time.Duration(i) * time.Hour)}
		rep.Behind.Add("m1")
		if err := e.store.SaveReport(ctx, rep); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		query  map[string]string
		status int
		n      int
	}{
		{nil, http.StatusOK, merchantapi.DefaultReports},
		{map[string]string{"limit": "3"}, http.StatusOK, 3},
		{map[string]string{"limit": "0"}, http.StatusBadRequest, 0},
		{map[string]string{"limit": "1000"}, http.StatusBadRequest, 0},
	} {
		r := e.send(req{method: "GET", route: merchantapi.RouteReports, conn: "acme", query: tt.query, auth: "Bearer " + acmeKey})
		if r.status != tt.status {
			t.Errorf("%v: status %d %s, want %d", tt.query, r.status, r.body, tt.status)
			continue
		}
		if tt.status != http.StatusOK {
			continue
		}
		got := decode[struct {
			Reports []refresh.Report `json:"reports"`
		}](t, r)
		if len(got.Reports) != tt.n || !got.Reports[0].At.Equal(e.now) || got.Reports[0].Behind.Count != 1 {
			t.Errorf("%v: %d reports, first %+v; want %d, the newest first", tt.query, len(got.Reports), got.Reports[0], tt.n)
		}
	}
	r := e.send(req{method: "GET", route: merchantapi.RouteReports, conn: "quiet", auth: "Bearer quiet-key"})
	if r.status != http.StatusOK || string(r.body) != `{"connection":"quiet","limit":24,"reports":[]}` {
		t.Errorf("no reports: %d %s", r.status, r.body)
	}
}
