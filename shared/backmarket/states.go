package backmarket

import (
	"strconv"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// The tables below map Back Market's numeric states onto the common
// lifecycle. They follow ../shared/reference/platforms.md; a value missing
// from a table is reported as invalid_data rather than guessed.

// orderStates maps a Back Market order's numeric state.
var orderStates = map[int]order.Status{
	0: order.StatusPendingPayment,
	1: order.StatusAwaitingAcceptance, // "To accept"
	3: order.StatusAccepted,           // "Waiting for fulfilment"
	8: order.StatusCancelled,          // failed or cancelled
	9: order.StatusShipped,            // "Fulfilled"
}

// lineStates maps a Back Market order line's numeric state.
var lineStates = map[int]order.Status{
	0: order.StatusPendingPayment,
	1: order.StatusAwaitingAcceptance,
	2: order.StatusAccepted,
	3: order.StatusShipped,
	4: order.StatusCancelled, // cancelled, or refused by the merchant
	5: order.StatusRefunded,  // refunded before shipping
	6: order.StatusRefunded,  // refunded after shipping
	// Unpaid lines are not terminal here: Back Market may still collect
	// the payment, and a terminal status would block that forever.
	7: order.StatusPendingPayment,
}

// OrderState maps a Back Market order state onto the lifecycle. An unknown
// state returns StatusUnknown and an invalid_data error.
func OrderState(state int) (order.Status, error) {
	if s, ok := orderStates[state]; ok {
		return s, nil
	}
	return rules.UnknownState(order.BackMarket, "Back Market order state", strconv.Itoa(state))
}

// LineState maps a Back Market order line state onto the lifecycle. An
// unknown state returns StatusUnknown and an invalid_data error.
func LineState(state int) (order.Status, error) {
	if s, ok := lineStates[state]; ok {
		return s, nil
	}
	return rules.UnknownState(order.BackMarket, "Back Market order line state", strconv.Itoa(state))
}
