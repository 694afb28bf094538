package localsystem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

// TestMerchantAPIListsTheFailure is the merchant's view of a failure: the
// shipment lacks its tracking number, the sync fails, and the last errors,
// read through the local HTTP API with the demo connection's key, name the
// order with the code and what to do.
func TestMerchantAPIListsTheFailure(t *testing.T) {
	ctx := context.Background()
	o := newOrder(t)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	waitSync(t, o, order.SyncFailed)

	status, body, err := sys.CallAPI(ctx, http.MethodGet, "/errors?limit=20&days=7", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET errors = %d %s, %v; want 200", status, body, err)
	}
	var got struct {
		Errors []struct {
			Order  order.Ref `json:"order"`
			Code   string    `json:"code"`
			Cause  string    `json:"cause"`
			Remedy string    `json:"remedy"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("errors body %s: %v", body, err)
	}
	found := false
	for _, e := range got.Errors {
		if e.Order.MarketplaceOrderID != fmt.Sprint(o.MarketplaceID) {
			continue
		}
		found = true
		if e.Code != "shipping_data_missing" || e.Order.StoreOrderName != o.Name || e.Remedy == "" || e.Cause == "" {
			t.Errorf("error = %+v, want shipping_data_missing for order %s with its cause and remedy", e, o.Name)
		}
	}
	if !found {
		t.Fatalf("order %d is not in the last errors: %s", o.MarketplaceID, body)
	}

	// The same, without the key: refused.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sys.APIURL+"/connections/"+localsystem.DemoConnection+"/errors", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a key: %s, want 401", resp.Status)
	}
}

// TestResyncAfterRetriesRanOut is the merchant's path after an outage: the
// marketplace answers 503 to every call, the sync tries 3 times and leaves
// the order failed; once the marketplace is back, a re-sync through the
// merchant API ships it.
func TestResyncAfterRetriesRanOut(t *testing.T) {
	ctx := context.Background()
	o := newOrder(t)
	sys.Sandbox.SetFault(backmarkettest.Fault{Status: 503, Methods: "POST"})
	t.Cleanup(sys.Sandbox.ClearFaults)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A12345678901", Carrier: "Colissimo"}, time.Now()))
	st := waitSync(t, o, order.SyncFailed)
	if st.Sync.ErrorCode != "marketplace_unavailable" || st.Sync.Attempts != 3 {
		t.Fatalf("sync = %+v, want failed with marketplace_unavailable after 3 tries", st.Sync)
	}

	sys.Sandbox.ClearFaults() // the marketplace is back
	status, body, err := sys.CallAPI(ctx, http.MethodPost, "/resync", fmt.Appendf(nil, `{"orders":["%d","no-such-order"]}`, o.MarketplaceID))
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("POST resync = %d %s, %v; want 202", status, body, err)
	}
	if want := fmt.Sprintf(`{"queued":["%d"],"not_found":["no-such-order"]}`, o.MarketplaceID); string(body) != want {
		t.Errorf("resync answer = %s, want %s", body, want)
	}
	if st := waitSync(t, o, order.SyncSynced); st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("after the re-sync: marketplace status %q, want shipped", st.MarketplaceStatus)
	}
	status, body, err = sys.CallAPI(ctx, http.MethodGet, fmt.Sprintf("/orders/%d", o.MarketplaceID), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET order = %d %s, %v; want 200", status, body, err)
	}
	var got struct {
		Sync struct {
			Result order.SyncResult `json:"result"`
		} `json:"sync"`
	}
	if err := json.Unmarshal(body, &got); err != nil || got.Sync.Result != order.SyncSynced {
		t.Errorf("GET order = %s, %v; want its last sync synced", body, err)
	}
}
