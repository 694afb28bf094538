package refresh_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncer"
)

// countedAliases counts the reads of the aliases.
type countedAliases struct {
	syncer.Aliases
	reads atomic.Int64
}

func (c *countedAliases) SKUAliases(ctx context.Context, conn, after string, limit int) ([]order.SKUAlias, string, error) {
	c.reads.Add(1)
	return c.Aliases.SKUAliases(ctx, conn, after, limit)
}

// TestAnAliasedOrderBehindTheStoreGetsASync: the store ships "CAP", which
// the marketplace lists as "BM-CAP" (the merchant's alias). With the
// aliases the refresh finds the marketplace behind, as for any order;
// without them the plan fails sku_not_found and the order looks in sync.
// Where the marketplace lists the store's own SKU, the aliases are not
// read.
func TestAnAliasedOrderBehindTheStoreGetsASync(t *testing.T) {
	tests := []struct {
		name        string
		withAliases bool
		listing     string
		wantQueued  []string
		wantReads   int64
	}{
		{"with the aliases", true, "BM-CAP", []string{"701"}, 1},
		{"without them", false, "BM-CAP", nil, 0},
		{"the marketplace's SKU is the store's", true, "CAP", []string{"701"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.working(false)
			if err := e.store.PutSKUAlias(context.Background(), "acme", order.SKUAlias{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}); err != nil {
				t.Fatal(err)
			}
			counted := &countedAliases{Aliases: e.store}
			if tt.withAliases {
				e.r = e.r.WithAliases(counted)
			}
			st := e.synced("701", "s701", e.at.Add(-3*time.Hour))
			st.StoreStatus, st.Lines = order.StatusShipped, []order.Line{{SKU: "CAP", Quantity: 1}}
			st.Parcels = []order.Parcel{{ID: "p1", Tracking: order.Tracking{Number: "1Z1", Carrier: "UPS", URL: "https://ups.example/1Z1"},
				Lines: []order.Line{{SKU: "CAP", Quantity: 1}}}}
			e.save(st)
			o := bmOrder(701, backmarkettest.OrderToShip, backmarkettest.LineAccepted, e.at.Add(-30*time.Minute))
			o.OrderLines[0].Listing = tt.listing
			e.fake.Seed(o)

			e.mustRun()
			got := e.queued()
			if !slices.Equal(keys(got), tt.wantQueued) || (len(tt.wantQueued) > 0 && got["701"].Topic != refresh.TopicBehind) {
				t.Errorf("queued %v, want %v (topic %s)", got, tt.wantQueued, refresh.TopicBehind)
			}
			if n := counted.reads.Load(); n != tt.wantReads {
				t.Errorf("alias reads = %d, want %d", n, tt.wantReads)
			}
		})
	}
}
