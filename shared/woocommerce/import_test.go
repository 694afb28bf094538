package woocommerce_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
	"github.com/ordersync/ordersync/shared/woocommerce"
	"github.com/ordersync/ordersync/shared/woocommerce/woocommercetest"
)

// importStore is a fake store holding SKU-A (a simple product) and SKU-V
// (a variation), and a client of it.
func importStore(t *testing.T) (*woocommercetest.Server, *woocommerce.Client) {
	t.Helper()
	srv := woocommercetest.New(key, secret)
	srv.AddProduct(woocommercetest.Product{Name: "Widget A", SKU: "SKU-A"})
	parent := srv.AddProduct(woocommercetest.Product{Name: "Widget"})
	srv.AddProduct(woocommercetest.Product{Name: "Widget, blue", SKU: "SKU-V", ParentID: parent.ID})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := woocommerce.New(woocommerce.Config{SiteURL: hs.URL, ConsumerKey: key, ConsumerSecret: secret,
		Connection: "conn-w", MarketplaceName: "Back Market"}, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func marketplaceOrder(id string, skus ...string) order.MarketplaceOrder {
	o := order.MarketplaceOrder{ID: id, Status: order.StatusAwaitingAcceptance, CreatedAt: time.Now().Add(-10 * time.Minute),
		ShippingAddress: &order.Address{Name: "Jane Doe", Line1: "1 Rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "fr"}}
	for i, s := range skus {
		o.Lines = append(o.Lines, order.MarketplaceLine{ID: "L" + itoa(int64(i)), SKU: s, Quantity: i + 1})
	}
	return o
}

func TestCreateOrderWritesWhatWooCommerceNeeds(t *testing.T) {
	srv, c := importStore(t)
	id, _, err := c.CreateOrder(context.Background(), marketplaceOrder("BM-1", "SKU-A", "SKU-V"))
	if err != nil {
		t.Fatal(err)
	}
	orders := srv.Orders()
	if len(orders) != 1 || itoa(orders[0].ID) != id {
		t.Fatalf("orders = %+v, want one with id %s", orders, id)
	}
	o := orders[0]
	if o.Status != "processing" || o.DatePaid.IsZero() || o.CreatedVia != "rest-api" {
		t.Errorf("status %q paid %v created_via %q, want processing, paid, rest-api", o.Status, o.DatePaid, o.CreatedVia)
	}
	if got, want := o.Shipping, (woocommercetest.Address{FirstName: "Jane", LastName: "Doe", Address1: "1 Rue de Rivoli",
		City: "Paris", Postcode: "75001", Country: "FR"}); got != want {
		t.Errorf("shipping = %+v, want %+v", got, want)
	}
	meta := map[string]any{}
	for _, m := range o.Meta {
		meta[m.Key] = m.Value
	}
	if meta[woocommerce.ImportedOrderMetaKey] != "BM-1" || meta[woocommerce.ImportedMarketplaceMetaKey] != "Back Market" {
		t.Errorf("meta = %v, want the marketplace order id and name", meta)
	}
	if len(o.LineItems) != 2 || o.LineItems[0].SKU != "SKU-A" || o.LineItems[1].SKU != "SKU-V" || o.LineItems[1].Quantity != 2 {
		t.Errorf("lines = %+v, want SKU-A x1 and the variation SKU-V x2", o.LineItems)
	}
}

// TestCreateOrderAfterALostAnswerFindsTheOrder: the first create is made
// but its answer lost (504); the retry finds it by its meta among recent
// orders, even behind a full page of other orders, and creates nothing.
func TestCreateOrderAfterALostAnswerFindsTheOrder(t *testing.T) {
	srv, c := importStore(t)
	ctx := context.Background()
	mo := marketplaceOrder("BM-2", "SKU-A")
	srv.LoseCreateAnswers(1)
	_, _, err := c.CreateOrder(ctx, mo)
	if got, want := syncerr.CodeOf(err), syncerr.MarketplaceUnavailable; got != want {
		t.Fatalf("lost answer: code = %s, want %s (err %v)", got, want, err)
	}
	made := srv.Orders()
	if len(made) != 1 {
		t.Fatalf("%d orders after the lost answer, want 1", len(made))
	}
	for range 120 { // newer orders: the one made is on the second page
		if _, err := srv.AddOrder(woocommercetest.Order{Meta: []woocommercetest.Meta{{Key: "other", Value: "x"}}}); err != nil {
			t.Fatal(err)
		}
	}
	id, _, err := c.CreateOrder(ctx, mo)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if want := itoa(made[0].ID); id != want {
		t.Errorf("retry = %q, want the order made first, %q", id, want)
	}
	if got := len(srv.Orders()); got != 121 {
		t.Errorf("%d orders, want 121 (no second import)", got)
	}
}

// TestCreateOrderIgnoresOrdersItDidNotMake: a checkout order carrying the
// meta (a buyer's forgery) and an older import are not taken for it.
func TestCreateOrderIgnoresOrdersItDidNotMake(t *testing.T) {
	srv, c := importStore(t)
	mo := marketplaceOrder("BM-3", "SKU-A")
	forged := woocommercetest.Order{Meta: []woocommercetest.Meta{{Key: woocommerce.ImportedOrderMetaKey, Value: "BM-3"}}}
	if _, err := srv.AddOrder(forged); err != nil {
		t.Fatal(err)
	}
	id, _, err := c.CreateOrder(context.Background(), mo)
	if err != nil {
		t.Fatal(err)
	}
	if orders := srv.Orders(); len(orders) != 2 || itoa(orders[1].ID) != id {
		t.Errorf("CreateOrder = %s with orders %+v, want a new order", id, orders)
	}
}

func TestCreateOrderRefusals(t *testing.T) {
	noAddress := marketplaceOrder("BM-4", "SKU-A")
	noAddress.ShippingAddress = nil
	for _, tc := range []struct {
		name    string
		o       order.MarketplaceOrder
		setup   func(*woocommercetest.Server)
		code    syncerr.Code
		details map[string]string
	}{
		{name: "unknown SKU", o: marketplaceOrder("BM-5", "SKU-A", "NO-SUCH"), code: syncerr.SKUNotFound,
			details: map[string]string{"sku": "NO-SUCH", "order": "BM-5"}},
		{name: "SKU on two products", o: marketplaceOrder("BM-6", "SKU-D"), code: syncerr.SKUDuplicate,
			setup: func(s *woocommercetest.Server) {
				s.AddProduct(woocommercetest.Product{SKU: "SKU-D"})
				s.AddProduct(woocommercetest.Product{SKU: "SKU-D"})
			}, details: map[string]string{"sku": "SKU-D", "order": "BM-6"}},
		{name: "no shipping address", o: noAddress, code: syncerr.AddressMissing, details: map[string]string{"order": "BM-4"}},
		{name: "no lines", o: marketplaceOrder("BM-7"), code: syncerr.InvalidData, details: map[string]string{"field": "lines"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := importStore(t)
			if tc.setup != nil {
				tc.setup(srv)
			}
			_, _, err := c.CreateOrder(context.Background(), tc.o)
			e, ok := syncerr.As(err)
			if !ok || e.Code != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			for k, want := range tc.details {
				if got := e.Details[k]; got != want {
					t.Errorf("detail %s = %q, want %q", k, got, want)
				}
			}
			if n := len(srv.Orders()); n != 0 {
				t.Errorf("%d orders after a refused import, want none", n)
			}
		})
	}
}

func TestCreateOrderClassifiesFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      storefronttest.Fault
		code       syncerr.Code
		retryAfter time.Duration
	}{
		{"rate limited", storefronttest.Fault{Status: 429, RetryAfter: 7 * time.Second}, syncerr.RateLimited, 7 * time.Second},
		{"unavailable", storefronttest.Fault{Status: 503}, syncerr.MarketplaceUnavailable, 0},
		{"key revoked", storefronttest.Fault{Status: 401}, syncerr.StoreDisconnected, 0},
		{"no write permission", storefronttest.Fault{Status: 403}, syncerr.StoreDisconnected, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := importStore(t)
			srv.SetFault(tc.fault)
			_, _, err := c.CreateOrder(context.Background(), marketplaceOrder("BM-8", "SKU-A"))
			if got := syncerr.CodeOf(err); got != tc.code {
				t.Fatalf("code = %s, want %s (err %v)", got, tc.code, err)
			}
			if got := syncerr.RetryAfterOf(err); got != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", got, tc.retryAfter)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

// TestCreateOrderRefusedWriteNamesTheParameter: WordPress's 400 names the
// parameter in data.params; the error carries it as its field.
func TestCreateOrderRefusedWriteNamesTheParameter(t *testing.T) {
	c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": "rest_invalid_param", "message": "Invalid parameter(s): shipping",
				"data": map[string]any{"status": 400, "params": map[string]any{"shipping": "shipping[country] is not of type string."}}})
		case strings.HasSuffix(r.URL.Path, "/products"):
			_, _ = w.Write([]byte(`[{"id":5,"parent_id":0,"sku":"SKU-A","type":"simple"}]`))
		default:
			_, _ = w.Write([]byte(`[]`))
		}
	})
	_, _, err := c.CreateOrder(context.Background(), marketplaceOrder("BM-9", "SKU-A"))
	e, ok := syncerr.As(err)
	if !ok || e.Code != syncerr.InvalidData || e.Details["field"] != "shipping" {
		t.Errorf("err = %v, want invalid_data with field shipping", err)
	}
}

