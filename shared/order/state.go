package order

import (
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) by stores and adapters when the thing
// asked for does not exist.
var ErrNotFound = errors.New("not found")

// State is what ordersync holds about one order: the newest picture the
// store gave of it, the marketplace's last known state, and how the last
// sync ended. It is keyed by connection and marketplace order id.
type State struct {
	Connection string `json:"connection"`
	Ref        Ref    `json:"ref"`

	// StoreStatus is the status the store wants, from the newest applied event.
	StoreStatus Status `json:"store_status"`
	// StoreUpdatedAt is when the newest applied event happened at the store.
	StoreUpdatedAt  time.Time `json:"store_updated_at"`
	Lines           []Line    `json:"lines,omitempty"`
	ShippingAddress *Address  `json:"shipping_address,omitempty"`
	// Parcels are every parcel the store reported, one per parcel id.
	Parcels      []Parcel `json:"parcels,omitempty"`
	CancelReason string   `json:"cancel_reason,omitempty"`
	Test         bool     `json:"test,omitempty"`
	// Refunds are the store's refunds, returns and line cancellations, one
	// per refund ID (see Refund).
	Refunds []Refund `json:"refunds,omitempty"`

	// MarketplaceStatus is the marketplace's status as last seen or set.
	MarketplaceStatus Status `json:"marketplace_status"`
	MarketplaceState  string `json:"marketplace_state,omitempty"`

	// Sync is how the last attempt to sync this order ended.
	Sync SyncOutcome `json:"sync"`
	// Resolved says how the order's last failure ended, once it synced.
	Resolved *Resolution `json:"resolved,omitempty"`
	// ManualChange is the newest change made to the marketplace order
	// outside ordersync (in the marketplace's back office), as the refresh
	// found it. ordersync records it and never undoes it.
	ManualChange *ManualChange `json:"manual_change,omitempty"`
	// RefreshTries counts the refreshes that gave a failed order another
	// try since it last synced (bounded; see shared/refresh).
	RefreshTries int `json:"refresh_tries,omitempty"`
	// Calls names the newest marketplace calls made for the order (the
	// sync's claim keys, at most MaxCalls): written with the outcome, in
	// place of a confirmation of each claim.
	Calls []string `json:"calls,omitempty"`
	// RefusedEdit is a digest of the newest marketplace edit ordersync
	// refused (order_not_editable, inventory_held), so that one edit is
	// reported once.
	RefusedEdit string `json:"refused_edit,omitempty"`
	// Explained names the store changes the marketplace cannot take (a
	// line cancel, a refund after shipment, a second parcel's tracking;
	// rules.Unsupported's keys) that the merchant was already told of, so
	// that each is explained once and never holds the rest of the order.
	Explained []string `json:"explained,omitempty"`
	// MarketplaceRefunds are the marketplace lines seen refunded or
	// cancelled there (line ids), each recorded once on the timeline.
	MarketplaceRefunds []string `json:"marketplace_refunds,omitempty"`

	// Version increments on every write; writes are conditional on it.
	Version int64 `json:"version"`
	// LinkExpiry is the store's own, carried from LoadOrder to SaveOrder
	// and set by nothing else: which store order's link the save of this
	// version left with which expiry, so that a later save of the closed
	// order leaves the link alone while that expiry covers the state's.
	LinkExpiry string `json:"-"`

	// Override is what the merchant filled in for the order through the
	// merchant API's fix route, where the store's data fell short (a
	// shipment without tracking, an order without a usable address). The
	// sync uses it in place of the store's (rules.WithOverride) until the
	// store sends data of its own.
	Override *Override `json:"override,omitempty"`

	// Timeline is what happened to the order, oldest first: the newest
	// MaxTimeline entries (see timeline.go), TimelineDropped counting the
	// older ones let go. It is written with the state, by the writes the
	// sync and the refresh already make.
	Timeline        []TimelineEntry `json:"timeline,omitempty"`
	TimelineDropped int             `json:"timeline_dropped,omitempty"`
}

// Override is the merchant's own word on an order's tracking or shipping
// address, each part with when it was set.
type Override struct {
	Tracking        *TrackingOverride `json:"tracking,omitempty"`
	ShippingAddress *AddressOverride  `json:"shipping_address,omitempty"`
}

// TrackingOverride is the tracking the merchant gave a parcel.
type TrackingOverride struct {
	// ParcelID names the parcel; empty, the order's only parcel, or one
	// of all its lines when the store reported none.
	ParcelID string   `json:"parcel_id,omitempty"`
	Tracking Tracking `json:"tracking"`
	// Replaced is the parcel's tracking as the store had given it when the
	// merchant set the override: once the store's tracking differs (the
	// store sent tracking of its own since), the store's wins.
	Replaced Tracking  `json:"replaced"`
	At       time.Time `json:"at"`
}

// AddressOverride is the shipping address the merchant gave an order.
type AddressOverride struct {
	Address Address `json:"address"`
	// Replaced is the order's address as the store had given it when the
	// merchant set the override (nil: none): once the store's differs,
	// the store's wins.
	Replaced *Address  `json:"replaced,omitempty"`
	At       time.Time `json:"at"`
}

