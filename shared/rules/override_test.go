package rules

import (
	"reflect"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestWithOverride(t *testing.T) {
	lines := []order.Line{{SKU: "A", Quantity: 1}}
	colissimo := order.Tracking{Carrier: "Colissimo"} // what the store sent: no number
	fixed := order.Tracking{Number: "6A123", Carrier: "Colissimo"}
	theirs := order.Tracking{Number: "6A999", Carrier: "Colissimo"} // the store's own, sent after the fix
	good := order.Address{Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"}
	partial := &order.Address{Line1: "6 place des Vosges", Country: "FR"}
	newer := &order.Address{Line1: "1 rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"}
	parcel := func(id string, t order.Tracking) order.Parcel {
		return order.Parcel{ID: id, Tracking: t, Lines: lines}
	}
	tracking := func(id string, replaced order.Tracking) *order.Override {
		return &order.Override{Tracking: &order.TrackingOverride{ParcelID: id, Tracking: fixed, Replaced: replaced, At: t0}}
	}
	address := func(replaced *order.Address) *order.Override {
		return &order.Override{ShippingAddress: &order.AddressOverride{Address: good, Replaced: replaced, At: t0}}
	}
	tests := []struct {
		name        string
		s           order.State
		wantParcels []order.Parcel
		wantAddress *order.Address
	}{
		{"no override", order.State{Parcels: []order.Parcel{parcel("f1", colissimo)}},
			[]order.Parcel{parcel("f1", colissimo)}, nil},
		{"tracking of the named parcel", order.State{Parcels: []order.Parcel{parcel("f1", colissimo), parcel("f2", colissimo)},
			Override: tracking("f2", colissimo)},
			[]order.Parcel{parcel("f1", colissimo), parcel("f2", fixed)}, nil},
		{"tracking of the only parcel", order.State{Parcels: []order.Parcel{parcel("f1", colissimo)}, Override: tracking("", colissimo)},
			[]order.Parcel{parcel("f1", fixed)}, nil},
		{"a parcel of all the lines where the store reported none", order.State{Lines: lines, Override: tracking("", order.Tracking{})},
			[]order.Parcel{{Tracking: fixed, Lines: lines}}, nil},
		{"newer store tracking wins over the override", order.State{Parcels: []order.Parcel{parcel("f1", theirs)}, Override: tracking("f1", colissimo)},
			[]order.Parcel{parcel("f1", theirs)}, nil},
		{"a parcel the store sent since the fix, with its own tracking", order.State{Parcels: []order.Parcel{parcel("f9", theirs)}, Override: tracking("", order.Tracking{})},
			[]order.Parcel{parcel("f9", theirs)}, nil},
		{"a parcel the store sent since the fix, without tracking", order.State{Parcels: []order.Parcel{parcel("f9", order.Tracking{})}, Override: tracking("", order.Tracking{})},
			[]order.Parcel{parcel("f9", fixed)}, nil},
		{"address in place of the store's incomplete one", order.State{ShippingAddress: partial, Override: address(partial)},
			nil, &good},
		{"address where the store sent none", order.State{Override: address(nil)}, nil, &good},
		{"newer store address wins over the override", order.State{ShippingAddress: newer, Override: address(partial)},
			nil, newer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneState(tt.s)
			got := WithOverride(tt.s)
			if !reflect.DeepEqual(got.Parcels, tt.wantParcels) {
				t.Errorf("parcels = %+v, want %+v", got.Parcels, tt.wantParcels)
			}
			if !reflect.DeepEqual(got.ShippingAddress, tt.wantAddress) {
				t.Errorf("address = %+v, want %+v", got.ShippingAddress, tt.wantAddress)
			}
			if !reflect.DeepEqual(tt.s, before) {
				t.Errorf("WithOverride modified its input: %+v, was %+v", tt.s, before)
			}
			if again := WithOverride(got); !reflect.DeepEqual(again.Parcels, got.Parcels) {
				t.Errorf("not idempotent: %+v then %+v", got.Parcels, again.Parcels)
			}
		})
	}
}

// cloneState copies what WithOverride might write through.
func cloneState(s order.State) order.State {
	c := s
	c.Parcels = nil
	for _, p := range s.Parcels {
		p.Lines = cloneLines(p.Lines)
		c.Parcels = append(c.Parcels, p)
	}
	if s.ShippingAddress != nil {
		a := *s.ShippingAddress
		c.ShippingAddress = &a
	}
	return c
}

// A shipment the store sent without a tracking number, fixed by the
// merchant, plans a ship step with the merchant's tracking and a URL
// derived from its carrier.
func TestPlanWithOverride(t *testing.T) {
	s := order.State{StoreStatus: order.StatusShipped, Lines: []order.Line{{SKU: "A", Quantity: 1}},
		Parcels: []order.Parcel{{ID: "f1", Tracking: order.Tracking{Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "A", Quantity: 1}}}}}
	remote := order.MarketplaceOrder{ID: "BM1", Status: order.StatusAccepted,
		Lines: []order.MarketplaceLine{{ID: "ml1", SKU: "A", Quantity: 1, Status: order.StatusAccepted}}}
	want := func(s order.State) Want { return Want{Status: s.StoreStatus, Parcels: s.Parcels} }
	if _, err := Plan(order.BackMarket, backMarketCaps, remote, want(WithOverride(s))); syncerr.CodeOf(err) != syncerr.ShippingDataMissing {
		t.Fatalf("before the fix: err = %v, want shipping_data_missing", err)
	}
	s.Override = &order.Override{Tracking: &order.TrackingOverride{ParcelID: "f1", Tracking: order.Tracking{Number: "6A 123", Carrier: "Colissimo"},
		Replaced: order.Tracking{Carrier: "Colissimo"}, At: t0}}
	steps, err := Plan(order.BackMarket, backMarketCaps, remote, want(WithOverride(s)))
	if err != nil || len(steps) != 1 {
		t.Fatalf("after the fix: steps = %+v, %v; want one ship", steps, err)
	}
	got, wantTracking := steps[0].Parcel.Tracking, order.Tracking{Number: "6A 123", Carrier: "Colissimo",
		URL: "https://www.laposte.fr/outils/suivre-vos-envois?code=6A123"}
	if got != wantTracking {
		t.Errorf("tracking = %+v, want %+v", got, wantTracking)
	}
}

