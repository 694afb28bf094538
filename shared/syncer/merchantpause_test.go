package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// TestAConnectionPausedByItsMerchantHoldsItsOrders: while the merchant
// has paused the connection, a shipment makes no marketplace call and is
// held as connection_paused (not auth_expired: the credentials are fine),
// and the pause stays the merchant's.
func TestAConnectionPausedByItsMerchantHoldsItsOrders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.store.PauseConnection(ctx, "acme", order.PausedByMerchant); err != nil {
		t.Fatal(err)
	}
	mk, store := e.order()
	e.syncer(syncer.Config{}).Sync(ctx, syncer.Delivery{Event: shipped(mk, store, "6A1", time.Now()), Attempt: 1})
	st, err := e.store.LoadOrder(ctx, "acme", mk)
	if err != nil || st.Sync.Result != order.SyncHeld || st.Sync.ErrorCode != string(syncerr.ConnectionPaused) {
		t.Errorf("state %+v, %v; want held as connection_paused", st.Sync, err)
	}
	if n := e.ships(mk); n != 0 {
		t.Errorf("ship calls = %d, want none while paused", n)
	}
	if c, _ := e.store.Connection(ctx, "acme"); !c.Paused || c.PausedCode != order.PausedByMerchant {
		t.Errorf("connection paused %v for %q, want still the merchant's pause", c.Paused, c.PausedCode)
	}
}
