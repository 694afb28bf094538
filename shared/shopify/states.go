package shopify

import (
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// The tables below map Shopify's order statuses onto the common lifecycle.
// They follow ../shared/reference/platforms.md; a value missing from a
// table is reported as invalid_data rather than guessed.

// fulfillmentStatuses maps Shopify's REST fulfillment_status (and the
// GraphQL display spellings, lower-cased) to what it says about shipping.
// The empty status means nothing decided by fulfilment: the financial
// status decides.
var fulfillmentStatuses = map[string]order.Status{
	"":                    order.StatusUnknown,
	"null":                order.StatusUnknown,
	"unfulfilled":         order.StatusUnknown,
	"open":                order.StatusUnknown,
	"in_progress":         order.StatusUnknown,
	"on_hold":             order.StatusUnknown,
	"scheduled":           order.StatusUnknown,
	"pending_fulfillment": order.StatusUnknown,
	"request_declined":    order.StatusUnknown,
	"partial":             order.StatusPartiallyShipped,
	"partially_fulfilled": order.StatusPartiallyShipped,
	"fulfilled":           order.StatusShipped,
	// Restocked: every item went back to stock without shipping.
	"restocked": order.StatusCancelled,
}

// financialStatuses maps Shopify's financial_status for an order that has
// not shipped yet.
var financialStatuses = map[string]order.Status{
	"pending":            order.StatusPendingPayment,
	"partially_paid":     order.StatusPendingPayment,
	"expired":            order.StatusPendingPayment, // the authorisation lapsed; nothing captured
	"authorized":         order.StatusAccepted,       // payment guaranteed: the merchant may fulfil
	"paid":               order.StatusAccepted,
	"partially_refunded": order.StatusAccepted, // still to ship
	"refunded":           order.StatusRefunded,
	"voided":             order.StatusCancelled,
}

// Status maps a Shopify order's financial and fulfilment statuses and its
// cancellation onto the lifecycle. Both REST spellings (partial) and lower-
// or upper-case GraphQL display spellings (PARTIALLY_FULFILLED) are
// understood. Cancellation wins, then fulfilment (a shipped order stays
// shipped whatever happens to the payment), then the financial status. An
// unknown status returns StatusUnknown and an invalid_data error.
func Status(financialStatus, fulfillmentStatus string, cancelled bool) (order.Status, error) {
	if cancelled {
		return order.StatusCancelled, nil
	}
	fulfillment := strings.ToLower(strings.TrimSpace(fulfillmentStatus))
	s, ok := fulfillmentStatuses[fulfillment]
	if !ok {
		return rules.UnknownState(order.Shopify, "Shopify fulfillment status", fulfillmentStatus)
	}
	if s != order.StatusUnknown {
		return s, nil
	}
	if s, ok := financialStatuses[strings.ToLower(strings.TrimSpace(financialStatus))]; ok {
		return s, nil
	}
	return rules.UnknownState(order.Shopify, "Shopify financial status", financialStatus)
}
