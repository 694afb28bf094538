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

// LinkUntil is when the store order link of a state expiring at expires
// (Unix seconds) expires: the next whole LinkWeek (Unix time) at or after
// it, so that a closed order's later saves within that week leave the
// link alone, and the link outlives its state by less than a week.
func LinkUntil(expires int64) int64 {
	return (expires + LinkWeek - 1) / LinkWeek * LinkWeek
}
