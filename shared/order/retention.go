package order

import "time"

// DefaultRetention is how long ordersync keeps a closed order's state
// (its shipping address with it) when the deployment sets no other
// period: 180 days (template.yaml's OrderRetentionDays).
const DefaultRetention = 180 * 24 * time.Hour

// Closed reports whether an order in status s is done with: shipped,
// delivered, cancelled, refused or refunded. Nothing more is synced for
// it but a late correction, so the personal data it holds may go.
func (s Status) Closed() bool {
	switch s {
	case StatusShipped, StatusDelivered, StatusCancelled, StatusRefused, StatusRefunded:
		return true
	}
	return false
}

// ExpiresAt returns when a state saved at now expires, retention after it,
// and true, if the order is closed on the marketplace (its
// MarketplaceStatus is Closed); the zero time and false while it is open,
// whatever its age. Every save of a closed order counts the period again
// from that save: the one that closed it, or a later correction.
func (s State) ExpiresAt(now time.Time, retention time.Duration) (time.Time, bool) {
	if !s.MarketplaceStatus.Closed() {
		return time.Time{}, false
	}
	return now.Add(retention), true
}

// LinkWeek is what a store order link's expiry is rounded up to.
const LinkWeek = 7 * 24 * 60 * 60

// LinkSlack is how much longer than it needs the link of an open order is
// made to last: an order closed within it of its link's write finds the
// link lasting long enough already, so the save that closes it (its
// shipment, usually days later) writes nothing to it.
const LinkSlack = 4 * LinkWeek

// OpenLinkHorizon is the least an open order's link lasts after the save
// that last wrote it, whatever the retention: a link gone while its order
// is open loses the events that name only its store order, so a short
// retention shortens the closed order's items, never this.
const OpenLinkHorizon = DefaultRetention

// LinkNeeds returns what the store order link of s, saved at now, needs:
// to expire no earlier than need, and, if it must be written, the expiry
// it gets. A closed order's link needs the state's own expiry (now +
// retention), so that it outlives every state saved, and gets need's
// LinkUntil. An open order's state has no expiry: its link needs the
// longer of the retention and OpenLinkHorizon from now, and gets need's
// LinkUntil plus LinkSlack. A link's expiry is only ever moved later. An
// order open with no save at all for longer than that loses the link.
func (s State) LinkNeeds(now time.Time, retention time.Duration) (need, until int64) {
	if s.MarketplaceStatus.Closed() {
		need = now.Add(retention).Unix()
		return need, LinkUntil(need)
	}
	need = now.Add(max(retention, OpenLinkHorizon)).Unix()
	return need, LinkUntil(need) + LinkSlack
}

// LinkUntil is when the store order link of a state expiring at expires
// (Unix seconds) expires, when written for it: the next whole LinkWeek
// (Unix time) at or after it, so that a closed order's later saves within
// that week leave the link alone.
func LinkUntil(expires int64) int64 {
	return (expires + LinkWeek - 1) / LinkWeek * LinkWeek
}