// TestCreateOrderPassesOverTheDocsOrders: the docs' "List all orders"
// example (testdata/list_orders_response.json) holds a REST API order
// with protected meta (_download_permissions_granted: the REST API shows
// underscore keys) but not ordersync's: the search passes over both
// orders, asks for those created since an hour before the marketplace
// order, and the order is created.
func TestCreateOrderPassesOverTheDocsOrders(t *testing.T) {
	list, err := os.ReadFile("testdata/list_orders_response.json")
	if err != nil {
		t.Fatal(err)
	}
	var query url.Values
	posted := false
	c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			posted = true
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":730,"status":"processing"}`))
		case strings.HasSuffix(r.URL.Path, "/products"):
			_, _ = w.Write([]byte(`[{"id":5,"parent_id":0,"sku":"SKU-A","type":"simple"}]`))
		default:
			query = r.URL.Query()
			_, _ = w.Write(list)
		}
	})
	mo := marketplaceOrder("BM-20", "SKU-A")
	mo.CreatedAt = time.Date(2017, 3, 21, 20, 0, 0, 0, time.UTC)
	id, _, err := c.CreateOrder(context.Background(), mo)
	if err != nil || id != "730" || !posted {
		t.Fatalf("CreateOrder = %q, %v (posted %v); want 730 created", id, err, posted)
	}
	for k, want := range map[string]string{"after": "2017-03-21T19:00:00", "dates_are_gmt": "true", "orderby": "date", "order": "desc", "per_page": "100"} {
		if got := query.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// TestCreateOrderOnceTheDuplicateSKUIsRenamed: the fake's SetProductSKU is
// the merchant renaming a duplicate in the WordPress admin; the next
// import finds the one product left with the SKU.
func TestCreateOrderOnceTheDuplicateSKUIsRenamed(t *testing.T) {
	srv, c := importStore(t)
	srv.AddProduct(woocommercetest.Product{SKU: "SKU-D"})
	dup := srv.AddProduct(woocommercetest.Product{SKU: "SKU-D"})
	o := marketplaceOrder("BM-8", "SKU-D")
	if _, _, err := c.CreateOrder(context.Background(), o); syncerr.CodeOf(err) != syncerr.SKUDuplicate {
		t.Fatalf("before the rename: err = %v, want sku_duplicate", err)
	}
	if !srv.SetProductSKU(dup.ID, "SKU-D-OLD") {
		t.Fatalf("SetProductSKU(%d) = false, want the product renamed", dup.ID)
	}
	if srv.SetProductSKU(-1, "X") {
		t.Error("SetProductSKU of no product = true, want false")
	}
	if _, _, err := c.CreateOrder(context.Background(), o); err != nil {
		t.Fatalf("after the rename: err = %v, want the order made", err)
	}
	if n := len(srv.Orders()); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
}
