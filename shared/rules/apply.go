package rules

import (
	"reflect"
	"slices"

	"github.com/ordersync/ordersync/shared/order"
)

// Apply folds a store event into the stored state of its order and reports
// whether anything changed. It never touches s.Version, s.Sync or the
// marketplace fields (the sync layer owns them), never regresses the store
// status and never empties a field; s itself is not modified.
//
// How an event's age counts, against s.StoreUpdatedAt (the newest event
// applied so far):
//   - Status: an event older than s.StoreUpdatedAt is stale and ignored; a
//     newer or simultaneous one moves the status only forward in the
//     lifecycle (see Rank), never out of cancelled, refused or refunded.
//     Simultaneous events are common (WooCommerce dates have one-second
//     resolution), so ties go to the more advanced status.
//   - Lines, address, cancel reason and each parcel's tracking and lines:
//     a strictly newer event replaces them (with what it carries; empty
//     values never erase); an older or simultaneous one only fills what
//     is still empty, so ties go to the first applied.
//   - Parcels merge by parcel ID: a newer event may add the tracking to a
//     parcel reported earlier. Parcels without an ID cannot be matched one
//     by one: a strictly newer event's set replaces the stored set, and an
//     older one's is only taken when none is stored.
//   - An event carrying parcels means at least partially shipped, whatever
//     its status says (fulfillment webhooks say nothing of the order).
//   - Refunds merge by refund ID: a strictly newer event's picture of a
//     refund replaces the stored one (a running total, as BigCommerce's
//     quantity_refunded, grows), an older one only adds refunds not yet
//     known. (StoreStatusOf, not Apply, reads an accepted order with
//     lines cancelled as partially cancelled: a status Apply derived from
//     refunds would depend on the order events arrive in.)
//   - Test, once set, stays set; empty references are filled in.
//
// With these rules applying the same event twice changes nothing, however
// many events came in between, so redelivery is harmless.
func Apply(s order.State, e order.Event) (order.State, bool) {
	out := s
	newer := e.OccurredAt.After(s.StoreUpdatedAt)
	stale := e.OccurredAt.Before(s.StoreUpdatedAt)

	if out.Connection == "" {
		out.Connection = e.Connection
	}
	out.Ref = fillRef(out.Ref, e.Order)
	if newer {
		out.StoreUpdatedAt = e.OccurredAt
	}
	status := e.Status
	if len(e.Parcels) > 0 && Rank(status) < Rank(order.StatusPartiallyShipped) {
		// A parcel is a shipment: the store shipped at least its lines, even
		// when the event (a fulfillment webhook) says nothing of the order.
		status = order.StatusPartiallyShipped
	}
	out.Refunds = mergeRefunds(s.Refunds, e.Refunds, newer)
	if !stale && !Terminal(s.StoreStatus) && Rank(status) > Rank(s.StoreStatus) {
		out.StoreStatus = status
	}
	if len(e.Lines) > 0 && (newer || len(s.Lines) == 0) {
		out.Lines = cloneLines(e.Lines)
	}
	if e.ShippingAddress != nil && (newer || s.ShippingAddress == nil) {
		a := *e.ShippingAddress
		out.ShippingAddress = &a
	}
	if e.CancelReason != "" && (newer || s.CancelReason == "") {
		out.CancelReason = e.CancelReason
	}
	out.Test = s.Test || e.Test
	out.Parcels = mergeParcels(s.Parcels, e.Parcels, newer)

	if reflect.DeepEqual(s, out) {
		return s, false
	}
	return out, true
}

func fillRef(r, from order.Ref) order.Ref {
	if r.StoreOrderID == "" {
		r.StoreOrderID = from.StoreOrderID
	}
	if r.StoreOrderName == "" {
		r.StoreOrderName = from.StoreOrderName
	}
	if r.MarketplaceOrderID == "" {
		r.MarketplaceOrderID = from.MarketplaceOrderID
	}
	return r
}

// mergeParcels returns stored with incoming merged in, as Apply documents.
// It copies what it changes and never modifies stored.
func mergeParcels(stored, incoming []order.Parcel, newer bool) []order.Parcel {
	if len(incoming) == 0 {
		return stored
	}
	out := make([]order.Parcel, 0, len(stored)+len(incoming))
	for _, p := range stored {
		p.Lines = cloneLines(p.Lines)
		out = append(out, p)
	}
	var anonymous []order.Parcel
	for _, in := range incoming {
		if in.ID == "" {
			anonymous = append(anonymous, in)
			continue
		}
		i := slices.IndexFunc(out, func(p order.Parcel) bool { return p.ID == in.ID })
		if i < 0 {
			in.Lines = cloneLines(in.Lines)
			out = append(out, in)
			continue
		}
		out[i] = mergeParcel(out[i], in, newer)
	}
	if len(anonymous) > 0 {
		hasAnonymous := slices.ContainsFunc(out, func(p order.Parcel) bool { return p.ID == "" })
		if newer || !hasAnonymous {
			out = slices.DeleteFunc(out, func(p order.Parcel) bool { return p.ID == "" })
			for _, p := range anonymous {
				p.Lines = cloneLines(p.Lines)
				out = append(out, p)
			}
		}
	}
	return out
}

// mergeParcel merges in into p, field by field: a newer event replaces
// what it carries, an older or simultaneous one only fills gaps.
func mergeParcel(p, in order.Parcel, newer bool) order.Parcel {
	p.Tracking.Number = mergeText(p.Tracking.Number, in.Tracking.Number, newer)
	p.Tracking.Carrier = mergeText(p.Tracking.Carrier, in.Tracking.Carrier, newer)
	p.Tracking.URL = mergeText(p.Tracking.URL, in.Tracking.URL, newer)
	if len(in.Lines) > 0 && (newer || len(p.Lines) == 0) {
		p.Lines = cloneLines(in.Lines)
	}
	return p
}

func mergeText(have, in string, newer bool) string {
	if in != "" && (newer || have == "") {
		return in
	}
	return have
}

// cloneLines copies lines, so that the returned state shares no memory with
// its inputs. Empty is nil: "no lines" has one representation.
func cloneLines(lines []order.Line) []order.Line {
	if len(lines) == 0 {
		return nil
	}
	return slices.Clone(lines)
}

// mergeRefunds returns stored with incoming merged in by refund ID, as
// Apply documents; refunds without an ID are dropped (nothing could tell
// a redelivery from a second refund). It never modifies stored.
func mergeRefunds(stored, incoming []order.Refund, newer bool) []order.Refund {
	if len(incoming) == 0 {
		return stored
	}
	out := slices.Clone(stored)
	for _, in := range incoming {
		if in.ID == "" {
			continue
		}
		in.Lines = cloneLines(in.Lines)
		i := slices.IndexFunc(out, func(r order.Refund) bool { return r.ID == in.ID })
		switch {
		case i < 0:
			out = append(out, in)
		case newer:
			out[i] = in
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// StoreStatusOf is the status the store wants for s: its StoreStatus, but
// partially cancelled for an accepted order some of whose lines the store
// cancelled (refunds of kind cancel).
func StoreStatusOf(s order.State) order.Status {
	if s.StoreStatus == order.StatusAccepted && cancelsLines(s.Refunds) {
		return order.StatusPartiallyCancelled
	}
	return s.StoreStatus
}

// cancelsLines reports whether any refund cancels lines before shipping.
func cancelsLines(refunds []order.Refund) bool {
	return slices.ContainsFunc(refunds, func(r order.Refund) bool { return r.Kind == order.RefundCancel && len(r.Lines) > 0 })
}
