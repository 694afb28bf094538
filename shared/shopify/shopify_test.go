package shopify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
)

const token = "shpat_0123456789abcdef"

// fixture is a client wired to a fresh fake holding variants SKU-A and SKU-B.
type fixture struct {
	srv    *shopifytest.Server
	client *shopify.Client
	url    string
}

func newFixture(t *testing.T, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	srv := shopifytest.New(token)
	srv.AddVariant("SKU-A", "Widget A")
	srv.AddVariant("SKU-B", "Widget B")
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	c, err := shopify.New(shopify.Config{ShopURL: hs.URL, AccessToken: token, Connection: "conn-1", PageSize: 2}, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, client: c, url: hs.URL}
}

func TestConformance(t *testing.T) {
	storefronttest.RunConformance(t, func(t *testing.T) *storefronttest.Harness {
		f := newFixture(t, nil)
		bad, err := shopify.New(shopify.Config{ShopURL: f.url, AccessToken: "shpat_revoked"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &storefronttest.Harness{
			Storefront:     f.client,
			BadCredentials: bad,
			Secret:         token,
			SeedOrder: func(t *testing.T, s storefronttest.Seed) string {
				return f.srv.AddOrder(seedOrder(s)).ID
			},
			SeedStatus: order.StatusAccepted, // PAID, UNFULFILLED
			SKUs:       []string{"SKU-A", "SKU-B"},
			Imports:    true,
			OrderCount: func() int { return len(f.srv.Orders()) },
			SetFault:   f.srv.SetFault,
			Calls:      f.srv.Calls,
		}
	})
}

func seedOrder(s storefronttest.Seed) shopifytest.Order {
	o := shopifytest.Order{UpdatedAt: s.UpdatedAt}
	for _, l := range s.Lines {
		o.LineItems = append(o.LineItems, shopifytest.LineItem{SKU: l.SKU, Title: l.Title, Quantity: l.Quantity})
	}
	if a := s.ShippingAddress; a != nil {
		first, last, _ := strings.Cut(a.Name, " ")
		o.ShippingAddress = &shopifytest.Address{FirstName: first, LastName: last, Address1: a.Line1,
			City: a.City, Zip: a.PostalCode, CountryCode: a.Country}
	}
	return o
}

func twoLineOrder() shopifytest.Order {
	return shopifytest.Order{LineItems: []shopifytest.LineItem{
		{SKU: "SKU-A", Title: "Widget A", Quantity: 2},
		{SKU: "SKU-B", Title: "Widget B", Quantity: 1},
	}}
}

func operations(calls []storefronttest.Call) []string {
	var ops []string
	for _, c := range calls {
		ops = append(ops, c.Operation)
	}
	return ops
}

func countOp(calls []storefronttest.Call, op string) int {
	n := 0
	for _, c := range calls {
		if c.Operation == op {
			n++
		}
	}
	return n
}

func wantCode(t *testing.T, err error, want syncerr.Code) {
	t.Helper()
	if got := syncerr.CodeOf(err); err == nil || got != want {
		t.Fatalf("err = %v (code %s), want code %s", err, got, want)
	}
}

func TestFulfillWholeOrder(t *testing.T) {
	f := newFixture(t, nil)
	o := f.srv.AddOrder(twoLineOrder())
	p := order.Parcel{Tracking: order.Tracking{Number: "1Z999", Carrier: "UPS", URL: "https://www.ups.com/track?tracknum=1Z999"}}

	if err := f.client.Fulfill(context.Background(), o.ID, p); err != nil {
		t.Fatalf("Fulfill: %v", err)
	}
	got, _ := f.srv.Order(o.ID)
	if n := len(got.Fulfillments); n != 1 {
		t.Fatalf("fake holds %d fulfillments, want 1", n)
	}
	ful := got.Fulfillments[0]
	if want := (shopifytest.Tracking{Company: "UPS", Number: "1Z999", URL: p.Tracking.URL}); len(ful.Tracking) != 1 || ful.Tracking[0] != want {
		t.Errorf("tracking = %+v, want [%+v]", ful.Tracking, want)
	}
	if ful.NotifyCustomer {
		t.Error("notifyCustomer = true, want false by default")
	}
	if st := got.FulfillmentOrders[0].Status; st != "CLOSED" {
		t.Errorf("fulfillment order status = %s, want CLOSED", st)
	}

	ev, err := f.client.Order(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != order.StatusShipped {
		t.Errorf("status after fulfilment = %s, want shipped", ev.Status)
	}
	if len(ev.Parcels) != 1 || ev.Parcels[0].Tracking != p.Tracking || len(ev.Parcels[0].Lines) != 2 {
		t.Errorf("parcels = %+v, want one with %+v and two lines", ev.Parcels, p.Tracking)
	}

	// The same parcel again (a retried sync) is a no-op: no second mutation.
	if err := f.client.Fulfill(context.Background(), o.ID, p); err != nil {
		t.Fatalf("Fulfill again: %v", err)
	}
	if n := countOp(f.srv.Calls(), "fulfillmentCreate"); n != 1 {
		t.Errorf("fulfillmentCreate called %d times, want 1; calls %v", n, operations(f.srv.Calls()))
	}
}

func TestFulfillRefusals(t *testing.T) {
	tests := []struct {
		name string
		// prepare changes the order as the merchant would, before Fulfill.
		prepare      func(*shopifytest.Order)
		parcel       order.Parcel
		want         syncerr.Code
		wantMutation bool
	}{
		{
			name: "closed fulfillment order",
			prepare: func(o *shopifytest.Order) {
				o.FulfillmentOrders[0].Status = "CLOSED"
			},
			parcel: order.Parcel{Tracking: order.Tracking{Number: "T1"}},
			want:   syncerr.InvalidTransition,
		},
		{
			name: "on hold",
			prepare: func(o *shopifytest.Order) {
				o.FulfillmentOrders[0].Status = "ON_HOLD"
			},
			parcel: order.Parcel{Tracking: order.Tracking{Number: "T1"}},
			want:   syncerr.InvalidTransition,
		},
		{
			name: "more than remains",
			parcel: order.Parcel{Tracking: order.Tracking{Number: "T1"},
				Lines: []order.Line{{SKU: "SKU-B", Quantity: 2}}},
			want: syncerr.InvalidTransition,
		},
		{
			name:   "unknown SKU",
			parcel: order.Parcel{Lines: []order.Line{{SKU: "NOPE", Quantity: 1}}},
			want:   syncerr.SKUNotFound,
		},
		{
			name:         "tracking URL refused",
			parcel:       order.Parcel{Tracking: order.Tracking{Number: "T1", URL: "not a url"}},
			want:         syncerr.InvalidData,
			wantMutation: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			o := f.srv.AddOrder(twoLineOrder())
			if tt.prepare != nil {
				f.srv.UpdateOrder(o.ID, tt.prepare)
			}
			err := f.client.Fulfill(context.Background(), o.ID, tt.parcel)
			wantCode(t, err, tt.want)
			if got := countOp(f.srv.Calls(), "fulfillmentCreate") > 0; got != tt.wantMutation {
				t.Errorf("fulfillmentCreate called: %v, want %v", got, tt.wantMutation)
			}
			if got, _ := f.srv.Order(o.ID); len(got.Fulfillments) != 0 {
				t.Errorf("fake recorded %d fulfillments, want none", len(got.Fulfillments))
			}
		})
	}
}

func TestFulfillPartialThenRest(t *testing.T) {
	f := newFixture(t, nil)
	o := f.srv.AddOrder(twoLineOrder())
	first := order.Parcel{Tracking: order.Tracking{Number: "P1", Carrier: "DHL"}, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}
	if err := f.client.Fulfill(context.Background(), o.ID, first); err != nil {
		t.Fatalf("first parcel: %v", err)
	}
	ev, err := f.client.Order(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != order.StatusPartiallyShipped {
		t.Errorf("status = %s, want partially_shipped", ev.Status)
	}
	// Everything left: one SKU-A and the SKU-B.
	if err := f.client.Fulfill(context.Background(), o.ID, order.Parcel{Tracking: order.Tracking{Number: "P2"}}); err != nil {
		t.Fatalf("second parcel: %v", err)
	}
	got, _ := f.srv.Order(o.ID)
	if len(got.Fulfillments) != 2 {
		t.Fatalf("fulfillments = %d, want 2", len(got.Fulfillments))
	}
	var lines []shopifytest.FulfilledLine
	lines = append(lines, got.Fulfillments[1].Lines...)
	if len(lines) != 2 || lines[0].Quantity != 1 || lines[1].Quantity != 1 {
		t.Errorf("second fulfillment lines = %+v, want one of each line", lines)
	}
}

// TestFulfillUserErrors makes the merchant close the fulfillment order
// between ordersync's read and its mutation: Shopify's userErrors decide.
func TestFulfillUserErrors(t *testing.T) {
	var srv *shopifytest.Server
	var orderID string
	f := newFixture(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := readAll(r)
			if strings.Contains(body, "fulfillmentCreate(") {
				srv.UpdateOrder(orderID, func(o *shopifytest.Order) { o.FulfillmentOrders[0].Status = "CLOSED" })
			}
			next.ServeHTTP(w, r)
		})
	})
	srv = f.srv
	orderID = f.srv.AddOrder(twoLineOrder()).ID
	err := f.client.Fulfill(context.Background(), orderID, order.Parcel{Tracking: order.Tracking{Number: "T1"}})
	wantCode(t, err, syncerr.InvalidTransition)
	e, _ := syncerr.As(err)
	if e.Details["from"] != "unfulfilled" || e.Details["to"] != "fulfilled" {
		t.Errorf("details = %v, want from unfulfilled to fulfilled", e.Details)
	}
	if !strings.Contains(err.Error(), "unfulfillable status") {
		t.Errorf("err %q does not carry Shopify's userError", err)
	}
}

