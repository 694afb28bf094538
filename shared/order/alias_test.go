package order

import (
	"strings"
	"testing"
)

func TestValidSKU(t *testing.T) {
	tests := []struct {
		name string
		sku  string
		want bool
	}{
		{"plain", "IPH12-64-BLK", true},
		{"inner spaces and accents", "Tasse été 1/2", true},
		{"255 bytes", strings.Repeat("a", MaxSKUBytes), true},
		{"empty", "", false},
		{"256 bytes", strings.Repeat("a", MaxSKUBytes+1), false},
		{"128 two-byte runes: 256 bytes", strings.Repeat("é", 128), false},
		{"not UTF-8", "CAP\xff", false},
		{"a control character", "CA\x01P", false},
		{"a newline", "CA\nP", false},
		{"a zero-width space", "CA\u200bP", false},
		{"a noncharacter", "CAP\uffff", false},
		{"a leading space", " CAP", false},
		{"a trailing tab", "CAP\t", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidSKU(tt.sku); got != tt.want {
				t.Errorf("ValidSKU(%q) = %v, want %v", tt.sku, got, tt.want)
			}
		})
	}
}

func TestAliasMaps(t *testing.T) {
	toMarketplace, toStore := AliasMaps([]SKUAlias{{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}, {StoreSKU: "MUG", MarketplaceSKU: "BM-MUG"}})
	if toMarketplace["CAP"] != "BM-CAP" || toMarketplace["MUG"] != "BM-MUG" || toStore["BM-CAP"] != "CAP" || toStore["BM-MUG"] != "MUG" || len(toMarketplace) != 2 || len(toStore) != 2 {
		t.Errorf("AliasMaps = %v, %v; want each alias both ways", toMarketplace, toStore)
	}
}
