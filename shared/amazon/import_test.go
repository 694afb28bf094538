package amazon_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/ordersync/ordersync/shared/amazon"
	"github.com/ordersync/ordersync/shared/amazon/amazontest"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
	"github.com/ordersync/ordersync/shared/syncer"
)

type marketplacesFunc func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error)

func (f marketplacesFunc) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return f(ctx, conn)
}

type storefrontsFunc func(ctx context.Context, conn order.Connection) (syncer.Storefront, error)

func (f storefrontsFunc) Storefront(ctx context.Context, conn order.Connection) (syncer.Storefront, error) {
	return f(ctx, conn)
}

type notices struct{ n []syncer.Notice }

func (n *notices) Notify(_ context.Context, x syncer.Notice) error { n.n = append(n.n, x); return nil }

// TestImportThroughTheSync imports a new Amazon order into a Shopify store
// through the sync's import path, as the refresh queues it; without the
// role for addresses the import is held as address_restricted.
func TestImportThroughTheSync(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noRole    bool
		want      order.SyncResult
		code      string
		storeMade int
	}{
		{"imported, nothing sent to Amazon", false, order.SyncSynced, "", 1},
		{"held: the app may not read addresses", true, order.SyncHeld, "address_restricted", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, az, _ := start(t, amazontest.Options{NoAddressRole: tc.noRole}, amazon.Options{})
			const mk = "171-9000001-9000001"
			seed(fake, mk, "SKU-A")
			shop := shopifytest.New("shpat_test")
			shop.AddVariant("SKU-A", "Phone")
			srv := httptest.NewServer(shop)
			t.Cleanup(srv.Close)

			store := memstore.New()
			conn := order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test", ImportOrders: true,
				Store:       order.Endpoint{Platform: order.Shopify, BaseURL: srv.URL, CredentialRef: "shop"},
				Marketplace: order.Endpoint{Platform: order.Amazon, CredentialRef: "amazon", Account: amazontest.MarketplaceFR}}
			if err := store.PutConnection(context.Background(), conn); err != nil {
				t.Fatal(err)
			}
			notes := &notices{}
			s := syncer.New(syncer.Config{}, store, marketplacesFunc(func(context.Context, order.Connection) (syncer.Marketplace, error) {
				return az, nil
			}), notes, slog.New(slog.NewTextHandler(io.Discard, nil))).WithStorefronts(storefrontsFunc(func(_ context.Context, c order.Connection) (syncer.Storefront, error) {
				return shopify.New(shopify.Config{ShopURL: c.Store.BaseURL, AccessToken: "shpat_test", Connection: c.ID}, srv.Client())
			}))
			ev := order.Event{Connection: "acme", Source: "ordersync", SourceEventID: "import/" + mk,
				Intent: order.IntentImport, Order: order.Ref{MarketplaceOrderID: mk}}
			s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1})

			st, err := store.LoadOrder(context.Background(), "acme", mk)
			if err != nil {
				t.Fatal(err)
			}
			if st.Sync.Result != tc.want || st.Sync.ErrorCode != tc.code {
				t.Errorf("sync = %+v; want %s %q", st.Sync, tc.want, tc.code)
			}
			orders := shop.Orders()
			if len(orders) != tc.storeMade {
				t.Fatalf("store orders = %d; want %d", len(orders), tc.storeMade)
			}
			if tc.storeMade > 0 {
				o := orders[0]
				if o.SourceIdentifier != mk || o.ShippingAddress == nil || o.ShippingAddress.City != "Paris" || len(o.LineItems) != 1 {
					t.Errorf("store order = %+v; want %s with its Paris address and one line", o, mk)
				}
				if st.MarketplaceStatus != order.StatusAccepted {
					t.Errorf("marketplace status = %q; want accepted (Unshipped)", st.MarketplaceStatus)
				}
			}
			if n := len(fake.Calls()); n != 0 {
				t.Errorf("Amazon update calls = %d; want none: there is nothing to accept", n)
			}
			if tc.code != "" && len(notes.n) != 1 {
				t.Errorf("notices = %d; want the merchant told once", len(notes.n))
			}
		})
	}
}
