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

// OpenRetention is how long an open order's state is kept after its last
// save, when the retention is not longer: marketplaces cancel an order
// left unshipped within weeks, so an order still open in ordersync with
// no save for three years was closed where ordersync never heard of it.
// Its state and link then go together, as a closed order's do; kept for
// ever, the state would have outlived a link that expired.
const OpenRetention = 3 * 365 * 24 * time.Hour

// ExpiresAt returns when a state saved at now expires: retention after it
// if the order is closed on the marketplace (its MarketplaceStatus is
// Closed), the longer of that and OpenRetention while it is open. Every
// save counts the period again from that save: the one that closed the
// order, or a later correction.
func (s State) ExpiresAt(now time.Time, retention time.Duration) time.Time {
	if !s.MarketplaceStatus.Closed() {
		return now.Add(max(retention, OpenRetention))
	}
	return now.Add(retention)
}

// LinkWeek is what a store order link's expiry is rounded up to.
const LinkWeek = 7 * 24 * 60 * 60

// LinkSlack is how much longer than it needs the link of an open order is
// made to last: an order closed within it of its link's write finds the
// link lasting long enough already, so the save that closes it (its
// shipment, usually days later) writes nothing to it.
const LinkSlack = 4 * LinkWeek

// LinkNeeds returns what the store order link of s, saved at now, needs:
// to expire no earlier than need, the state's own expiry (ExpiresAt), so
// that it outlives every state saved, and, if it must be written, the
// expiry it gets: need's LinkUntil, plus LinkSlack while the order is
// open, so that the save closing it within the slack finds the link
// lasting long enough. A link's expiry is only ever moved later.
func (s State) LinkNeeds(now time.Time, retention time.Duration) (need, until int64) {
	need = s.ExpiresAt(now, retention).Unix()
	if s.MarketplaceStatus.Closed() {
		return need, LinkUntil(need)
	}
	return need, LinkUntil(need) + LinkSlack
}

// LinkUntil is when the store order link of a state expiring at expires
// (Unix seconds) expires, when written for it: the next whole LinkWeek
// (Unix time) at or after it, so that a closed order's later saves within
// that week leave the link alone.
func LinkUntil(expires int64) int64 {
	return (expires + LinkWeek - 1) / LinkWeek * LinkWeek
}
