// Package syncerr is the one error catalogue of ordersync. Every failure that
// reaches a merchant carries a Code from it; the Code decides what happens
// next (retry, record, pause) through its Kind, and the words a merchant
// reads come from catalogue.json, which support staff edit without touching Go.
package syncerr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Code is a stable identifier of a failure, used in DynamoDB items, DLQ
// message attributes, emails, logs and metrics. Never rename one.
type Code string

// The catalogue's codes.
const (
	ShippingDataMissing Code = "shipping_data_missing"
	InvalidTransition   Code = "invalid_transition"
	CancelUnsupported   Code = "cancel_unsupported"
	// RefundUnsupported: a refund or return made at the store after
	// shipment that the marketplace's API cannot take (no refund call, or
	// not a whole shipped line where only those are refunded: Mirakl's
	// OR28): recorded on the order's timeline, explained once.
	RefundUnsupported Code = "refund_unsupported"
	// ParcelsUnsupported: an order shipped in several parcels to a
	// marketplace that takes one tracking number per order (Mirakl
	// without multiple shipments): the first was sent, the others named.
	ParcelsUnsupported     Code = "parcels_unsupported"
	SKUNotFound            Code = "sku_not_found"
	SKUDuplicate           Code = "sku_duplicate"
	AddressMissing         Code = "address_missing"
	AddressInvalid         Code = "address_invalid"
	OrderNotEditable       Code = "order_not_editable"
	InventoryHeld          Code = "inventory_held"
	RateLimited            Code = "rate_limited"
	MarketplaceUnavailable Code = "marketplace_unavailable"
	AuthExpired            Code = "auth_expired"
	StoreDisconnected      Code = "store_disconnected"
	PlatformUnsupported    Code = "platform_unsupported"
	OrderNotFound          Code = "order_not_found"
	InvalidData            Code = "invalid_data"
	// OrderLinkUnverified: a store order names a marketplace order only
	// through data its buyer can write (Shopify note attributes), and
	// ordersync never linked the two. It is held, never synced.
	OrderLinkUnverified Code = "order_link_unverified"
	// InternalError: ordersync itself failed (a bug, its own storage down)
	// on an order's last try. The merchant has nothing to fix.
	InternalError Code = "internal_error"
	// ConnectionPaused: the merchant paused the connection (the merchant
	// API's pause route); its orders wait until the merchant resumes it.
	ConnectionPaused Code = "connection_paused"
	// MarketplaceOutOfStep: the marketplace answered, but its order does
	// not show changes ordersync already made to it (its calls were
	// answered yes and recorded, so they are never sent again): its reads
	// lag its writes, or the order was changed back or made anew (a
	// sandbox reset). Not "did not answer": it did.
	MarketplaceOutOfStep Code = "marketplace_out_of_step"
	// AddressRestricted: the marketplace withholds the order's shipping
	// address from ordersync (Amazon's restricted data, for an app not
	// granted the role). The import is held, never guessed.
	AddressRestricted Code = "address_restricted"
)

// Kind says what the sync does with a failure.
type Kind string

const (
	// Transient failures are retried (SQS redrive), then left in the DLQ.
	Transient Kind = "transient"
	// Permanent failures are recorded, emailed and sent to the DLQ at once:
	// retrying cannot help until something changes.
	Permanent Kind = "permanent"
	// Auth failures pause the connection and ask the merchant to reconnect.
	Auth Kind = "auth"
)

// Error is a classified failure. Details fill the placeholders of the
// catalogue's cause and remedy ({order}, {missing}, {from}, {to}, …).
type Error struct {
	Code       Code
	Details    map[string]string
	RetryAfter time.Duration // a marketplace's Retry-After, when it sent one
	Err        error         // the underlying error, never shown to a merchant
}

// E builds an Error. Details come as key, value pairs.
func E(code Code, kv ...string) *Error {
	e := &Error{Code: code}
	for i := 0; i+1 < len(kv); i += 2 {
		if e.Details == nil {
			e.Details = make(map[string]string, len(kv)/2)
		}
		e.Details[kv[i]] = kv[i+1]
	}
	return e
}

// Wrap returns a copy of e that wraps err.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// With returns a copy of e with more details, as key, value pairs; a key
// e already has keeps its value.
func (e *Error) With(kv ...string) *Error {
	c := *e
	c.Details = make(map[string]string, len(e.Details)+len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		c.Details[kv[i]] = kv[i+1]
	}
	for k, v := range e.Details {
		c.Details[k] = v
	}
	return &c
}

// After returns a copy of e that asks to be retried no sooner than d.
func (e *Error) After(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, e.Details[k])
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrPartlyApplied is in the chain of an error from a call that made part
// of its change before it failed (a Back Market shipment whose first line
// shipped): like a lost answer's, its outcome is known only by reading the
// order again, and reads may lag.
var ErrPartlyApplied = errors.New("part of the change was made")

// PartlyApplied marks err as coming from a call that made part of its
// change. A classified err keeps its code.
func PartlyApplied(err error) error {
	if e, ok := As(err); ok {
		c := *e
		c.Err = errors.Join(ErrPartlyApplied, e.Err)
		return &c
	}
	return fmt.Errorf("%w: %w", ErrPartlyApplied, err)
}

// As returns the classified Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// CodeOf returns err's code. An unclassified error is reported as
// marketplace_unavailable: something outside failed in a way nobody
// classified, and retrying is the safe default.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return MarketplaceUnavailable
}

// KindOf returns what to do with err, from the catalogue.
func KindOf(err error) Kind {
	return Lookup(CodeOf(err)).Kind
}

// RetryAfterOf returns the delay a marketplace asked for, or zero.
func RetryAfterOf(err error) time.Duration {
	if e, ok := As(err); ok {
		return e.RetryAfter
	}
	return 0
}

// IsTransient reports whether code is a transient failure in the
// catalogue: one the sync retries by itself (for order.SyncStateOf).
func IsTransient(code string) bool { return Lookup(Code(code)).Kind == Transient }
