package localsystem_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/bigcommerce/bigcommercetest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
	"github.com/ordersync/ordersync/shared/woocommerce"
	"github.com/ordersync/ordersync/shared/woocommerce/woocommercetest"
)

// importStore is one fake store an import connection writes to: how to
// reach it, and what it made.
type importStore struct {
	endpoint order.Endpoint
	// imported returns the store order ids whose import marker names mk.
	imported func(mk string) []string
	// loseNextCreate makes the next create happen but its answer fail.
	loseNextCreate func()
	// creates counts the create calls the store received.
	creates func() int
}

// posts counts the POSTs to path in a fake's call log.
func posts(calls []storefronttest.Call, path string) int {
	n := 0
	for _, c := range calls {
		if c.Method == http.MethodPost && c.Path == path {
			n++
		}
	}
	return n
}

// wooStore serves a fake WooCommerce store selling SKU-A (a product) and
// SKU-B (a variation), taking the system's WooCommerce key pair.
func wooStore(t *testing.T) importStore {
	ck, cs, _ := strings.Cut(sys.Secrets[localsystem.WooCommerceKeysRef], ":")
	srv := woocommercetest.New(ck, cs)
	srv.AddProduct(woocommercetest.Product{Name: "Widget A", SKU: "SKU-A"})
	parent := srv.AddProduct(woocommercetest.Product{Name: "Widget"})
	srv.AddProduct(woocommercetest.Product{Name: "Widget B", SKU: "SKU-B", ParentID: parent.ID})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return importStore{
		endpoint: order.Endpoint{Platform: order.WooCommerce, BaseURL: hs.URL, CredentialRef: localsystem.WooCommerceKeysRef},
		imported: func(mk string) []string {
			var ids []string
			for _, o := range srv.Orders() {
				for _, m := range o.Meta {
					if m.Key == woocommerce.ImportedOrderMetaKey && m.Value == mk {
						ids = append(ids, strconv.FormatInt(o.ID, 10))
					}
				}
			}
			return ids
		},
		loseNextCreate: func() { srv.LoseCreateAnswers(1) },
		creates:        func() int { return posts(srv.Calls(), "/wp-json/wc/v3/orders") },
	}
}

// bigCommerceStore serves a fake BigCommerce store selling SKU-A (a
// product) and SKU-B (a variant), taking the sandbox's token.
func bigCommerceStore(t *testing.T) importStore {
	srv := bigcommercetest.New("e2ehash", sys.Secrets[localsystem.SandboxTokenRef])
	srv.AddProduct(bigcommercetest.CatalogProduct{Name: "Widget A", SKU: "SKU-A"})
	srv.AddProduct(bigcommercetest.CatalogProduct{Name: "Widget", SKU: "WIDGET", Variants: []bigcommercetest.Variant{{SKU: "SKU-B"}}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return importStore{
		endpoint: order.Endpoint{Platform: order.BigCommerce, BaseURL: hs.URL, Account: "e2ehash", CredentialRef: localsystem.SandboxTokenRef},
		imported: func(mk string) []string {
			var ids []string
			for _, o := range srv.Orders() {
				if o.ExternalSource == "ordersync" && o.ExternalOrderID == mk {
					ids = append(ids, strconv.FormatInt(o.ID, 10))
				}
			}
			return ids
		},
		loseNextCreate: func() { srv.LoseCreateAnswers(1) },
		creates:        func() int { return posts(srv.Calls(), "/stores/e2ehash/v2/orders") },
	}
}

// TestTheRefreshImportsNewOrdersIntoWooCommerceAndBigCommerce: on an
// import connection, a new Back Market order awaiting acceptance is
// created in the store by the hourly refresh, exactly once although the
// store's answer to the first create is lost (the retry finds the order
// made), linked, and accepted on the marketplace.
func TestTheRefreshImportsNewOrdersIntoWooCommerceAndBigCommerce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(*testing.T) importStore
		id    int64
	}{
		{"WooCommerce", wooStore, 9601},
		{"BigCommerce", bigCommerceStore, 9602},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store := tc.store(t)
			mp := backmarkettest.New(backmarkettest.Options{Token: sys.Secrets[localsystem.SandboxTokenRef]})
			mpSrv := httptest.NewServer(mp)
			t.Cleanup(mpSrv.Close)
			conn := "e2e-import-" + strings.ToLower(tc.name)
			c := order.Connection{ID: conn, MerchantName: "Import test", MerchantEmail: "import@merchant.test", ImportOrders: true,
				Store:       store.endpoint,
				Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: mpSrv.URL, CredentialRef: localsystem.SandboxTokenRef}}
			if err := sys.Store.PutConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sys.Store.DeleteConnection(ctx, conn) })
			o := backmarkettest.AwaitingAcceptance(tc.id, "SKU-A", "SKU-B")
			o.DateModification = time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)
			mp.Seed(o)
			mk := strconv.FormatInt(tc.id, 10)
			store.loseNextCreate()

			fireRefresh(t)
			st := waitState(t, conn, mk, "imported and accepted", func(st order.State) bool {
				return st.Ref.StoreOrderID != "" && st.MarketplaceStatus == order.StatusAccepted && st.Sync.Result == order.SyncSynced
			})
			ids := store.imported(mk)
			if len(ids) != 1 || ids[0] != st.Ref.StoreOrderID {
				t.Fatalf("store orders imported for %s = %v, want exactly the linked one, %s", mk, ids, st.Ref.StoreOrderID)
			}
			if got := store.creates(); got != 1 {
				t.Errorf("%d creates, want 1: the retry after the lost answer must find the order, not make another", got)
			}
			if got, err := sys.Store.FindOrder(ctx, conn, st.Ref.StoreOrderID); err != nil || got != mk {
				t.Errorf("link of store order %s = %q, %v; want %s", st.Ref.StoreOrderID, got, err, mk)
			}
			var accepted []string
			for _, call := range mp.Calls() {
				if call.OrderID == mk && call.NewState == backmarkettest.LineAccepted && call.Status < 300 {
					accepted = append(accepted, call.SKU)
				}
			}
			slices.Sort(accepted)
			if !slices.Equal(accepted, []string{"SKU-A", "SKU-B"}) {
				t.Errorf("accepted lines %v, want SKU-A and SKU-B once each (calls %+v)", accepted, mp.Calls())
			}
			if got, _ := mp.Order(mk); got.State != backmarkettest.OrderToShip {
				t.Errorf("marketplace order state %d, want %d (to ship)", got.State, backmarkettest.OrderToShip)
			}
		})
	}
}