func TestImportAddress(t *testing.T) {
	theirs := &order.Address{Line1: "x", Country: "FR"}
	mine := order.Address{Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"}
	tests := []struct {
		name string
		o    *order.Override
		want *order.Address
	}{
		{"no override", nil, theirs},
		{"a tracking override only", &order.Override{Tracking: &order.TrackingOverride{}}, theirs},
		{"the merchant's address", &order.Override{ShippingAddress: &order.AddressOverride{Address: mine}}, &mine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ImportAddress(theirs, tt.o); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ImportAddress = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckTracking(t *testing.T) {
	tests := []struct {
		name    string
		in      order.Tracking
		code    syncerr.Code
		details map[string]string
	}{
		{"complete", order.Tracking{Number: "6A123", Carrier: "Colissimo"}, "", nil},
		{"complete with a URL", order.Tracking{Number: "42", Carrier: "Pigeon Post", URL: "https://pigeon.test/t?n=42"}, "", nil},
		{"an unknown carrier without URL", order.Tracking{Number: "42", Carrier: "Pigeon Post"}, "", nil},
		{"no number", order.Tracking{Carrier: "UPS"}, syncerr.ShippingDataMissing, map[string]string{"missing": "tracking number"}},
		{"no carrier", order.Tracking{Number: "42"}, syncerr.ShippingDataMissing, map[string]string{"missing": "carrier"}},
		{"blank carrier", order.Tracking{Number: "42", Carrier: "  "}, syncerr.ShippingDataMissing, map[string]string{"missing": "carrier"}},
		{"a control character in the number", order.Tracking{Number: "4\x002", Carrier: "UPS"}, syncerr.InvalidData, map[string]string{"field": "tracking number"}},
		{"a control character in the carrier", order.Tracking{Number: "42", Carrier: "U\nPS"}, syncerr.InvalidData, map[string]string{"field": "carrier"}},
		{"a relative URL", order.Tracking{Number: "42", Carrier: "UPS", URL: "/track/42"}, syncerr.InvalidData, map[string]string{"field": "tracking URL"}},
		{"not http", order.Tracking{Number: "42", Carrier: "UPS", URL: "javascript:alert(1)"}, syncerr.InvalidData, map[string]string{"field": "tracking URL"}},
		{"a space in the URL", order.Tracking{Number: "42", Carrier: "UPS", URL: "https://ups.test/a b"}, syncerr.InvalidData, map[string]string{"field": "tracking URL"}},
		{"no host", order.Tracking{Number: "42", Carrier: "UPS", URL: "https:///42"}, syncerr.InvalidData, map[string]string{"field": "tracking URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckTracking(tt.in), tt.code, tt.details)
		})
	}
}
