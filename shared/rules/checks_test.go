package rules

import (
	"reflect"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestCheckAddress(t *testing.T) {
	full := order.Address{Name: "A. Client", Line1: "1 rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"}
	with := func(f func(*order.Address)) *order.Address { a := full; f(&a); return &a }
	tests := []struct {
		name  string
		in    *order.Address
		code  syncerr.Code
		field string
	}{
		{"complete", &full, "", ""},
		{"address missing (test order)", nil, syncerr.AddressMissing, ""},
		{"address invalid: no street", with(func(a *order.Address) { a.Line1 = " " }), syncerr.AddressInvalid, "street address"},
		{"address invalid: no city", with(func(a *order.Address) { a.City = "" }), syncerr.AddressInvalid, "city"},
		{"address invalid: no postal code", with(func(a *order.Address) { a.PostalCode = "" }), syncerr.AddressInvalid, "postal code"},
		{"address invalid: no country", with(func(a *order.Address) { a.Country = "" }), syncerr.AddressInvalid, "country"},
		{"address invalid: several parts", with(func(a *order.Address) { a.City, a.PostalCode = "", "" }), syncerr.AddressInvalid, "city and postal code"},
		{"address invalid: empty", &order.Address{}, syncerr.AddressInvalid, "street address, city, postal code and country"},
		{"no postal code where the country has none", with(func(a *order.Address) { a.PostalCode, a.Country = "", "hk" }), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAddress(tt.in)
			var details map[string]string
			if tt.field != "" {
				details = map[string]string{"field": tt.field}
			}
			checkErr(t, err, tt.code, details)
		})
	}
}

func TestCheckEdit(t *testing.T) {
	addr := &order.Address{Line1: "1 Main St", City: "Leeds", PostalCode: "LS1 1AA", Country: "GB"}
	tests := []struct {
		name    string
		current order.Status
		held    bool
		edit    Edit
		code    syncerr.Code
		details map[string]string
	}{
		{"edit address while awaiting acceptance", order.StatusAwaitingAcceptance, false, Edit{Address: addr}, "", nil},
		{"edit lines while pending payment", order.StatusPendingPayment, false,
			Edit{Lines: []order.Line{{SKU: "A", Quantity: 2}}, DeliveryMethod: "express"}, "", nil},
		{"edit while not pending", order.StatusAccepted, false, Edit{Address: addr},
			syncerr.OrderNotEditable, map[string]string{"from": "accepted"}},
		{"edit after shipping", order.StatusShipped, false, Edit{DeliveryMethod: "express"},
			syncerr.OrderNotEditable, map[string]string{"from": "shipped"}},
		{"edit while inventory held", order.StatusAwaitingAcceptance, true, Edit{Address: addr}, syncerr.InventoryHeld, nil},
		{"not pending wins over inventory held", order.StatusCancelled, true, Edit{Address: addr},
			syncerr.OrderNotEditable, map[string]string{"from": "cancelled"}},
		{"edit to an invalid address", order.StatusAwaitingAcceptance, false, Edit{Address: &order.Address{Line1: "x", Country: "GB"}},
			syncerr.AddressInvalid, map[string]string{"field": "city and postal code"}},
		{"edit to a line without quantity", order.StatusAwaitingAcceptance, false, Edit{Lines: []order.Line{{SKU: "A"}}},
			syncerr.InvalidData, map[string]string{"sku": "A"}},
		{"edit to a line without sku", order.StatusAwaitingAcceptance, false, Edit{Lines: []order.Line{{Quantity: 1}}},
			syncerr.InvalidData, map[string]string{"field": "SKU of line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckEdit(tt.current, tt.held, tt.edit), tt.code, tt.details)
		})
	}
}

func TestMatchSKU(t *testing.T) {
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	live := Product{ID: "p1", SKU: "IPH-13-128", UpdatedAt: day}
	tests := []struct {
		name     string
		sku      string
		aliases  map[string]string
		products []Product
		want     Product
		code     syncerr.Code
		details  map[string]string
	}{
		{"exact sku", "IPH-13-128", nil, []Product{{ID: "p0", SKU: "IPH-12"}, live}, live, "", nil},
		{"exact sku ignores surrounding space", " IPH-13-128 ", nil, []Product{live}, live, "", nil},
		{"renamed sku through an alias", "IPHONE13-128", map[string]string{"IPHONE13-128": "IPH-13-128"}, []Product{live}, live, "", nil},
		{"exact sku before alias", "A", map[string]string{"A": "B"}, []Product{{ID: "b", SKU: "B"}, {ID: "a", SKU: "A"}},
			Product{ID: "a", SKU: "A"}, "", nil},
		{"sku mismatch", "IPH-14", nil, []Product{live}, Product{}, syncerr.SKUNotFound, map[string]string{"sku": "IPH-14"}},
		{"sku mismatch is case-sensitive", "iph-13-128", nil, []Product{live}, Product{}, syncerr.SKUNotFound, map[string]string{"sku": "iph-13-128"}},
		{"empty sku", "", nil, []Product{live}, Product{}, syncerr.SKUNotFound, nil},
		{"duplicate sku", "IPH-13-128", nil, []Product{live, {ID: "p2", SKU: "IPH-13-128"}}, Product{},
			syncerr.SKUDuplicate, map[string]string{"sku": "IPH-13-128", "products": "p1, p2"}},
		{"duplicate sku behind an alias", "OLD", map[string]string{"OLD": "NEW"}, []Product{{ID: "n1", SKU: "NEW"}, {ID: "n2", SKU: "NEW"}}, Product{},
			syncerr.SKUDuplicate, map[string]string{"sku": "NEW", "products": "n1, n2"}},
		{"deleted and recreated product", "IPH-13-128", nil,
			[]Product{{ID: "p0", SKU: "IPH-13-128", Deleted: true, UpdatedAt: day.Add(time.Hour)}, live}, live, "", nil},
		{"only a deleted product", "IPH-13-128", nil, []Product{{ID: "p0", SKU: "IPH-13-128", Deleted: true}}, Product{},
			syncerr.SKUNotFound, map[string]string{"sku": "IPH-13-128"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MatchSKU(tt.sku, tt.aliases, tt.products)
			checkErr(t, err, tt.code, tt.details)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("product = %+v, want %+v", got, tt.want)
			}
		})
	}
}
