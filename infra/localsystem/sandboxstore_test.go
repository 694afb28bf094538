package localsystem_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
)

// TestANewSandboxOrderIsImportedIntoTheSandboxStore: as the README shows
// it, a new order made on the import demo's sandbox marketplace account
// over HTTP is created in the sandbox store by the hourly refresh, linked
// and accepted, and the store's sandbox route shows it; the demo
// connection's refresh lists its store now that it has one.
func TestANewSandboxOrderIsImportedIntoTheSandboxStore(t *testing.T) {
	resp, err := http.Post(sys.SandboxURL+localsystem.ImportAccountPath+"/_sandbox/orders", "application/json",
		bytes.NewReader([]byte(`{"skus":["PIXEL7-128"]}`)))
	if err != nil {
		t.Fatal(err)
	}
	var made backmarkettest.Order
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &made); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /_sandbox/orders = %d %s, %v; want 201 with the order", resp.StatusCode, b, err)
	}
	mk := fmt.Sprint(made.OrderID)

	before := time.Now()
	fireRefresh(t)
	st := waitState(t, localsystem.DemoImportConnection, mk, "imported and accepted", func(st order.State) bool {
		return st.Ref.StoreOrderID != "" && st.MarketplaceStatus == order.StatusAccepted && st.Sync.Result == order.SyncSynced
	})

	resp, err = http.Get(sys.StoreURL + "/_sandbox/orders")
	if err != nil {
		t.Fatal(err)
	}
	var orders []shopifytest.Order
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &orders); err != nil {
		t.Fatalf("GET /_sandbox/orders = %d %s: %v", resp.StatusCode, b, err)
	}
	var imported []shopifytest.Order
	for _, o := range orders {
		if o.SourceIdentifier == mk {
			imported = append(imported, o)
		}
	}
	if len(imported) != 1 || imported[0].ID != st.Ref.StoreOrderID {
		t.Fatalf("store orders for %s = %+v, want exactly the linked one, %s", mk, imported, st.Ref.StoreOrderID)
	}
	if got := imported[0].LineItems; len(got) != 1 || got[0].SKU != "PIXEL7-128" {
		t.Errorf("imported lines = %+v, want one PIXEL7-128", got)
	}
	if got, _ := sys.ImportSandbox.Order(mk); got.State != backmarkettest.OrderToShip {
		t.Errorf("sandbox order state = %d, want %d (accepted, to ship)", got.State, backmarkettest.OrderToShip)
	}
	// The demo connection's own orders stay out of the store: its import
	// is off, and its marketplace account is another one.
	for _, o := range orders {
		if _, ok := sys.Sandbox.Order(o.SourceIdentifier); ok {
			t.Errorf("store order %s imports demo order %s, want only the import demo's", o.ID, o.SourceIdentifier)
		}
	}

	if rep := waitReport(t, localsystem.DemoConnection, before); rep.StoreNotListed != "" {
		t.Errorf("demo connection's refresh: store not listed (%s), want its sandbox store listed", rep.StoreNotListed)
	}
}
