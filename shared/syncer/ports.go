// Package sync applies one order event: it brings the marketplace order to
// the state the merchant's store says it should have, or records exactly why
// not. It owns the retry policy; the adapters it uses only classify errors.
package syncer

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// Marketplace is one connected marketplace account.
//
// Implementations never retry. Every error they return is a *syncerr.Error
// with a code from the catalogue: rate_limited (with RetryAfter when the
// marketplace sent one), marketplace_unavailable (5xx, timeouts, transport
// errors), auth_expired (401/403), order_not_found, invalid_transition
// (the marketplace refused the move for the order's state), or invalid_data.
type Marketplace interface {
	// Order fetches one order.
	Order(ctx context.Context, id string) (order.MarketplaceOrder, error)
	// OrdersUpdatedSince lists orders changed at or after since, oldest
	// first, following the marketplace's paging to the end.
	OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.MarketplaceOrder, error)
	// Accept accepts every line of o still awaiting acceptance. Accepting an
	// accepted order is a no-op, not an error.
	Accept(ctx context.Context, o order.MarketplaceOrder) error
	// Ship marks the parcel's lines of o shipped with the parcel's tracking
	// (all lines of o when the parcel names none). Shipping a line already
	// shipped with the same tracking is a no-op, not an error.
	Ship(ctx context.Context, o order.MarketplaceOrder, p order.Parcel) error
	// Cancel cancels o. Where Capabilities().Cancel is false it returns
	// cancel_unsupported without calling the marketplace.
	Cancel(ctx context.Context, o order.MarketplaceOrder, reason string) error
	// Capabilities says what this marketplace's API allows.
	Capabilities() order.Capabilities
}

// Storefront is the merchant's own store or warehouse, as the sync and the
// refresh use it. Errors are classified as for Marketplace, with
// store_disconnected in place of auth_expired.
type Storefront interface {
	// Order fetches one store order as an event describing its current
	// state (used when a webhook carries only an id, as BigCommerce's do).
	Order(ctx context.Context, id string) (order.Event, error)
	// CreateOrder imports a marketplace order into the store and returns the
	// store's order id and the name the store shows it by ("#1001", as
	// Order names it). Importing an order already imported returns its
	// existing id and name (the marketplace order id is the idempotency
	// key).
	CreateOrder(ctx context.Context, o order.MarketplaceOrder) (id, name string, err error)
	// OrdersUpdatedSince lists store orders changed at or after since.
	OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.Event, error)
}

// LineCanceller is a Marketplace that cancels single lines of an order
// (Capabilities().CancelLines): the sync asks it only for lines
// rules.Plan found live and cancellable.
type LineCanceller interface {
	// CancelLines cancels the lines of o named by lines' MarketplaceLineID
	// (else SKU), each whole. A line already cancelled is a no-op, not an
	// error; a line the marketplace refuses to cancel is
	// invalid_transition, or cancel_unsupported when it offers no call for
	// the line's state.
	CancelLines(ctx context.Context, o order.MarketplaceOrder, lines []order.Line, reason string) error
}

// LineRefunder is a Marketplace that refunds whole lines of a shipped
// order (Capabilities().RefundLines): the sync asks it only for lines
// rules.Plan found shipped and not refunded there, once per refund (the
// step's claim, as for every call).
type LineRefunder interface {
	// RefundLines refunds the lines of o named by lines' MarketplaceLineID
	// (else SKU), each whole, with the marketplace's own amounts for them.
	// A line the marketplace shows refunded already is a no-op, not an
	// error, so a retry whose answer was lost sends nothing again; a line
	// it refuses to refund for its state is invalid_transition, and one
	// whose amounts are not known (or that it offers no refund of) is
	// refund_unsupported, nothing sent.
	RefundLines(ctx context.Context, o order.MarketplaceOrder, lines []order.Line) error
}
