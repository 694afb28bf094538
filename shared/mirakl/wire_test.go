package mirakl

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

func TestDecodeGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/or11_orders_list_with_refunds.json")
	if err != nil {
		t.Fatal(err)
	}
	var p wirePage
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.TotalCount != 1 || len(p.Orders) != 1 {
		t.Fatalf("page = %d orders of %d; want 1 of 1", len(p.Orders), p.TotalCount)
	}
	got, err := p.Orders[0].domain()
	if err != nil {
		t.Fatal(err)
	}
	want := order.MarketplaceOrder{
		ID: "1234561-A", Status: order.StatusAccepted, State: "SHIPPING",
		Lines: []order.MarketplaceLine{
			// 1 of 4 refunded; 96 refunded for 20.00 of its 89.00, though
			// its refund states the line's quantity: both in part.
			{ID: "95", SKU: "24-MB01", Quantity: 4, Status: order.StatusAccepted, State: "SHIPPING", RefundedInPart: true},
			{ID: "96", SKU: "MH01-XL-Orange", Quantity: 1, Status: order.StatusAccepted, State: "SHIPPING", RefundedInPart: true},
		},
		ShippingAddress: &order.Address{Name: "Johann Reinké", Line1: "45 rue de la Bienfaisance", City: "Paris",
			PostalCode: "75008", Country: "FR", Phone: "0987654321"},
		CreatedAt: time.Date(2019, 3, 13, 15, 13, 29, 0, time.UTC),
		UpdatedAt: time.Date(2019, 4, 2, 9, 13, 52, 0, time.UTC),
		Refunds: []order.Refund{
			{ID: "refund/1120", Kind: order.RefundRefund, At: time.Date(2019, 3, 29, 15, 53, 56, 0, time.UTC),
				Lines: []order.Line{{SKU: "24-MB01", Quantity: 1, MarketplaceLineID: "95"}}},
			{ID: "refund/1121", Kind: order.RefundRefund, At: time.Date(2019, 3, 29, 15, 53, 57, 0, time.UTC),
				Lines: []order.Line{{SKU: "MH01-XL-Orange", Quantity: 1, MarketplaceLineID: "96"}}},
			// Its quantity is null: OR28 calls the quantity informative only.
			{ID: "refund/1122", Kind: order.RefundRefund, At: time.Date(2019, 4, 2, 9, 13, 51, 0, time.UTC),
				Lines: []order.Line{{SKU: "MH01-XL-Orange", MarketplaceLineID: "96"}}},
		},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("order =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

func TestDecodeSingleOrders(t *testing.T) {
	tests := []struct {
		file      string
		status    order.Status
		canCancel bool
		tracking  order.Tracking
		country   string
		lines     int
	}{
		{"order_with_taxes_can_cancel.json", order.StatusAccepted, false, order.Tracking{}, "FR", 2},
		{"order_received.json", order.StatusDelivered, false,
			order.Tracking{Number: "JFSKFJSDKF0923949", Carrier: "FedEx2", URL: "https://fex.ex?n={tracksingId}"}, "FR", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var w wireOrder
			if err := json.Unmarshal(b, &w); err != nil {
				t.Fatal(err)
			}
			got, err := w.domain()
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status || got.CanCancel != tt.canCancel || got.Tracking != tt.tracking ||
				got.ShippingAddress.Country != tt.country || len(got.Lines) != tt.lines {
				t.Errorf("order = %+v; want status %s, can_cancel %v, tracking %+v, country %s, %d lines",
					got, tt.status, tt.canCancel, tt.tracking, tt.country, tt.lines)
			}
		})
	}
}

func TestUnknownState(t *testing.T) {
	o, err := wireOrder{OrderID: "X", OrderState: "SOMETHING_NEW"}.domain()
	if err == nil || o.Status != order.StatusUnknown || o.State != "SOMETHING_NEW" {
		t.Errorf("domain = %+v, %v; want StatusUnknown, the raw state and invalid_data", o, err)
	}
}

func FuzzDecodeOrders(f *testing.F) {
	for _, name := range []string{"or11_orders_list_with_refunds.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"orders":[{"order_id":"1","order_state":"x","order_lines":[{}],"customer":{"shipping_address":{"country_iso_code":"??"}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p wirePage
		if json.Unmarshal(b, &p) != nil {
			return
		}
		for _, w := range p.Orders {
			o, _ := w.domain()
			if len(o.Lines) != len(w.OrderLines) {
				t.Errorf("%d lines from %d", len(o.Lines), len(w.OrderLines))
			}
		}
	})
}
