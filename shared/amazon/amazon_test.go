package amazon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/amazon"
	"github.com/ordersync/ordersync/shared/amazon/amazontest"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/marketplacetest"
)

var _ syncer.Marketplace = (*amazon.Client)(nil)

const (
	clientID     = "amzn1.application-oa2-client.test"
	clientSecret = "amzn1.oa2-cs.v1.test"
	refresh      = "Atzr|refresh-test"
)

func start(t *testing.T, fopts amazontest.Options, opts amazon.Options) (*amazontest.Server, *amazon.Client, *httptest.Server) {
	t.Helper()
	fopts.ClientID, fopts.ClientSecret, fopts.RefreshToken = clientID, clientSecret, refresh
	fake := amazontest.New(fopts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, client(srv, opts), srv
}

func client(srv *httptest.Server, opts amazon.Options) *amazon.Client {
	opts.Endpoint = srv.URL
	opts.TokenURL = srv.URL + "/auth/o2/token"
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = clientID, clientSecret
	}
	if opts.RefreshToken == "" {
		opts.RefreshToken = refresh
	}
	if opts.MarketplaceIDs == nil {
		opts.MarketplaceIDs = []string{amazontest.MarketplaceFR}
	}
	return amazon.New(httpclient.New(httpclient.Options{}), opts)
}

func TestConformance(t *testing.T) {
	marketplacetest.RunConformance(t, marketplacetest.Harness{Start: func(t *testing.T) *marketplacetest.Fixture {
		fake, c, srv := start(t, amazontest.Options{}, amazon.Options{PageSize: 3})
		revoked := client(srv, amazon.Options{RefreshToken: "Atzr|revoked"})
		var mu sync.Mutex
		next := 1000000
		return &marketplacetest.Fixture{
			Marketplace:  c,
			Unauthorized: revoked,
			Seed: func(t *testing.T, s marketplacetest.SeedOrder) string {
				mu.Lock()
				next++
				id := fmt.Sprintf("171-%07d-%07d", next, next)
				mu.Unlock()
				o := amazontest.Unshipped(id, s.SKUs...)
				if s.Status == order.StatusCancelled {
					o.OrderStatus = amazontest.StatusCanceled
				}
				if !s.UpdatedAt.IsZero() {
					o.LastUpdateDate = s.UpdatedAt.UTC().Format(time.RFC3339)
					o.PurchaseDate = s.UpdatedAt.Add(-time.Hour).UTC().Format(time.RFC3339)
				}
				fake.Seed(o)
				return id
			},
			SetFault:        fake.SetFault,
			ClearFaults:     fake.ClearFaults,
			Updates:         func() int { return len(fake.Calls()) },
			Requests:        fake.Requests,
			PageSize:        3,
			NoAcceptStep:    true,
			TrackingNotRead: true,
		}
	}})
}

func seed(fake *amazontest.Server, id string, skus ...string) {
	fake.Seed(amazontest.Unshipped(id, skus...))
}

func TestOrderReadsItemsAndAddress(t *testing.T) {
	fake, c, _ := start(t, amazontest.Options{}, amazon.Options{})
	seed(fake, "402-1111111-2222222", "SKU-A", "SKU-B")
	o, err := c.Order(context.Background(), "402-1111111-2222222")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != order.StatusAccepted || o.State != "Unshipped" || len(o.Lines) != 2 || o.Lines[1].SKU != "SKU-B" {
		t.Errorf("order = %+v; want Unshipped (accepted) with SKU-A and SKU-B", o)
	}
	want := order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004",
		Country: "FR", Phone: "+33 6 00 00 00 00"}
	if o.ShippingAddress == nil || *o.ShippingAddress != want || o.AddressRestricted {
		t.Errorf("address = %+v (restricted %v); want %+v", o.ShippingAddress, o.AddressRestricted, want)
	}
}

func TestAddressWithoutTheRoleIsRestricted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fopts amazontest.Options
		edit  func(*amazontest.Order)
	}{
		{"the app has no role", amazontest.Options{NoAddressRole: true}, nil},
		{"the order's address is refused", amazontest.Options{}, func(o *amazontest.Order) { o.AddressRefused = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, c, _ := start(t, tc.fopts, amazon.Options{})
			o := amazontest.Unshipped("402-1111111-3333333", "SKU-A")
			if tc.edit != nil {
				tc.edit(&o)
			}
			fake.Seed(o)
			got, err := c.Order(context.Background(), o.AmazonOrderID)
			if err != nil {
				t.Fatalf("Order: %v; want the order without its address", err)
			}
			if got.ShippingAddress != nil || !got.AddressRestricted {
				t.Errorf("address = %+v, restricted = %v; want none, restricted", got.ShippingAddress, got.AddressRestricted)
			}
			// The role's refusal is not a refused key: the next call still works.
			if _, err := c.Order(context.Background(), o.AmazonOrderID); err != nil {
				t.Errorf("Order again: %v", err)
			}
			if g := fake.Grants(); g != 1 {
				t.Errorf("access tokens granted = %d; want 1 (a restricted refusal keeps the token)", g)
			}
		})
	}
}

