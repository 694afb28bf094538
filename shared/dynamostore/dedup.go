package dynamostore

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
)

var _ ingest.Deduper = (*Deduper)(nil)
var _ ingest.Connections = (*Store)(nil)

// Deduper remembers webhook deliveries in the table.
type Deduper struct {
	store *Store
	// inFlight is how long an unconfirmed claim holds: the webhook
	// function's timeout and then some. A claim older than that belongs to
	// a delivery that died before answering, and the next delivery takes it.
	inFlight time.Duration
	// recoverAfter, when set, is how long an accepted event may stay
	// unsynced before a redelivery of it is claimed again (RecoverAfter).
	recoverAfter time.Duration
}

// Deduper returns the store's webhook deduper, with the given in-flight window.
func (s *Store) Deduper(inFlight time.Duration) *Deduper {
	return &Deduper{store: s, inFlight: inFlight}
}

// RecoverAfter returns a copy of d whose Claim answers Claimed, not
// Duplicate, for a key whose event was queued more than after ago and is
// still unsynced: its message was lost, and the redelivery is queued again.
func (d *Deduper) RecoverAfter(after time.Duration) *Deduper {
	c := *d
	c.recoverAfter = after
	return &c
}

// Claim marks key as being delivered for ttl.
func (d *Deduper) Claim(ctx context.Context, key string, ttl time.Duration) (ingest.ClaimResult, error) {
	var before int64
	if d.recoverAfter > 0 {
		before = d.store.now().Add(-d.recoverAfter).UnixMilli()
	}
	st, err := d.store.claimOrRecover(ctx, "DEDUP#"+key, d.inFlight, ttl, before)
	return [...]ingest.ClaimResult{ingest.Claimed, ingest.Duplicate, ingest.InFlight}[st], err
}

// Confirm records that key's event was queued and keeps it in the ledger,
// unsynced (see ledger.go), unless the sync has marked it applied already.
// Its TTL stays as claimed.
func (d *Deduper) Confirm(ctx context.Context, key string, e order.Event) error {
	return d.store.accept(ctx, "DEDUP#"+key, e)
}

// Release drops an unconfirmed claim.
func (d *Deduper) Release(ctx context.Context, key string) error {
	return d.store.release(ctx, "DEDUP#"+key)
}
