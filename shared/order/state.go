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
	Connection string `json:"connection" dynamodbav:"connection"`
	Ref        Ref    `json:"ref" dynamodbav:"ref"`

	// StoreStatus is the status the store wants, from the newest applied event.
	StoreStatus Status `json:"store_status" dynamodbav:"store_status"`
	// StoreUpdatedAt is when the newest applied event happened at the store.
	StoreUpdatedAt  time.Time `json:"store_updated_at" dynamodbav:"store_updated_at"`
	Lines           []Line    `json:"lines,omitempty" dynamodbav:"lines,omitempty"`
	ShippingAddress *Address  `json:"shipping_address,omitempty" dynamodbav:"shipping_address,omitempty"`
	// Parcels are every parcel the store reported, one per parcel id.
	Parcels      []Parcel `json:"parcels,omitempty" dynamodbav:"parcels,omitempty"`
	CancelReason string   `json:"cancel_reason,omitempty" dynamodbav:"cancel_reason,omitempty"`
	Test         bool     `json:"test,omitempty" dynamodbav:"test,omitempty"`

	// MarketplaceStatus is the marketplace's status as last seen or set.
	MarketplaceStatus Status `json:"marketplace_status" dynamodbav:"marketplace_status"`
	MarketplaceState  string `json:"marketplace_state,omitempty" dynamodbav:"marketplace_state,omitempty"`

	// Sync is how the last attempt to sync this order ended.
	Sync SyncOutcome `json:"sync" dynamodbav:"sync"`

	// Version increments on every write; writes are conditional on it.
	Version int64 `json:"version" dynamodbav:"version"`
}

// SyncOutcome is the result of the last sync of an order.
type SyncOutcome struct {
	Result    SyncResult `json:"result" dynamodbav:"result"`
	ErrorCode string     `json:"error_code,omitempty" dynamodbav:"error_code,omitempty"`
	Message   string     `json:"message,omitempty" dynamodbav:"message,omitempty"`
	Attempts  int        `json:"attempts,omitempty" dynamodbav:"attempts,omitempty"`
	At        time.Time  `json:"at" dynamodbav:"at"`
	// FirstFailedAt is when the current run of failures began.
	FirstFailedAt time.Time `json:"first_failed_at,omitempty" dynamodbav:"first_failed_at,omitempty"`
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