func TestShippedOrderReadsNoAddress(t *testing.T) {
	fake, c, _ := start(t, amazontest.Options{NoAddressRole: true}, amazon.Options{})
	o := amazontest.Unshipped("402-1111111-4444444", "SKU-A")
	o.Items[0].QuantityShipped = 1
	fake.Seed(o)
	before := fake.Requests()
	got, err := c.Order(context.Background(), o.AmazonOrderID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != order.StatusShipped || got.AddressRestricted {
		t.Errorf("order = %+v; want shipped, address not asked for", got)
	}
	if n := fake.Requests() - before; n != 2 {
		t.Errorf("requests = %d; want 2 (getOrder, getOrderItems)", n)
	}
}

func TestTokenIsRefreshedOnceAndAgainWhenRefused(t *testing.T) {
	fake, c, _ := start(t, amazontest.Options{}, amazon.Options{})
	seed(fake, "402-1111111-5555555", "SKU-A")
	for range 3 {
		if _, err := c.Order(context.Background(), "402-1111111-5555555"); err != nil {
			t.Fatal(err)
		}
	}
	if g := fake.Grants(); g != 1 {
		t.Errorf("grants = %d after 3 reads; want 1 (the token is kept)", g)
	}
	fake.ExpireTokens()
	_, err := c.Order(context.Background(), "402-1111111-5555555")
	if syncerr.CodeOf(err) != syncerr.AuthExpired {
		t.Fatalf("Order with a token Amazon no longer takes: %v; want auth_expired", err)
	}
	if _, err := c.Order(context.Background(), "402-1111111-5555555"); err != nil {
		t.Errorf("Order after the refusal: %v; want a new token fetched", err)
	}
	if g := fake.Grants(); g != 2 {
		t.Errorf("grants = %d; want 2", g)
	}
}

func TestTokenExpiresByItsLife(t *testing.T) {
	now := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	fake, c, _ := start(t, amazontest.Options{Now: clock, NoRateLimits: true}, amazon.Options{Now: clock})
	seed(fake, "402-1111111-6666666", "SKU-A")
	if _, err := c.Order(context.Background(), "402-1111111-6666666"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59*time.Minute + 30*time.Second) // inside the token's last minute
	if _, err := c.Order(context.Background(), "402-1111111-6666666"); err != nil {
		t.Fatal(err)
	}
	if g := fake.Grants(); g != 2 {
		t.Errorf("grants = %d; want 2 (renewed before it expired)", g)
	}
}

func TestLWARefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts amazon.Options
	}{
		{"invalid_grant: the seller revoked the app", amazon.Options{RefreshToken: "Atzr|revoked"}},
		{"invalid_client: the app's secret is wrong", amazon.Options{ClientID: clientID, ClientSecret: "wrong"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, _, srv := start(t, amazontest.Options{}, amazon.Options{})
			seed(fake, "402-1111111-7777777", "SKU-A")
			_, err := client(srv, tc.opts).Order(context.Background(), "402-1111111-7777777")
			if syncerr.CodeOf(err) != syncerr.AuthExpired {
				t.Errorf("got %v; want auth_expired", err)
			}
			if fake.Requests() != 0 {
				t.Errorf("SP-API requests = %d; want none without a token", fake.Requests())
			}
		})
	}
}

// TestThrottlingWaitsForTheOperationsRate: Amazon's 429 carries no
// Retry-After, only the operation's rate; the wait is one request's time.
func TestThrottlingWaitsForTheOperationsRate(t *testing.T) {
	now := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	fake, c, _ := start(t, amazontest.Options{Now: clock, Rates: map[string]amazontest.Rate{"getOrders": {PerSecond: 0.0167, Burst: 1}}},
		amazon.Options{Now: clock})
	seed(fake, "402-1111111-8888888", "SKU-A")
	since := now.Add(-time.Hour)
	if _, err := c.OrdersUpdatedSince(context.Background(), since); err != nil {
		t.Fatal(err)
	}
	_, err := c.OrdersUpdatedSince(context.Background(), since)
	e, ok := syncerr.As(err)
	if !ok || e.Code != syncerr.RateLimited {
		t.Fatalf("second listing in the same instant: %v; want rate_limited", err)
	}
	if e.RetryAfter != 60*time.Second {
		t.Errorf("RetryAfter = %v; want 60s (1 / 0.0167 requests a second)", e.RetryAfter)
	}
	now = now.Add(61 * time.Second)
	if _, err := c.OrdersUpdatedSince(context.Background(), since); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}