// SyncOutcome is the result of the last sync of an order.
type SyncOutcome struct {
	Result    SyncResult `json:"result"`
	ErrorCode string     `json:"error_code,omitempty"`
	Message   string     `json:"message,omitempty"`
	Attempts  int        `json:"attempts,omitempty"`
	At        time.Time  `json:"at"`
	// FirstFailedAt is when the current run of failures began.
	FirstFailedAt time.Time `json:"first_failed_at,omitempty"`
	// Since is when the order entered its sync state (SyncStateOf): the
	// outcome that moved it there. The merchant's listing files an order
	// by it, so a sync that leaves the order where it stood (a later
	// webhook of a synced order) leaves its place in the listing alone.
	Since time.Time `json:"since,omitempty"`
	// SKU is the order line's SKU a product failure (sku_not_found,
	// sku_duplicate) is about, as its error's "sku" detail has it: an
	// alias set for it finds the orders it holds.
	SKU string `json:"sku,omitempty"`
	// Told are the error codes, comma-separated and oldest first, of the
	// failures the merchant was to be told of in the current run of
	// failures (their email marks set, or found set), carried until the
	// order syncs, whose sync then forgets those marks so that a later
	// failure is told again. A transient failure being retried tells
	// nobody: its sync has no mark to forget. The last 8 codes are kept;
	// an older one's mark is left to expire.
	Told string `json:"told,omitempty"`
}

// Resolution is how an order's failure ended: the code it cleared, when,
// and what brought the fix (the event that synced the order).
type Resolution struct {
	Code string    `json:"code"`
	At   time.Time `json:"at"`
	// How is what synced the order: "webhook" (a change from the store),
	// or the topic of ordersync's own event ("refresh/retry",
	// "refresh/store-changed", "connection/resumed", "merchant/resync"...).
	How string `json:"how"`
}

// ManualChange is a change of a marketplace order's status that ordersync
// did not make.
type ManualChange struct {
	From  Status    `json:"from"`
	To    Status    `json:"to"`
	State string    `json:"state,omitempty"` // the marketplace's own words
	At    time.Time `json:"at"`              // when the refresh saw it
}

// Unsettled reports whether the order's last sync did not end synced: it
// is retrying, failed or held. The store keeps an index of such orders for
// the refresh.
func (s State) Unsettled() bool {
	switch s.Sync.Result {
	case SyncPending, SyncFailed, SyncHeld:
		return true
	}
	return false
}

// SyncResult names how a sync ended.
type SyncResult string

// Sync results.
const (
	SyncPending SyncResult = "pending" // a transient failure; retrying
	SyncSynced  SyncResult = "synced"  // the marketplace has what the store says
	SyncFailed  SyncResult = "failed"  // a permanent failure, or retries ran out
	SyncHeld    SyncResult = "held"    // waiting on the merchant (address missing, paused connection)
)

// ErrConflict is returned (wrapped) by a store's versioned write when the
// stored version moved on since the state was read: read again and retry.
var ErrConflict = errors.New("version conflict")

// ErrorRetention is how long a failure stays in the merchant's error list:
// "the last errors of the past week".
const ErrorRetention = 7 * 24 * time.Hour

// ErrorRecord is one failure as the merchant sees it in "the last errors".
type ErrorRecord struct {
	Connection         string `json:"connection"`
	MarketplaceOrderID string `json:"marketplace_order_id"`
	StoreOrderID       string `json:"store_order_id,omitempty"`
	StoreOrderName     string `json:"store_order_name,omitempty"`
	// ClaimedMarketplaceOrderID is, for order_link_unverified, the
	// marketplace order the store order named only through data its buyer
	// can write: the one the merchant's link action is about.
	ClaimedMarketplaceOrderID string    `json:"claimed_marketplace_order_id,omitempty"`
	Code                      string    `json:"code"`
	Kind                      string    `json:"kind"`
	Title                     string    `json:"title"`
	Cause                     string    `json:"cause"`
	Remedy                    string    `json:"remedy"`
	Attempts                  int       `json:"attempts"`
	At                        time.Time `json:"at"`
	// Since is when the order's run of failures began (its
	// SyncOutcome.FirstFailedAt): failures of one order with one code and
	// one Since are one entry of the list, the last of them. Zero: each
	// failure is an entry.
	Since time.Time `json:"since,omitempty"`
}

// MaxCalls bounds State.Calls.
const MaxCalls = 16

// CallMade reports whether the call named key is in s.Calls.
func (s State) CallMade(key string) bool {
	for _, k := range s.Calls {
		if k == key {
			return true
		}
	}
	return false
}

// AddCalls notes keys in s.Calls, the oldest dropped past MaxCalls.
func (s *State) AddCalls(keys ...string) {
	for _, k := range keys {
		if !s.CallMade(k) {
			s.Calls = append(s.Calls, k)
		}
	}
	if n := len(s.Calls) - MaxCalls; n > 0 {
		s.Calls = append([]string(nil), s.Calls[n:]...)
	}
}
