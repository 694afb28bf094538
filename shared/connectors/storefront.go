package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/sync"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

// Storefront returns the merchant store client of a connection, its
// credential resolved by name (for WooCommerce the secret holds
// "consumer_key:consumer_secret"). A store ordersync cannot reach for want
// of configuration or credentials fails with store_disconnected; a platform
// with no connector with platform_unsupported.
func Storefront(ctx context.Context, conn order.Connection, secrets Secrets, hc *http.Client) (sync.Storefront, error) {
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
		c, err := woocommerce.New(woocommerce.Config{SiteURL: ep.BaseURL, ConsumerKey: ck, ConsumerSecret: cs, Connection: conn.ID}, hc)
		return storeOrErr(c, err, conn, name)
	case order.BigCommerce:
		key, err := storeCredential(ctx, conn, secrets)
		if err != nil {
			return nil, err
		}
		c, err := bigcommerce.New(bigcommerce.Config{BaseURL: ep.BaseURL, StoreHash: ep.Account, AccessToken: key, Connection: conn.ID}, hc)
		return storeOrErr(c, err, conn, name)
	}
	return nil, syncerr.E(syncerr.PlatformUnsupported, "platform", string(ep.Platform)).
		Wrap(fmt.Errorf("connectors: connection %s: no store connector for %q", conn.ID, ep.Platform))
}

// storeOrErr returns c, or classifies a configuration error. c is typed so
// a nil client never becomes a non-nil interface.
func storeOrErr[C sync.Storefront](c C, err error, conn order.Connection, name string) (sync.Storefront, error) {
	if err != nil {
		return nil, syncerr.E(syncerr.StoreDisconnected, "store", name).
			Wrap(fmt.Errorf("connectors: connection %s: %w", conn.ID, err))
	}
	return c, nil
}

func storeCredential(ctx context.Context, conn order.Connection, secrets Secrets) (string, error) {
	name := conn.Store.Platform.DisplayName()
	ref := conn.Store.CredentialRef
	if ref == "" {
		return "", syncerr.E(syncerr.StoreDisconnected, "store", name).
			Wrap(fmt.Errorf("connectors: connection %s has no store credential", conn.ID))
	}
	v, err := secrets.Secret(ctx, ref)
	switch {
	case err != nil && errors.Is(err, order.ErrNotFound):
		return "", syncerr.E(syncerr.StoreDisconnected, "store", name).
			Wrap(fmt.Errorf("connectors: connection %s: store credential %q: %w", conn.ID, ref, err))
	case err != nil:
		if e, ok := syncerr.As(err); ok {
			return "", e
		}
		return "", syncerr.E(syncerr.MarketplaceUnavailable, "store", name).
			Wrap(fmt.Errorf("connectors: connection %s: reading store credential %q: %w", conn.ID, ref, err))
	case strings.TrimSpace(v) == "":
		return "", syncerr.E(syncerr.StoreDisconnected, "store", name).
			Wrap(fmt.Errorf("connectors: connection %s: store credential %q is empty", conn.ID, ref))
	}
	return strings.TrimSpace(v), nil
}
