package refresh_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// accepted records ev as the webhook does once it queued it (whose message
// is then lost: nothing is on the queue).
func (e *env) accepted(d *memstore.Deduper, ev order.Event) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := d.Claim(ctx, ingest.DedupKey(ev), 72*time.Hour); err != nil {
		e.t.Fatal(err)
	}
	if err := d.Confirm(ctx, ingest.DedupKey(ev), ev); err != nil {
		e.t.Fatal(err)
	}
}

func lostEvent(id string) order.Event {
	return order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: id, Topic: "orders/fulfilled",
		Order: order.Ref{StoreOrderID: "s-" + id, StoreOrderName: "#" + id, MarketplaceOrderID: "m-" + id}, Status: order.StatusShipped,
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ledgerStep is one hourly run, or the sync finishing an event, at a time
// after the event was accepted.
type ledgerStep struct {
	name    string
	at      time.Duration // after acceptance
	applied bool          // instead of a run, the sync marks the event applied
	queued  int           // times the event is queued again by this run
	errors  int           // entries in the merchant's error list after it
}

func TestTheSweepQueuesAgainAnAcceptedEventWhoseMessageWasLost(t *testing.T) {
	lives := []struct {
		name  string
		steps []ledgerStep
	}{
		{"queued again after an hour, until applied", []ledgerStep{
			{"half an hour on: it may still be waiting its turn", 30 * time.Minute, false, 0, 0},
			{"over an hour on", 61 * time.Minute, false, 1, 0},
			{"half an hour after the sweep", 91 * time.Minute, false, 0, 0},
			{"the sync applies it", 100 * time.Minute, true, 0, 0},
			{"never again", 5 * time.Hour, false, 0, 0},
		}},
		{"three attempts, then the merchant is told", []ledgerStep{
			{"first", 2 * time.Hour, false, 1, 0},
			{"second", 4 * time.Hour, false, 1, 0},
			{"third", 6 * time.Hour, false, 1, 0},
			{"given up: in the error list", 8 * time.Hour, false, 0, 1},
			{"told once", 10 * time.Hour, false, 0, 1},
			{"a late sync is no error", 11 * time.Hour, true, 0, 1},
		}},
	}
	for _, life := range lives {
		t.Run(life.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			d := e.store.Deduper(10 * time.Second)
			e.r.WithLedger(d, refresh.SweepConfig{})
			ev := lostEvent("evt-1")
			other := lostEvent("evt-2")
			other.Connection = "elsewhere" // no such connection: never swept
			accepted := time.Now()
			e.accepted(d, ev)
			e.accepted(d, other)
			for _, st := range life.steps {
				if st.applied {
					if err := d.MarkApplied(ctx, ingest.DedupKey(ev)); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if _, err := e.r.Refresh(ctx, refresh.Job{Connection: "acme", At: accepted.Add(st.at)}); err != nil {
					t.Fatalf("%s: Run: %v", st.name, err)
				}
				n := 0
				for _, q := range e.queued() {
					if got, want := jsonOf(t, q), jsonOf(t, ev); got != want {
						t.Errorf("%s: queued %s, want the accepted event %s", st.name, got, want)
					}
					n++
				}
				if n != st.queued {
					t.Errorf("%s: queued the event %d times, want %d", st.name, n, st.queued)
				}
				errs, err := e.store.RecentErrors(ctx, "acme", accepted.Add(-time.Hour), 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(errs) != st.errors {
					t.Fatalf("%s: %d errors listed (%+v), want %d", st.name, len(errs), errs, st.errors)
				}
				for _, r := range errs {
					if r.Code != "internal_error" || r.StoreOrderName != "#evt-1" || r.MarketplaceOrderID != "m-evt-1" ||
						!strings.Contains(r.Remedy, "#evt-1") || r.Attempts != 4 {
						t.Errorf("%s: listed %+v, want internal_error for #evt-1 after 4 tries, its remedy naming the order", st.name, r)
					}
				}
			}
		})
	}
}
