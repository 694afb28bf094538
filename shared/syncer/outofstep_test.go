package syncer_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// TestAMarketplaceThatForgotTheChangesIsOutOfStepNotUnavailable: the
// calls of a shipment were made and recorded; the marketplace then shows
// the order awaiting acceptance again (a sandbox restarted without its
// state). The sync makes no call twice, and says what happened: the
// marketplace answered but is out of step, not "did not answer".
func TestAMarketplaceThatForgotTheChangesIsOutOfStepNotUnavailable(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	s := e.syncer(syncer.Config{})
	at := time.Now().Add(-time.Hour)
	if out := s.Sync(context.Background(), syncer.Delivery{Event: shipped(mk, store, "6A1", at), Attempt: 1}); out.Verdict != syncer.Done {
		t.Fatalf("first sync = %+v, want Done", out)
	}
	id, _ := strconv.ParseInt(mk, 10, 64)
	e.fake.Seed(backmarkettest.AwaitingAcceptance(id, "SKU-A")) // forgotten
	calls := len(e.fake.Calls())

	out := s.Sync(context.Background(), syncer.Delivery{Event: shipped(mk, store, "6A1", at.Add(time.Minute)), Attempt: 1})
	if out.Verdict != syncer.Retry {
		t.Errorf("verdict = %v, want Retry (the marketplace may only lag)", out.Verdict)
	}
	if got := len(e.fake.Calls()); got != calls {
		t.Errorf("%d calls made again, want none: each was made and recorded", got-calls)
	}
	st, err := e.store.LoadOrder(context.Background(), "acme", mk)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Sync.ErrorCode, string(syncerr.MarketplaceOutOfStep); got != want {
		t.Errorf("error code = %q, want %q", got, want)
	}
	// The last try records the failure in the merchant's words.
	last := s.Sync(context.Background(), syncer.Delivery{Event: shipped(mk, store, "6A1", at.Add(time.Minute)), Attempt: 3})
	if last.Verdict != syncer.DeadLetter || last.Failure.Code != syncerr.MarketplaceOutOfStep {
		t.Errorf("last try = %+v, want dead-lettered with %s", last, syncerr.MarketplaceOutOfStep)
	}
	if st, err = e.store.LoadOrder(context.Background(), "acme", mk); err != nil {
		t.Fatal(err)
	}
	if msg := st.Sync.Message; strings.Contains(msg, "did not answer") || !strings.Contains(msg, "Back Market answered") {
		t.Errorf("message = %q; want it to say Back Market answered", msg)
	}
	if st.Sync.Result == order.SyncSynced {
		t.Error("recorded synced, though the marketplace does not show the shipment")
	}
}
