package merchantapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// TestListedErrorsCarryTheirAction: each listed failure names the call
// that fixes it, the order's ids filled in, and none when the fix lies
// outside ordersync.
func TestListedErrorsCarryTheirAction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	type action struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	}
	tests := []struct {
		code string
		id   string
		want *action
	}{
		{"invalid_transition", "m/1", &action{"POST", "/connections/acme/orders/m%2F1/resync"}},
		{"order_link_unverified", "m2", &action{"POST", "/connections/acme/orders/m2/link"}},
		{"auth_expired", "m3", &action{"PUT", "/connections/acme/credentials/marketplace"}},
		{"sku_not_found", "m4", &action{"PUT", "/connections/acme/aliases/{sku}"}},
		{"cancel_unsupported", "m5", nil},
	}
	for i, tt := range tests {
		r := order.ErrorRecord{Connection: "acme", MarketplaceOrderID: tt.id, Code: tt.code, At: e.now.Add(-time.Duration(i) * time.Minute)}
		if err := e.store.RecordError(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", auth: "Bearer " + acmeKey})
	if r.status != http.StatusOK {
		t.Fatalf("status = %d %s, want 200", r.status, r.body)
	}
	got := decode[struct {
		Errors []struct {
			Order  order.Ref `json:"order"`
			Action *action   `json:"action"`
		} `json:"errors"`
	}](t, r)
	byID := map[string]*action{}
	for _, x := range got.Errors {
		byID[x.Order.MarketplaceOrderID] = x.Action
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			a, ok := byID[tt.id]
			if !ok {
				t.Fatalf("order %s not listed", tt.id)
			}
			if (a == nil) != (tt.want == nil) || a != nil && *a != *tt.want {
				t.Errorf("action = %+v, want %+v", a, tt.want)
			}
		})
	}
}
