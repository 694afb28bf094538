package refresh_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// TestAnAliasedOrderBehindTheStoreGetsASync: the store ships "CAP", which
// the marketplace lists as "BM-CAP" (the merchant's alias). With the
// aliases the refresh finds the marketplace behind, as for any order;
// without them the plan fails sku_not_found and the order looks in sync.
func TestAnAliasedOrderBehindTheStoreGetsASync(t *testing.T) {
	tests := []struct {
		name        string
		withAliases bool
		wantQueued  []string
	}{
		{"with the aliases", true, []string{"701"}},
		{"without them", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.working(false)
			if err := e.store.PutSKUAlias(context.Background(), "acme", order.SKUAlias{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}); err != nil {
				t.Fatal(err)
			}
			if tt.withAliases {
				e.r = e.r.WithAliases(e.store)
			}
			st := e.synced("701", "s701", e.at.Add(-3*time.Hour))
			st.StoreStatus, st.Lines = order.StatusShipped, []order.Line{{SKU: "CAP", Quantity: 1}}
			st.Parcels = []order.Parcel{{ID: "p1", Tracking: order.Tracking{Number: "1Z1", Carrier: "UPS", URL: "https://ups.example/1Z1"},
				Lines: []order.Line{{SKU: "CAP", Quantity: 1}}}}
			e.save(st)
			o := bmOrder(701, backmarkettest.OrderToShip, backmarkettest.LineAccepted, e.at.Add(-30*time.Minute))
			o.OrderLines[0].Listing = "BM-CAP"
			e.fake.Seed(o)

			e.mustRun()
			got := e.queued()
			if !slices.Equal(keys(got), tt.wantQueued) || (len(tt.wantQueued) > 0 && got["701"].Topic != refresh.TopicBehind) {
				t.Errorf("queued %v, want %v (topic %s)", got, tt.wantQueued, refresh.TopicBehind)
			}
		})
	}
}
