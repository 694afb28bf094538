package syncer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

func TestAFinalOutcomeMarksTheEventApplied(t *testing.T) {
	tests := []struct {
		name        string
		fault       *backmarkettest.Fault
		tracking    string
		attempt     int
		accepted    bool // the webhook accepted it (it is in the ledger)
		wantVerdict syncer.Verdict
		wantApplied bool
	}{
		{"applied", nil, "6A1", 1, true, syncer.Done, true},
		{"failed for good", nil, "", 1, true, syncer.DeadLetter, true},
		{"held: the marketplace refuses the key", &backmarkettest.Fault{Status: 401}, "6A1", 1, true, syncer.DeadLetter, true},
		{"the marketplace is down, tries left", &backmarkettest.Fault{Status: 503}, "6A1", 1, true, syncer.Retry, false},
		{"the marketplace is down on the last try", &backmarkettest.Fault{Status: 503}, "6A1", 3, true, syncer.DeadLetter, true},
		{"an event the ledger never held", nil, "6A1", 1, false, syncer.Done, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			d := e.store.Deduper(time.Minute)
			mk, store := e.order()
			ev := shipped(mk, store, tt.tracking, time.Now())
			key := ingest.DedupKey(ev)
			if tt.accepted {
				if _, err := d.Claim(ctx, key, time.Hour); err != nil {
					t.Fatal(err)
				}
				if err := d.Confirm(ctx, key, ev); err != nil {
					t.Fatal(err)
				}
			}
			if tt.fault != nil {
				e.fake.SetFault(*tt.fault)
			}
			out := e.syncer(syncer.Config{}).WithLedger(d, ingest.DedupKey).Sync(ctx, syncer.Delivery{Event: ev, Attempt: tt.attempt})
			if out.Verdict != tt.wantVerdict {
				t.Fatalf("verdict = %v (%+v), want %v", out.Verdict, out, tt.wantVerdict)
			}
			us, err := d.Unsynced(ctx, "acme", time.Now().Add(time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(us) == 0, tt.wantApplied || !tt.accepted; got != want {
				t.Errorf("left the ledger = %v (%d unsynced), want %v", got, len(us), want)
			}
			if !tt.accepted {
				// Marking an event the ledger never held made no item: the
				// key is new to the webhook.
				if got, err := d.Claim(ctx, key, time.Hour); err != nil || got != ingest.Claimed {
					t.Errorf("Claim after the sync = %v, %v; want claimed", got, err)
				}
			}
		})
	}
}

type failingLedger struct{ calls int }

func (l *failingLedger) MarkApplied(context.Context, string) error {
	l.calls++
	return errors.New("table unavailable")
}

func TestALedgerThatFailsDoesNotFailTheDelivery(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	l := &failingLedger{}
	out := e.syncer(syncer.Config{}).WithLedger(l, ingest.DedupKey).
		Sync(context.Background(), syncer.Delivery{Event: shipped(mk, store, "6A1", time.Now()), Attempt: 1})
	if out.Verdict != syncer.Done || l.calls != 1 {
		t.Errorf("verdict = %v after %d MarkApplied calls, want Done after 1", out.Verdict, l.calls)
	}
	if st, err := e.store.LoadOrder(context.Background(), "acme", mk); err != nil || st.Sync.Result != order.SyncSynced {
		t.Errorf("state = %+v, %v; want synced", st.Sync, err)
	}
}
