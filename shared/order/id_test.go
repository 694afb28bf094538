package order_test

import (
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
)

func TestValidID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"a Shopify order id", "450789469", true},
		{"a Back Market order id", "BM-123456", true},
		{"a Shopify event UUID", "b1a2c3d4-0000-4000-8000-123456789abc", true},
		{"a WooCommerce event id", "d41d8cd98f00b204e9800998ecf8427e:727:1700000000", true},
		{"a Standard Webhooks message id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", true},
		{"letters beyond ASCII", "commande-été-№7", true},
		{"MaxIDBytes long", strings.Repeat("a", order.MaxIDBytes), true},
		{"empty", "", false},
		{"one byte too long", strings.Repeat("a", order.MaxIDBytes+1), false},
		{"kilobytes", strings.Repeat("1", 4096), false},
		{"not UTF-8", "order-\xff\xfe", false},
		{"a '#', the store's key separator", "acme#BM-1", false},
		{"a '/'", "../acme", false},
		{"a '\\'", `acme\BM-1`, false},
		{"a space", "BM 1", false},
		{"a leading space", " BM-1", false},
		{"a no-break space", "BM\u00a01", false},
		{"a line separator", "BM\u20281", false},
		{"a newline", "BM-1\n", false},
		{"a NUL", "BM\x001", false},
		{"DEL", "BM\x7f1", false},
		{"a C1 control", "BM\u00851", false},
		{"a zero-width space", "BM\u200b1", false},
		{"a right-to-left override", "BM\u202e1", false},
		{"a byte order mark", "\ufeffBM-1", false},
		{"U+FFFF", "BM\uffff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := order.ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestRefName(t *testing.T) {
	tests := []struct {
		name string
		ref  order.Ref
		want string
	}{
		{"the store's name", order.Ref{StoreOrderName: "#1001", StoreOrderID: "450789469", MarketplaceOrderID: "7001"}, "#1001"},
		{"the store's id", order.Ref{StoreOrderID: "450789469", MarketplaceOrderID: "7001"}, "450789469"},
		{"the marketplace's id", order.Ref{MarketplaceOrderID: "7001"}, "7001"},
		{"none", order.Ref{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ref.Name(); got != tt.want {
				t.Errorf("Name() = %q, want %q", got, tt.want)
			}
		})
	}
}
