package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
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

// bmOrder seeds a Back Market order whose lines have the given listings
// (the marketplace's SKUs) and listing ids.
func (e *env) bmOrder(listings []string, listingIDs ...int64) (mkID, storeID string) {
	e.id++
	o := backmarkettest.AwaitingAcceptance(e.id, listings...)
	for i := range o.OrderLines {
		if i < len(listingIDs) {
			o.OrderLines[i].ListingID = listingIDs[i]
		}
	}
	e.fake.Seed(o)
	return fmt.Sprint(e.id), fmt.Sprint(9000 + e.id)
}

// shippedSKUs is a store event: one parcel shipping a unit of each SKU.
func shippedSKUs(mkID, storeID string, at time.Time, skus ...string) order.Event {
	e := shipped(mkID, storeID, "6A"+mkID, at)
	var lines []order.Line
	for _, s := range skus {
		lines = append(lines, order.Line{SKU: s, Quantity: 1})
	}
	e.Lines, e.Parcels[0].Lines = lines, lines
	return e
}

func TestSyncTranslatesStoreSKUsByAlias(t *testing.T) {
	aliases := []order.SKUAlias{{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}, {StoreSKU: "MUG", MarketplaceSKU: "BM-MUG"}}
	tests := []struct {
		name       string
		listings   []string
		listingIDs []int64
		ships      []string // the store's SKUs
		// wantReads is 1 where a line's SKU is not the marketplace's: the
		// aliases are read only then.
		wantReads int64
		wantCode  string
		wantSKU   string
	}{
		{name: "a store SKU by its alias", listings: []string{"BM-CAP"}, ships: []string{"CAP"}, wantReads: 1},
		{name: "two lines, each by its alias", listings: []string{"BM-CAP", "BM-MUG"}, ships: []string{"CAP", "MUG"}, wantReads: 1},
		{name: "two lines, one by its own SKU, one by its alias", listings: []string{"CAP", "BM-MUG"}, ships: []string{"CAP", "MUG"}, wantReads: 1},
		// The match is by SKU only: the listing's id is not looked at, so
		// a listing deleted and recreated under a new id still matches.
		{name: "a listing deleted and recreated under a new id", listings: []string{"BM-CAP"}, listingIDs: []int64{777002}, ships: []string{"CAP"}, wantReads: 1},
		{name: "the marketplace has the store's own SKU", listings: []string{"CAP"}, ships: []string{"CAP"}},
		{name: "a SKU with no alias and no match", listings: []string{"BM-CAP"}, ships: []string{"HAT"}, wantReads: 1, wantCode: "sku_not_found", wantSKU: "HAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, a := range aliases {
				if err := e.store.PutSKUAlias(t.Context(), "acme", a); err != nil {
					t.Fatal(err)
				}
			}
			counted := &countedAliases{Aliases: e.store}
			mk, store := e.bmOrder(tt.listings, tt.listingIDs...)
			out := e.syncer(syncer.Config{}).WithAliases(counted).
				Sync(t.Context(), syncer.Delivery{Event: shippedSKUs(mk, store, time.Now(), tt.ships...), Attempt: 1})
			st, err := e.store.LoadOrder(t.Context(), "acme", mk)
			if err != nil {
				t.Fatal(err)
			}
			if got := counted.reads.Load(); got != tt.wantReads {
				t.Errorf("alias reads = %d, want %d", got, tt.wantReads)
			}
			if tt.wantCode != "" {
				if out.Verdict != syncer.DeadLetter || st.Sync.ErrorCode != tt.wantCode || st.Sync.SKU != tt.wantSKU {
					t.Errorf("verdict %v, sync = %+v; want dead-lettered, %s with SKU %q", out.Verdict, st.Sync, tt.wantCode, tt.wantSKU)
				}
				return
			}
			if out.Verdict != syncer.Done || st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusShipped {
				t.Fatalf("verdict %v (%+v), state %+v; want synced and shipped", out.Verdict, out, st.Sync)
			}
			// The order keeps the store's SKUs; only the marketplace call
			// names the marketplace's.
			for i, l := range st.Lines {
				if l.SKU != tt.ships[i] {
					t.Errorf("stored line %d SKU = %q, want the store's %q", i, l.SKU, tt.ships[i])
				}
			}
			if n := e.ships(mk); n != len(tt.listings) {
				t.Errorf("ship calls = %d, want %d (one per line)", n, len(tt.listings))
			}
		})
	}
}

// TestSKUNotFoundSyncsAfterTheAlias: an order held as sku_not_found keeps
// the SKU; once the merchant sets an alias for it, a re-sync ships it and
// the failure is resolved by the re-sync's topic.
func TestSKUNotFoundSyncsAfterTheAlias(t *testing.T) {
	e := newEnv(t)
	mk, store := e.bmOrder([]string{"BM-CAP"})
	s := e.syncer(syncer.Config{}).WithAliases(e.store)
	out := s.Sync(t.Context(), syncer.Delivery{Event: shippedSKUs(mk, store, time.Now(), "CAP"), Attempt: 1})
	st, _ := e.store.LoadOrder(t.Context(), "acme", mk)
	if out.Verdict != syncer.DeadLetter || st.Sync.ErrorCode != "sku_not_found" || st.Sync.SKU != "CAP" || !st.Unsettled() {
		t.Fatalf("before the alias: verdict %v, sync %+v; want dead-lettered sku_not_found with SKU CAP", out.Verdict, st.Sync)
	}
	if err := e.store.PutSKUAlias(t.Context(), "acme", order.SKUAlias{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}); err != nil {
		t.Fatal(err)
	}
	// What the merchant API queues after the alias: no change of its own.
	resync := order.Event{Connection: "acme", Source: "resync", SourceEventID: "alias-1", Topic: "merchant/alias",
		Order: order.Ref{MarketplaceOrderID: mk, StoreOrderID: store}}
	out = s.Sync(t.Context(), syncer.Delivery{Event: resync, Attempt: 1})
	st, _ = e.store.LoadOrder(t.Context(), "acme", mk)
	if out.Verdict != syncer.Done || st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusShipped {
		t.Fatalf("after the alias: verdict %v (%+v), state %+v; want synced and shipped", out.Verdict, out, st.Sync)
	}
	if r := st.Resolved; r == nil || r.Code != "sku_not_found" || r.How != "merchant/alias" {
		t.Errorf("resolved = %+v, want sku_not_found resolved by merchant/alias", r)
	}
	if st.Sync.SKU != "" {
		t.Errorf("synced outcome SKU = %q, want none", st.Sync.SKU)
	}
	if n := e.ships(mk); n != 1 {
		t.Errorf("ship calls = %d, want 1", n)
	}
}

