package ingest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
)

// TestARotatedSecretSignsUntilItsExpiry: after a rotation (the merchant
// API's webhook-secret route), a webhook signed with the old secret is
// accepted until its expiry and refused from then on.
func TestARotatedSecretSignsUntilItsExpiry(t *testing.T) {
	until := now.Add(24 * time.Hour)
	body := webhookTestdata(t, "shopify_order_2026-07.json")
	for _, tc := range []struct {
		name   string
		at     time.Time
		secret string
		want   int
	}{
		{"old secret before its expiry", until.Add(-time.Second), shopSecretOld, http.StatusAccepted},
		{"old secret at its expiry", until, shopSecretOld, http.StatusUnauthorized},
		{"new secret after the expiry", until.Add(time.Hour), shopSecret, http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, ingest.Config{Now: func() time.Time { return tc.at }})
			e.conns.Put(order.Connection{ID: "c-shop", Store: order.Endpoint{Platform: order.Shopify}, WebhookSecretRefs: []string{"shop/old", "shop/new"},
				WebhookSecretExpiry: map[string]time.Time{"shop/old": until}})
			if got := e.do(t, shopifyRequest(t, "orders/fulfilled", body, tc.secret)).StatusCode; got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
}