func TestFulfillUnknownOrder(t *testing.T) {
	f := newFixture(t, nil)
	wantCode(t, f.client.Fulfill(context.Background(), "424242", order.Parcel{}), syncerr.OrderNotFound)
	wantCode(t, f.client.Fulfill(context.Background(), "not-a-number", order.Parcel{}), syncerr.OrderNotFound)
}

func TestThrottled(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		f := newFixture(t, nil)
		o := f.srv.AddOrder(twoLineOrder())
		f.srv.SetThrottle(shopifytest.Throttle{RequestedCost: 752, Available: 666, RestoreRate: 50, Count: 1})
		_, err := f.client.Order(context.Background(), o.ID)
		wantCode(t, err, syncerr.RateLimited)
		if got, want := syncerr.RetryAfterOf(err), 1720*time.Millisecond; got != want {
			t.Errorf("RetryAfter = %v, want %v", got, want)
		}
	})
	t.Run("recorded response", func(t *testing.T) {
		body, err := os.ReadFile("testdata/throttled_response.json")
		if err != nil {
			t.Fatal(err)
		}
		c := clientFor(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
		_, err = c.Order(context.Background(), "1")
		wantCode(t, err, syncerr.RateLimited)
		if got, want := syncerr.RetryAfterOf(err), 1720*time.Millisecond; got != want {
			t.Errorf("RetryAfter = %v, want %v", got, want)
		}
	})
}

