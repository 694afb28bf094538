package rules

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Unsent is one store change a marketplace cannot take: a line cancel it
// has no call for, a refund after shipment, a second parcel's tracking.
// Key names the change (the same change, planned again, has the same
// key; a bigger cancel of the same line, another), so that the caller
// explains each once; Err is the explanation.
type Unsent struct {
	Key string
	Err *syncerr.Error
}

// Unsupported lists what of want the marketplace cannot take, in a stable
// order. Plan never fails on these: the rest of the order is planned and
// synced, and the caller tells the merchant once per Key.
//
//   - A line the store cancelled (Want.Refunds of kind cancel) that is
//     still live on the marketplace and caps do not let cancel (a line
//     awaiting acceptance needs CancelLines, an accepted one
//     CancelAcceptedLines), or whose marketplace line holds more than the
//     quantity cancelled (no marketplace here cancels part of a line):
//     cancel_unsupported, "line" naming quantity and SKU.
//   - A refund or return the store made (kind refund or return) of an
//     order the marketplace shows shipped (and not ended) that Plan cannot
//     send: refund_unsupported (the sync records every refund on the
//     order's timeline). Without caps.RefundLines that is each of them,
//     keyed by refund; with it (Mirakl's OR28), only what is not a whole
//     shipped line (see lineRefunds), keyed by SKU and quantity, and a
//     refund of money only (no lines), keyed by refund.
//   - Parcels beyond the first of an order shipped whole (!caps.PerLine):
//     parcels_unsupported naming the tracking sent and the others.
func Unsupported(platform order.Platform, caps order.Capabilities, remote order.MarketplaceOrder, want Want) []Unsent {
	p := planner{platform: platform, caps: caps, remote: remote, want: want}
	_, out := p.lineCancels()
	_, refunds := p.lineRefunds()
	out = append(out, refunds...)
	if u, ok := p.extraParcels(); ok {
		out = append(out, u)
	}
	return out
}

// refundLines is the step that refunds on the marketplace the shipped
// lines the store refunded or took back, where caps allow; nil when there
// are none.
func (p planner) refundLines() []Step {
	lines, _ := p.lineRefunds()
	if len(lines) == 0 {
		return nil
	}
	return []Step{{Action: ActionRefundLines, Lines: lines}}
}

