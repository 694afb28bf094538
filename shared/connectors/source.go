package connectors

import (
	"context"
	"net/http"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

// Source builds each connection's marketplace and store clients with one
// shared HTTP client: the syncer.Marketplaces and syncer.Storefronts of
// the sync and the refresh.
type Source struct {
	Secrets Secrets
	HTTP    *http.Client
	// Options are the platforms' shared settings (see MarketplaceWith):
	// Amazon's token cache, so that one connection's events share an
	// access token.
	Options Options
}

// Marketplace returns conn's marketplace client (see MarketplaceWith).
func (s Source) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return MarketplaceWith(ctx, conn, s.Secrets, s.HTTP, s.Options)
}

// Storefront returns conn's store client (see Storefront).
func (s Source) Storefront(ctx context.Context, conn order.Connection) (syncer.Storefront, error) {
	return Storefront(ctx, conn, s.Secrets, s.HTTP)
}
