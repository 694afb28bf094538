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

// LinkSlack is how much longer than a closed order's state (Unix seconds)
// the link of an open order is made to last: an order closed within it of
// its link's write finds the link lasting long enough already, so the save
// that closes it (its shipment, usually days later) writes nothing to it.
const LinkSlack = 4 * LinkWeek

// LinkNeeds returns what the store order link of s, saved at now, needs:
// to expire no earlier than need, the state's expiry were it closed now
// (now + retention), so that the link outlives every state saved; and, if
// it must be written, the expiry it gets: need's LinkUntil, plus LinkSlack
// while the order is open. A link's expiry is only ever moved later. An
// open order's state has no expiry, so its link lasts retention (plus the
// slack) after the last save that wrote it: an order open that long with
// no save at all loses the link, and then the events that name only its
// store order.
func (s State) LinkNeeds(now time.Time, retention time.Duration) (need, until int64) {
	need = now.Add(retention).Unix()
	until = LinkUntil(need)
	if !s.MarketplaceStatus.Closed() {
		until += LinkSlack
	}
	return need, until
}

// LinkUntil is when the store order link of a state expiring at expires
// (Unix seconds) expires: the next whole LinkWeek (Unix time) at or after
// it, so that a closed order's later saves within that week leave the
// link alone, and the link outlives its state by less than a week.
func LinkUntil(expires int64) int64 {
	return (expires + LinkWeek - 1) / LinkWeek * LinkWeek
}
