package refresh_test

import (
	"context"
	"errors"
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

// failingAliases cannot be read.
type failingAliases struct{ reads atomic.Int64 }

func (f *failingAliases) SKUAliases(context.Context, string, string, int) ([]order.SKUAlias, string, error) {
	f.reads.Add(1)
	return nil, "", errors.New("the aliases table is unavailable")
}

// TestAnOrderImportedThroughAnAliasIsNotReportedAsEdited: the marketplace
// lists "BM-CAP", which the import named "CAP" in the store (the
// merchant's alias). The refresh compares the lines in the store's SKUs,
// so the order, accepted and no longer editable, is not edited: no
// order_not_editable. A quantity changed behind the alias is still an
// edit. Where the lines match as they are, the aliases are not read; where
// they cannot be read, the lines are not judged this run.
func TestAnOrderImportedThroughAnAliasIsNotReportedAsEdited(t *testing.T) {
	tests := []struct {
		name        string
		aliases     string // "store", "failing"
		storeSKU    string
		listing     string
		quantity    int
		wantRefused int
		wantReads   int64
	}{
		{"listed as imported", "store", "CAP", "BM-CAP", 1, 0, 1},
		{"its quantity edited", "store", "CAP", "BM-CAP", 2, 1, 1},
		{"the marketplace's SKU is the store's", "store", "CAP", "CAP", 1, 0, 0},
		{"the aliases unreadable", "failing", "CAP", "BM-CAP", 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.working(true)
			ctx := context.Background()
			if err := e.store.PutSKUAlias(ctx, "acme", order.SKUAlias{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}); err != nil {
				t.Fatal(err)
			}
			counted := &countedAliases{Aliases: e.store}
			failing := &failingAliases{}
			reads := counted.reads.Load
			if tt.aliases == "failing" {
				e.r = e.r.WithAliases(failing)
				reads = failing.reads.Load
			} else {
				e.r = e.r.WithAliases(counted)
			}
			lines := []order.Line{{SKU: tt.storeSKU, Quantity: 1, MarketplaceLineID: "70201"}}
			st := e.synced("702", "s702", e.at.Add(-3*time.Hour))
			st.Lines = lines
			e.save(st)
			o := bmOrder(702, backmarkettest.OrderToShip, backmarkettest.LineAccepted, e.at.Add(-30*time.Minute))
			o.OrderLines[0].Listing, o.OrderLines[0].Quantity = tt.listing, tt.quantity
			e.fake.Seed(o)

			at := e.at
			rep := e.mustRun()
			if rep.EditsRefused.Count != tt.wantRefused || rep.EditsApplied.Count != 0 {
				t.Errorf("report edits refused %+v applied %+v, want %d refused", rep.EditsRefused, rep.EditsApplied, tt.wantRefused)
			}
			errs, err := e.store.RecentErrors(ctx, "acme", at.Add(-time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) != tt.wantRefused {
				t.Errorf("errors %+v, want %d", errs, tt.wantRefused)
			}
			if got := e.load("702").Lines; !slices.Equal(got, lines) {
				t.Errorf("lines = %+v, want %+v as imported", got, lines)
			}
			if n := reads(); n != tt.wantReads {
				t.Errorf("alias reads = %d, want %d", n, tt.wantReads)
			}
		})
	}
}
