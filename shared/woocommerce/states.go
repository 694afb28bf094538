package woocommerce

import (
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// statuses maps a WooCommerce order status (without "wc-") onto the common
// lifecycle. It follows ../shared/reference/platforms.md; a status missing
// from it is reported as invalid_data rather than guessed, because
// WooCommerce allows custom statuses.
var statuses = map[string]order.Status{
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

// Status maps a WooCommerce order status ("processing", or "wc-processing"
// as stored) onto the lifecycle. A custom or unknown status returns
// StatusUnknown and an invalid_data error.
func Status(status string) (order.Status, error) {
	key := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(status)), "wc-")
	if s, ok := statuses[key]; ok {
		return s, nil
	}
	return rules.UnknownState(order.WooCommerce, "WooCommerce order status", status)
}
