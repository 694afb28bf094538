package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/amazon"
	"github.com/ordersync/ordersync/shared/amazon/amazontest"
	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/mirakl/mirakltest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/pace"
	"github.com/ordersync/ordersync/shared/pace/pacetest"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// secrets is a map of secrets; a name it lacks is order.ErrNotFound, and
// the name "broken" fails as an outage would.
type secrets map[string]string

func (s secrets) Secret(ctx context.Context, name string) (string, error) {
	if name == "broken" {
		return "", errors.New("secrets manager: throttled")
	}
	v, ok := s[name]
	if !ok {
		return "", fmt.Errorf("secret %q: %w", name, order.ErrNotFound)
	}
	return v, nil
}

const bmToken, miraklKey = "s3cr3t-bm-token", "s3cr3t-mirakl-key"

func conn(platform order.Platform, baseURL, ref string) order.Connection {
	return order.Connection{ID: "c1", Marketplace: order.Endpoint{Platform: platform, BaseURL: baseURL,
		CredentialRef: ref, Account: "2001"}}
}

func TestMarketplaceTalksWithTheResolvedCredential(t *testing.T) {
	bm := backmarkettest.New(backmarkettest.Options{Token: bmToken})
	bm.Seed(backmarkettest.AwaitingAcceptance(5, "A"))
	bmSrv := httptest.NewServer(bm)
	defer bmSrv.Close()
	mk := mirakltest.New(mirakltest.Options{APIKey: miraklKey})
	mk.Seed(mirakltest.AwaitingAcceptance("5-A", "A"))
	mkSrv := httptest.NewServer(mk)
	defer mkSrv.Close()

	az := amazontest.New(amazontest.Options{ClientID: "app", ClientSecret: "app-secret", RefreshToken: "Atzr|acme"})
	az.Seed(amazontest.Unshipped("171-0000001-0000001", "A"))
	azSrv := httptest.NewServer(az)
	defer azSrv.Close()
	azCred := fmt.Sprintf(`{"client_id":"app","client_secret":"app-secret","refresh_token":"Atzr|acme","token_url":%q}`,
		azSrv.URL+"/auth/o2/token")

	sec := secrets{"bm/acme": bmToken, "mirakl/acme": miraklKey, "amazon/acme": azCred}
	hc := httpclient.New(httpclient.Options{})
	tests := []struct {
		name string
		conn order.Connection
		id   string
	}{
		{"backmarket", conn(order.BackMarket, bmSrv.URL, "bm/acme"), "5"},
		{"mirakl", conn(order.Mirakl, mkSrv.URL, "mirakl/acme"), "5-A"},
		{"platform spelt in capitals", conn("BackMarket", bmSrv.URL, "bm/acme"), "5"},
		{"amazon", conn(order.Amazon, azSrv.URL, "amazon/acme"), "171-0000001-0000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := connectors.Marketplace(context.Background(), tt.conn, sec, hc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Order(context.Background(), tt.id); err != nil {
				t.Errorf("Order(%s): %v", tt.id, err)
			}
		})
	}
}

