package backmarket_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/marketplacetest"
)

var _ syncer.Marketplace = (*backmarket.Client)(nil)

const token = "bm-test-token"

// start serves a fresh fake and returns it with a client pointed at it.
func start(t *testing.T, opts backmarket.Options) (*backmarkettest.Server, *backmarket.Client, *httptest.Server) {
	t.Helper()
	fake := backmarkettest.New(backmarkettest.Options{Token: token, RefuseAccepted: opts.RefuseAcceptedLines})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	opts.BaseURL = srv.URL
	if opts.Token == "" {
		opts.Token = token
	}
	return fake, backmarket.New(httpclient.New(httpclient.Options{}), opts), srv
}

func TestConformance(t *testing.T) {
	marketplacetest.RunConformance(t, harness(backmarket.Options{PageSize: 3}))
}

// TestConformanceRefusingAcceptedLines runs the suite where Back Market
// takes a refusal of an accepted line (UNCONFIRMED; see
// Options.RefuseAcceptedLines), the fake likewise.
func TestConformanceRefusingAcceptedLines(t *testing.T) {
	marketplacetest.RunConformance(t, harness(backmarket.Options{PageSize: 3, RefuseAcceptedLines: true}))
}

func harness(opts backmarket.Options) marketplacetest.Harness {
	return marketplacetest.Harness{Start: func(t *testing.T) *marketplacetest.Fixture {
		fake, client, srv := start(t, opts)
		expired := backmarket.New(httpclient.New(httpclient.Options{}), backmarket.Options{BaseURL: srv.URL, Token: "expired"})
		var mu sync.Mutex
		next := int64(1000)
		return &marketplacetest.Fixture{
			Marketplace:  client,
			Unauthorized: expired,
			Seed: func(t *testing.T, s marketplacetest.SeedOrder) string {
				mu.Lock()
				next++
				id := next
				mu.Unlock()
				o := backmarkettest.AwaitingAcceptance(id, s.SKUs...)
				if s.Status == order.StatusCancelled {
					o.State = backmarkettest.OrderCancelled
					for i := range o.OrderLines {
						o.OrderLines[i].State = backmarkettest.LineCancelled
					}
				}
				if !s.UpdatedAt.IsZero() {
					o.DateModification = s.UpdatedAt.UTC().Format(time.RFC3339)
				}
				fake.Seed(o)
				return strconv.FormatInt(id, 10)
			},
			SetFault:    fake.SetFault,
			ClearFaults: fake.ClearFaults,
			Updates:     func() int { return len(fake.Calls()) },
			Requests:    fake.Requests,
			PageSize:    3,
		}
	}}
}

func TestRequestShape(t *testing.T) {
	var got http.Header
	fake := backmarkettest.New(backmarkettest.Options{Token: token})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	fake.Seed(backmarkettest.AwaitingAcceptance(7, "SKU-A", "SKU-B"))
	c := backmarket.New(httpclient.New(httpclient.Options{}), backmarket.Options{
		BaseURL: srv.URL + "/ws/", Token: token, AcceptLanguage: "en-gb", UserAgent: "BM-acme-ordersync;ops@acme.test"})

	o, err := c.Order(context.Background(), "7")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Authorization":   "Basic " + token,
		"Accept":          "application/json",
		"Accept-Language": "en-gb",
		"User-Agent":      "BM-acme-ordersync;ops@acme.test",
	} {
		if g := got.Get(k); g != want {
			t.Errorf("%s = %q; want %q", k, g, want)
		}
	}

	if err := c.Accept(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o, _ = c.Order(context.Background(), "7")
	p := order.Parcel{Tracking: order.Tracking{Number: "TRK1", Carrier: "UPS", URL: "https://www.ups.com/track?tracknum=TRK1"},
		Lines: []order.Line{{SKU: "SKU-B"}}}
	if err := c.Ship(context.Background(), o, p); err != nil {
		t.Fatal(err)
	}
	want := []backmarkettest.Call{
		{OrderID: "7", SKU: "SKU-A", NewState: 2, Status: 200},
		{OrderID: "7", SKU: "SKU-B", NewState: 2, Status: 200},
		{OrderID: "7", SKU: "SKU-B", NewState: 3, TrackingNumber: "TRK1",
			TrackingURL: "https://www.ups.com/track?tracknum=TRK1", Shipper: "UPS", Status: 200},
	}
	calls := fake.Calls()
	if len(calls) != len(want) {
		t.Fatalf("calls = %+v; want %+v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %+v; want %+v", i, calls[i], want[i])
		}
	}
	got2, _ := c.Order(context.Background(), "7")
	if got2.Status != order.StatusPartiallyShipped {
		t.Errorf("status after shipping one line of two = %q; want %q", got2.Status, order.StatusPartiallyShipped)
	}
}

