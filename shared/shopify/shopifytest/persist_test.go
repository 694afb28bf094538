package shopifytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
)

// TestPersistKeepsTheStoreAcrossRestarts: a fake started again on the
// same file has the catalogue and the orders (with their changes), and
// new ids do not reuse old ones.
func TestPersistKeepsTheStoreAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shopify.json")
	first := shopifytest.New("tok")
	if err := first.Persist(path); err != nil {
		t.Fatal(err)
	}
	vid := first.EnsureVariant("SKU-A", "Widget")
	o := first.AddOrder(shopifytest.Order{SourceIdentifier: "9001", LineItems: []shopifytest.LineItem{{SKU: "SKU-A", Quantity: 1, VariantID: vid}}})
	first.UpdateOrder(o.ID, func(o *shopifytest.Order) { o.FulfillmentOrders[0].Status = "CLOSED" })

	second := shopifytest.New("tok")
	if err := second.Persist(path); err != nil {
		t.Fatal(err)
	}
	got, ok := second.Order(o.ID)
	if !ok {
		t.Fatalf("order %s forgotten after the restart", o.ID)
	}
	if got.SourceIdentifier != "9001" || got.FulfillmentOrders[0].Status != "CLOSED" {
		t.Errorf("order after the restart = %+v, want source 9001 and its fulfillment order closed", got)
	}
	if again := second.EnsureVariant("SKU-A", "Widget"); again != vid {
		t.Errorf("EnsureVariant after the restart = %s, want the kept %s", again, vid)
	}
	if next := second.AddOrder(shopifytest.Order{}); next.ID <= o.ID {
		t.Errorf("new order id %s, want one after %s (ids are not reused)", next.ID, o.ID)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := shopifytest.New("tok").Persist(path); err == nil {
		t.Error("Persist on a corrupt file = nil, want an error")
	}
}

// TestSandboxOrdersListsWhatTheStoreHolds: GET /_sandbox/orders shows the
// orders, without the access token, and is not logged as an API call.
func TestSandboxOrdersListsWhatTheStoreHolds(t *testing.T) {
	fake := shopifytest.New("tok")
	fake.AddOrder(shopifytest.Order{SourceIdentifier: "9001"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/_sandbox/orders")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var orders []shopifytest.Order
	if err := json.Unmarshal(b, &orders); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /_sandbox/orders = %d %s, %v", resp.StatusCode, b, err)
	}
	if len(orders) != 1 || orders[0].SourceIdentifier != "9001" {
		t.Errorf("orders = %+v, want the one order", orders)
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("calls = %+v, want none: sandbox routes are not API calls", calls)
	}
}
