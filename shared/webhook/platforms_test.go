package webhook_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
)

func TestParseStandard(t *testing.T) {
	e, err := webhook.ParseStandard("msg_1", readTestdata(t, "standard_order_shipped.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := order.Event{
		Source: order.Standard, SourceEventID: "msg_1", Topic: "order.shipped",
		OccurredAt:   time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		Order:        order.Ref{StoreOrderID: "SO-1001", StoreOrderName: "#1001", MarketplaceOrderID: "MK-000042-A"},
		Status:       order.StatusShipped,
		SourceStatus: "dispatched",
		Lines:        []order.Line{{SKU: "IPOD2008GREEN", Quantity: 1}, {SKU: "IPOD2008RED", Quantity: 2}},
		ShippingAddress: &order.Address{Name: "Bob Norman", Line1: "Chestnut Street 92", City: "Louisville",
			PostalCode: "40202", Region: "KY", Country: "US"},
		Parcels: []order.Parcel{{ID: "P1",
			Tracking: order.Tracking{Number: "1Z1234512345123456", Carrier: "UPS", URL: "https://www.ups.com/track?tracknum=1Z1234512345123456"},
			Lines:    []order.Line{{SKU: "IPOD2008GREEN", Quantity: 1}, {SKU: "IPOD2008RED", Quantity: 2}}}},
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("ParseStandard:\n got %+v\nwant %+v", e, want)
	}
	e, err = webhook.ParseStandard("msg_2", readTestdata(t, "standard_order_cancelled_minimal.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != order.StatusCancelled || e.Order.MarketplaceOrderID != "MK-000043-B" || !e.OccurredAt.IsZero() {
		t.Errorf("minimal: %+v", e)
	}
}

func TestParseStandardCases(t *testing.T) {
	tests := []struct {
		name, body string
		wantCode   webhook.Code
		wantField  string
	}{
		{"no type", `{"data":{"store_order_id":"1"}}`, webhook.CodeMissingField, "type"},
		{"no data", `{"type":"order.updated"}`, webhook.CodeMissingField, "data"},
		{"no order id", `{"type":"order.updated","data":{}}`, webhook.CodeMissingField, "data.store_order_id"},
		{"unknown status", `{"type":"order.updated","data":{"store_order_id":"1","status":"in_transit"}}`, webhook.CodeInvalidField, "data.status"},
		{"negative quantity", `{"type":"order.updated","data":{"store_order_id":"1","lines":[{"sku":"A","quantity":-1}]}}`, webhook.CodeInvalidField, "data.lines.quantity"},
		{"quantity as text", `{"type":"order.updated","data":{"store_order_id":"1","lines":[{"sku":"A","quantity":"1"}]}}`, webhook.CodeInvalidField, "data.lines.quantity"},
		{"bad timestamp", `{"type":"order.updated","timestamp":"noon","data":{"store_order_id":"1"}}`, webhook.CodeInvalidField, "timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.ParseStandard("msg", []byte(tt.body))
			var werr *webhook.Error
			if !errorsAs(err, &werr) || werr.Code != tt.wantCode || werr.Field != tt.wantField {
				t.Fatalf("err = %v, want %s %s", err, tt.wantCode, tt.wantField)
			}
		})
	}
}
