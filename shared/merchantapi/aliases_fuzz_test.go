package merchantapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
)

// FuzzAliasPut: whatever the store SKU in the path and the body, a PUT is
// 200 with both SKUs stored exactly as sent and valid, or a 4xx that
// stores nothing; never a 5xx.
func FuzzAliasPut(f *testing.F) {
	for _, s := range []struct{ sku, body string }{
		{"CAP", `{"marketplace_sku":"BM-CAP"}`},
		{"Tasse été", `{"marketplace_sku":"BM TASSE"}`},
		{"CAP\xff", `{"marketplace_sku":"BM-CAP"}`},
		{"CAP", `{"marketplace_sku":"BM\u0000CAP"}`},
		{"CAP", `{"marketplace_sku":"BM-CAP","x":1}`},
		{"", `{}`},
	} {
		f.Add(s.sku, s.body)
	}
	f.Fuzz(func(t *testing.T, sku, body string) {
		e := newEnv(t)
		r := e.sendAlias(http.MethodPut, sku, body, nil)
		got, _, err := e.store.SKUAliases(context.Background(), "acme", "", order.MaxSKUAliases)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.status == http.StatusOK:
			var in struct {
				MarketplaceSKU string `json:"marketplace_sku"`
			}
			_ = json.Unmarshal([]byte(body), &in)
			want := order.SKUAlias{StoreSKU: sku, MarketplaceSKU: in.MarketplaceSKU}
			if len(got) != 1 || got[0] != want || !order.ValidSKU(sku) || !order.ValidSKU(in.MarketplaceSKU) {
				t.Errorf("200, aliases %+v; want exactly %+v, both valid SKUs", got, want)
			}
		case r.status >= 400 && r.status < 500:
			if len(got) != 0 {
				t.Errorf("%d %s, yet aliases %+v stored", r.status, r.body, got)
			}
		default:
			t.Errorf("got %d %s, want 200 or a 4xx", r.status, r.body)
		}
	})
}