func TestMarketplaceTypes(t *testing.T) {
	sec := secrets{"k": "v"}
	m, err := connectors.Marketplace(context.Background(), conn(order.BackMarket, "", "k"), sec, http.DefaultClient)
	if _, ok := m.(*backmarket.Client); err != nil || !ok {
		t.Errorf("backmarket with no base URL = %T, %v; want *backmarket.Client (default URL)", m, err)
	}
	m, err = connectors.Marketplace(context.Background(), conn(order.Mirakl, "https://acme.mirakl.net", "k"), sec, http.DefaultClient)
	if _, ok := m.(*mirakl.Client); err != nil || !ok {
		t.Errorf("mirakl = %T, %v; want *mirakl.Client", m, err)
	}
	opts := connectors.Options{Amazon: amazon.Options{ClientID: "app", ClientSecret: "app-secret"}}
	m, err = connectors.MarketplaceWith(context.Background(), conn(order.Amazon, "", "k"), sec, http.DefaultClient, opts)
	if _, ok := m.(*amazon.Client); err != nil || !ok {
		t.Errorf("amazon with a bare refresh token and the app's credentials = %T, %v; want *amazon.Client", m, err)
	}
	sec[connectors.AmazonAppRef] = `{"client_id":"app","client_secret":"app-secret"}`
	m, err = connectors.Marketplace(context.Background(), conn(order.Amazon, "", "k"), sec, http.DefaultClient)
	if _, ok := m.(*amazon.Client); err != nil || !ok {
		t.Errorf("amazon with a bare refresh token and the app's secret = %T, %v; want *amazon.Client", m, err)
	}
	m, err = connectors.Marketplace(context.Background(), conn(order.Mirakl, "https://acme.mirakl.net", "k"), sec, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if m.Capabilities().PerLine {
		t.Errorf("mirakl without split parcels ships per line; want whole orders")
	}
	split := conn(order.Mirakl, "https://acme.mirakl.net", "k")
	split.Marketplace.SplitParcels = true
	if m, err = connectors.Marketplace(context.Background(), split, sec, http.DefaultClient); err != nil || !m.Capabilities().PerLine {
		t.Errorf("mirakl with split parcels: %v, PerLine %v; want parcels per line (ST01)", err, err == nil && m.Capabilities().PerLine)
	}
	if m.Capabilities().CancelAcceptedLines {
		t.Errorf("mirakl without a cancel reason code cancels accepted lines; want cancel_unsupported (OR30 needs a reason code)")
	}
	reason := conn(order.Mirakl, "https://acme.mirakl.net", "k")
	reason.Marketplace.CancelReasonCode = "34"
	if m, err = connectors.Marketplace(context.Background(), reason, sec, http.DefaultClient); err != nil || !m.Capabilities().CancelAcceptedLines {
		t.Errorf("mirakl with cancel_reason_code: %v, CancelAcceptedLines %v; want accepted lines cancelled (OR30)", err, err == nil && m.Capabilities().CancelAcceptedLines)
	}
	if m.Capabilities().RefundLines {
		t.Errorf("mirakl without a refund reason code refunds lines; want refund_unsupported (OR28 needs a reason code)")
	}
	reason.Marketplace.RefundReasonCode = "17"
	if m, err = connectors.Marketplace(context.Background(), reason, sec, http.DefaultClient); err != nil || !m.Capabilities().RefundLines {
		t.Errorf("mirakl with refund_reason_code: %v, RefundLines %v; want shipped lines refunded (OR28)", err, err == nil && m.Capabilities().RefundLines)
	}
}

func TestMarketplaceErrors(t *testing.T) {
	sec := secrets{"bm": bmToken, "empty": "  ", "amzn-empty": `{"client_id":"a","client_secret":"b"}`}
	tests := []struct {
		name   string
		conn   order.Connection
		want   syncerr.Code
		detail [2]string
	}{
		{"amazon, a bare refresh token and no app credentials", conn(order.Amazon, "", "bm"), syncerr.InvalidData, [2]string{"marketplace", "Amazon"}},
		{"amazon, a credential without its refresh token", conn(order.Amazon, "", "amzn-empty"), syncerr.AuthExpired, [2]string{"marketplace", "Amazon"}},
		{"a store platform", conn(order.Shopify, "https://x.myshopify.com", "bm"), syncerr.PlatformUnsupported, [2]string{"platform", "shopify"}},
		{"no platform", conn("", "", "bm"), syncerr.PlatformUnsupported, [2]string{"platform", ""}},
		{"no credential ref", conn(order.BackMarket, "", ""), syncerr.AuthExpired, [2]string{"marketplace", "Back Market"}},
		{"missing secret", conn(order.Mirakl, "https://acme.mirakl.net", "gone"), syncerr.AuthExpired, [2]string{"marketplace", "Mirakl"}},
		{"empty secret", conn(order.BackMarket, "", "empty"), syncerr.AuthExpired, [2]string{"marketplace", "Back Market"}},
		{"secrets outage", conn(order.BackMarket, "", "broken"), syncerr.MarketplaceUnavailable, [2]string{"marketplace", "Back Market"}},
		{"mirakl without base URL", conn(order.Mirakl, "", "bm"), syncerr.InvalidData, [2]string{"marketplace", "Mirakl"}},
		{"base URL not a URL", conn(order.BackMarket, "www.backmarket.fr", "bm"), syncerr.InvalidData, [2]string{"marketplace", "Back Market"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := connectors.Marketplace(context.Background(), tt.conn, sec, http.DefaultClient)
			if m != nil {
				t.Errorf("connector = %T; want nil", m)
			}
			e, ok := syncerr.As(err)
			if !ok || e.Code != tt.want {
				t.Fatalf("err = %v; want %s", err, tt.want)
			}
			if got := e.Details[tt.detail[0]]; got != tt.detail[1] {
				t.Errorf("detail %s = %q; want %q", tt.detail[0], got, tt.detail[1])
			}
			if strings.Contains(err.Error(), bmToken) {
				t.Errorf("error %q contains the credential", err)
			}
		})
	}
}

func TestOptionsApplyButConnectionWins(t *testing.T) {
	var gotUA, gotLang string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA, gotLang = r.UserAgent(), r.Header.Get("Accept-Language")
		http.NotFound(w, r)
	}))
	defer srv.Close()
	opts := connectors.Options{BackMarket: backmarket.Options{BaseURL: "https://ignored.example", Token: "ignored",
		UserAgent: "BM-acme-ordersync;ops@acme.test", AcceptLanguage: "en-gb"}}
	m, err := connectors.MarketplaceWith(context.Background(), conn(order.BackMarket, srv.URL, "bm"), secrets{"bm": bmToken}, http.DefaultClient, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Order(context.Background(), "1")
	if syncerr.CodeOf(err) != syncerr.OrderNotFound {
		t.Fatalf("Order = %v; want order_not_found from the connection's server", err)
	}
	if gotUA != "BM-acme-ordersync;ops@acme.test" || gotLang != "en-gb" {
		t.Errorf("User-Agent %q, Accept-Language %q; want the Options'", gotUA, gotLang)
	}
}

