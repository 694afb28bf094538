package refresh_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
)

// TestAMerchantPauseWaitsForTheMerchant: the refresh never resumes a
// connection the merchant paused, however well its credentials work;
// once the merchant resumed it (the merchant API), the next run re-syncs
// the orders the pause held, as after a reconnect.
func TestAMerchantPauseWaitsForTheMerchant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.store.PauseConnection(ctx, "acme", order.PausedByMerchant); err != nil {
		t.Fatal(err)
	}
	e.held("101", "connection_paused")
	if rep := e.mustRun(); !rep.Paused || rep.Resumed {
		t.Errorf("report %+v: want paused, not resumed", rep)
	}
	if !e.paused() {
		t.Error("the refresh resumed a connection the merchant paused")
	}
	if q := e.queued(); len(q) != 0 {
		t.Errorf("queued %v while paused by the merchant, want nothing", keys(q))
	}
	if err := e.store.ResumeConnection(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	e.at = e.at.Add(1)
	e.mustRun()
	if got := e.queued(); !slices.Equal(keys(got), []string{"101"}) || got["101"].Topic != "connection/resumed" {
		t.Errorf("queued %v after the merchant resumed, want a connection/resumed re-sync of 101", keys(got))
	}
}
