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

	// MarketplaceStatus is the marketplace's status as last seen or set.
	MarketplaceStatus Status `json:"marketplace_status"`
	MarketplaceState  string `json:"marketplace_state,omitempty"`

	// Sync is how the last attempt to sync this order ended.
	Sync SyncOutcome `json:"sync"`

	// Version increments on every write; writes are conditional on it.
	Version int64 `json:"version"`
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
	Connection         string    `json:"connection"`
	MarketplaceOrderID string    `json:"marketplace_order_id"`
	StoreOrderID       string    `json:"store_order_id,omitempty"`
	StoreOrderName     string    `json:"store_order_name,omitempty"`
	Code               string    `json:"code"`
	Kind               string    `json:"kind"`
	Title              string    `json:"title"`
	Cause              string    `json:"cause"`
	Remedy             string    `json:"remedy"`
	Attempts           int       `json:"attempts"`
	At                 time.Time `json:"at"`
}
