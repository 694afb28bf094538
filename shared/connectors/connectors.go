// Package connectors builds the marketplace connector a connection names:
// it picks the implementation by platform and resolves the connection's
// credential by name at run time. Credentials never appear in the errors
// it returns.
package connectors

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ordersync/ordersync/shared/amazon"
	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Secrets resolves a credential by name: from a file under the data
// folder locally, from Secrets Manager or SSM on AWS (cached per cold
// start). A missing secret should be reported as order.ErrNotFound
// (wrapped).
type Secrets interface {
	// Secret returns the value of the secret called name.
	Secret(ctx context.Context, name string) (string, error)
}

// Options are the per-platform settings every connection of that platform
// shares (set once in main). Per-connection values (base URL, credential,
// account) always come from the connection and override these.
type Options struct {
	BackMarket backmarket.Options
	Mirakl     mirakl.Options
	// Amazon holds the app's LWA client id and secret (for connections
	// whose credential is a bare refresh token) and the token cache.
	Amazon amazon.Options
}

// DefaultAmazonEndpoint is the SP-API endpoint used when an Amazon
// connection names none (Europe).
const DefaultAmazonEndpoint = "https://sellingpartnerapi-eu.amazon.com"

// AmazonAppRef is the secret holding ordersync's own LWA app credentials,
// {"client_id": …, "client_secret": …}, read when a connection's credential
// is a bare refresh token and Options carry none. Like every secret it is
// read under the stack's SecretsPrefix (/ordersync/prod/amazon-lwa-app),
// which already names ordersync and the stage.
const AmazonAppRef = "amazon-lwa-app"

// DefaultBackMarketURL is the Back Market API used when a connection names
// no base URL (the EU site).
const DefaultBackMarketURL = "https://www.backmarket.fr"

// Marketplace returns the connector for conn's marketplace, with default
// Options. See MarketplaceWith.
func Marketplace(ctx context.Context, conn order.Connection, secrets Secrets, hc *http.Client) (syncer.Marketplace, error) {
	return MarketplaceWith(ctx, conn, secrets, hc, Options{})
}

// MarketplaceWith returns the connector for conn's marketplace, sending its
// requests with hc. It resolves conn.Marketplace.CredentialRef through
// secrets. It fails with platform_unsupported (detail "platform") for a
// platform with no marketplace connector (a store platform);
// with auth_expired when the credential is not set or no longer exists;
// with marketplace_unavailable when secrets fails otherwise (retrying may
// help); with invalid_data when the connection lacks a base URL the
// platform needs.
func MarketplaceWith(ctx context.Context, conn order.Connection, secrets Secrets, hc *http.Client, opts Options) (syncer.Marketplace, error) {
	ep := conn.Marketplace
	platform := order.Platform(strings.ToLower(strings.TrimSpace(string(ep.Platform))))
	switch platform {
	case order.BackMarket:
		key, err := credential(ctx, conn, secrets, backmarket.Name)
		if err != nil {
			return nil, err
		}
		o := opts.BackMarket
		o.BaseURL = cmp.Or(strings.TrimSpace(ep.BaseURL), strings.TrimSpace(o.BaseURL), DefaultBackMarketURL)
		if err := checkURL(o.BaseURL, conn.ID, backmarket.Name); err != nil {
			return nil, err
		}
		if o.AcceptLanguage == "" {
			o.AcceptLanguage = acceptLanguage(o.BaseURL)
		}
		o.Token = key
		return backmarket.New(hc, o), nil
	case order.Mirakl:
		key, err := credential(ctx, conn, secrets, mirakl.Name)
		if err != nil {
			return nil, err
		}
		o := opts.Mirakl
		o.BaseURL = cmp.Or(strings.TrimSpace(ep.BaseURL), strings.TrimSpace(o.BaseURL))
		if err := checkURL(o.BaseURL, conn.ID, mirakl.Name); err != nil {
			return nil, err
		}
		o.APIKey = key
		o.ShopID = cmp.Or(strings.TrimSpace(ep.Account), strings.TrimSpace(o.ShopID))
		o.MultiShipment = o.MultiShipment || ep.SplitParcels
		o.CancelReasonCode = cmp.Or(strings.TrimSpace(ep.CancelReasonCode), o.CancelReasonCode)
		o.RefundReasonCode = cmp.Or(strings.TrimSpace(ep.RefundReasonCode), o.RefundReasonCode)
		return mirakl.New(hc, o), nil
	case order.Amazon:
		return amazonClient(ctx, conn, secrets, hc, opts.Amazon)
	}
	return nil, syncerr.E(syncerr.PlatformUnsupported, "platform", string(ep.Platform)).
		Wrap(fmt.Errorf("connectors: connection %s: no marketplace connector for %q", conn.ID, ep.Platform))
}

// amazonCredential is an Amazon connection's secret when it is JSON: the
// seller's refresh token, with the LWA app credentials it was issued to
// (and, for a sandbox or a fake, the token endpoint) where ordersync's own
// app is not the one authorised. A bare secret is the refresh token alone.
type amazonCredential struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
	TokenURL     string `json:"token_url"`
}

