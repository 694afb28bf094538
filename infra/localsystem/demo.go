package localsystem

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

// The demo connection: a Shopify store selling on the sandbox marketplace
// (which speaks Back Market's API).
const (
	DemoConnection   = "demo"
	WebhookSecretRef = "demo-shopify-webhook-secret"
	SandboxTokenRef  = "demo-sandbox-token"
	DemoAPIKeyRef    = "demo-api-key" // the demo connection's merchant API key
	DemoMerchantMail = "merchant@demo.test"
	// ProvisioningKeyRef names the key of POST /connections (template.yaml's
	// ProvisioningKeyRef default).
	ProvisioningKeyRef = "provisioning-key"
)

// WooCommerceKeysRef names a local secret holding a WooCommerce REST key
// pair as "consumer_key:consumer_secret" (the shape the connectors read),
// for connections to a fake WooCommerce store.
const WooCommerceKeysRef = "demo-woocommerce-keys"

// SeedDemo creates the demo connection, its store the sandbox store, the
// import demo (DemoImportConnection) and the Amazon demo
// (DemoAmazonConnection). It is idempotent.
func (s *System) SeedDemo(ctx context.Context) error {
	for _, c := range []order.Connection{s.importConnection(), s.amazonConnection()} {
		if err := s.Store.PutConnection(ctx, c); err != nil {
			return err
		}
	}
	return s.Store.PutConnection(ctx, order.Connection{
		ID: DemoConnection, MerchantName: "Demo Shop", MerchantEmail: DemoMerchantMail,
		Store:             order.Endpoint{Platform: order.Shopify, BaseURL: s.StoreURL, Account: "demo-shop.myshopify.com", CredentialRef: StoreTokenRef},
		Marketplace:       order.Endpoint{Platform: order.BackMarket, BaseURL: s.SandboxURL, CredentialRef: SandboxTokenRef},
		WebhookSecretRefs: []string{WebhookSecretRef},
		APIKeyRefs:        []string{DemoAPIKeyRef},
	})
}

// DemoOrder is one order of the demo: a marketplace order awaiting
// acceptance in the sandbox, imported into the Shopify store.
type DemoOrder struct {
	MarketplaceID int64
	StoreID       int64
	Name          string
	SKUs          []string
}

// SeedMarketplaceOrder puts an order awaiting acceptance in the sandbox.
func (s *System) SeedMarketplaceOrder(o DemoOrder) {
	s.Sandbox.Seed(backmarkettest.AwaitingAcceptance(o.MarketplaceID, o.SKUs...))
}

// Tracking of a demo fulfillment; a zero value leaves the fields out.
type Tracking = order.Tracking

// FulfilledOrder is a Shopify REST Order (the body of an orders/fulfilled
// webhook) for a demo order shipped in one parcel with tracking t. The
// order carries the marketplace order id as orders ordersync imports do:
// in source_identifier (with source_name "ordersync") and a note attribute.
func FulfilledOrder(o DemoOrder, t Tracking, at time.Time) []byte {
	type item struct {
		ID       int64  `json:"id"`
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
		Title    string `json:"title"`
	}
	var items []item
	for i, sku := range o.SKUs {
		items = append(items, item{ID: o.StoreID*10 + int64(i) + 1, SKU: sku, Quantity: 1, Title: "Refurbished " + sku})
	}
	ful := map[string]any{
		"id": o.StoreID*10 + 9, "order_id": o.StoreID, "name": o.Name + ".1", "status": "success",
		"created_at": at.Format(time.RFC3339), "updated_at": at.Format(time.RFC3339), "line_items": items,
	}
	if t.Number != "" {
		ful["tracking_number"], ful["tracking_numbers"] = t.Number, []string{t.Number}
	}
	if t.Carrier != "" {
		ful["tracking_company"] = t.Carrier
	}
	if t.URL != "" {
		ful["tracking_url"], ful["tracking_urls"] = t.URL, []string{t.URL}
	}
	b, _ := json.Marshal(map[string]any{
		"id": o.StoreID, "name": o.Name, "email": "customer@example.com",
		"created_at": at.Add(-time.Hour).Format(time.RFC3339), "updated_at": at.Format(time.RFC3339),
		"financial_status": "paid", "fulfillment_status": "fulfilled", "cancelled_at": nil, "test": false,
		"line_items":      items,
		"note_attributes": []map[string]string{{"name": "ordersync_marketplace_order_id", "value": strconv.FormatInt(o.MarketplaceID, 10)}},
		// What ordersync's import sets through the Admin API: the link a
		// buyer cannot write.
		"source_name": "ordersync", "source_identifier": strconv.FormatInt(o.MarketplaceID, 10),
		"shipping_address": map[string]string{"first_name": "Victor", "last_name": "Hugo", "address1": "6 place des Vosges",
			"city": "Paris", "zip": "75004", "country_code": "FR"},
		"fulfillments": []any{ful},
	})
	return b
}

// SignShopify returns the X-Shopify-Hmac-Sha256 of body under secret.
func SignShopify(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// PostShopify delivers a signed Shopify webhook for the demo connection to
// the local API, as Shopify would, and returns the status and body of the
// answer.
func (s *System) PostShopify(ctx context.Context, topic, eventID string, body []byte) (int, string, error) {
	return s.PostShopifyTo(ctx, DemoConnection, topic, eventID, body)
}

// PostShopifyTo is PostShopify for connection conn, one of the demo
// connections signed with the demo's webhook secret (the Amazon demo's
// store is the same sandbox store).
func (s *System) PostShopifyTo(ctx context.Context, conn, topic, eventID string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.APIURL+"/webhooks/shopify/"+conn, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Shop-Domain", "demo-shop.myshopify.com")
	req.Header.Set("X-Shopify-API-Version", "2026-07")
	req.Header.Set("X-Shopify-Webhook-Id", eventID)
	req.Header.Set("X-Shopify-Event-Id", eventID)
	req.Header.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	req.Header.Set("X-Shopify-Hmac-Sha256", SignShopify(s.Secrets[WebhookSecretRef], body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// CurlShopify returns a ready-to-paste curl that delivers body (saved at
// path) as a signed Shopify webhook with event id eventID, written out:
// pasted again as printed it is the same event (queued again, answered
// 202; the sync finds its calls made); with another id, a new delivery.
func (s *System) CurlShopify(topic, eventID, path string, body []byte) string {
	return fmt.Sprintf("curl -i -X POST %s/webhooks/shopify/%s \\\n"+
		"  -H 'Content-Type: application/json' -H 'X-Shopify-Topic: %s' \\\n"+
		"  -H 'X-Shopify-Event-Id: %s' \\\n"+
		"  -H 'X-Shopify-Hmac-Sha256: %s' \\\n"+
		"  --data-binary @%s",
		s.APIURL, DemoConnection, topic, eventID, SignShopify(s.Secrets[WebhookSecretRef], body), path)
}

// CallAPI calls the merchant API of the demo connection with its key:
// method on path (relative to the connection, e.g. "/errors?limit=5"),
// with body when not nil. It returns the status and body of the answer.
func (s *System) CallAPI(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.APIURL+"/connections/"+DemoConnection+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Secrets[DemoAPIKeyRef])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// CurlErrors returns a ready-to-paste curl that lists the demo
// connection's last errors through the merchant API.
func (s *System) CurlErrors() string {
	return fmt.Sprintf("curl -s -H 'Authorization: Bearer %s' \\\n"+
		"  '%s/connections/%s/errors?limit=20&days=7'",
		s.Secrets[DemoAPIKeyRef], s.APIURL, DemoConnection)
}