// TestImportUsesTheStoreSKU: an imported order's lines name the store's
// SKUs where the merchant set an alias, matched by SKU at import time, so
// a product deleted and recreated under a new id gets the new one.
func TestImportUsesTheStoreSKU(t *testing.T) {
	tests := []struct {
		name     string
		alias    bool
		wantCode string
		wantSKU  string
	}{
		{name: "by the alias, the recreated product", alias: true},
		{name: "no alias: the marketplace SKU matches nothing", wantCode: "sku_not_found", wantSKU: "BM-CAP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			shop := shopifytest.New("shpat_test")
			old := shop.AddVariant("CAP", "Cap")
			if !shop.RemoveVariant(old) {
				t.Fatal("variant not removed")
			}
			recreated := shop.AddVariant("CAP", "Cap (new)")
			srv := httptest.NewServer(shop)
			t.Cleanup(srv.Close)
			e.conn.ImportOrders, e.conn.Store = true, order.Endpoint{Platform: order.Shopify, BaseURL: srv.URL, CredentialRef: "shop"}
			if err := e.store.PutConnection(t.Context(), e.conn); err != nil {
				t.Fatal(err)
			}
			if tt.alias {
				if err := e.store.PutSKUAlias(t.Context(), "acme", order.SKUAlias{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}); err != nil {
					t.Fatal(err)
				}
			}
			mk, _ := e.bmOrder([]string{"BM-CAP"})
			s := e.syncer(syncer.Config{}).WithAliases(e.store).WithStorefronts(storefrontsFunc(func(_ context.Context, conn order.Connection) (syncer.Storefront, error) {
				return shopify.New(shopify.Config{ShopURL: conn.Store.BaseURL, AccessToken: "shpat_test", Connection: conn.ID}, srv.Client())
			}))
			ev := order.Event{Connection: "acme", Source: "ordersync", SourceEventID: "import/" + mk, Intent: order.IntentImport, Order: order.Ref{MarketplaceOrderID: mk}}
			out := s.Sync(t.Context(), syncer.Delivery{Event: ev, Attempt: 1})
			st, err := e.store.LoadOrder(t.Context(), "acme", mk)
			if err != nil && !errors.Is(err, order.ErrNotFound) {
				t.Fatal(err)
			}
			orders := shop.Orders()
			if tt.wantCode != "" {
				if out.Verdict != syncer.DeadLetter || st.Sync.ErrorCode != tt.wantCode || st.Sync.SKU != tt.wantSKU || len(orders) != 0 {
					t.Errorf("verdict %v, sync %+v, store orders %d; want dead-lettered %s with SKU %q, no store order", out.Verdict, st.Sync, len(orders), tt.wantCode, tt.wantSKU)
				}
				return
			}
			if out.Verdict != syncer.Done || st.Sync.Result != order.SyncSynced {
				t.Fatalf("verdict %v (%+v), sync %+v; want synced", out.Verdict, out, st.Sync)
			}
			if len(orders) != 1 || len(orders[0].LineItems) != 1 || orders[0].LineItems[0].VariantID != recreated {
				t.Fatalf("store orders = %+v, want one with the recreated variant %s", orders, recreated)
			}
			if len(st.Lines) != 1 || st.Lines[0].SKU != "CAP" {
				t.Errorf("stored lines = %+v, want the store's SKU CAP", st.Lines)
			}
		})
	}
}

type storefrontsFunc func(ctx context.Context, conn order.Connection) (syncer.Storefront, error)

func (f storefrontsFunc) Storefront(ctx context.Context, conn order.Connection) (syncer.Storefront, error) {
	return f(ctx, conn)
}

func TestNeedsAlias(t *testing.T) {
	remote := order.MarketplaceOrder{Lines: []order.MarketplaceLine{{ID: "1", SKU: "BM-CAP"}, {ID: "2", SKU: " MUG "}}}
	line := func(sku string) order.Line { return order.Line{SKU: sku, Quantity: 1} }
	parcel := func(lines ...order.Line) rules.Want { return rules.Want{Parcels: []order.Parcel{{Lines: lines}}} }
	tests := []struct {
		name string
		want rules.Want
		need bool
	}{
		{"nothing to ship or refund", rules.Want{Status: order.StatusShipped}, false},
		{"every SKU the marketplace's, spaces aside", parcel(line("BM-CAP"), line("MUG")), false},
		{"a SKU the marketplace has not", parcel(line("MUG"), line("CAP")), true},
		{"a line naming its marketplace line", parcel(order.Line{SKU: "CAP", MarketplaceLineID: "1", Quantity: 1}), false},
		{"a line with no SKU", parcel(line(" ")), false},
		{"a refund's SKU the marketplace has not", rules.Want{Refunds: []order.Refund{{Lines: []order.Line{line("CAP")}}}}, true},
		{"a refund's SKU the marketplace has", rules.Want{Refunds: []order.Refund{{Lines: []order.Line{line("BM-CAP")}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := syncer.NeedsAlias(tt.want, remote); got != tt.need {
				t.Errorf("NeedsAlias = %v, want %v", got, tt.need)
			}
		})
	}
}
