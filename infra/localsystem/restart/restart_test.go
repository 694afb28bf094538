// Package restart_test starts ordersync's local system twice on one data
// folder, as `make run` is started again on .local/. It is a package of
// its own because a System sets the process's AWS endpoint variables: a
// second System in infra/localsystem's test binary, beside the one its
// TestMain starts, would have that one's functions take its messages.
package restart_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

// startOn starts a second system on the data folder dir, as `make run`
// does on .local/: the demo connection and the README's order seeded.
func startOn(t *testing.T, dir string) *localsystem.System {
	t.Helper()
	ctx := context.Background()
	s, err := localsystem.Start(ctx, localsystem.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SeedDemo(ctx); err != nil {
		s.Stop()
		t.Fatal(err)
	}
	s.SeedReadmeOrder()
	return s
}

// TestMakeRunWorksTheSecondTime: stopped and started again on the same
// data folder, the README's webhook for sandbox order 9001 (a fresh body,
// as `make run` writes it on every start) syncs again instead of failing
// on a sandbox that forgot what the first run did; and the README's curl
// pasted again with its printed event id is a duplicate, answered 200.
func TestMakeRunWorksTheSecondTime(t *testing.T) {
	dir := t.TempDir()
	id := fmt.Sprint(localsystem.ReadmeOrder.MarketplaceID)
	// Each run's body is stamped a minute after the last's, as a run on a
	// later day writes it: an order updated in the same second is no
	// news to the sync.
	stamp := time.Now().Add(-time.Hour)
	for run := 1; run <= 2; run++ {
		s := startOn(t, dir)
		sent := time.Now()
		body := localsystem.FulfilledOrder(localsystem.ReadmeOrder, localsystem.Tracking{Number: "1Z999AA10123456784", Carrier: "UPS"}, stamp.Add(time.Duration(run)*time.Minute))
		status, resp, err := s.PostShopify(context.Background(), "orders/fulfilled", localsystem.ReadmeEventID+fmt.Sprint(run), body)
		if err != nil || status != 202 {
			s.Stop()
			t.Fatalf("run %d: webhook = %d %s, %v; want 202", run, status, resp, err)
		}
		st := waitDone(t, s, id, sent)
		bm, _ := s.Sandbox.Order(id)
		dup, _, err := s.PostShopify(context.Background(), "orders/fulfilled", localsystem.ReadmeEventID+fmt.Sprint(run), body)
		s.Stop()
		if st.Sync.Result != order.SyncSynced {
			t.Fatalf("run %d: order %s ended %q (%s: %s), want synced", run, id, st.Sync.Result, st.Sync.ErrorCode, st.Sync.Message)
		}
		if bm.State != backmarkettest.OrderShipped {
			t.Errorf("run %d: sandbox order state = %d, want %d (shipped)", run, bm.State, backmarkettest.OrderShipped)
		}
		if err != nil || dup != 200 {
			t.Errorf("run %d: the same event again = %d, %v; want 200 (a duplicate)", run, dup, err)
		}
	}
}

// waitDone polls an order of the demo connection on s until a sync that
// ended after since ended synced or failed.
func waitDone(t *testing.T, s *localsystem.System, id string, since time.Time) order.State {
	t.Helper()
	var st order.State
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var err error
		st, err = s.Store.LoadOrder(context.Background(), localsystem.DemoConnection, id)
		if err == nil && st.Sync.At.After(since) && (st.Sync.Result == order.SyncSynced || st.Sync.Result == order.SyncFailed) {
			return st
		}
	}
	t.Fatalf("order %s: no final outcome; last state %+v", id, st)
	return st
}
