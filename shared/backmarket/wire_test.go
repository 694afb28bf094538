package backmarket

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

func TestDecodeGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/orders_list.json")
	if err != nil {
		t.Fatal(err)
	}
	var p wirePage
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Count != 25 || p.Next == nil || len(p.Results) != 1 {
		t.Fatalf("page = count %d, next %v, %d results; want 25, a link, 1", p.Count, p.Next, len(p.Results))
	}
	got, err := p.Results[0].domain(time.UTC)
	if err != nil {
		t.Fatalf("domain: %v", err)
	}
	want := order.MarketplaceOrder{
		ID: "5978", Status: order.StatusAwaitingAcceptance, State: "1",
		Lines: []order.MarketplaceLine{{ID: "37195", SKU: "IPHONE416GONLIB0", Quantity: 2,
			Status: order.StatusAwaitingAcceptance, State: "1"}},
		Tracking: order.Tracking{Number: "my_tracking_number", Carrier: "Colissimo",
			URL: "http://www.colissimo.fr/my_tracking_url"},
		ShippingAddress: &order.Address{Name: "Victor Hugo", Company: "backmarket", Line1: "3, Imaginary Street",
			Line2: "Apartement X", City: "Paris", PostalCode: "75003", Region: "California", Country: "FR",
			Phone: "+33639981234"},
		CreatedAt: time.Date(2022, 4, 29, 9, 35, 24, 123456000, time.UTC),
		UpdatedAt: time.Date(2022, 4, 29, 9, 35, 24, 0, time.UTC),
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("domain order =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

func TestDecodeStringIDsAndUnknownState(t *testing.T) {
	var w wireOrder
	if err := json.Unmarshal([]byte(`{"order_id":"42","state":11,"orderlines":[{"id":"7","state":2,"listing":"X"}]}`), &w); err != nil {
		t.Fatal(err)
	}
	o, err := w.domain(time.UTC)
	if err == nil {
		t.Errorf("domain of state 11: no error; want invalid_data")
	}
	if o.ID != "42" || o.Status != order.StatusUnknown || o.Lines[0].ID != "7" || o.Lines[0].Status != order.StatusAccepted {
		t.Errorf("order = %+v; want id 42, unknown status, line 7 accepted", o)
	}
}

func TestParseTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database")
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2022-04-29T09:35:24Z", time.Date(2022, 4, 29, 9, 35, 24, 0, time.UTC)},
		{"2022-04-29T09:35:24.123Z", time.Date(2022, 4, 29, 9, 35, 24, 123000000, time.UTC)},
		{"2022-04-29T09:35:24+02:00", time.Date(2022, 4, 29, 7, 35, 24, 0, time.UTC)},
		{"2022-04-29T09:35:24", time.Date(2022, 4, 29, 7, 35, 24, 0, time.UTC)},
		{"2022-04-29 09:35:24", time.Date(2022, 4, 29, 7, 35, 24, 0, time.UTC)},
		{"yesterday", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parseTime(tt.in, paris); !got.Equal(tt.want) {
				t.Errorf("parseTime(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNextPage(t *testing.T) {
	tests := []struct {
		next string
		page int
		want int
	}{
		{"https://www.backmarket.fr/ws/orders?page=3", 2, 3},
		{"https://evil.example/ws/orders?page=9", 2, 9},
		{"https://www.backmarket.fr/ws/orders?page=1", 2, 3}, // never goes back
		{"not a url with no page", 4, 5},
	}
	for _, tt := range tests {
		if got := nextPage(tt.next, tt.page); got != tt.want {
			t.Errorf("nextPage(%q, %d) = %d; want %d", tt.next, tt.page, got, tt.want)
		}
	}
}

func FuzzDecodeOrder(f *testing.F) {
	b, err := os.ReadFile("testdata/orders_list.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"order_id":"1","state":99,"orderlines":[{"state":-1}],"date_modification":"2022-04-29 09:35:24"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p wirePage
		if json.Unmarshal(b, &p) != nil {
			return
		}
		for _, w := range p.Results {
			o, _ := w.domain(time.UTC)
			if len(o.Lines) != len(w.OrderLines) {
				t.Errorf("%d lines from %d", len(o.Lines), len(w.OrderLines))
			}
		}
	})
}