func TestShipChecks(t *testing.T) {
	tests := []struct {
		name    string
		opts    backmarket.Options
		parcel  order.Parcel
		want    syncerr.Code
		missing string
	}{
		{"no tracking number", backmarket.Options{}, order.Parcel{}, syncerr.ShippingDataMissing, "tracking number"},
		{"tracking URL required", backmarket.Options{TrackingURLRequired: true},
			order.Parcel{Tracking: order.Tracking{Number: "1", Carrier: "Acme Post"}}, syncerr.ShippingDataMissing, "tracking URL"},
		{"carrier required", backmarket.Options{CarrierRequired: true},
			order.Parcel{Tracking: order.Tracking{Number: "1"}}, syncerr.ShippingDataMissing, "carrier"},
		{"unknown SKU", backmarket.Options{},
			order.Parcel{Tracking: order.Tracking{Number: "1"}, Lines: []order.Line{{SKU: "NOPE"}}}, syncerr.SKUNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := start(t, tt.opts)
			fake.Seed(backmarkettest.AwaitingAcceptance(9, "SKU-A"))
			err := c.Ship(context.Background(), order.MarketplaceOrder{ID: "9"}, tt.parcel)
			e, ok := syncerr.As(err)
			if !ok || e.Code != tt.want {
				t.Fatalf("Ship = %v; want %s", err, tt.want)
			}
			if e.Details["missing"] != tt.missing {
				t.Errorf("missing = %q; want %q", e.Details["missing"], tt.missing)
			}
			if n := len(fake.Calls()); n != 0 {
				t.Errorf("%d update calls; want 0", n)
			}
		})
	}
}

func TestShipDerivesTrackingURL(t *testing.T) {
	fake, c, _ := start(t, backmarket.Options{TrackingURLRequired: true})
	o := backmarkettest.AwaitingAcceptance(9, "SKU-A")
	o.State, o.OrderLines[0].State = backmarkettest.OrderToShip, backmarkettest.LineAccepted
	fake.Seed(o)
	p := order.Parcel{Tracking: order.Tracking{Number: "1Z999", Carrier: "UPS"}}
	if err := c.Ship(context.Background(), order.MarketplaceOrder{ID: "9"}, p); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].TrackingURL == "" || calls[0].Shipper != "UPS" {
		t.Errorf("calls = %+v; want one ship with a derived UPS tracking URL", calls)
	}
}

// Back Market takes a tracking_url without requiring one: a known
// carrier's is derived, so the buyer gets a link; a store's own is sent as
// is, and an unknown carrier's shipment goes without one.
func TestShipSendsATrackingURLWhereItCan(t *testing.T) {
	tests := []struct {
		name     string
		tracking order.Tracking
		wantURL  string
	}{
		{"known carrier, no URL: derived", order.Tracking{Number: "1Z 999", Carrier: "UPS"}, "https://www.ups.com/track?tracknum=1Z999"},
		{"the store's URL kept", order.Tracking{Number: "1Z999", Carrier: "UPS", URL: "https://shop.test/t/1Z999"}, "https://shop.test/t/1Z999"},
		{"unknown carrier: none", order.Tracking{Number: "42", Carrier: "Acme Post"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := start(t, backmarket.Options{})
			o := backmarkettest.AwaitingAcceptance(9, "SKU-A")
			o.State, o.OrderLines[0].State = backmarkettest.OrderToShip, backmarkettest.LineAccepted
			fake.Seed(o)
			if err := c.Ship(context.Background(), order.MarketplaceOrder{ID: "9"}, order.Parcel{Tracking: tt.tracking}); err != nil {
				t.Fatal(err)
			}
			calls := fake.Calls()
			if len(calls) != 1 || calls[0].TrackingURL != tt.wantURL || calls[0].TrackingNumber != tt.tracking.Number {
				t.Errorf("calls = %+v; want one ship with tracking_url %q", calls, tt.wantURL)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	c := backmarket.New(http.DefaultClient, backmarket.Options{TrackingURLRequired: true})
	want := order.Capabilities{Cancel: false, AcceptRequired: true, TrackingURL: true, TrackingURLRequired: true, PerLine: true,
		CancelLines: true}
	if got := c.Capabilities(); got != want {
		t.Errorf("Capabilities() = %+v; want %+v", got, want)
	}
}

func TestForbidden(t *testing.T) {
	tests := []struct {
		name string
		waf  bool
		want syncerr.Code
	}{
		{"403 is auth by default", false, syncerr.AuthExpired},
		{"403 is a rate limit behind the WAF", true, syncerr.RateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := start(t, backmarket.Options{Forbidden403IsRateLimit: tt.waf})
			fake.SetFault(backmarkettest.Fault{Status: 403, RetryAfter: "10"})
			_, err := c.Order(context.Background(), "1")
			if got := syncerr.CodeOf(err); got != tt.want {
				t.Errorf("code = %s; want %s", got, tt.want)
			}
		})
	}
}

func TestCredentialsStayOutOfErrors(t *testing.T) {
	fake, c, _ := start(t, backmarket.Options{})
	for _, status := range []int{400, 401, 404, 429, 503} {
		fake.SetFault(backmarkettest.Fault{Status: status})
		_, err := c.Order(context.Background(), "1")
		if err == nil {
			t.Fatalf("status %d: no error", status)
		}
		if s := err.Error(); containsToken(s) {
			t.Errorf("status %d: error %q contains the token", status, s)
		}
	}
}

func containsToken(s string) bool {
	for i := 0; i+len(token) <= len(s); i++ {
		if s[i:i+len(token)] == token {
			return true
		}
	}
	return false
}
