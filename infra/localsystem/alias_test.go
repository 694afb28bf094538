package localsystem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/order"
)

// TestSKUAliasReleasesTheHeldOrder is the merchant's path for a SKU renamed
// on one side: the store ships "<store SKU>", the marketplace lists it as
// another SKU, and the sync fails sku_not_found; the merchant reads it in
// the last errors, sets the alias through the merchant API, and the order
// held for it syncs, its failure resolved by "merchant/alias".
func TestSKUAliasReleasesTheHeldOrder(t *testing.T) {
	ctx := context.Background()
	id := nextID.Add(1)
	storeSKU, marketSKU := fmt.Sprintf("TASSE ÉTÉ %d", id), fmt.Sprintf("BM-MUG-%d", id)
	// The marketplace's order lists the product by its SKU; the store's
	// by its own.
	sys.SeedMarketplaceOrder(localsystem.DemoOrder{MarketplaceID: id, SKUs: []string{marketSKU}})
	o := localsystem.DemoOrder{MarketplaceID: id, StoreID: 450789000 + id, Name: fmt.Sprintf("#%d", id), SKUs: []string{storeSKU}}
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A12345678901", Carrier: "Colissimo"}, time.Now()))
	st := waitSync(t, o, order.SyncFailed)
	if st.Sync.ErrorCode != "sku_not_found" || st.Sync.SKU != storeSKU {
		t.Fatalf("sync = %+v, want sku_not_found for %q", st.Sync, storeSKU)
	}

	type errorsView struct {
		Errors []struct {
			Order    order.Ref         `json:"order"`
			Code     string            `json:"code"`
			Remedy   string            `json:"remedy"`
			Resolved *order.Resolution `json:"resolved"`
		} `json:"errors"`
	}
	mine := func(v errorsView) (code, remedy string, resolved *order.Resolution) {
		for _, e := range v.Errors {
			if e.Order.MarketplaceOrderID == fmt.Sprint(o.MarketplaceID) {
				return e.Code, e.Remedy, e.Resolved
			}
		}
		return "", "", nil
	}
	status, body, err := sys.CallAPI(ctx, http.MethodGet, "/errors?limit=100", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET errors = %d %s, %v; want 200", status, body, err)
	}
	var before errorsView
	if err := json.Unmarshal(body, &before); err != nil {
		t.Fatal(err)
	}
	if code, remedy, res := mine(before); code != "sku_not_found" || !strings.Contains(remedy, storeSKU) || !strings.Contains(remedy, "/aliases/") || res != nil {
		t.Fatalf("the order's error = %s, %q, resolved %+v; want sku_not_found naming the SKU and the alias route, unresolved", code, remedy, res)
	}

	status, body, err = sys.CallAPI(ctx, http.MethodPut, "/aliases/"+url.PathEscape(storeSKU), fmt.Appendf(nil, `{"marketplace_sku":%q}`, marketSKU))
	if err != nil || status != http.StatusOK {
		t.Fatalf("PUT alias = %d %s, %v; want 200", status, body, err)
	}
	var set struct {
		Alias  map[string]string `json:"alias"`
		Queued []string          `json:"queued"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Alias["store_sku"] != storeSKU || set.Alias["marketplace_sku"] != marketSKU ||
		len(set.Queued) != 1 || set.Queued[0] != fmt.Sprint(o.MarketplaceID) {
		t.Fatalf("PUT alias answer = %s, %v; want the alias and order %d queued", body, err, o.MarketplaceID)
	}

	st = waitSync(t, o, order.SyncSynced)
	if st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("marketplace status = %q, want shipped", st.MarketplaceStatus)
	}
	if r := st.Resolved; r == nil || r.Code != "sku_not_found" || r.How != "merchant/alias" {
		t.Errorf("resolved = %+v, want sku_not_found by merchant/alias", r)
	}
	bm, _ := sys.Sandbox.Order(fmt.Sprint(o.MarketplaceID))
	if bm.State != 9 {
		t.Errorf("sandbox order state = %d, want 9 (shipped)", bm.State)
	}
	_, body, _ = sys.CallAPI(ctx, http.MethodGet, "/errors?limit=100", nil)
	var after errorsView
	if err := json.Unmarshal(body, &after); err != nil {
		t.Fatal(err)
	}
	if _, _, res := mine(after); res == nil || res.How != "merchant/alias" {
		t.Errorf("the order's error resolved = %+v, want by merchant/alias", res)
	}

	// The alias is listed, and a second one for the same marketplace SKU
	// is refused.
	if status, body, _ := sys.CallAPI(ctx, http.MethodGet, "/aliases", nil); status != http.StatusOK || !strings.Contains(string(body), marketSKU) {
		t.Errorf("GET aliases = %d %s, want the alias", status, body)
	}
	if status, body, _ := sys.CallAPI(ctx, http.MethodPut, "/aliases/OTHER-"+fmt.Sprint(o.MarketplaceID), fmt.Appendf(nil, `{"marketplace_sku":%q}`, marketSKU)); status != http.StatusConflict || !strings.Contains(string(body), "alias_conflict") {
		t.Errorf("PUT a conflicting alias = %d %s, want 409 alias_conflict", status, body)
	}
}