func TestErrorBodiesMapToTheCatalogue(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		header string
		want   syncerr.Code
		after  time.Duration
	}{
		{400, "InvalidInput", "", syncerr.InvalidData, 0},
		{403, "Unauthorized", "", syncerr.AuthExpired, 0},
		{403, "InvalidSignature", "", syncerr.AuthExpired, 0},
		{404, "NotFound", "", syncerr.OrderNotFound, 0},
		{429, "QuotaExceeded", "0.5", syncerr.RateLimited, 2 * time.Second},
		{429, "QuotaExceeded", "", syncerr.RateLimited, 2 * time.Second}, // getOrder's documented 0.5/s
		{500, "InternalFailure", "", syncerr.MarketplaceUnavailable, 0},
		{503, "ServiceUnavailable", "", syncerr.MarketplaceUnavailable, 0},
		{400, "NotFound", "", syncerr.OrderNotFound, 0}, // the body's code wins over the status
		{418, "Teapot", "", syncerr.InvalidData, 0},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.code), func(t *testing.T) {
			lwa := amazontest.New(amazontest.Options{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/auth/") {
					lwa.ServeHTTP(w, r)
					return
				}
				if tc.header != "" {
					w.Header().Set("x-amzn-RateLimit-Limit", tc.header)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"John Doe, 1 Cross St.","details":""}]}`, tc.code)
			}))
			t.Cleanup(srv.Close)
			_, err := client(srv, amazon.Options{}).Order(context.Background(), "402-1")
			e, ok := syncerr.As(err)
			if !ok || e.Code != tc.want {
				t.Fatalf("got %v; want %s", err, tc.want)
			}
			if e.RetryAfter != tc.after {
				t.Errorf("RetryAfter = %v; want %v", e.RetryAfter, tc.after)
			}
			if strings.Contains(err.Error(), "Doe") {
				t.Errorf("error %q quotes the message, which may name a buyer", err)
			}
		})
	}
}

func TestShipSendsOneConfirmationPerParcel(t *testing.T) {
	fake, c, _ := start(t, amazontest.Options{}, amazon.Options{})
	seed(fake, "402-2222222-1111111", "SKU-A", "SKU-B")
	ctx := context.Background()
	o, err := c.Order(ctx, "402-2222222-1111111")
	if err != nil {
		t.Fatal(err)
	}
	first := order.Parcel{ID: "5001", Tracking: order.Tracking{Number: "1Z999AA10123456784", Carrier: "UPS"},
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}
	if err := c.Ship(ctx, o, first); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Order(ctx, o.ID); got.Status != order.StatusPartiallyShipped {
		t.Errorf("status after the first parcel = %q; want partially shipped", got.Status)
	}
	second := order.Parcel{ID: "F-2", Tracking: order.Tracking{Number: "JD0002", Carrier: "Mondial Relay"},
		Lines: []order.Line{{SKU: "SKU-B"}}}
	if err := c.Ship(ctx, o, second); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls = %d; want 2", len(calls))
	}
	var body struct {
		MarketplaceID string `json:"marketplaceId"`
		PackageDetail struct {
			PackageReferenceID, CarrierCode, CarrierName, TrackingNumber, ShipDate string
			OrderItems                                                             []struct {
				OrderItemID string `json:"orderItemId"`
				Quantity    int    `json:"quantity"`
			} `json:"orderItems"`
		} `json:"packageDetail"`
	}
	if err := json.Unmarshal([]byte(calls[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	p := body.PackageDetail
	if body.MarketplaceID != amazontest.MarketplaceFR || p.PackageReferenceID != "5001" || p.CarrierCode != "UPS" ||
		p.TrackingNumber != "1Z999AA10123456784" || len(p.OrderItems) != 1 || p.OrderItems[0].OrderItemID != o.Lines[0].ID {
		t.Errorf("first confirmation = %s", calls[0].Body)
	}
	if err := json.Unmarshal([]byte(calls[1].Body), &body); err != nil {
		t.Fatal(err)
	}
	if p := body.PackageDetail; p.CarrierCode != "Other" || p.CarrierName != "Mondial Relay" || p.PackageReferenceID == "" {
		t.Errorf("second confirmation = %s; want carrier Other named Mondial Relay", calls[1].Body)
	}
	got, _ := c.Order(ctx, o.ID)
	if got.Status != order.StatusShipped {
		t.Errorf("status = %q; want shipped", got.Status)
	}
	// Sent again with the order as it was (a retry after a lost answer):
	// the items have shipped, nothing is sent.
	if err := c.Ship(ctx, got, first); err != nil || len(fake.Calls()) != 2 {
		t.Errorf("re-Ship: %v, calls %d; want nil and no call", err, len(fake.Calls()))
	}
}

func TestShipRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		parcel order.Parcel
		want   syncerr.Code
		calls  int
	}{
		{"no carrier", amazontest.StatusUnshipped, order.Parcel{Tracking: order.Tracking{Number: "1"}}, syncerr.ShippingDataMissing, 0},
		{"pending payment", amazontest.StatusPending, order.Parcel{Tracking: order.Tracking{Number: "1", Carrier: "UPS"}}, syncerr.InvalidTransition, 0},
		{"unknown SKU", amazontest.StatusUnshipped, order.Parcel{Tracking: order.Tracking{Number: "1", Carrier: "UPS"},
			Lines: []order.Line{{SKU: "NOPE"}}}, syncerr.SKUNotFound, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, c, _ := start(t, amazontest.Options{}, amazon.Options{})
			o := amazontest.Unshipped("402-3333333-1111111", "SKU-A")
			o.OrderStatus = tc.status
			fake.Seed(o)
			mo, err := c.Order(context.Background(), o.AmazonOrderID)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Ship(context.Background(), mo, tc.parcel)
			if syncerr.CodeOf(err) != tc.want {
				t.Errorf("got %v; want %s", err, tc.want)
			}
			if n := len(fake.Calls()); n != tc.calls {
				t.Errorf("calls = %d; want %d", n, tc.calls)
			}
		})
	}
}

// TestShipCancelledMeanwhile: the order read before shipping was open,
// but Amazon cancelled it since; its refusal reads as the wrong state.
func TestShipCancelledMeanwhile(t *testing.T) {
	fake, c, _ := start(t, amazontest.Options{}, amazon.Options{})
	seed(fake, "402-4444444-1111111", "SKU-A")
	o, err := c.Order(context.Background(), "402-4444444-1111111")
	if err != nil {
		t.Fatal(err)
	}
	cancelled := amazontest.Unshipped("402-4444444-1111111", "SKU-A")
	cancelled.OrderStatus = amazontest.StatusCanceled
	fake.Seed(cancelled)
	err = c.Ship(context.Background(), o, order.Parcel{Tracking: order.Tracking{Number: "1", Carrier: "UPS"}})
	if e, ok := syncerr.As(err); !ok || e.Code != syncerr.InvalidTransition || e.Details["from"] != string(order.StatusCancelled) {
		t.Errorf("got %v; want invalid_transition from cancelled", err)
	}
}

func TestAcceptIsANoOp(t *testing.T) {
	fake, c, _ := start(t, amazontest.Options{}, amazon.Options{})
	for _, tc := range []struct {
		status order.Status
		want   syncerr.Code
	}{
		{order.StatusAccepted, ""},
		{order.StatusPendingPayment, syncerr.InvalidTransition},
		{order.StatusCancelled, syncerr.InvalidTransition},
	} {
		err := c.Accept(context.Background(), order.MarketplaceOrder{ID: "402-1", Status: tc.status})
		got := syncerr.Code("")
		if err != nil {
			got = syncerr.CodeOf(err)
		}
		if got != tc.want {
			t.Errorf("Accept of %s = %v; want %q", tc.status, err, tc.want)
		}
	}
	if fake.Requests() != 0 || fake.Grants() != 0 {
		t.Errorf("Accept made %d calls, %d token grants; want none", fake.Requests(), fake.Grants())
	}
}

func TestListingNeedsAMarketplace(t *testing.T) {
	_, _, srv := start(t, amazontest.Options{}, amazon.Options{})
	_, err := client(srv, amazon.Options{MarketplaceIDs: []string{}}).OrdersUpdatedSince(context.Background(), time.Now())
	if e, ok := syncerr.As(err); !ok || e.Code != syncerr.InvalidData || e.Details["field"] == "" {
		t.Errorf("got %v; want invalid_data naming the marketplace id", err)
	}
}

func TestTokensAreSharedAcrossClients(t *testing.T) {
	fake, _, srv := start(t, amazontest.Options{}, amazon.Options{})
	seed(fake, "402-5555555-1111111", "SKU-A")
	tokens := amazon.NewTokens()
	for range 3 {
		// A client per event, as the sync builds them.
		if _, err := client(srv, amazon.Options{Tokens: tokens}).Order(context.Background(), "402-5555555-1111111"); err != nil {
			t.Fatal(err)
		}
	}
	if g := fake.Grants(); g != 1 {
		t.Errorf("grants = %d for 3 clients sharing Tokens; want 1", g)
	}
	if _, err := client(srv, amazon.Options{Tokens: tokens, RefreshToken: "Atzr|revoked"}).Order(context.Background(), "402-5555555-1111111"); syncerr.CodeOf(err) != syncerr.AuthExpired {
		t.Errorf("another seller's revoked token got %v; want auth_expired, not the shared token", err)
	}
}
