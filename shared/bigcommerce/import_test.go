package bigcommerce_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/bigcommerce/bigcommercetest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
)

// importStore is a fake store whose catalogue holds SKU-A (a product
// without options) and SKU-V (a variant), and a client of it.
func importStore(t *testing.T) (*bigcommercetest.Server, *bigcommerce.Client) {
	t.Helper()
	srv := bigcommercetest.New(hash, token)
	srv.AddProduct(bigcommercetest.CatalogProduct{Name: "Widget A", SKU: "SKU-A"})
	srv.AddProduct(bigcommercetest.CatalogProduct{Name: "Widget", SKU: "WIDGET", Variants: []bigcommercetest.Variant{{SKU: "SKU-V"}}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := bigcommerce.New(bigcommerce.Config{BaseURL: hs.URL, StoreHash: hash, AccessToken: token,
		Connection: "conn-b", MarketplaceName: "Back Market"}, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func marketplaceOrder(id string, skus ...string) order.MarketplaceOrder {
	o := order.MarketplaceOrder{ID: id, Status: order.StatusAwaitingAcceptance, CreatedAt: time.Now().Add(-10 * time.Minute),
		ShippingAddress: &order.Address{Name: "Jane Doe", Line1: "1 Rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "fr"}}
	for i, s := range skus {
		o.Lines = append(o.Lines, order.MarketplaceLine{ID: "L" + strconv.Itoa(i), SKU: s, Quantity: i + 1})
	}
	return o
}

func TestCreateOrderWritesWhatBigCommerceNeeds(t *testing.T) {
	srv, c := importStore(t)
	id, _, err := c.CreateOrder(context.Background(), marketplaceOrder("BM-1", "SKU-A", "SKU-V"))
	if err != nil {
		t.Fatal(err)
	}
	orders := srv.Orders()
	if len(orders) != 1 || strconv.FormatInt(orders[0].ID, 10) != id {
		t.Fatalf("orders = %+v, want one with id %s", orders, id)
	}
	o := orders[0]
	if o.StatusID != 11 || o.ExternalSource != bigcommerce.DefaultExternalSource || o.ExternalOrderID != "BM-1" {
		t.Errorf("status %d, external source %q, external order id %q; want 11, %q, BM-1", o.StatusID, o.ExternalSource, o.ExternalOrderID, bigcommerce.DefaultExternalSource)
	}
	if o.PaymentMethod != "Back Market" {
		t.Errorf("payment method %q, want the marketplace, Back Market", o.PaymentMethod)
	}
	if o.BillingZip != "75001" || len(o.ShippingAddresses) != 1 {
		t.Fatalf("billing zip %q, %d shipping addresses; want 75001 and one", o.BillingZip, len(o.ShippingAddresses))
	}
	if got, want := o.ShippingAddresses[0], (bigcommercetest.Address{ID: o.ShippingAddresses[0].ID, FirstName: "Jane", LastName: "Doe",
		Street1: "1 Rue de Rivoli", City: "Paris", Zip: "75001", CountryISO2: "FR"}); got != want {
		t.Errorf("shipping address = %+v, want %+v", got, want)
	}
	if len(o.Products) != 2 || o.Products[0].SKU != "SKU-A" || o.Products[1].SKU != "SKU-V" || o.Products[1].VariantID == 0 || o.Products[1].Quantity != 2 {
		t.Errorf("products = %+v, want SKU-A x1 and the variant SKU-V x2", o.Products)
	}
	ev, err := c.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Order.ClaimedMarketplaceOrderID != "BM-1" {
		t.Errorf("ClaimedMarketplaceOrderID = %q, want BM-1", ev.Order.ClaimedMarketplaceOrderID)
	}
}

// TestCreateOrderAfterALostAnswerFindsTheOrder: the first create is made
// but its answer lost (502); the retry finds it by its external_order_id
// and creates nothing.
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
	id, _, err := c.CreateOrder(ctx, mo)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if want := strconv.FormatInt(made[0].ID, 10); id != want {
		t.Errorf("retry = %q, want the order made first, %q", id, want)
	}
	if got := len(srv.Orders()); got != 1 {
		t.Errorf("%d orders, want 1 (no second import)", got)
	}
}

// TestCreateOrderIgnoresOrdersItDidNotMake: an order another app gave the
// same external_order_id is not taken for ordersync's import.
func TestCreateOrderIgnoresOrdersItDidNotMake(t *testing.T) {
	srv, c := importStore(t)
	srv.AddOrder(bigcommercetest.Order{ExternalSource: "POS", ExternalOrderID: "BM-3"})
	id, _, err := c.CreateOrder(context.Background(), marketplaceOrder("BM-3", "SKU-A"))
	if err != nil {
		t.Fatal(err)
	}
	if orders := srv.Orders(); len(orders) != 2 || strconv.FormatInt(orders[1].ID, 10) != id {
		t.Errorf("CreateOrder = %s with orders %+v, want a new order", id, orders)
	}
}

func TestCreateOrderRefusals(t *testing.T) {
	noAddress := marketplaceOrder("BM-4", "SKU-A")
	noAddress.ShippingAddress = nil
	noZip := marketplaceOrder("BM-10", "SKU-A")
	noZip.ShippingAddress.PostalCode = ""
	for _, tc := range []struct {
		name    string
		o       order.MarketplaceOrder
		setup   func(*bigcommercetest.Server)
		code    syncerr.Code
		details map[string]string
	}{
		{name: "unknown SKU", o: marketplaceOrder("BM-5", "SKU-A", "NO-SUCH"), code: syncerr.SKUNotFound,
			details: map[string]string{"sku": "NO-SUCH", "order": "BM-5"}},
		{name: "SKU on two variants", o: marketplaceOrder("BM-6", "SKU-D"), code: syncerr.SKUDuplicate,
			setup: func(s *bigcommercetest.Server) {
				s.AddProduct(bigcommercetest.CatalogProduct{SKU: "P1", Variants: []bigcommercetest.Variant{{SKU: "SKU-D"}}})
				s.AddProduct(bigcommercetest.CatalogProduct{SKU: "P2", Variants: []bigcommercetest.Variant{{SKU: "SKU-D"}}})
			}, details: map[string]string{"sku": "SKU-D", "order": "BM-6"}},
		{name: "SKU on two products", o: marketplaceOrder("BM-11", "SKU-E"), code: syncerr.SKUDuplicate,
			setup: func(s *bigcommercetest.Server) {
				s.AddProduct(bigcommercetest.CatalogProduct{SKU: "SKU-E"})
				s.AddProduct(bigcommercetest.CatalogProduct{SKU: "SKU-E"})
			}, details: map[string]string{"sku": "SKU-E"}},
		{name: "no shipping address", o: noAddress, code: syncerr.AddressMissing, details: map[string]string{"order": "BM-4"}},
		{name: "zip refused", o: noZip, code: syncerr.AddressInvalid, details: map[string]string{"field": "zip"}},
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
		{"rate limited", storefronttest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, syncerr.RateLimited, 1500 * time.Millisecond},
		{"unavailable", storefronttest.Fault{Status: 503}, syncerr.MarketplaceUnavailable, 0},
		{"token revoked", storefronttest.Fault{Status: 401}, syncerr.StoreDisconnected, 0},
		{"scope missing", storefronttest.Fault{Status: 403}, syncerr.StoreDisconnected, 0},
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
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

// TestCreateOrderRefusedWriteNamesTheField: the field a v2 error message
// names, or the keys of a v3 errors object, become the error's field.
func TestCreateOrderRefusedWriteNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name, body, field string
		status            int
	}{
		{"v2 array", `[{"status":400,"message":"The field 'staff_notes' is invalid."}]`, "staff_notes", 400},
		{"v2 without a field", `[{"status":400,"message":"Something about Jane Doe."}]`, "order", 400},
		{"v3 errors", `{"status":422,"title":"Invalid","errors":{"products.0.quantity":"must be positive"}}`, "products.0.quantity", 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodPost:
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(tc.body))
				case strings.HasSuffix(r.URL.Path, "/catalog/variants"):
					_, _ = w.Write([]byte(`{"data":[{"id":9,"product_id":5,"sku":"SKU-A"}],"meta":{}}`))
				default:
					w.WriteHeader(http.StatusNoContent)
				}
			}))
			t.Cleanup(hs.Close)
			c, err := bigcommerce.New(bigcommerce.Config{BaseURL: hs.URL, StoreHash: hash, AccessToken: token}, hs.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.CreateOrder(context.Background(), marketplaceOrder("BM-9", "SKU-A"))
			e, ok := syncerr.As(err)
			if !ok || e.Code != syncerr.InvalidData || e.Details["field"] != tc.field {
				t.Errorf("err = %v, want invalid_data with field %s", err, tc.field)
			}
			if err != nil && strings.Contains(err.Error(), "Jane") {
				t.Errorf("error %q quotes the message", err)
			}
		})
	}
}

