package rules

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// WithOverride returns s with the merchant's override (s.Override, set
// through the merchant API's fix) in place of the store's data it stands
// for. It is pure: s is not modified, and the result is what the sync
// plans on, never what is stored.
//
// The rule between the two: the override stands only while the store's
// data is still what it was when the merchant set it (the override's
// Replaced). Once the store sends tracking (or an address) of its own that
// differs, the store's wins, however old the override is: the store is
// where the merchant ships from, and a newer word from it is newer than
// the fix. A store event that repeats the old data changes nothing, so
// the override stands.
//
//   - Tracking replaces the tracking of the parcel it names (or of every
//     parcel, when it names none) whose tracking is still Replaced. An
//     order the store reported no parcel for gets one, carrying all the
//     order's lines, when the override names no parcel.
//   - The shipping address replaces the order's while that is Replaced.
func WithOverride(s order.State) order.State {
	o := s.Override
	if o == nil {
		return s
	}
	out := s
	if t := o.Tracking; t != nil {
		out.Parcels = overrideParcels(s.Parcels, s.Lines, *t)
	}
	if a := o.ShippingAddress; a != nil && sameAddress(s.ShippingAddress, a.Replaced) {
		addr := a.Address
		out.ShippingAddress = &addr
	}
	return out
}

// overrideParcels returns parcels with t applied, as WithOverride says,
// sharing no memory with them.
func overrideParcels(parcels []order.Parcel, lines []order.Line, t order.TrackingOverride) []order.Parcel {
	if len(parcels) == 0 {
		if t.ParcelID != "" || t.Replaced != (order.Tracking{}) {
			return nil // the parcel it was for is not the store's any more
		}
		return []order.Parcel{{Tracking: t.Tracking, Lines: cloneLines(lines)}}
	}
	out := make([]order.Parcel, len(parcels))
	for i, p := range parcels {
		p.Lines = cloneLines(p.Lines)
		if (t.ParcelID == "" || p.ID == t.ParcelID) && p.Tracking == t.Replaced {
			p.Tracking = t.Tracking
		}
		out[i] = p
	}
	return out
}

// ImportAddress is the address an imported order is created with and
// checked against: the merchant's override when there is one, else the
// marketplace's. On import the override always wins: the marketplace's
// address is the one the merchant found wanting (address_missing,
// address_invalid), and a marketplace does not change a placed order's
// address.
func ImportAddress(marketplace *order.Address, o *order.Override) *order.Address {
	if o == nil || o.ShippingAddress == nil {
		return marketplace
	}
	a := o.ShippingAddress.Address
	return &a
}

func sameAddress(a, b *order.Address) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// CheckTracking reports whether t is tracking the merchant may give a
// parcel: a tracking number and a carrier, as CompleteTracking requires
// them of the store where the marketplace needs both (shipping_data_missing,
// "missing" naming what to add), each free of control characters, and a
// URL, when given, that is an absolute http or https URL (invalid_data,
// "field" naming the part at fault). Whether the marketplace also needs a
// URL for this carrier is the sync's to say: it derives one from a known
// carrier.
func CheckTracking(t order.Tracking) error {
	t, err := CompleteTracking(t, order.Capabilities{CarrierRequired: true})
	if err != nil {
		return err
	}
	switch {
	case hasControl(t.Number):
		return syncerr.E(syncerr.InvalidData, "field", missingNumber)
	case hasControl(t.Carrier):
		return syncerr.E(syncerr.InvalidData, "field", missingCarrier)
	case t.URL != "" && !ValidTrackingURL(t.URL):
		return syncerr.E(syncerr.InvalidData, "field", missingURL)
	}
	return nil
}

// ValidTrackingURL reports whether u is a page a buyer can open: an
// absolute http or https URL with a host, without spaces or control
// characters.
func ValidTrackingURL(u string) bool {
	if u == "" || strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return false
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != ""
}

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }
