package syncer

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// EffectClaim is what Store.ClaimEffects found for a call.
type EffectClaim int

// Effect claims.
const (
	// EffectClaimed: this worker may make the call.
	EffectClaimed EffectClaim = iota
	// EffectDone: the call was made and confirmed before; skip it.
	EffectDone
	// EffectBusy: another worker claimed the call moments ago and has not
	// confirmed it; try again later.
	EffectBusy
)

// Claim is what a claim of one call found: EffectClaimed with the token
// that names this claim (to renew or release it, and no other), or why
// not.
type Claim struct {
	State EffectClaim
	Token int64
}

// Store is ordersync's durable state, as the sync uses it. Every method is
// safe to call concurrently from several workers.
type Store interface {
	// Connection returns a connection; wrapped order.ErrNotFound if unknown.
	Connection(ctx context.Context, id string) (order.Connection, error)
	// PauseConnection marks a connection paused: its credentials failed
	// with code (auth_expired or store_disconnected).
	PauseConnection(ctx context.Context, id, code string) error
	// FindOrder returns the marketplace order id linked to a store order id;
	// wrapped order.ErrNotFound if there is no link.
	FindOrder(ctx context.Context, connection, storeOrderID string) (string, error)
	// LinkOrder records that a store order is a marketplace order. It is
	// idempotent.
	LinkOrder(ctx context.Context, connection, storeOrderID, marketplaceOrderID string) error
	// LoadOrder returns an order's state; wrapped order.ErrNotFound if none.
	LoadOrder(ctx context.Context, connection, marketplaceOrderID string) (order.State, error)
	// SaveOrder writes s if the stored version is still s.Version (or no
	// state exists and s.Version is 0), and returns s with its new version.
	// On a lost race it returns a wrapped order.ErrConflict and writes nothing.
	// Before the state, it links the store order the state names to it
	// (as LinkOrder, unless the link names another marketplace order), so
	// a state naming a store order is found from it.
	SaveOrder(ctx context.Context, s order.State) (order.State, error)
	// ClaimEffects claims the right to make marketplace calls of one order
	// (scope: its connection and marketplace order id), each named by its
	// business identity: what each claim found, in keys' order, with the
	// token of each claim this caller took. A store writes a scope's
	// claims together, so a plan's calls cost one write. A claim older
	// than lease may be taken over.
	ClaimEffects(ctx context.Context, scope string, keys []string, lease time.Duration) ([]Claim, error)
	// RenewEffect takes the claim of one call again, for a whole lease
	// from now, if the claim named by token is still its claim; otherwise
	// it writes nothing and reports false, with what the call's claim is
	// now (taken over by another worker, confirmed, or released).
	RenewEffect(ctx context.Context, scope, key string, token int64) (Claim, bool, error)
	// ConfirmEffects records that calls of one order succeeded, whoever
	// holds their claims.
	ConfirmEffects(ctx context.Context, scope string, keys ...string) error
	// ReleaseEffects forgets claims of one order's calls that certainly
	// did not happen, by key and token: each only while it is still the
	// claim its token names, never another worker's or a confirmed one.
	ReleaseEffects(ctx context.Context, scope string, claims map[string]int64) error
	// RecordError adds a failure to the merchant's error list (kept 7 days).
	RecordError(ctx context.Context, r order.ErrorRecord) error
	// RecentErrors lists a connection's failures since a time, newest first.
	RecentErrors(ctx context.Context, connection string, since time.Time, limit int) ([]order.ErrorRecord, error)
	// MarkNotified records that the merchant was told about a failure named
	// by key, and reports whether this is the first time.
	MarkNotified(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// ClearNotified forgets failures' notification marks (after the order
	// synced), so a new failure later is told again.
	ClearNotified(ctx context.Context, keys ...string) error
}
