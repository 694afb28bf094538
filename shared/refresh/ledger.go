package refresh

import (
	"cmp"
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Unsynced is one accepted event that the sync has not marked applied: its
// webhook was answered 202 and its message queued, and no sync of it has
// reached a final outcome since.
type Unsynced struct {
	// Key is the event's dedup key (ingest.DedupKey).
	Key string
	// Event is the event as it was queued. When Trimmed, the event was too
	// large to keep beside its dedup record, and Event only names the order
	// (Fetch is set): the sync reads the order from the store instead.
	Event   order.Event
	Trimmed bool
	// QueuedAt is when the event was last queued: accepted, or queued again
	// by a sweep.
	QueuedAt time.Time
	// Attempts counts the sweeps that queued it again.
	Attempts int
}

// Ledger is the record of accepted events the webhook keeps on its dedup
// items (ingest.Deduper.Confirm writes it, the sync marks entries applied).
type Ledger interface {
	// Unsynced lists the connection's unsynced events last queued before
	// queuedBefore, oldest first, at most limit of them (none for a limit
	// below 1). Entries past their dedup TTL are left out. The list may lag
	// a MarkApplied by a moment (it is read from an index).
	Unsynced(ctx context.Context, connection string, queuedBefore time.Time, limit int) ([]Unsynced, error)
	// Requeued records that the event under key is being queued again at
	// at: it counts the attempt and starts the entry's wait anew. It
	// reports false, and changes nothing, when the entry is not unsynced
	// any more (applied or given up meanwhile, or unknown).
	Requeued(ctx context.Context, key string, at time.Time) (bool, error)
	// GiveUp stops the sweeps of key, whose event will not be queued again.
	// It reports false, and changes nothing, when the entry is not unsynced
	// any more. A later MarkApplied still marks it applied.
	GiveUp(ctx context.Context, key string, at time.Time) (bool, error)
}

// SweepConfig is the policy of the sweep of unsynced events. Zero fields
// take the defaults.
type SweepConfig struct {
	// After is how long an accepted event may stay unsynced before the
	// sweep queues it again: well above the longest a message legitimately
	// waits (the sync queue's 360 s visibility timeout × 3 receives, plus
	// the retry waits). Default 1 hour.
	After time.Duration
	// MaxAttempts is how many times the sweep queues one event again
	// before it gives up and puts the event in the merchant's error list
	// (internal_error). Default 3.
	MaxAttempts int
	// Limit is how many events of one connection one refresh sweeps.
	// Default 500; the rest wait for the next hour.
	Limit int
}

func (c SweepConfig) withDefaults() SweepConfig {
	if c.After <= 0 {
		c.After = time.Hour
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.Limit <= 0 {
		c.Limit = 500
	}
	return c
}

// WithLedger has the refresh sweep l: each connection's accepted events
// unsynced for longer than cfg.After are queued again, cfg.MaxAttempts
// times at most, and then recorded as failed.
func (r *Refresher) WithLedger(l Ledger, cfg SweepConfig) *Refresher {
	r.ledger, r.sweepCfg = l, cfg.withDefaults()
	return r
}

// Sweep is what one connection's sweep did.
type Sweep struct {
	Requeued int // events queued again
	GaveUp   int // events past their last attempt, now in the error list
}

// sweep queues again the connection's events unsynced for too long. An
// attempt is counted before its event is queued: a failed enqueue spends
// it, and an event applied meanwhile is not queued at all.
func (r *Refresher) sweep(ctx context.Context, c order.Connection, at time.Time) (Sweep, error) {
	var sw Sweep
	if r.ledger == nil {
		return sw, nil
	}
	us, err := r.ledger.Unsynced(ctx, c.ID, at.Add(-r.sweepCfg.After), r.sweepCfg.Limit)
	if err != nil {
		return sw, err
	}
	for _, u := range us {
		if u.Attempts >= r.sweepCfg.MaxAttempts {
			if err := r.giveUp(ctx, c, u, at); err != nil {
				return sw, err
			}
			sw.GaveUp++
			continue
		}
		ok, err := r.ledger.Requeued(ctx, u.Key, at)
		if err != nil {
			return sw, err
		}
		if !ok {
			continue
		}
		if err := r.queue.EnqueueBatch(ctx, []order.Event{u.Event}); err != nil {
			return sw, err
		}
		r.log.Warn("accepted event not synced; queued again", "connection", c.ID, "source_event", u.Event.SourceEventID,
			"queued_at", u.QueuedAt, "attempt", u.Attempts+1, "trimmed", u.Trimmed)
		sw.Requeued++
	}
	return sw, nil
}

// giveUp puts an event the sweep queued its last time in the merchant's
// error list, then takes it out of the sweeps: recorded first, so that a
// failure between the two lists it twice rather than never.
func (r *Refresher) giveUp(ctx context.Context, c order.Connection, u Unsynced, at time.Time) error {
	ref := u.Event.Order
	name := cmp.Or(ref.StoreOrderName, ref.StoreOrderID, ref.MarketplaceOrderID)
	x := syncerr.Explain(syncerr.E(syncerr.InternalError, "order", name, "marketplace", c.Marketplace.Platform.DisplayName(),
		"platform", string(c.Marketplace.Platform)))
	rec := order.ErrorRecord{Connection: c.ID, MarketplaceOrderID: ref.MarketplaceOrderID, StoreOrderID: ref.StoreOrderID,
		StoreOrderName: ref.StoreOrderName, Code: string(x.Code), Kind: string(x.Kind), Title: x.Title, Cause: x.Cause,
		Remedy: x.Remedy, Attempts: u.Attempts + 1, At: at.UTC()}
	if err := r.store.RecordError(ctx, rec); err != nil {
		return err
	}
	if _, err := r.ledger.GiveUp(ctx, u.Key, at); err != nil {
		return err
	}
	r.log.Error("accepted event never synced; given up and listed for the merchant", "connection", c.ID,
		"source_event", u.Event.SourceEventID, "attempts", u.Attempts)
	return nil
}
