package localsystem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/amazon/amazontest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
)

// createAmazonOrder makes a new Unshipped order on the Amazon sandbox over
// HTTP, as the README does, and returns it.
func createAmazonOrder(t *testing.T, skus ...string) amazontest.Order {
	t.Helper()
	b, _ := json.Marshal(map[string][]string{"skus": skus})
	resp, err := http.Post(sys.SandboxURL+localsystem.AmazonAccountPath+"/_sandbox/orders", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var made struct {
		Order amazontest.Order `json:"order"`
	}
	if err := json.Unmarshal(body, &made); err != nil || resp.StatusCode != http.StatusCreated || made.Order.AmazonOrderID == "" {
		t.Fatalf("POST /_sandbox/orders = %d %s, %v; want 201 with the order", resp.StatusCode, body, err)
	}
	o, _ := sys.AmazonSandbox.Order(made.Order.AmazonOrderID)
	return o
}

// storeOrdersOf returns the sandbox store's orders imported for mk.
func storeOrdersOf(mk string) []shopifytest.Order {
	var out []shopifytest.Order
	for _, o := range sys.SandboxStore.Orders() {
		if o.SourceIdentifier == mk {
			out = append(out, o)
		}
	}
	return out
}

// fulfilledStoreOrder is the orders/fulfilled webhook of a sandbox store
// order shipped whole in one parcel with tracking t, as Shopify sends it
// (REST), and marks the store order fulfilled to match, as the merchant's
// fulfilment in the store would.
func fulfilledStoreOrder(t *testing.T, o shopifytest.Order, tr localsystem.Tracking, at time.Time) []byte {
	t.Helper()
	var items []map[string]any
	var lines []shopifytest.FulfilledLine
	for _, li := range o.LineItems {
		items = append(items, map[string]any{"id": li.ID, "sku": li.SKU, "quantity": li.Quantity, "title": li.Title})
		lines = append(lines, shopifytest.FulfilledLine{LineItemID: li.ID, Quantity: li.Quantity})
	}
	fulID := "9" + o.ID
	ok := sys.SandboxStore.UpdateOrder(o.ID, func(so *shopifytest.Order) {
		so.Fulfillments = append(so.Fulfillments, shopifytest.Fulfillment{ID: fulID, Status: "SUCCESS",
			Tracking: []shopifytest.Tracking{{Number: tr.Number, Company: tr.Carrier}}, Lines: lines})
		for i := range so.FulfillmentOrders {
			so.FulfillmentOrders[i].Status = "CLOSED"
		}
		so.UpdatedAt = at
	})
	if !ok {
		t.Fatalf("no store order %s", o.ID)
	}
	b, _ := json.Marshal(map[string]any{
		"id": o.ID, "name": o.Name, "email": "customer@example.com",
		"created_at": o.CreatedAt.Format(time.RFC3339), "updated_at": at.Format(time.RFC3339),
		"financial_status": "paid", "fulfillment_status": "fulfilled", "cancelled_at": nil, "test": false,
		"line_items": items, "source_name": "ordersync", "source_identifier": o.SourceIdentifier,
		"fulfillments": []any{map[string]any{"id": fulID, "order_id": o.ID, "status": "success",
			"created_at": at.Format(time.RFC3339), "updated_at": at.Format(time.RFC3339), "line_items": items,
			"tracking_number": tr.Number, "tracking_numbers": []string{tr.Number}, "tracking_company": tr.Carrier}},
	})
	return b
}

// postAmazonDemo delivers a signed Shopify webhook to the Amazon demo.
func postAmazonDemo(t *testing.T, eventID string, body []byte) {
	t.Helper()
	status, resp, err := sys.PostShopifyTo(context.Background(), localsystem.DemoAmazonConnection, "orders/fulfilled", eventID, body)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("webhook = %d %s, %v; want 202", status, resp, err)
	}
}

// confirmations are the confirmShipment calls the Amazon sandbox answered
// 204 for order mk.
func confirmations(mk string) []amazontest.Call {
	var out []amazontest.Call
	for _, c := range sys.AmazonSandbox.Calls() {
		if c.OrderID == mk && c.Operation == "confirmShipment" && c.Status == http.StatusNoContent {
			out = append(out, c)
		}
	}
	return out
}

// received counts the times the order's timeline shows the sync received
// event id.
func received(st order.State, id string) int {
	n := 0
	for _, e := range st.Timeline {
		if e.Kind == order.TimelineReceived && e.EventID == id {
			n++
		}
	}
	return n
}

