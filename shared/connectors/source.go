package connectors

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/amazon"
	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/pace"
	"github.com/ordersync/ordersync/shared/syncer"
)

// Source builds each connection's marketplace and store clients with one
// shared HTTP client: the syncer.Marketplaces and syncer.Storefronts of
// the sync and the refresh.
type Source struct {
	Secrets Secrets
	HTTP    *http.Client
	// Pace, when set, paces each connection's marketplace requests by its
	// platform's RateLimit (a token bucket per connection, kept by this
	// instance), and holds them for a 429's Retry-After.
	Pace *pace.Buckets
	// Options are the platforms' shared settings (see MarketplaceWith):
	// Amazon's token cache, so that one connection's events share an
	// access token.
	Options Options
}

// NewSource returns the source the sync and the refresh build once per
// cold start: one HTTP client (10 s a call), each connection's marketplace
// requests paced by its platform's RateLimit in buckets kept for the
// instance's life (so the refresh's listings keep to the account's limit
// as the sync's calls do), and one Amazon token cache.
func NewSource(secrets Secrets) Source {
	return Source{Secrets: secrets, HTTP: httpclient.New(httpclient.Options{Timeout: 10 * time.Second}),
		Pace:    pace.NewBuckets(nil),
		Options: Options{Amazon: amazon.Options{Tokens: amazon.NewTokens()}}}
}

// Marketplace returns conn's marketplace client (see MarketplaceWith).
func (s Source) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	hc := s.HTTP
	if s.Pace != nil {
		hc = s.Pace.Client(hc, conn.ID, RateLimit(conn.Marketplace.Platform))
	}
	return MarketplaceWith(ctx, conn, s.Secrets, hc, s.Options)
}

// RateLimit is the rate limit of a marketplace platform's account, as its
// connector documents it; the zero Limit (no pacing) for a platform with
// no marketplace connector.
func RateLimit(p order.Platform) pace.Limit {
	switch order.Platform(strings.ToLower(strings.TrimSpace(string(p)))) {
	case order.BackMarket:
		return backmarket.RateLimit
	case order.Mirakl:
		return mirakl.RateLimit
	}
	return pace.Limit{}

}

// Storefront returns conn's store client (see Storefront).
func (s Source) Storefront(ctx context.Context, conn order.Connection) (syncer.Storefront, error) {
	return Storefront(ctx, conn, s.Secrets, s.HTTP)
}
