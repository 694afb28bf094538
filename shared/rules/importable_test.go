package rules

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestCheckImportable(t *testing.T) {
	addr := &order.Address{Name: "A. Client", Line1: "1 rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"}
	line := order.MarketplaceLine{ID: "l1", SKU: "IPH-13-128-BLK", Quantity: 1}
	tests := []struct {
		name  string
		in    order.MarketplaceOrder
		code  syncerr.Code
		field string
	}{
		{"importable", order.MarketplaceOrder{ID: "7001", Lines: []order.MarketplaceLine{line}, ShippingAddress: addr}, "", ""},
		{"no id", order.MarketplaceOrder{Lines: []order.MarketplaceLine{line}, ShippingAddress: addr}, syncerr.InvalidData, "marketplace order id"},
		{"no lines", order.MarketplaceOrder{ID: "7001", ShippingAddress: addr}, syncerr.InvalidData, "lines"},
		{"no address (a test order)", order.MarketplaceOrder{ID: "7001", Lines: []order.MarketplaceLine{line}}, syncerr.AddressMissing, ""},
		{"a line of no quantity", order.MarketplaceOrder{ID: "7001", ShippingAddress: addr,
			Lines: []order.MarketplaceLine{line, {ID: "l2", SKU: "CASE-1", Quantity: 0}}}, syncerr.InvalidData, "quantity of CASE-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckImportable(tt.in)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckImportable = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Code != tt.code || err.Details["field"] != tt.field {
				t.Errorf("CheckImportable = %v, want %s with field %q", err, tt.code, tt.field)
			}
		})
	}
}

func TestImportedNoEarlierThan(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	placed := time.Date(2026, 11, 30, 8, 0, 0, 0, time.FixedZone("CET", 3600))
	if got, want := ImportedNoEarlierThan(order.MarketplaceOrder{CreatedAt: placed}, now), placed.UTC().Add(-time.Hour); !got.Equal(want) {
		t.Errorf("with a creation time: %s, want %s (less the clock margin)", got, want)
	}
	if got, want := ImportedNoEarlierThan(order.MarketplaceOrder{}, now), now.Add(-30*24*time.Hour); !got.Equal(want) {
		t.Errorf("without one: %s, want %s (the lookback)", got, want)
	}
}
