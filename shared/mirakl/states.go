package mirakl

import (
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// states maps a Mirakl order (or order line) state code onto the common
// lifecycle. It follows ../shared/reference/platforms.md; a code missing
// from it is reported as invalid_data rather than guessed, because Mirakl
// says it adds states.
var states = map[string]order.Status{
	"STAGING":            order.StatusPendingPayment, // fraud check, before the seller sees it
	"WAITING_ACCEPTANCE": order.StatusAwaitingAcceptance,
	// Mirakl debits the customer after the seller accepted: the order is
	// accepted but cannot ship yet (OR24 needs SHIPPING). Mapping it to
	// accepted keeps "accept" a no-op and leaves a premature ship to the
	// connector, which reports Mirakl's refusal as invalid_transition.
	"WAITING_DEBIT":         order.StatusAccepted,
	"WAITING_DEBIT_PAYMENT": order.StatusAccepted,
	"SHIPPING":              order.StatusAccepted,
	"SHIPPED":               order.StatusShipped,
	"TO_COLLECT":            order.StatusShipped, // at the pick-up point: the seller's part is done
	"RECEIVED":              order.StatusDelivered,
	"CLOSED":                order.StatusDelivered,
	"REFUSED":               order.StatusRefused,
	"CANCELED":              order.StatusCancelled,
}

// State maps a Mirakl order or order line state code onto the lifecycle.
// Codes are matched without regard to case or surrounding space. An
// unknown code returns StatusUnknown and an invalid_data error.
func State(state string) (order.Status, error) {
	if s, ok := states[strings.ToUpper(strings.TrimSpace(state))]; ok {
		return s, nil
	}
	return rules.UnknownState(order.Mirakl, "Mirakl order state", state)
}
