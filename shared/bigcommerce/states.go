package bigcommerce

import (
	"strconv"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// statuses maps a BigCommerce status_id onto the common lifecycle. It
// follows ../shared/reference/platforms.md; an id missing from it is
// reported as invalid_data rather than guessed.
var statuses = map[int]order.Status{
	0:  order.StatusPendingPayment, // Incomplete: an abandoned checkout
	1:  order.StatusPendingPayment, // Pending
	2:  order.StatusShipped,
	3:  order.StatusPartiallyShipped,
	4:  order.StatusRefunded,
	5:  order.StatusCancelled,
	6:  order.StatusRefused, // Declined by the seller
	7:  order.StatusPendingPayment,
	8:  order.StatusAccepted, // Awaiting Pickup: packed, not yet handed over
	9:  order.StatusAccepted, // Awaiting Shipment
	10: order.StatusDelivered,
	11: order.StatusAccepted,       // Awaiting Fulfillment
	12: order.StatusPendingPayment, // Manual Verification Required: do not ship yet
	// Disputed and Partially Refunded can happen at any point. They map
	// low in the lifecycle, so after shipping they are ignored (a status
	// never regresses) and before it they hold or keep the order as it is.
	13: order.StatusPendingPayment,
	14: order.StatusAccepted,
}

// Status maps a BigCommerce status_id onto the lifecycle. An unknown id
// returns StatusUnknown and an invalid_data error.
func Status(statusID int) (order.Status, error) {
	if s, ok := statuses[statusID]; ok {
		return s, nil
	}
	return rules.UnknownState(order.BigCommerce, "BigCommerce status_id", strconv.Itoa(statusID))
}