func TestRetryAfterHeader(t *testing.T) {
	f := newFixture(t, nil)
	o := f.srv.AddOrder(twoLineOrder())
	f.srv.SetFault(storefronttest.Fault{Status: 429, RetryAfter: 2 * time.Second, Count: 1})
	_, err := f.client.Order(context.Background(), o.ID)
	wantCode(t, err, syncerr.RateLimited)
	if got := syncerr.RetryAfterOf(err); got != 2*time.Second {
		t.Errorf("RetryAfter = %v, want 2s (from \"2.0\")", got)
	}
}

func clientFor(t *testing.T, h http.HandlerFunc) *shopify.Client {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	c, err := shopify.New(shopify.Config{ShopURL: hs.URL, AccessToken: token}, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   syncerr.Code
	}{
		{"401", 401, `{"errors":"[API] Invalid API key or access token"}`, syncerr.StoreDisconnected},
		{"402 frozen shop", 402, `{"errors":"Unavailable Shop"}`, syncerr.StoreDisconnected},
		{"403", 403, `{"errors":"Forbidden"}`, syncerr.StoreDisconnected},
		{"404 retired version", 404, `{"errors":"Not Found"}`, syncerr.StoreDisconnected},
		{"500", 500, ``, syncerr.MarketplaceUnavailable},
		{"502", 502, `<html>bad gateway</html>`, syncerr.MarketplaceUnavailable},
		{"400", 400, `{"errors":{"query":"Required parameter missing or invalid"}}`, syncerr.InvalidData},
		{"access denied", 200, `{"errors":[{"message":"Access denied for orders field.","extensions":{"code":"ACCESS_DENIED"}}]}`, syncerr.StoreDisconnected},
		{"internal error", 200, `{"errors":[{"message":"Internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`, syncerr.MarketplaceUnavailable},
		{"not json", 200, `<html>`, syncerr.MarketplaceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := c.Order(context.Background(), "1")
			wantCode(t, err, tt.want)
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q shows the access token", err)
			}
			if e, _ := syncerr.As(err); e.Details["marketplace"] != "Shopify" {
				t.Errorf("details = %v, want marketplace=Shopify", e.Details)
			}
		})
	}
}

