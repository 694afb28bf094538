package rules

import (
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// CheckImportable reports whether marketplace order o can be created in a
// store, before any store call: an order without its id, without lines,
// or with a line of no quantity is invalid_data naming the field; one
// without a shipping address is address_missing. The stores' CreateOrder
// add their own details (the platform, the order) with With.
func CheckImportable(o order.MarketplaceOrder) *syncerr.Error {
	switch {
	case o.ID == "":
		return syncerr.E(syncerr.InvalidData, "field", "marketplace order id")
	case len(o.Lines) == 0:
		return syncerr.E(syncerr.InvalidData, "field", "lines")
	case o.ShippingAddress == nil:
		return syncerr.E(syncerr.AddressMissing)
	}
	for _, l := range o.Lines {
		if l.Quantity <= 0 {
			return syncerr.E(syncerr.InvalidData, "field", "quantity of "+l.SKU)
		}
	}
	return nil
}

// Bounds of ImportedNoEarlierThan.
const (
	// ImportClockMargin is how far a store's clock and a marketplace's may
	// disagree.
	ImportClockMargin = time.Hour
	// ImportLookback is how far back to look when the marketplace order
	// gives no creation time: only open orders are imported, and those are
	// days old at most.
	ImportLookback = 30 * 24 * time.Hour
)

// ImportedNoEarlierThan is the earliest creation time, on the store's
// clock, of a store order importing o: no import of o is older than o.
// Stores that cannot look an import up by the marketplace order id
// (WooCommerce, BigCommerce) search their orders created since then for
// the one they made before.
func ImportedNoEarlierThan(o order.MarketplaceOrder, now time.Time) time.Time {
	if o.CreatedAt.IsZero() {
		return now.UTC().Add(-ImportLookback)
	}
	return o.CreatedAt.UTC().Add(-ImportClockMargin)
}
