package shopify_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
)

// TestOrderReadCarriesRefunds: the GraphQL read of an order (one, and the
// listing the refresh makes) carries its refunds, named and kinded as the
// webhooks name them, so a refund made while webhooks were lost is found.
func TestOrderReadCarriesRefunds(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	since := time.Now().Add(-time.Minute)
	o := f.srv.AddOrder(twoLineOrder()) // SKU-A ×2, SKU-B ×1
	lineA, lineB := o.LineItems[0].ID, o.LineItems[1].ID
	if err := f.client.Fulfill(ctx, o.ID, order.Parcel{Tracking: order.Tracking{Number: "1Z1", Carrier: "UPS"},
		Lines: []order.Line{{SKU: "SKU-B", Quantity: 1, StoreLineID: lineB}}}); err != nil {
		t.Fatal(err)
	}
	cancelID, err := f.srv.Refund(o.ID, shopifytest.Refund{Lines: []shopifytest.RefundLine{{LineItemID: lineA, Quantity: 1, RestockType: "CANCEL"}}})
	if err != nil {
		t.Fatal(err)
	}
	returnID, err := f.srv.Refund(o.ID, shopifytest.Refund{Lines: []shopifytest.RefundLine{
		{LineItemID: lineB, Quantity: 1, RestockType: "RETURN"}, {LineItemID: lineA, Quantity: 1, RestockType: "NO_RESTOCK"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []order.Refund{
		{ID: cancelID + "/cancel", Kind: order.RefundCancel, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1, StoreLineID: lineA}}},
		{ID: returnID + "/return", Kind: order.RefundReturn, Lines: []order.Line{{SKU: "SKU-B", Quantity: 1, StoreLineID: lineB}}},
		// SKU-A's second unit was never fulfilled: refunded without a
		// restock before shipment, it is cancelled all the same.
		{ID: returnID + "/cancel", Kind: order.RefundCancel, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1, StoreLineID: lineA}}},
	}
	ev, err := f.client.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []order.Refund) {
		t.Helper()
		for i := range got {
			if got[i].At.IsZero() {
				t.Errorf("%s: refund %s has no date", what, got[i].ID)
			}
			got[i].At = time.Time{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: refunds\n got %+v\nwant %+v", what, got, want)
		}
	}
	check("Order", ev.Refunds)
	list, err := f.client.OrdersUpdatedSince(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("listed %d orders, want 1", len(list))
	}
	check("OrdersUpdatedSince", list[0].Refunds)

	// The refunds/create webhook of the same refund names it alike.
	body := `{"id": ` + cancelID + `, "order_id": ` + o.ID + `, "created_at": "2026-01-01T00:00:00Z", "refund_line_items": [{"line_item_id": ` +
		lineA + `, "quantity": 1, "restock_type": "cancel", "line_item": {"id": ` + lineA + `, "sku": "SKU-A"}}]}`
	wev, err := shopify.ParseWebhook(shopify.TopicRefundsCreate, "evt-1", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(wev.Refunds) != 1 || wev.Refunds[0].ID != want[0].ID || wev.Refunds[0].Kind != want[0].Kind {
		t.Errorf("webhook refunds %+v; want %s as the read names it", wev.Refunds, want[0].ID)
	}
	if !strings.HasPrefix(ev.SourceStatus, "refunded/") {
		t.Errorf("source status %q, want refunded (every unit refunded)", ev.SourceStatus)
	}
}