func TestOrderFromRecordedShape(t *testing.T) {
	body, err := os.ReadFile("testdata/order_graphql.json")
	if err != nil {
		t.Fatal(err)
	}
	var gotToken, gotPath string
	c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
		gotToken, gotPath = r.Header.Get("X-Shopify-Access-Token"), r.URL.Path
		_, _ = w.Write(body)
	})
	ev, err := c.Order(context.Background(), "450789469")
	if err != nil {
		t.Fatal(err)
	}
	if gotToken != token || gotPath != "/admin/api/"+shopify.DefaultAPIVersion+"/graphql.json" {
		t.Errorf("request: token %q path %q", gotToken, gotPath)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", ev.Order.StoreOrderID, "450789469"},
		{"name", ev.Order.StoreOrderName, "#1001"},
		{"source", ev.Source, order.Shopify},
		{"status", ev.Status, order.StatusAccepted}, // partially refunded, nothing shipped
		{"source status", ev.SourceStatus, "partially_refunded/unfulfilled"},
		{"lines", len(ev.Lines), 3},
		{"first SKU", ev.Lines[0].SKU, "IPOD2008GREEN"},
		{"first line id", ev.Lines[0].StoreLineID, "466157049"},
		{"address", *ev.ShippingAddress, order.Address{Name: "Bob Norman", Line1: "Chestnut Street 92", City: "Louisville",
			PostalCode: "40202", Region: "KY", Country: "US", Phone: "+1(502)-459-2181"}},
		{"parcels (the only fulfillment failed)", len(ev.Parcels), 0},
		{"marketplace id (not imported)", ev.Order.MarketplaceOrderID, ""},
		{"occurred", ev.OccurredAt, time.Date(2008, 1, 10, 16, 0, 0, 0, time.UTC)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestImportRequest(t *testing.T) {
	f := newFixture(t, nil)
	mo := order.MarketplaceOrder{ID: "BM-77", Lines: []order.MarketplaceLine{{SKU: "SKU-A", Quantity: 3}},
		ShippingAddress: &order.Address{Name: "Ada Lovelace", Line1: "12 St James's Sq", City: "London", PostalCode: "SW1Y 4JH", Country: "gb"},
		CreatedAt:       time.Date(2026, 2, 1, 9, 30, 0, 0, time.UTC)}
	id, _, err := f.client.CreateOrder(context.Background(), mo)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := f.srv.Order(id)
	if !ok {
		t.Fatalf("fake has no order %s", id)
	}
	if want := []shopifytest.Attribute{{Key: shopify.MarketplaceOrderAttribute, Value: "BM-77"}}; len(got.CustomAttributes) != 1 || got.CustomAttributes[0] != want[0] {
		t.Errorf("custom attributes = %+v, want %+v", got.CustomAttributes, want)
	}
	if got.SourceIdentifier != "BM-77" || got.FinancialStatus != "PAID" {
		t.Errorf("sourceIdentifier %q financialStatus %q, want BM-77, PAID", got.SourceIdentifier, got.FinancialStatus)
	}
	if a := got.ShippingAddress; a == nil || a.FirstName != "Ada" || a.LastName != "Lovelace" || a.CountryCode != "GB" {
		t.Errorf("address = %+v", a)
	}
	var create storefronttest.Call
	for _, c := range f.srv.Calls() {
		if c.Operation == "orderCreate" {
			create = c
		}
	}
	for _, want := range []string{`"inventoryBehaviour":"DECREMENT_IGNORING_POLICY"`, `"sendReceipt":false`, `"processedAt":"2026-02-01T09:30:00Z"`} {
		if !strings.Contains(create.Body, want) {
			t.Errorf("orderCreate body lacks %s: %s", want, create.Body)
		}
	}
}

func TestImportRefusals(t *testing.T) {
	addr := &order.Address{Name: "Jo", City: "Lyon", Country: "FR"}
	tests := []struct {
		name  string
		mo    order.MarketplaceOrder
		setup func(*shopifytest.Server)
		want  syncerr.Code
	}{
		{"duplicate SKU", order.MarketplaceOrder{ID: "M1", Lines: []order.MarketplaceLine{{SKU: "SKU-A", Quantity: 1}}, ShippingAddress: addr},
			func(s *shopifytest.Server) { s.AddVariant("SKU-A", "Widget A again") }, syncerr.SKUDuplicate},
		{"no address", order.MarketplaceOrder{ID: "M2", Lines: []order.MarketplaceLine{{SKU: "SKU-A", Quantity: 1}}}, nil, syncerr.AddressMissing},
		{"bad country", order.MarketplaceOrder{ID: "M3", Lines: []order.MarketplaceLine{{SKU: "SKU-A", Quantity: 1}},
			ShippingAddress: &order.Address{Name: "Jo", City: "Lyon", Country: "France"}}, nil, syncerr.AddressInvalid},
		{"no lines", order.MarketplaceOrder{ID: "M4", ShippingAddress: addr}, nil, syncerr.InvalidData},
		{"zero quantity", order.MarketplaceOrder{ID: "M5", Lines: []order.MarketplaceLine{{SKU: "SKU-A"}}, ShippingAddress: addr}, nil, syncerr.InvalidData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if tt.setup != nil {
				tt.setup(f.srv)
			}
			_, _, err := f.client.CreateOrder(context.Background(), tt.mo)
			wantCode(t, err, tt.want)
			if n := len(f.srv.Orders()); n != 0 {
				t.Errorf("fake holds %d orders, want 0", n)
			}
		})
	}
}

func TestCancelledOrderEvent(t *testing.T) {
	f := newFixture(t, nil)
	o := twoLineOrder()
	o.CancelledAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o.CancelReason = "CUSTOMER"
	id := f.srv.AddOrder(o).ID
	ev, err := f.client.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != order.StatusCancelled || ev.CancelReason != "customer" {
		t.Errorf("status %s reason %q, want cancelled, customer", ev.Status, ev.CancelReason)
	}
	// A cancelled order's fulfillment order is closed: nothing to ship.
	wantCode(t, f.client.Fulfill(context.Background(), id, order.Parcel{}), syncerr.InvalidTransition)
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []shopify.Config{{ShopURL: "example.myshopify.com", AccessToken: "shpat_secret_value"}, {ShopURL: "https://x.myshopify.com"}} {
		if _, err := shopify.New(cfg, nil); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		} else if cfg.AccessToken != "" && strings.Contains(err.Error(), cfg.AccessToken) {
			t.Errorf("error %q shows the token", err)
		}
	}
}

func readAll(r *http.Request) (string, error) {
	b, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(b)))
	return string(b), err
}
