// Package ingest is the webhook endpoint: it authenticates a storefront's
// delivery, turns it into the one internal order.Event, makes sure it is
// queued exactly once, and answers the platform in milliseconds. It owns no
// AWS client: the store, the secrets and the queue come in through the small
// interfaces below, which adapters implement and ingesttest fakes.
package ingest

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// Connections finds the connection a webhook URL names.
type Connections interface {
	// Connection returns the connection with id. It returns an error
	// wrapping order.ErrNotFound when there is none; any other error is
	// taken as transient (the platform is asked to retry).
	Connection(ctx context.Context, id string) (order.Connection, error)
}

// Secrets resolves the names in order.Connection.WebhookSecretRefs.
type Secrets interface {
	// Secret returns the secret called name. It returns an error wrapping
	// order.ErrNotFound when there is none (a ref left over from a rotation
	// is skipped); any other error is taken as transient. Implementations
	// should cache: it is called on every delivery.
	Secret(ctx context.Context, name string) (string, error)
}

// ClaimResult is what Deduper.Claim found.
type ClaimResult int

// Claim results.
const (
	// Claimed: no delivery of this event is known; the caller now holds
	// the claim and must Confirm or Release it.
	Claimed ClaimResult = iota
	// Duplicate: a delivery of this event was queued and confirmed.
	Duplicate
	// InFlight: another delivery holds a fresh, unconfirmed claim; its
	// outcome is not known yet.
	InFlight
)

// String returns the result's name, for logs.
func (r ClaimResult) String() string {
	switch r {
	case Claimed:
		return "claimed"
	case Duplicate:
		return "duplicate"
	case InFlight:
		return "in_flight"
	}
	return "unknown"
}

// Deduper remembers which platform events were queued, so a redelivery is
// not queued twice. Keys are opaque strings, prefixed by connection.
type Deduper interface {
	// Claim marks key as being delivered for ttl, atomically (a
	// conditional put). It returns Duplicate when key was already delivered
	// and confirmed, InFlight when another delivery holds a fresh claim
	// that is not confirmed yet, and Claimed otherwise. An unconfirmed claim
	// older than the implementation's in-flight window (for a Lambda, its
	// timeout) is stale: the next Claim takes it over. An implementation
	// may also answer Claimed for a confirmed key whose event has stayed
	// unsynced too long (its message lost), so that it is queued again.
	Claim(ctx context.Context, key string, ttl time.Duration) (ClaimResult, error)
	// Confirm records that the event of a claimed key, e, was queued, and
	// keeps e in the ledger of accepted events until the sync marks it
	// applied, so that an event whose message is lost is found and queued
	// again. It is idempotent.
	Confirm(ctx context.Context, key string, e order.Event) error
	// Release drops an unconfirmed claim after the event could not be
	// queued, so the platform's retry is not taken for a duplicate. It is
	// idempotent, and never drops a confirmed key.
	Release(ctx context.Context, key string) error
}

// Queue hands events to the sync.
type Queue interface {
	// Enqueue sends e to the sync queue. A nil error means the queue has
	// accepted it durably; implementations never retry.
	Enqueue(ctx context.Context, e order.Event) error
}

// EncodedQueue is a Queue that also takes an event already encoded: the
// handler encodes each event (order.EncodeMessage) before anything else,
// to refuse one too large for a message, and hands that body on rather
// than have the queue encode it a second time on the answer's path.
type EncodedQueue interface {
	Queue
	// EnqueueEncoded sends e, whose order.EncodeMessage is body, as
	// Enqueue would send it. A nil error means the queue has accepted it
	// durably; implementations never retry.
	EnqueueEncoded(ctx context.Context, e order.Event, body string) error
}