// amazonClient builds an Amazon connection's client: the endpoint from
// the connection (DefaultAmazonEndpoint), the marketplace ids from its
// account (comma separated), the refresh token from its credential.
func amazonClient(ctx context.Context, conn order.Connection, secrets Secrets, hc *http.Client, o amazon.Options) (syncer.Marketplace, error) {
	ep := conn.Marketplace
	v, err := credential(ctx, conn, secrets, amazon.Name)
	if err != nil {
		return nil, err
	}
	o.Endpoint = cmp.Or(strings.TrimSpace(ep.BaseURL), strings.TrimSpace(o.Endpoint), DefaultAmazonEndpoint)
	if err := checkURL(o.Endpoint, conn.ID, amazon.Name); err != nil {
		return nil, err
	}
	o.RefreshToken = v
	if strings.HasPrefix(v, "{") {
		var c amazonCredential
		if err := json.Unmarshal([]byte(v), &c); err != nil || strings.TrimSpace(c.RefreshToken) == "" {
			// Never wrap err: it may quote the secret.
			return nil, syncerr.E(syncerr.AuthExpired, "marketplace", amazon.Name).
				Wrap(fmt.Errorf("connectors: connection %s: Amazon credential %q is not a refresh token", conn.ID, ep.CredentialRef))
		}
		o.RefreshToken = strings.TrimSpace(c.RefreshToken)
		if c.ClientID != "" {
			// The credential's own app: its secret goes only where it says.
			o.ClientID, o.ClientSecret, o.TokenURL = c.ClientID, c.ClientSecret, strings.TrimSpace(c.TokenURL)
		}
	}
	if o.ClientID == "" || o.ClientSecret == "" {
		if app, err := secrets.Secret(ctx, AmazonAppRef); err == nil {
			var c amazonCredential
			if json.Unmarshal([]byte(app), &c) == nil {
				o.ClientID, o.ClientSecret = strings.TrimSpace(c.ClientID), strings.TrimSpace(c.ClientSecret)
			}
		} else if !errors.Is(err, order.ErrNotFound) {
			return nil, syncerr.E(syncerr.MarketplaceUnavailable, "marketplace", amazon.Name).
				Wrap(fmt.Errorf("connectors: reading %s: %w", AmazonAppRef, err))
		}
	}
	if o.ClientID == "" || o.ClientSecret == "" {
		return nil, syncerr.E(syncerr.InvalidData, "marketplace", amazon.Name, "field", "Amazon app credentials (LWA client id and secret)").
			Wrap(fmt.Errorf("connectors: connection %s: no LWA app credentials for its refresh token", conn.ID))
	}
	if o.TokenURL != "" {
		if err := checkURL(o.TokenURL, conn.ID, amazon.Name); err != nil {
			return nil, err
		}
	}
	if ids := splitIDs(ep.Account); len(ids) > 0 {
		o.MarketplaceIDs = ids
	}
	return amazon.New(hc, o), nil
}

func splitIDs(s string) []string {
	var out []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// credential resolves the connection's marketplace credential. The value
// never enters an error; only the secret's name and the connection do.
func credential(ctx context.Context, conn order.Connection, secrets Secrets, name string) (string, error) {
	return resolve(ctx, conn.ID, secrets, conn.Marketplace.CredentialRef, "marketplace", name, syncerr.AuthExpired)
}

// resolve reads the secret ref of one side ("marketplace" or "store",
// called name for the merchant) of connection connID. A credential that is
// missing, gone or empty is refused (auth_expired or store_disconnected);
// a secret store that fails is a transient error.
func resolve(ctx context.Context, connID string, secrets Secrets, ref, side, name string, refused syncerr.Code) (string, error) {
	if ref == "" {
		return "", syncerr.E(refused, side, name).
			Wrap(fmt.Errorf("connectors: connection %s has no %s credential", connID, side))
	}
	v, err := secrets.Secret(ctx, ref)
	switch {
	case err != nil && errors.Is(err, order.ErrNotFound):
		return "", syncerr.E(refused, side, name).
			Wrap(fmt.Errorf("connectors: connection %s: %s credential %q: %w", connID, side, ref, err))
	case err != nil:
		if e, ok := syncerr.As(err); ok {
			return "", e
		}
		return "", syncerr.E(syncerr.MarketplaceUnavailable, side, name).
			Wrap(fmt.Errorf("connectors: connection %s: reading %s credential %q: %w", connID, side, ref, err))
	case strings.TrimSpace(v) == "":
		return "", syncerr.E(refused, side, name).
			Wrap(fmt.Errorf("connectors: connection %s: %s credential %q is empty", connID, side, ref))
	}
	return strings.TrimSpace(v), nil
}

func checkURL(raw, connID, name string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return syncerr.E(syncerr.InvalidData, "marketplace", name, "field", name+" base URL of the connection").
			Wrap(fmt.Errorf("connectors: connection %s: base URL %q is not an http(s) URL", connID, raw))
	}
	return nil
}

// acceptLanguage guesses the Accept-Language of a Back Market site from
// its host: the language the back office uses there.
func acceptLanguage(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return "fr-fr"
	}
	host := u.Hostname()
	for _, s := range []struct{ suffix, lang string }{
		{".co.uk", "en-gb"}, {".com", "en-us"}, {".de", "de-de"}, {".es", "es-es"}, {".it", "it-it"},
		{".be", "fr-be"}, {".nl", "nl-nl"}, {".at", "de-at"}, {".pt", "pt-pt"}, {".fr", "fr-fr"},
	} {
		if strings.HasSuffix(host, s.suffix) {
			return s.lang
		}
	}
	return "fr-fr"
}
