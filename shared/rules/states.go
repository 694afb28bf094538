package rules

import (
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// The tables below map each platform's own states onto the common lifecycle.
// They follow ../shared/reference/platforms.md; a value missing from a table
// is reported as invalid_data rather than guessed, because platforms add
// states (Mirakl says so, WooCommerce allows custom ones).

// backMarketOrderStates maps a Back Market order's numeric state.
var backMarketOrderStates = map[int]order.Status{
	0: order.StatusPendingPayment,
	1: order.StatusAwaitingAcceptance, // "To accept"
	3: order.StatusAccepted,           // "Waiting for fulfilment"
	8: order.StatusCancelled,          // failed or cancelled
	9: order.StatusShipped,            // "Fulfilled"
}

// backMarketLineStates maps a Back Market order line's numeric state.
var backMarketLineStates = map[int]order.Status{
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

// miraklStates maps a Mirakl order (or order line) state code.
var miraklStates = map[string]order.Status{
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

// shopifyFulfillment maps Shopify's REST fulfillment_status (and the
// GraphQL display spellings, lower-cased) to what it says about shipping.
// The empty status means nothing decided by fulfilment: the financial
// status decides.
var shopifyFulfillment = map[string]order.Status{
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

// shopifyFinancial maps Shopify's financial_status for an order that has
// not shipped yet.
var shopifyFinancial = map[string]order.Status{
	"pending":            order.StatusPendingPayment,
	"partially_paid":     order.StatusPendingPayment,
	"expired":            order.StatusPendingPayment, // the authorisation lapsed; nothing captured
	"authorized":         order.StatusAccepted,       // payment guaranteed: the merchant may fulfil
	"paid":               order.StatusAccepted,
	"partially_refunded": order.StatusAccepted, // still to ship
	"refunded":           order.StatusRefunded,
	"voided":             order.StatusCancelled,
}

// wooCommerceStatuses maps a WooCommerce order status (without "wc-").
var wooCommerceStatuses = map[string]order.Status{
	"pending":        order.StatusPendingPayment,
	"on-hold":        order.StatusPendingPayment, // awaiting a bank transfer or a cheque
	"failed":         order.StatusPendingPayment, // the customer may pay again: not terminal
	"checkout-draft": order.StatusPendingPayment,
	"draft":          order.StatusPendingPayment,
	"processing":     order.StatusAccepted,
	"completed":      order.StatusShipped,
	"cancelled":      order.StatusCancelled,
	"refunded":       order.StatusRefunded,
}

// bigCommerceStatuses maps a BigCommerce status_id.
var bigCommerceStatuses = map[int]order.Status{
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

// amazonStatuses maps an SP-API v0 OrderStatus.
var amazonStatuses = map[string]order.Status{
	"Pending":             order.StatusPendingPayment,
	"PendingAvailability": order.StatusPendingPayment, // a pre-order, payment not authorised
	"Unshipped":           order.StatusAccepted,
	"PartiallyShipped":    order.StatusPartiallyShipped,
	"Shipped":             order.StatusShipped,
	"InvoiceUnconfirmed":  order.StatusShipped, // shipped; invoice confirmation pending
	"Canceled":            order.StatusCancelled,
	"Unfulfillable":       order.StatusCancelled, // Multi-Channel Fulfillment that cannot ship
}

// unknownState reports a platform state no table knows.
func unknownState(platform order.Platform, field, value string) (order.Status, error) {
	return order.StatusUnknown, syncerr.E(syncerr.InvalidData,
		"field", field+" "+strconv.Quote(value),
		"platform", string(platform),
		"value", value)
}

// BackMarketOrderState maps a Back Market order state onto the lifecycle.
// An unknown state returns StatusUnknown and an invalid_data error.
func BackMarketOrderState(state int) (order.Status, error) {
	if s, ok := backMarketOrderStates[state]; ok {
		return s, nil
	}
	return unknownState(order.BackMarket, "Back Market order state", strconv.Itoa(state))
}

// BackMarketLineState maps a Back Market order line state onto the
// lifecycle. An unknown state returns StatusUnknown and an invalid_data
// error.
func BackMarketLineState(state int) (order.Status, error) {
	if s, ok := backMarketLineStates[state]; ok {
		return s, nil
	}
	return unknownState(order.BackMarket, "Back Market order line state", strconv.Itoa(state))
}

// MiraklState maps a Mirakl order or order line state code onto the
// lifecycle. Codes are matched without regard to case or surrounding space.
// An unknown code returns StatusUnknown and an invalid_data error.
func MiraklState(state string) (order.Status, error) {
	if s, ok := miraklStates[strings.ToUpper(strings.TrimSpace(state))]; ok {
		return s, nil
	}
	return unknownState(order.Mirakl, "Mirakl order state", state)
}

// ShopifyStatus maps a Shopify order's financial and fulfilment statuses
// and its cancellation onto the lifecycle. Both REST spellings (partial) and
// lower- or upper-case GraphQL display spellings (PARTIALLY_FULFILLED) are
// understood. Cancellation wins, then fulfilment (a shipped order stays
// shipped whatever happens to the payment), then the financial status. An
// unknown status returns StatusUnknown and an invalid_data error.
func ShopifyStatus(financialStatus, fulfillmentStatus string, cancelled bool) (order.Status, error) {
	if cancelled {
		return order.StatusCancelled, nil
	}
	fulfillment := strings.ToLower(strings.TrimSpace(fulfillmentStatus))
	s, ok := shopifyFulfillment[fulfillment]
	if !ok {
		return unknownState(order.Shopify, "Shopify fulfillment status", fulfillmentStatus)
	}
	if s != order.StatusUnknown {
		return s, nil
	}
	if s, ok := shopifyFinancial[strings.ToLower(strings.TrimSpace(financialStatus))]; ok {
		return s, nil
	}
	return unknownState(order.Shopify, "Shopify financial status", financialStatus)
}

// WooCommerceStatus maps a WooCommerce order status ("processing", or
// "wc-processing" as stored) onto the lifecycle. A custom or unknown status
// returns StatusUnknown and an invalid_data error.
func WooCommerceStatus(status string) (order.Status, error) {
	key := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(status)), "wc-")
	if s, ok := wooCommerceStatuses[key]; ok {
		return s, nil
	}
	return unknownState(order.WooCommerce, "WooCommerce order status", status)
}

// BigCommerceStatus maps a BigCommerce status_id onto the lifecycle. An
// unknown id returns StatusUnknown and an invalid_data error.
func BigCommerceStatus(statusID int) (order.Status, error) {
	if s, ok := bigCommerceStatuses[statusID]; ok {
		return s, nil
	}
	return unknownState(order.BigCommerce, "BigCommerce status_id", strconv.Itoa(statusID))
}

// AmazonStatus maps an Amazon SP-API OrderStatus onto the lifecycle. An
// unknown status returns StatusUnknown and an invalid_data error.
func AmazonStatus(status string) (order.Status, error) {
	if s, ok := amazonStatuses[strings.TrimSpace(status)]; ok {
		return s, nil
	}
	return unknownState(order.Amazon, "Amazon order status", status)
}