// lineRefunds matches the store's refunded and returned quantities (kinds
// refund and return), SKU by SKU, to the lines of that SKU of an order
// the marketplace shows shipped: lines ended there or already refunded
// whole (remote.Refunds, by line, and not RefundedInPart) count first,
// then shipped lines not refunded at all are refunded whole while the
// quantity lasts. What is
// left cannot be sent whole (part of a line's quantity, the rest of a
// line refunded in part there, a line not shipped, a SKU the order does
// not hold): one Unsent per SKU. A refund of no line is money only, for
// the back office. Before shipment, and once the order ended, there is
// nothing: a refund then is a cancel, or done.
func (p planner) lineRefunds() ([]order.Line, []Unsent) {
	if Rank(p.remote.Status) < Rank(order.StatusPartiallyShipped) || Terminal(p.remote.Status) {
		return nil, nil
	}
	var unsent []Unsent
	qty := map[string]int{}
	for _, r := range p.want.Refunds {
		if r.Kind == order.RefundCancel {
			continue
		}
		lined := false
		for _, l := range r.Lines {
			if sku := strings.TrimSpace(l.SKU); sku != "" && l.Quantity > 0 && p.caps.RefundLines {
				qty[sku] += l.Quantity
				lined = true
			}
		}
		if !lined && r.ID != "" {
			unsent = append(unsent, Unsent{Key: "refund:" + r.ID,
				Err: p.fail(syncerr.RefundUnsupported, "line", DescribeLines(r.Lines))})
		}
	}
	refunded := map[string]int{} // marketplace line ID: quantity refunded there
	for _, r := range p.remote.Refunds {
		for _, l := range r.Lines {
			if l.MarketplaceLineID != "" {
				refunded[l.MarketplaceLineID] += max(l.Quantity, 0) // one of no quantity counts for none: never a refund missed
			}
		}
	}
	skus := make([]string, 0, len(qty))
	for sku := range qty {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	var todo []order.Line
	done := map[string]int{} // marketplace line ID: quantity counted as refunded there
	for _, sku := range skus {
		left := qty[sku]
		var live []order.MarketplaceLine
		for _, ml := range p.remote.Lines {
			if strings.TrimSpace(ml.SKU) != sku {
				continue
			}
			n := max(ml.Quantity, 1)
			if Terminal(lineStatus(ml, p.remote)) || (refunded[ml.ID] >= n && !ml.RefundedInPart) {
				left -= n
				continue
			}
			// The part refunded there already; at least a unit of a line
			// refunded in part is left, whatever quantity it states.
			done[ml.ID] = min(refunded[ml.ID], n-1)
			left -= done[ml.ID]
			live = append(live, ml)
		}
		cut := 0
		for _, ml := range live {
			if left <= 0 {
				break
			}
			n := max(ml.Quantity, 1) - done[ml.ID]
			whole := refunded[ml.ID] == 0 && !ml.RefundedInPart
			if shippedOrBeyond(lineStatus(ml, p.remote)) && whole && n <= left {
				todo = append(todo, order.Line{SKU: ml.SKU, Quantity: n, MarketplaceLineID: ml.ID})
				left -= n
				continue
			}
			c := min(n, left) // part of a line, or a line not shipped: not a whole refund
			cut += c
			left -= c
		}
		cut += max(left, 0) // more than the order holds of the SKU
		if cut > 0 {
			unsent = append(unsent, Unsent{Key: "refund:" + sku + "=" + strconv.Itoa(qty[sku]),
				Err: p.fail(syncerr.RefundUnsupported, "line", strconv.Itoa(cut)+" × "+sku, "sku", sku)})
		}
	}
	return todo, unsent
}

// cancelLines is the step that cancels on the marketplace the lines the
// store cancelled, where caps allow; nil when there are none.
func (p planner) cancelLines() []Step {
	lines, _ := p.lineCancels()
	if len(lines) == 0 {
		return nil
	}
	return []Step{{Action: ActionCancelLines, Lines: lines}}
}

// lineCancels matches the store's cancelled quantities, SKU by SKU, to the
// marketplace's lines of that SKU: lines already ended count first, then
// live lines not shipped are cancelled whole while the quantity lasts.
// It returns the lines to cancel and what cannot be.
func (p planner) lineCancels() ([]order.Line, []Unsent) {
	if Terminal(p.remote.Status) || wholeCancel(p.want.Status) {
		return nil, nil // the order ends as a whole: Plan cancels it
	}
	qty := map[string]int{}
	for _, r := range p.want.Refunds {
		if r.Kind != order.RefundCancel {
			continue
		}
		for _, l := range r.Lines {
			if sku := strings.TrimSpace(l.SKU); sku != "" && l.Quantity > 0 {
				qty[sku] += l.Quantity
			}
		}
	}
	skus := make([]string, 0, len(qty))
	for sku := range qty {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	var todo []order.Line
	var unsent []Unsent
	for _, sku := range skus {
		left := qty[sku]
		var live []order.MarketplaceLine
		for _, ml := range p.remote.Lines {
			if strings.TrimSpace(ml.SKU) != sku {
				continue
			}
			if Terminal(lineStatus(ml, p.remote)) {
				left -= max(ml.Quantity, 1)
				continue
			}
			live = append(live, ml)
		}
		for _, ml := range live {
			if left <= 0 {
				break
			}
			status := lineStatus(ml, p.remote)
			n := max(ml.Quantity, 1)
			if Rank(status) >= Rank(order.StatusPartiallyShipped) {
				continue // shipped already: a return now, not a cancel
			}
			can := (status == order.StatusAwaitingAcceptance && p.caps.CancelLines) ||
				(status == order.StatusAccepted && p.caps.CancelAcceptedLines)
			if can && n <= left {
				todo = append(todo, order.Line{SKU: ml.SKU, Quantity: n, MarketplaceLineID: ml.ID})
				left -= n
				continue
			}
			cut := min(n, left)
			unsent = append(unsent, Unsent{Key: "cancel:" + sku + "=" + strconv.Itoa(qty[sku]),
				Err: p.fail(syncerr.CancelUnsupported, "line", strconv.Itoa(cut)+" × "+sku, "sku", sku)})
			left -= cut
		}
	}
	return todo, unsent
}

// wholeCancel reports whether the store wants the whole order ended.
func wholeCancel(s order.Status) bool {
	return s == order.StatusCancelled || s == order.StatusRefused || s == order.StatusRefunded
}

// lineStatus is a marketplace line's status, the order's where the
// marketplace tracks only the order.
func lineStatus(ml order.MarketplaceLine, o order.MarketplaceOrder) order.Status {
	return cmp.Or(ml.Status, o.Status)
}

// wholeOrder merges the ship steps of a marketplace that ships whole
// orders into one, with the first parcel's tracking, once the parcels
// together carry every live line; until then the steps stay as planned
// (the connector refuses a parcel of only some lines).
func (p planner) wholeOrder(steps []Step) []Step {
	if len(steps) < 2 || !p.coversLive(steps) {
		return steps
	}
	merged := steps[0]
	merged.Parcel.Lines = nil
	for _, s := range steps {
		merged.Parcel.Lines = append(merged.Parcel.Lines, s.Parcel.Lines...)
	}
	return []Step{merged}
}

// coversLive reports whether the steps' lines hold every live marketplace
// line not shipped yet.
func (p planner) coversLive(steps []Step) bool {
	in := map[string]bool{}
	for _, s := range steps {
		for _, l := range s.Parcel.Lines {
			in[l.MarketplaceLineID] = true
		}
	}
	for _, ml := range p.remote.Lines {
		st := lineStatus(ml, p.remote)
		if !Terminal(st) && !shippedOrBeyond(st) && !in[ml.ID] {
			return false
		}
	}
	return true
}

// extraParcels is the parcels_unsupported of an order shipped whole in
// several parcels with different tracking numbers: the first parcel's
// tracking is the one sent.
func (p planner) extraParcels() (Unsent, bool) {
	if p.caps.PerLine || len(p.want.Parcels) < 2 {
		return Unsent{}, false
	}
	first := p.want.Parcels[0].Tracking.Number
	var others []string
	for _, parcel := range p.want.Parcels[1:] {
		n := strings.TrimSpace(parcel.Tracking.Number)
		if n != "" && !SameTrackingNumber(n, first) && !slices.Contains(others, n) {
			others = append(others, n)
		}
	}
	if len(others) == 0 || strings.TrimSpace(first) == "" {
		return Unsent{}, false
	}
	return Unsent{Key: "parcels:" + strings.Join(others, ","),
		Err: p.fail(syncerr.ParcelsUnsupported, "tracking", first, "others", strings.Join(others, ", "))}, true
}

// DescribeLines says what lines cover, for a merchant and the timeline:
// "1 × SKU-A, 2 × SKU-B", or "the whole order" for none.
func DescribeLines(lines []order.Line) string {
	if len(lines) == 0 {
		return "the whole order"
	}
	parts := make([]string, 0, len(lines))
	for _, l := range lines {
		sku := cmp.Or(strings.TrimSpace(l.SKU), l.StoreLineID, "a line")
		if l.Quantity <= 0 {
			parts = append(parts, sku) // a quantity not given
			continue
		}
		parts = append(parts, strconv.Itoa(l.Quantity)+" × "+sku)
	}
	return strings.Join(parts, ", ")
}
