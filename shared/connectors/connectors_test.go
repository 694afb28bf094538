package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/mirakl/mirakltest"
	"github.com/ordersync/ordersync/shared/order"
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

	sec := secrets{"bm/acme": bmToken, "mirakl/acme": miraklKey}
	hc := httpclient.New(httpclient.Options{})
	tests := []struct {
		name string
		conn order.Connection
		id   string
	}{
		{"backmarket", conn(order.BackMarket, bmSrv.URL, "bm/acme"), "5"},
		{"mirakl", conn(order.Mirakl, mkSrv.URL, "mirakl/acme"), "5-A"},
		{"platform spelt in capitals", conn("BackMarket", bmSrv.URL, "bm/acme"), "5"},
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
	if m.Capabilities().PerLine {
		t.Errorf("mirakl without split parcels ships per line; want whole orders")
	}
	split := conn(order.Mirakl, "https://acme.mirakl.net", "k")
	split.Marketplace.SplitParcels = true
	if m, err = connectors.Marketplace(context.Background(), split, sec, http.DefaultClient); err != nil || !m.Capabilities().PerLine {
		t.Errorf("mirakl with split parcels: %v, PerLine %v; want parcels per line (ST01)", err, err == nil && m.Capabilities().PerLine)
	}
}

func TestMarketplaceErrors(t *testing.T) {
	sec := secrets{"bm": bmToken, "empty": "  "}
	tests := []struct {
		name   string
		conn   order.Connection
		want   syncerr.Code
		detail [2]string
	}{
		{"amazon", conn(order.Amazon, "https://sellingpartnerapi-eu.amazon.com", "bm"), syncerr.PlatformUnsupported, [2]string{"platform", "amazon"}},
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