func TestRateLimitIsTheConnectorsOwn(t *testing.T) {
	for _, tc := range []struct {
		platform order.Platform
		want     pace.Limit
	}{
		{order.BackMarket, backmarket.RateLimit},
		{" Back_Market ", pace.Limit{}},
		{"BACKMARKET", backmarket.RateLimit},
		{order.Mirakl, mirakl.RateLimit},
		{order.Amazon, pace.Limit{}},
		{order.Shopify, pace.Limit{}},
	} {
		t.Run(string(tc.platform), func(t *testing.T) {
			if got := connectors.RateLimit(tc.platform); got != tc.want {
				t.Errorf("RateLimit(%q) = %+v, want %+v", tc.platform, got, tc.want)
			}
		})
	}
	if backmarket.RateLimit == (pace.Limit{}) || mirakl.RateLimit == (pace.Limit{}) {
		t.Error("a marketplace connector without a rate limit")
	}
}

// TestSourcePacesEachConnectionsMarketplace: with Pace, a 429's
// Retry-After holds the connection's next request until then.
func TestSourcePacesEachConnectionsMarketplace(t *testing.T) {
	bm := backmarkettest.New(backmarkettest.Options{Token: bmToken})
	bm.Seed(backmarkettest.AwaitingAcceptance(5, "A"))
	srv := httptest.NewServer(bm)
	defer srv.Close()
	clock := pacetest.NewClock(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	src := connectors.Source{Secrets: secrets{"bm": bmToken}, HTTP: srv.Client(), Pace: pace.NewBuckets(clock)}
	ctx := context.Background()
	mp, err := src.Marketplace(ctx, conn(order.BackMarket, srv.URL, "bm"))
	if err != nil {
		t.Fatal(err)
	}
	bm.SetFault(backmarkettest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "2", Count: 1})
	if _, err := mp.Order(ctx, "5"); syncerr.CodeOf(err) != syncerr.RateLimited {
		t.Fatalf("Order = %v, want rate_limited", err)
	}
	done := make(chan error, 1)
	go func() { _, err := mp.Order(ctx, "5"); done <- err }()
	clock.BlockUntil(1)
	if _, next := clock.Waiting(); next != 2*time.Second {
		t.Errorf("the next request waits %v, want the Retry-After, 2s", next)
	}
	clock.Advance(2 * time.Second)
	if err := <-done; err != nil {
		t.Errorf("Order after the Retry-After = %v", err)
	}
}

// TestNewSourceIsPaced: the source the sync and the refresh both build
// (NewSource) paces each connection's marketplace: after a 429 asking for
// a minute, a request whose context ends sooner is refused at once as
// rate_limited, with the wait, and never reaches the marketplace.
func TestNewSourceIsPaced(t *testing.T) {
	bm := backmarkettest.New(backmarkettest.Options{Token: bmToken})
	bm.Seed(backmarkettest.AwaitingAcceptance(5, "A"))
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		bm.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := connectors.NewSource(secrets{"bm": bmToken})
	ctx := context.Background()
	mp, err := src.Marketplace(ctx, conn(order.BackMarket, srv.URL, "bm"))
	if err != nil {
		t.Fatal(err)
	}
	bm.SetFault(backmarkettest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "60", Count: 1})
	if _, err := mp.Order(ctx, "5"); syncerr.CodeOf(err) != syncerr.RateLimited {
		t.Fatalf("Order = %v, want rate_limited", err)
	}
	before := requests.Load()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = mp.Order(sctx, "5")
	if syncerr.CodeOf(err) != syncerr.RateLimited || syncerr.RetryAfterOf(err) < 50*time.Second {
		t.Errorf("Order within the Retry-After = %v (retry after %v), want rate_limited after about a minute", err, syncerr.RetryAfterOf(err))
	}
	if got := requests.Load(); got != before {
		t.Errorf("%d requests reached the marketplace within its Retry-After, want none", got-before)
	}
}
