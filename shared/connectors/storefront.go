package connectors

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

// Storefront returns the merchant store client of a connection, its
// credential resolved by name (for WooCommerce the secret holds
// "consumer_key:consumer_secret"). A store ordersync cannot reach for want
// of configuration or credentials fails with store_disconnected; a platform
// with no connector with platform_unsupported.
func Storefront(ctx context.Context, conn order.Connection, secrets Secrets, hc *http.Client) (syncer.Storefront, error) {
	ep := conn.Store
	platform := order.Platform(strings.ToLower(strings.TrimSpace(string(ep.Platform))))
	name := platform.DisplayName()
	switch platform {
	case order.Shopify:
		key, err := storeCredential(ctx, conn, secrets)
		if err != nil {
			return nil, err
		}
		shop := ep.BaseURL
		if shop == "" && ep.Account != "" {
			shop = "https://" + ep.Account
		}
		c, err := shopify.New(shopify.Config{ShopURL: shop, AccessToken: key, Connection: conn.ID}, hc)
		return storeOrErr(c, err, conn, name)
	case order.WooCommerce:
		key, err := storeCredential(ctx, conn, secrets)
		if err != nil {
			return nil, err
		}
		ck, cs, _ := strings.Cut(key, ":")
		c, err := woocommerce.New(woocommerce.Config{SiteURL: ep.BaseURL, ConsumerKey: ck, ConsumerSecret: cs, Connection: conn.ID,
			MarketplaceName: conn.Marketplace.Platform.DisplayName()}, hc)
		return storeOrErr(c, err, conn, name)
	case order.BigCommerce:
		key, err := storeCredential(ctx, conn, secrets)
		if err != nil {
			return nil, err
		}
		c, err := bigcommerce.New(bigcommerce.Config{BaseURL: ep.BaseURL, StoreHash: ep.Account, AccessToken: key, Connection: conn.ID,
			MarketplaceName: conn.Marketplace.Platform.DisplayName()}, hc)
		return storeOrErr(c, err, conn, name)
	}
	return nil, syncerr.E(syncerr.PlatformUnsupported, "platform", string(ep.Platform)).
		Wrap(fmt.Errorf("connectors: connection %s: no store connector for %q", conn.ID, ep.Platform))
}

// storeOrErr returns c, or classifies a configuration error. c is typed so
// a nil client never becomes a non-nil interface.
func storeOrErr[C syncer.Storefront](c C, err error, conn order.Connection, name string) (syncer.Storefront, error) {
	if err != nil {
		return nil, syncerr.E(syncerr.StoreDisconnected, "store", name).
			Wrap(fmt.Errorf("connectors: connection %s: %w", conn.ID, err))
	}
	return c, nil
}

func storeCredential(ctx context.Context, conn order.Connection, secrets Secrets) (string, error) {
	return resolve(ctx, conn.ID, secrets, conn.Store.CredentialRef, "store", conn.Store.Platform.DisplayName(), syncerr.StoreDisconnected)
}
