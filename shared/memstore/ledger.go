package memstore

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncer"
)

var (
	_ syncer.Ledger  = (*Deduper)(nil)
	_ refresh.Ledger = (*Deduper)(nil)
)

// maxLedgerEvent is the largest event JSON a dedup item keeps, as in
// dynamostore (whose items hold at most 400 KB).
const maxLedgerEvent = 350_000

// ledgerEvent is e as a dedup item keeps it: whole, or, when too large,
// only the order it names, to be read from the store again.
func ledgerEvent(e order.Event) ([]byte, bool, error) {
	b, err := encode("event", e)
	if err != nil || len(b) <= maxLedgerEvent {
		return b, false, err
	}
	b, err = encode("event", order.Event{Connection: e.Connection, Source: e.Source, SourceEventID: e.SourceEventID,
		Topic: e.Topic, OccurredAt: e.OccurredAt, Order: e.Order, Test: e.Test, Fetch: true, Intent: e.Intent})
	return b, true, err
}

// MarkApplied records that the sync of key's event reached a final
// outcome: it leaves the ledger. It is idempotent, and a no-op for a key
// with no dedup item.
func (d *Deduper) MarkApplied(_ context.Context, key string) error {
	pk := "DEDUP#" + key
	if err := checkKey(pk, "CLAIM"); err != nil {
		return err
	}
	defer d.store.lock()()
	c, ok := d.store.t.claims[pk]
	if !ok {
		return nil
	}
	c.applied, c.unsynced, c.event = true, false, nil
	d.store.t.claims[pk] = c
	return nil
}

// Unsynced lists the connection's unsynced events last queued before
// queuedBefore, oldest first, at most limit of them.
func (d *Deduper) Unsynced(_ context.Context, conn string, queuedBefore time.Time, limit int) ([]refresh.Unsynced, error) {
	if limit < 1 {
		return nil, nil
	}
	now := d.store.now().Unix()
	defer d.store.lock()()
	type hit struct {
		pk string
		c  claim
	}
	var hits []hit
	for pk, c := range d.store.t.claims {
		if strings.HasPrefix(pk, "DEDUP#") && c.unsynced && c.conn == conn && c.queuedAt < queuedBefore.UnixMilli() &&
			!(c.hasExpires && c.expiresAt < now) {
			hits = append(hits, hit{pk, c})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Or(cmp.Compare(a.c.queuedAt, b.c.queuedAt), cmp.Compare(a.pk, b.pk)) })
	out := make([]refresh.Unsynced, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		u := refresh.Unsynced{Key: strings.TrimPrefix(h.pk, "DEDUP#"), Trimmed: h.c.trimmed,
			QueuedAt: time.UnixMilli(h.c.queuedAt).UTC(), Attempts: h.c.attempts}
		if err := decode("event", h.c.event, &u.Event); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// Requeued counts a sweep's attempt at key and starts its wait anew at at;
// false when key is not unsynced.
func (d *Deduper) Requeued(_ context.Context, key string, at time.Time) (bool, error) {
	return d.unsynced(key, func(c *claim) { c.attempts++; c.queuedAt = at.UnixMilli() })
}

// GiveUp takes key out of the sweeps; false when it is not unsynced.
func (d *Deduper) GiveUp(_ context.Context, key string, _ time.Time) (bool, error) {
	return d.unsynced(key, func(c *claim) { c.unsynced = false })
}

// unsynced changes key's entry with f if it is unsynced, under the lock.
func (d *Deduper) unsynced(key string, f func(*claim)) (bool, error) {
	pk := "DEDUP#" + key
	if err := checkKey(pk, "CLAIM"); err != nil {
		return false, err
	}
	defer d.store.lock()()
	c, ok := d.store.t.claims[pk]
	if !ok || !c.unsynced {
		return false, nil
	}
	f(&c)
	d.store.t.claims[pk] = c
	return true, nil
}
