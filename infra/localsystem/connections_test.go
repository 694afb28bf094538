package localsystem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/order"
)

// callJSON sends body (nil for none) to the local HTTP API with key as
// the bearer key.
func callJSON(t *testing.T, method, path, key string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, sys.APIURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type connAnswer struct {
	Connection struct {
		ID     string `json:"id"`
		Health struct {
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"health"`
	} `json:"connection"`
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
}

// TestMerchantReconnectsThroughTheAPI is a merchant's whole path with no
// operator step: a connection created through the merchant API (the
// provisioning key) with a marketplace key the marketplace refuses; a
// shipment webhook; the sync pauses the connection (auth_expired) and
// holds the order; the merchant sends a new key (PUT credentials); the
// refresh the API asked for checks it, resumes the connection and
// re-syncs the held order, which ships.
func TestMerchantReconnectsThroughTheAPI(t *testing.T) {
	const id = "e2e-reconnect"
	shop := id + ".myshopify.com"
	status, body := callJSON(t, http.MethodPost, "/connections", sys.Secrets[localsystem.ProvisioningKeyRef], map[string]any{
		"id": id, "merchant_name": "Reconnect Shop", "merchant_email": "ops@reconnect.test",
		"store":       map[string]string{"platform": "shopify", "base_url": "https://" + shop, "account": shop},
		"marketplace": map[string]string{"platform": "backmarket", "base_url": sys.SandboxURL},
		"credentials": map[string]string{"backmarket": "expired0000000000000000000000000000000000"},
	})
	if status != http.StatusCreated {
		t.Fatalf("POST /connections = %d %s, want 201", status, body)
	}
	var created connAnswer
	if err := json.Unmarshal(body, &created); err != nil || created.APIKey == "" || created.WebhookSecret == "" {
		t.Fatalf("answer %s (%v): want the API key and webhook secret", body, err)
	}
	key := created.APIKey

	// A shipment, signed with the connection's new webhook secret.
	o := newOrder(t)
	mk := fmt.Sprint(o.MarketplaceID)
	wh := localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A55555555555", Carrier: "Colissimo"}, time.Now())
	req, _ := http.NewRequest(http.MethodPost, sys.APIURL+"/webhooks/shopify/"+id, bytes.NewReader(wh))
	for k, v := range map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": "orders/fulfilled",
		"X-Shopify-Shop-Domain": shop, "X-Shopify-API-Version": "2026-07", "X-Shopify-Webhook-Id": "evt-" + mk,
		"X-Shopify-Event-Id": "evt-" + mk, "X-Shopify-Triggered-At": time.Now().UTC().Format(time.RFC3339Nano),
		"X-Shopify-Hmac-Sha256": localsystem.SignShopify(created.WebhookSecret, wh)} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: %s, want 202", resp.Status)
	}
	waitState(t, id, mk, "held for auth_expired", func(st order.State) bool {
		return st.Sync.Result == order.SyncHeld && st.Sync.ErrorCode == "auth_expired"
	})
	status, body = callJSON(t, http.MethodGet, "/connections/"+id, key, nil)
	var got connAnswer
	_ = json.Unmarshal(body, &got)
	if status != http.StatusOK || got.Connection.Health.Status != "paused" || got.Connection.Health.Reason != "auth_expired" {
		t.Errorf("GET connection = %d %s, want paused for auth_expired", status, body)
	}

	// The merchant's new key, through the API only.
	newKey := sys.Secrets[localsystem.SandboxTokenRef]
	status, body = callJSON(t, http.MethodPut, "/connections/"+id+"/credentials/marketplace", key, map[string]string{"credential": newKey})
	if status != http.StatusAccepted || strings.Contains(string(body), newKey) {
		t.Fatalf("PUT credentials = %d %s, want 202 without the credential", status, body)
	}
	st := waitState(t, id, mk, "synced after the new key", func(st order.State) bool { return st.Sync.Result == order.SyncSynced })
	if st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("marketplace status %q, want shipped", st.MarketplaceStatus)
	}
	c, err := sys.Store.Connection(context.Background(), id)
	if err != nil || c.Paused {
		t.Errorf("connection %+v, %v: want resumed", c, err)
	}
	if strings.Contains(fmt.Sprintf("%+v", c), newKey) {
		t.Error("the credential is in the connection's item")
	}
	status, body = callJSON(t, http.MethodGet, "/connections/"+id, key, nil)
	if got = (connAnswer{}); json.Unmarshal(body, &got) != nil || status != http.StatusOK || got.Connection.Health.Status == "paused" {
		t.Errorf("GET connection after = %d %s, want not paused", status, body)
	}
}
