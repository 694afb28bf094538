package rules

import (
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Want is the state the merchant's store says a marketplace order should
// reach.
type Want struct {
	// Status is the lifecycle status wanted.
	Status order.Status
	// Parcels are every parcel the store reported for the order; Plan ships
	// the lines the marketplace does not have shipped yet.
	Parcels []order.Parcel
	// CancelReason is passed to Marketplace.Cancel by the caller.
	CancelReason string
	// Refunds are the store's refunds, returns and line cancellations:
	// Plan cancels on the marketplace the lines they cancel where it can
	// (see partial.go); Unsupported lists what it cannot.
	Refunds []order.Refund
	// OccurredAt is when the store made the change. Plan does not use it:
	// staleness is decided by the lifecycle (see Apply for event order).
	OccurredAt time.Time
}

// Action is one kind of marketplace call.
type Action string

// The marketplace calls a Plan can ask for, one per Marketplace method.
const (
	ActionAccept Action = "accept"
	ActionShip   Action = "ship"
	ActionCancel Action = "cancel"
	// ActionCancelLines cancels some lines of an order (Step.Lines, each
	// naming its MarketplaceLineID), the rest left to ship.
	ActionCancelLines Action = "cancel-lines"
	// ActionRefundLines refunds whole shipped lines of an order (Step.Lines,
	// each naming its MarketplaceLineID and the quantity it holds).
	ActionRefundLines Action = "refund-lines"
)

// Step is one marketplace call to make. Parcel is set for ActionShip only:
// its Lines carry the marketplace line IDs (MarketplaceLineID) of the lines
// still to ship and its Tracking is complete for the marketplace's
// capabilities.
type Step struct {
	Action Action
	Parcel order.Parcel
	// Lines are the lines ActionCancelLines cancels, or ActionRefundLines
	// refunds.
	Lines []order.Line `json:",omitempty"`
}

// Plan decides which marketplace calls bring remote to want, in order, or
// returns exactly why none can, before any call is made. It is pure and
// idempotent: planning again after the steps succeeded returns no steps.
//
// The rules:
//   - Nothing to do (nil, nil) when the marketplace already has the wanted
//     status, or is further along (a stale want: "accepted" arriving after
//     "shipped"), or the want is a status ordersync never pushes (pending
//     payment, awaiting acceptance) or StatusUnknown (the store's status
//     could not be read). A status outside the lifecycle, wanted or
//     remote, is invalid_data.
//   - Shipping an order awaiting acceptance on a marketplace with
//     caps.AcceptRequired chains an accept step first.
//   - Each parcel is its own ship step, with only the lines not shipped yet;
//     a parcel whose lines have all shipped is skipped. The order stays
//     partially shipped until every line has.
//   - Every parcel must name its lines and carry a tracking number (and a
//     carrier and URL where caps require them, the URL derived from the
//     carrier when possible): else shipping_data_missing, "missing" naming
//     what to add.
//   - Moves the marketplace cannot make (ship or accept a cancelled or
//     unpaid order, cancel a shipped one) are invalid_transition with
//     "from", "to" and "marketplace".
//   - Cancelling where !caps.Cancel is cancel_unsupported.
//   - A wanted refund before shipping is a cancellation; after shipping
//     the order's status needs no call.
//   - Lines the store refunded or took back (Want.Refunds of kind refund
//     or return) of an order the marketplace shows shipped are refunded
//     there, whole shipped lines only, one step for them all, last, where
//     caps.RefundLines (see lineRefunds); lines it shows refunded already
//     are not sent again. The rest is left to Unsupported.
//   - Lines the store cancelled (Want.Refunds of kind cancel) that the
//     marketplace still has live are cancelled first, one step for them
//     all, where caps allow (CancelLines, CancelAcceptedLines); the rest
//     of the order is planned as usual. What caps do not allow is left to
//     Unsupported, never an error here: it must not hold the rest.
//   - A marketplace that ships whole orders (!caps.PerLine) gets one ship
//     step when the store's parcels together carry every live line: the
//     first parcel's tracking (Unsupported names the others).
//
// Plan is platform-neutral: platform only names the marketplace in errors
// (the "marketplace" detail, as merchants know it: "Back Market").
// Calls a marketplace splits further are the connector's business: Mirakl's
// Ship sends the tracking (OR23) then confirms shipment (OR24), and Back
// Market's Accept and Ship post once per line.
func Plan(platform order.Platform, caps order.Capabilities, remote order.MarketplaceOrder, want Want) ([]Step, error) {
	p := planner{platform: platform, caps: caps, remote: remote, want: want}
	switch {
	case want.Status == order.StatusUnknown:
		return nil, nil // the store's status is not known: nothing to push
	case !Known(want.Status):
		return nil, p.fail(syncerr.InvalidData, "field", "wanted status "+strconv.Quote(string(want.Status)))
	case !Known(remote.Status):
		return nil, p.fail(syncerr.InvalidData, "field", "marketplace status "+strconv.Quote(remote.State))
	}
	cancels, refunds := p.cancelLines(), p.refundLines()
	steps, err := p.plan()
	if err != nil || len(cancels)+len(refunds) == 0 {
		return steps, err
	}
	return append(append(cancels, steps...), refunds...), nil
}

func (p planner) plan() ([]Step, error) {
	remote, want := p.remote, p.want
	switch want.Status {
	case order.StatusAccepted, order.StatusPartiallyCancelled:
		return p.accept()
	case order.StatusPartiallyShipped, order.StatusShipped, order.StatusDelivered:
		return p.ship()
	case order.StatusCancelled, order.StatusRefused:
		return p.cancel()
	case order.StatusRefunded:
		if Rank(remote.Status) >= Rank(order.StatusPartiallyShipped) {
			return nil, nil // ended already, or a refund after shipping
		}
		return p.cancel()
	default:
		return nil, nil // pending payment, awaiting acceptance: never pushed
	}
}

// planner holds one Plan call's inputs.
type planner struct {
	platform order.Platform
	caps     order.Capabilities
	remote   order.MarketplaceOrder
	want     Want
}

// fail builds an error naming the marketplace as merchants know it. The
// "order" detail is left to the caller, which knows the store's order name
// the merchant recognises.
func (p planner) fail(code syncerr.Code, kv ...string) *syncerr.Error {
	return syncerr.E(code, append(kv, "marketplace", p.platform.DisplayName())...)
}

func (p planner) invalid(from order.Status, kv ...string) *syncerr.Error {
	return p.fail(syncerr.InvalidTransition,
		append([]string{"from", string(from), "to", string(p.want.Status)}, kv...)...)
}

func (p planner) accept() ([]Step, error) {
	switch from := p.remote.Status; {
	case Terminal(from), from == order.StatusPendingPayment:
		return nil, p.invalid(from)
	case from == order.StatusAwaitingAcceptance:
		return []Step{{Action: ActionAccept}}, nil
	default:
		return nil, nil // accepted already, or further along
	}
}

func (p planner) cancel() ([]Step, error) {
	switch from := p.remote.Status; {
	case Terminal(from):
		return nil, nil // ended already: cancelled, refused or refunded
	case Rank(from) >= Rank(order.StatusPartiallyShipped):
		return nil, p.invalid(from)
	case !p.caps.Cancel:
		return nil, p.fail(syncerr.CancelUnsupported)
	default:
		return []Step{{Action: ActionCancel}}, nil
	}
}

func (p planner) ship() ([]Step, error) {
	from := p.remote.Status
	switch {
	case Terminal(from), from == order.StatusPendingPayment:
		return nil, p.invalid(from)
	case shippedOrBeyond(from):
		return nil, nil // every line has shipped: nothing left, or a stale want
	}
	if len(p.want.Parcels) == 0 {
		return nil, p.fail(syncerr.ShippingDataMissing, "missing", missingNumber)
	}
	used := make(map[string]bool) // marketplace line IDs already given a parcel in this plan
	needAccept := p.caps.AcceptRequired && from == order.StatusAwaitingAcceptance
	var steps []Step
	for _, parcel := range p.want.Parcels {
		step, accept, err := p.shipParcel(parcel, used)
		if err != nil {
			return nil, err
		}
		needAccept = needAccept || accept
		if len(step.Parcel.Lines) > 0 {
			steps = append(steps, step)
		}
	}
	if !p.caps.PerLine {
		steps = p.wholeOrder(steps)
	}
	if needAccept {
		steps = append([]Step{{Action: ActionAccept}}, steps...)
	}
	return steps, nil
}

// shipParcel checks one parcel and resolves its lines to the marketplace's.
// The step it returns has no lines when every line has shipped already;
// accept reports a line that must be accepted before it can ship.
func (p planner) shipParcel(parcel order.Parcel, used map[string]bool) (step Step, accept bool, err error) {
	tracking, missing := completeTracking(parcel.Tracking, p.caps)
	if len(parcel.Lines) == 0 {
		missing = append(missing, missingLines)
	}
	if len(missing) > 0 {
		return Step{}, false, p.parcelFail(parcel, syncerr.ShippingDataMissing, "missing", joinWords(missing))
	}
	out := order.Parcel{ID: parcel.ID, Tracking: tracking}
	for _, l := range parcel.Lines {
		ml, ok := p.resolveLine(l, tracking.Number, used)
		if !ok {
			sku := l.SKU
			if sku == "" {
				sku = l.MarketplaceLineID
			}
			return Step{}, false, p.parcelFail(parcel, syncerr.SKUNotFound, "sku", sku)
		}
		used[ml.ID] = true
		status := ml.Status
		if status == order.StatusUnknown {
			status = p.remote.Status // a marketplace that tracks only the order
		}
		switch {
		case shippedOrBeyond(status):
			continue // shipped already: never ship a line twice
		case Terminal(status), status == order.StatusPendingPayment:
			return Step{}, false, p.invalid(status, "line", ml.ID, "sku", ml.SKU)
		case status == order.StatusAwaitingAcceptance && p.caps.AcceptRequired:
			accept = true
		}
		line := l
		line.MarketplaceLineID = ml.ID
		if line.SKU == "" {
			line.SKU = ml.SKU
		}
		if line.Quantity <= 0 {
			line.Quantity = ml.Quantity
		}
		out.Lines = append(out.Lines, line)
	}
	return Step{Action: ActionShip, Parcel: out}, accept, nil
}

func (p planner) parcelFail(parcel order.Parcel, code syncerr.Code, kv ...string) *syncerr.Error {
	if parcel.ID != "" {
		kv = append(kv, "parcel", parcel.ID)
	}
	return p.fail(code, kv...)
}

// resolveLine finds the marketplace line a store line ships: by its
// marketplace line ID when known, else by SKU. When several marketplace
// lines share the SKU, the one already shipped with this tracking number
// comes first (so planning again skips it), then one not yet given a parcel
// in this plan and not shipped, then the first.
func (p planner) resolveLine(l order.Line, number string, used map[string]bool) (order.MarketplaceLine, bool) {
	lines := p.remote.Lines
	if id := strings.TrimSpace(l.MarketplaceLineID); id != "" {
		for _, ml := range lines {
			if ml.ID == id {
				return ml, true
			}
		}
		return order.MarketplaceLine{}, false
	}
	sku := strings.TrimSpace(l.SKU)
	var candidates []order.MarketplaceLine
	for _, ml := range lines {
		if sku != "" && strings.TrimSpace(ml.SKU) == sku {
			candidates = append(candidates, ml)
		}
	}
	if len(candidates) == 0 {
		return order.MarketplaceLine{}, false
	}
	for _, ml := range candidates {
		if shippedOrBeyond(ml.Status) && SameTrackingNumber(ml.Tracking.Number, number) {
			return ml, true
		}
	}
	for _, ml := range candidates {
		if !used[ml.ID] && !shippedOrBeyond(ml.Status) {
			return ml, true
		}
	}
	return candidates[0], true
}
