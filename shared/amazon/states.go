// Amazon's state map: what its order statuses mean in ordersync's lifecycle.

package amazon

import (
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// statuses maps an SP-API v0 OrderStatus onto the common lifecycle. It
// follows ../shared/reference/platforms.md; a status missing from it is
// reported as invalid_data rather than guessed.
var statuses = map[string]order.Status{
	"Pending":             order.StatusPendingPayment,
	"PendingAvailability": order.StatusPendingPayment, // a pre-order, payment not authorised
	"Unshipped":           order.StatusAccepted,
	"PartiallyShipped":    order.StatusPartiallyShipped,
	"Shipped":             order.StatusShipped,
	"InvoiceUnconfirmed":  order.StatusShipped, // shipped; invoice confirmation pending
	"Canceled":            order.StatusCancelled,
	"Unfulfillable":       order.StatusCancelled, // Multi-Channel Fulfillment that cannot ship
}

// Status maps an Amazon SP-API OrderStatus onto the lifecycle. An unknown
// status returns StatusUnknown and an invalid_data error.
func Status(status string) (order.Status, error) {
	if s, ok := statuses[strings.TrimSpace(status)]; ok {
		return s, nil
	}
	return rules.UnknownState(order.Amazon, "Amazon order status", status)
}
