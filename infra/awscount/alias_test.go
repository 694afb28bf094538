package awscount_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/awscount"
	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/order"
)

// TestTheAliasReachesTheResyncThroughTheCache: with the connection cached
// for longer than the test takes, an order held as sku_not_found syncs by
// the alias the merchant sets right after: the re-sync it queues is not
// served the "no aliases" of the failed sync's time.
func TestTheAliasReachesTheResyncThroughTheCache(t *testing.T) {
	ctx := t.Context()
	sys, err := awscount.StartSystem(ctx, map[string]string{"ConnectionCacheSeconds": "600"})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()
	id := time.Now().UnixMilli()%1e9*100 + 99 // past the ids of systems started before
	storeSKU, marketSKU := fmt.Sprintf("CAP-%d", id), fmt.Sprintf("BM-CAP-%d", id)
	sys.SeedMarketplaceOrder(localsystem.DemoOrder{MarketplaceID: id, SKUs: []string{marketSKU}})
	o := localsystem.DemoOrder{MarketplaceID: id, StoreID: 450789000 + id, Name: fmt.Sprintf("#A%d", id), SKUs: []string{storeSKU}}
	body := localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo", Number: fmt.Sprintf("6A%d", id)}, time.Now().UTC())
	if st, resp, err := sys.PostShopify(ctx, "orders/fulfilled", fmt.Sprintf("evt-alias-%d", id), body); err != nil || st/100 != 2 {
		t.Fatalf("webhook = %d %s, %v; want 2xx", st, resp, err)
	}
	st := waitFor(t, sys, fmt.Sprint(id), order.SyncFailed)
	if st.Sync.ErrorCode != "sku_not_found" || st.Sync.SKU != storeSKU {
		t.Fatalf("sync = %+v, want sku_not_found for %q", st.Sync, storeSKU)
	}

	status, resp, err := sys.CallAPI(ctx, http.MethodPut, "/aliases/"+url.PathEscape(storeSKU), fmt.Appendf(nil, `{"marketplace_sku":%q}`, marketSKU))
	var set struct {
		Queued []string `json:"queued"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(resp, &set) != nil || len(set.Queued) != 1 {
		t.Fatalf("PUT alias = %d %s, %v; want 200 and the order queued", status, resp, err)
	}
	st = waitFor(t, sys, fmt.Sprint(id), order.SyncSynced)
	if st.MarketplaceStatus != order.StatusShipped || st.Resolved == nil || st.Resolved.How != "merchant/alias" {
		t.Errorf("after the alias: status %q, resolved %+v; want shipped, resolved by merchant/alias", st.MarketplaceStatus, st.Resolved)
	}
}

// waitFor waits until the order's sync ended with want.
func waitFor(t *testing.T, sys *awscount.System, mkID string, want order.SyncResult) order.State {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		st, err := sys.Store.LoadOrder(t.Context(), localsystem.DemoConnection, mkID)
		if err == nil && st.Sync.Result == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s: sync never ended %q; last state %+v, %v", mkID, want, st.Sync, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
