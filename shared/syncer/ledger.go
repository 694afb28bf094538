package syncer

import (
	"context"

	"github.com/ordersync/ordersync/shared/order"
)

// Ledger is the webhook's record of accepted events: an event accepted
// (answered 202 and queued) stays unsynced there until its sync reaches a
// final outcome, and the hourly refresh queues again what stayed unsynced
// too long, so that an event whose message was lost is not lost with it.
type Ledger interface {
	// MarkApplied records that the sync of the event under key reached a
	// final outcome. It is idempotent, and a no-op for a key the ledger
	// does not hold (events of the refresh and of the merchant API's
	// re-syncs are never in it).
	MarkApplied(ctx context.Context, key string) error
}

// WithLedger has the sync mark each event applied in l, under the key
// keyOf gives it (ingest.DedupKey: the syncer cannot import ingest, whose
// platform parsers import the syncer), once its delivery reaches a final
// outcome: Done (applied, ignored, superseded) or DeadLetter (failed or
// held, with its reason recorded). A Retry, Resend or Interrupted delivery
// is not final. A failure to mark is logged and never fails the delivery:
// at worst the refresh queues the event once more, and the sync is
// idempotent.
func (p *Syncer) WithLedger(l Ledger, keyOf func(order.Event) string) *Syncer {
	p.ledger, p.ledgerKey = l, keyOf
	return p
}

// settle marks e applied in the ledger when out is final.
func (p *Syncer) settle(ctx context.Context, e order.Event, out Outcome) {
	if p.ledger == nil || e.Connection == "" || (out.Verdict != Done && out.Verdict != DeadLetter) {
		return
	}
	ctx, cancel := p.bookkeeping(ctx)
	defer cancel()
	if err := p.ledger.MarkApplied(ctx, p.ledgerKey(e)); err != nil {
		p.log.Warn("could not mark the event applied in the ledger; the refresh may queue it again",
			"connection", e.Connection, "source_event", e.SourceEventID, "err", err)
	}
}