// TestCreateOrderFindsAnOrderInTheDocsListing: the docs' GET /v2/orders
// example (testdata/get_orders_response.json) carries external_source
// "POS" and external_order_id "external-order-id"; a client whose source
// is POS takes it for that order's import and creates nothing.
func TestCreateOrderFindsAnOrderInTheDocsListing(t *testing.T) {
	body, err := os.ReadFile("testdata/get_orders_response.json")
	if err != nil {
		t.Fatal(err)
	}
	var query url.Values
	posts := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts++
		}
		query = r.URL.Query()
		_, _ = w.Write(body)
	}))
	t.Cleanup(hs.Close)
	c, err := bigcommerce.New(bigcommerce.Config{BaseURL: hs.URL, StoreHash: hash, AccessToken: token, ExternalSource: "POS"}, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	mo := marketplaceOrder("external-order-id", "SKU-A")
	mo.CreatedAt = time.Date(2018, 1, 10, 21, 0, 0, 0, time.UTC)
	id, _, err := c.CreateOrder(context.Background(), mo)
	if err != nil || id != "100" || posts != 0 {
		t.Errorf("CreateOrder = %q, %v with %d creates; want 100 found, none made", id, err, posts)
	}
	if got, want := query.Get("external_order_id"), "external-order-id"; got != want {
		t.Errorf("external_order_id filter = %q, want %q", got, want)
	}
	if got, want := query.Get("min_date_created"), "2018-01-10T20:00:00Z"; got != want {
		t.Errorf("min_date_created = %q, want %q (an hour before the marketplace order)", got, want)
	}
}
