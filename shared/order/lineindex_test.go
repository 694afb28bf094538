package order

import "testing"

func TestLineIndex(t *testing.T) {
	lines := []MarketplaceLine{{ID: "1", SKU: "A", Status: StatusShipped}, {ID: "2", SKU: "A"}, {ID: "3", SKU: "B"}}
	notShipped := func(l MarketplaceLine) bool { return l.Status != StatusShipped }
	tests := []struct {
		name    string
		id, sku string
		keep    func(MarketplaceLine) bool
		want    int
	}{
		{"by id", "3", "A", nil, 2},
		{"an unknown id falls back to the sku", "9", "B", nil, 2},
		{"by sku, the first", "", "A", nil, 0},
		{"by sku, the first kept", "", "A", notShipped, 1},
		{"the id wins over keep", "1", "A", notShipped, 0},
		{"none", "", "C", nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LineIndex(lines, tt.id, tt.sku, tt.keep); got != tt.want {
				t.Errorf("LineIndex(%q, %q) = %d, want %d", tt.id, tt.sku, got, tt.want)
			}
		})
	}
}
