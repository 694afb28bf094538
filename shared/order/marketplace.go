package order

import (
	"slices"
	"time"
)

// MarketplaceOrder is an order as a marketplace holds it, in ordersync's
// terms. State keeps the marketplace's own words (a Back Market number, a
// Mirakl code) for messages and the timeline.
type MarketplaceOrder struct {
	ID              string            `json:"id"`
	Status          Status            `json:"status"`
	State           string            `json:"state"`
	Lines           []MarketplaceLine `json:"lines"`
	Tracking        Tracking          `json:"tracking,omitempty"`
	ShippingAddress *Address          `json:"shipping_address,omitempty"`
	CreatedAt       time.Time         `json:"created_at,omitempty"`
	UpdatedAt       time.Time         `json:"updated_at,omitempty"`
	// CanCancel is the marketplace's own word on cancelling this order now,
	// where it gives one (Mirakl's can_cancel).
	CanCancel bool `json:"can_cancel,omitempty"`
	// AddressRestricted means the marketplace withheld the shipping
	// address from ordersync (Amazon's restricted data, for an app not
	// granted the role): ShippingAddress is nil for that reason, and an
	// import is held as address_restricted rather than address_missing.
	AddressRestricted bool `json:"address_restricted,omitempty"`
	// Refunds are the refunds the marketplace shows on the order (Mirakl's
	// order line refunds, Back Market's lines refunded), each with an ID
	// of its own, for the order's timeline.
	Refunds []Refund `json:"refunds,omitempty"`
}

// MarketplaceLine is one line of a marketplace order, with its own status:
// Back Market and Mirakl accept and ship per line.
type MarketplaceLine struct {
	ID       string   `json:"id"`
	SKU      string   `json:"sku"`
	Quantity int      `json:"quantity"`
	Status   Status   `json:"status"`
	State    string   `json:"state"`
	Tracking Tracking `json:"tracking,omitempty"`
	// RefundedInPart means the marketplace's refunds of the line (in
	// MarketplaceOrder.Refunds) cover less than the whole line, whatever
	// quantity they state: Mirakl's refund quantity is informative, and a
	// refund of it for less than the line's price is a part. Such a line
	// cannot be refunded whole any more.
	RefundedInPart bool `json:"refunded_in_part,omitempty"`
}

// Capabilities says what a marketplace's API lets an integration do.
type Capabilities struct {
	// Cancel is false where the marketplace offers no cancel call: the
	// merchant must cancel in its back office (cancel_unsupported).
	Cancel bool `json:"cancel"`
	// AcceptRequired means an order must be accepted before it ships.
	AcceptRequired bool `json:"accept_required"`
	// TrackingURLRequired means a shipment needs a tracking URL as well as a
	// number (derived from the carrier when missing, where possible).
	TrackingURLRequired bool `json:"tracking_url_required"`
	// TrackingURL means a shipment may carry a tracking URL, so the buyer
	// gets a link: ordersync derives one from a known carrier when the
	// store sent none (rules.CompleteTracking).
	TrackingURL bool `json:"tracking_url"`
	// CarrierRequired means a shipment needs a carrier name or code.
	CarrierRequired bool `json:"carrier_required"`
	// PerLine means accept and ship act on order lines one at a time: an
	// order may ship in several parcels, each with its own tracking.
	// Without it an order ships whole, with one tracking number.
	PerLine bool `json:"per_line"`
	// CancelLines means a line still awaiting acceptance can be cancelled
	// on its own (Back Market's refusal of a line); CancelAcceptedLines,
	// an accepted one too. Without them a line cancelled in the store is
	// explained as cancel_unsupported, the rest of the order synced.
	CancelLines         bool `json:"cancel_lines,omitempty"`
	CancelAcceptedLines bool `json:"cancel_accepted_lines,omitempty"`
	// RefundLines means a whole line of an order the marketplace shows
	// shipped can be refunded (Mirakl's OR28), with the marketplace's own
	// amounts for it. Without it a refund or return the store makes after
	// shipment is explained as refund_unsupported; with it, only what is
	// not a whole shipped line (part of a line's quantity, money only).
	RefundLines bool `json:"refund_lines,omitempty"`
}

// LineIndex returns the index in lines of the line whose ID is id or,
// when id is empty or names no line, of the first line with sku that keep
// accepts (nil keeps any); -1 when there is none. A store parcel line names
// its marketplace line by ID where the order was imported, by SKU where not.
func LineIndex(lines []MarketplaceLine, id, sku string, keep func(MarketplaceLine) bool) int {
	if id != "" {
		if i := slices.IndexFunc(lines, func(l MarketplaceLine) bool { return l.ID == id }); i >= 0 {
			return i
		}
	}
	return slices.IndexFunc(lines, func(l MarketplaceLine) bool { return l.SKU == sku && (keep == nil || keep(l)) })
}
