package localsystem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/order"
)

// TestFixFillsInTheTrackingAndReSends is the merchant's path when the
// store cannot send the tracking: the store ships without a tracking
// number, the sync fails with shipping_data_missing, the last errors say
// so and name the fix; the merchant posts the tracking through the
// merchant API's fix, and the marketplace receives it (with the carrier's
// tracking URL) and the order is synced, resolved by the fix.
func TestFixFillsInTheTrackingAndReSends(t *testing.T) {
	ctx := context.Background()
	o := newOrder(t)
	id := fmt.Sprint(o.MarketplaceID)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	if st := waitSync(t, o, order.SyncFailed); st.Sync.ErrorCode != "shipping_data_missing" {
		t.Fatalf("sync = %+v, want failed with shipping_data_missing", st.Sync)
	}

	type errorItem struct {
		Order    order.Ref         `json:"order"`
		Code     string            `json:"code"`
		Remedy   string            `json:"remedy"`
		Resolved *order.Resolution `json:"resolved"`
	}
	listed := func() (errorItem, bool) {
		t.Helper()
		status, body, err := sys.CallAPI(ctx, http.MethodGet, "/errors?limit=100", nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET errors = %d %s, %v; want 200", status, body, err)
		}
		var got struct {
			Errors []errorItem `json:"errors"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("errors body %s: %v", body, err)
		}
		for _, e := range got.Errors {
			if e.Order.MarketplaceOrderID == id && e.Code == "shipping_data_missing" {
				return e, true
			}
		}
		return errorItem{}, false
	}
	e, ok := listed()
	if !ok {
		t.Fatalf("order %s is not in the last errors with shipping_data_missing", id)
	}
	if !strings.Contains(e.Remedy, "/fix") {
		t.Errorf("remedy %q does not name the fix", e.Remedy)
	}

	status, body, err := sys.CallAPI(ctx, http.MethodPost, "/orders/"+id+"/fix",
		[]byte(`{"tracking": {"number": "6A98765432109", "carrier": "Colissimo"}}`))
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("POST fix = %d %s, %v; want 202", status, body, err)
	}
	st := waitSync(t, o, order.SyncSynced)
	if st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("marketplace status = %q, want shipped", st.MarketplaceStatus)
	}
	if st.Resolved == nil || st.Resolved.Code != "shipping_data_missing" || st.Resolved.How != "merchant/fix" {
		t.Errorf("resolved = %+v, want shipping_data_missing resolved by merchant/fix", st.Resolved)
	}
	shipped := 0
	for _, c := range callsFor(o) {
		if c.NewState != 3 || c.Status >= 300 {
			continue
		}
		shipped++
		if c.TrackingNumber != "6A98765432109" || c.Shipper != "Colissimo" ||
			c.TrackingURL != "https://www.laposte.fr/outils/suivre-vos-envois?code=6A98765432109" {
			t.Errorf("ship call = %+v, want the merchant's tracking with Colissimo's tracking URL", c)
		}
	}
	if shipped != 2 {
		t.Errorf("calls = %+v; want both lines shipped", callsFor(o))
	}
	if e, ok := listed(); !ok || e.Resolved == nil || e.Resolved.How != "merchant/fix" {
		t.Errorf("the listed error = %+v, want it resolved by merchant/fix", e)
	}
}
