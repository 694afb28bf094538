package merchantapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ordersync/ordersync/shared/merchantapi"
)

// A store order held as order_link_unverified is linked by the merchant:
// the link is recorded and the store order queued to be read and synced.
func TestLinkAStoreOrderToAMarketplaceOrder(t *testing.T) {
	e := newEnv(t)
	auth := "Bearer " + acmeKey
	r := e.send(req{method: "POST", route: merchantapi.RouteOrderLink, conn: "acme", order: "261673", body: `{"store_order_id": "666"}`, auth: auth})
	if r.status != http.StatusAccepted {
		t.Fatalf("status = %d (%s), want 202", r.status, r.body)
	}
	var got struct {
		StoreOrderID       string `json:"store_order_id"`
		MarketplaceOrderID string `json:"marketplace_order_id"`
		Queued             bool   `json:"queued"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || got.StoreOrderID != "666" || got.MarketplaceOrderID != "261673" || !got.Queued {
		t.Errorf("body = %s (%v)", r.body, err)
	}
	if mk, err := e.store.FindOrder(context.Background(), "acme", "666"); err != nil || mk != "261673" {
		t.Errorf("link = %q, %v; want 261673", mk, err)
	}
	q := e.queued()
	if len(q) != 1 || !q[0].Fetch || q[0].Order.StoreOrderID != "666" || q[0].Order.MarketplaceOrderID != "261673" || q[0].Connection != "acme" {
		t.Errorf("queued = %+v, want one fetch of store order 666 for 261673", q)
	}
	// Repeating it is harmless.
	if r := e.send(req{method: "POST", route: merchantapi.RouteOrderLink, conn: "acme", order: "261673", body: `{"store_order_id": "666"}`, auth: auth}); r.status != http.StatusAccepted {
		t.Errorf("again: status = %d, want 202", r.status)
	}
}

func TestLinkRefusals(t *testing.T) {
	e := newEnv(t)
	auth := "Bearer " + acmeKey
	e.saveOrder("acme", "7001") // linked to store order s-7001
	if err := e.store.LinkOrder(context.Background(), "acme", "s-7001", "7001"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, order, body string
		status            int
		code              string
	}{
		{"the marketplace order is another store order's", "7001", `{"store_order_id": "666"}`, http.StatusConflict, "link_conflict"},
		{"the store order is another marketplace order's", "9999", `{"store_order_id": "s-7001"}`, http.StatusConflict, "link_conflict"},
		{"no store order id", "9999", `{}`, http.StatusBadRequest, "invalid_parameter"},
		{"a store order id with a key separator", "9999", `{"store_order_id": "a#b"}`, http.StatusBadRequest, "invalid_parameter"},
		{"unknown field", "9999", `{"store_order_id": "1", "x": 1}`, http.StatusBadRequest, "malformed_body"},
		{"not JSON", "9999", `store_order_id=1`, http.StatusBadRequest, "malformed_body"},
		{"a marketplace order id no order can have", "a/b", `{"store_order_id": "1"}`, http.StatusBadRequest, "invalid_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(req{method: "POST", route: merchantapi.RouteOrderLink, conn: "acme", order: tt.order, body: tt.body, auth: auth})
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal(r.body, &body)
			if r.status != tt.status || body.Error.Code != tt.code {
				t.Errorf("answer = %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	if n := len(e.queued()); n != 0 {
		t.Errorf("a refused link queued %d events", n)
	}
	if mk, err := e.store.FindOrder(context.Background(), "acme", "666"); err == nil {
		t.Errorf("a refused link was recorded: 666 → %s", mk)
	}
}
