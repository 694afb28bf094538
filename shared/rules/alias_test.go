package rules

import "testing"

func TestAliasOf(t *testing.T) {
	aliases := map[string]string{"CAP": "BM-CAP", "BLANK": "  "}
	tests := []struct {
		name, sku, want string
	}{
		{"an alias", "CAP", "BM-CAP"},
		{"surrounding spaces ignored", "  CAP ", "BM-CAP"},
		{"no alias: the SKU itself, trimmed", " MUG ", "MUG"},
		{"a blank alias is none", "BLANK", "BLANK"},
		{"case matters", "cap", "cap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AliasOf(tt.sku, aliases); got != tt.want {
				t.Errorf("AliasOf(%q) = %q, want %q", tt.sku, got, tt.want)
			}
		})
	}
}
