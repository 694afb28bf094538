package marketplacetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// CheckOrder fails t unless o, answered by Order(id) without an error, is
// what every connector promises: the order asked for, it and each of its
// lines in a lifecycle status. Fuzz targets call it on whatever a
// connector returns.
func CheckOrder(t testing.TB, id string, o order.MarketplaceOrder) {
	t.Helper()
	if o.ID != id {
		t.Fatalf("Order(%q) answered order %q", id, o.ID)
	}
	if !rules.Known(o.Status) {
		t.Fatalf("order %s: status %q with no error", id, o.Status)
	}
	for _, l := range o.Lines {
		if !rules.Known(l.Status) {
			t.Fatalf("order %s: line %q: status %q with no error", id, l.ID, l.Status)
		}
	}
}

// CheckListed fails t unless orders, listed by OrdersUpdatedSince(since)
// without an error, are what every connector promises: each names an
// order, once, and changed at or after since where its date is known;
// oldest first.
func CheckListed(t testing.TB, since time.Time, orders []order.MarketplaceOrder) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range orders {
		switch {
		case o.ID == "":
			t.Fatalf("a listed order without an id: %+v", o)
		case seen[o.ID]:
			t.Fatalf("order %s listed twice", o.ID)
		case !o.UpdatedAt.IsZero() && o.UpdatedAt.Before(since):
			t.Fatalf("order %s changed at %v, before %v", o.ID, o.UpdatedAt, since)
		}
		seen[o.ID] = true
	}
	if !slices.IsSortedFunc(orders, func(a, b order.MarketplaceOrder) int { return a.UpdatedAt.Compare(b.UpdatedAt) }) {
		t.Fatal("orders are not oldest first")
	}
}
