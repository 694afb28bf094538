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
}

// Marketplace returns conn's marketplace client (see Marketplace).
func (s Source) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return Marketplace(ctx, conn, s.Secrets, s.HTTP)
}

// Storefront returns conn's store client (see Storefront).
func (s Source) Storefront(ctx context.Context, conn order.Connection) (syncer.Storefront, error) {
	return Storefront(ctx, conn, s.Secrets, s.HTTP)
}