// TestAnAmazonOrderIsImportedThenShippedOnce is Amazon through the whole
// stack: a new Unshipped order on the Amazon sandbox is created in the
// sandbox store by the hourly refresh (its address read with a restricted
// data token); the store's fulfilment, a signed orders/fulfilled webhook,
// confirms the shipment on Amazon with the carrier and tracking number
// for each order item; and the webhook delivered again, or another event
// for the same shipment, confirms nothing twice.
func TestAnAmazonOrderIsImportedThenShippedOnce(t *testing.T) {
	conn := localsystem.DemoAmazonConnection
	mo := createAmazonOrder(t, "PIXEL7-128", "CASE-CLEAR")
	mk := mo.AmazonOrderID

	fireRefresh(t)
	st := waitState(t, conn, mk, "imported", func(st order.State) bool {
		return st.Ref.StoreOrderID != "" && st.Sync.Result == order.SyncSynced
	})
	imported := storeOrdersOf(mk)
	if len(imported) != 1 || imported[0].ID != st.Ref.StoreOrderID {
		t.Fatalf("store orders for %s = %+v, want exactly the linked one, %s", mk, imported, st.Ref.StoreOrderID)
	}
	var skus []string
	for _, li := range imported[0].LineItems {
		skus = append(skus, li.SKU)
	}
	slices.Sort(skus)
	if !slices.Equal(skus, []string{"CASE-CLEAR", "PIXEL7-128"}) {
		t.Errorf("imported lines %v, want CASE-CLEAR and PIXEL7-128", skus)
	}
	if a := imported[0].ShippingAddress; a == nil || a.Address1 != mo.Address.AddressLine1 {
		t.Errorf("imported address %+v, want the one getOrderAddress gives (%s)", a, mo.Address.AddressLine1)
	}
	for _, c := range sys.AmazonSandbox.Calls() {
		if c.OrderID == mk {
			t.Errorf("call %+v on import: Amazon has no accept step", c)
		}
	}

	tracking := localsystem.Tracking{Number: "1Z999AA10123456784", Carrier: "UPS"}
	body := fulfilledStoreOrder(t, imported[0], tracking, time.Now())
	first := fmt.Sprintf("amazon-%s-fulfilled", mk)
	postAmazonDemo(t, first, body)
	st = waitState(t, conn, mk, "shipped", func(st order.State) bool {
		return st.MarketplaceStatus == order.StatusShipped && st.Sync.Result == order.SyncSynced
	})
	got, _ := sys.AmazonSandbox.Order(mk)
	if got.OrderStatus != amazontest.StatusShipped {
		t.Errorf("Amazon order status %s, want %s", got.OrderStatus, amazontest.StatusShipped)
	}
	calls := confirmations(mk)
	if len(calls) != 1 {
		t.Fatalf("confirmShipment calls %+v, want 1", calls)
	}
	var req struct {
		PackageDetail amazontest.Package `json:"packageDetail"`
	}
	if err := json.Unmarshal([]byte(calls[0].Body), &req); err != nil {
		t.Fatal(err)
	}
	p := req.PackageDetail
	if p.CarrierCode != "UPS" || p.TrackingNumber != tracking.Number {
		t.Errorf("package carrier %q tracking %q, want UPS and %s", p.CarrierCode, p.TrackingNumber, tracking.Number)
	}
	var items []string
	for _, it := range p.OrderItems {
		items = append(items, fmt.Sprintf("%s×%d", it.OrderItemID, it.Quantity))
	}
	slices.Sort(items)
	want := []string{mo.Items[0].OrderItemID + "×1", mo.Items[1].OrderItemID + "×1"}
	slices.Sort(want)
	if !slices.Equal(items, want) {
		t.Errorf("package items %v, want %v (each order item, quantity 1)", items, want)
	}

	// The same delivery again (Shopify retries when unsure it arrived),
	// then another event for the same shipment.
	again := fmt.Sprintf("amazon-%s-updated", mk)
	postAmazonDemo(t, first, body)
	postAmazonDemo(t, again, body)
	waitState(t, conn, mk, "received both", func(st order.State) bool { return received(st, first) == 2 && received(st, again) == 1 })
	if calls := confirmations(mk); len(calls) != 1 {
		t.Errorf("confirmShipment calls %+v after the webhook came again, want still 1", calls)
	}
	if got, _ := sys.AmazonSandbox.Order(mk); len(got.Packages) != 1 {
		t.Errorf("Amazon packages %+v, want 1", got.Packages)
	}
	if ids := storeOrdersOf(mk); len(ids) != 1 {
		t.Errorf("store orders for %s: %d, want still 1", mk, len(ids))
	}
}
