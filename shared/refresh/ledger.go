package refresh

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
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
