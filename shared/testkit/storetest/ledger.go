package storetest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
)

// ledgerStep is one step in the life of an accepted event: move the clock,
// do something, then see what a sweep for events unsynced an hour lists.
type ledgerStep struct {
	name    string
	advance time.Duration
	do      string // "accept" (claim and confirm), "claim", "confirm", "applied", "requeue", "give up" or ""
	key     string
	want    string // Claim's result, or Requeued's or GiveUp's answer
	list    string // the sweep's listing after the step: "key:attempts", comma-separated
}

func ledgerEvent(key string) order.Event {
	return order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: key, Topic: "orders/fulfilled",
		Order: order.Ref{StoreOrderID: "s-" + key, StoreOrderName: "#" + key}, Status: order.StatusShipped}
}

func (s *suite) ledger(t *testing.T) {
	const inFlight, ttl, after = 10 * time.Second, 24 * time.Hour, time.Hour
	lifecycles := []struct {
		name  string
		steps []ledgerStep
	}{
		{"unsynced until applied", []ledgerStep{
			{"accepted", 0, "accept", "e1", "", ""},
			{"an hour later, to the millisecond", after, "", "", "", ""},
			{"past the hour", time.Millisecond, "", "", "", "e1:0"},
			{"queued again by a sweep", 0, "requeue", "e1", "true", ""},
			{"an hour after the sweep", after + time.Millisecond, "", "", "", "e1:1"},
			{"queued again", 0, "requeue", "e1", "true", ""},
			{"and again an hour later", after + time.Millisecond, "", "", "", "e1:2"},
			{"the sync reaches a final outcome", 0, "applied", "e1", "", ""},
			{"applied again", 0, "applied", "e1", "", ""},
			{"no sweep queues an applied event", 0, "requeue", "e1", "false", ""},
			{"nor gives it up", 0, "give up", "e1", "false", ""},
			{"still a duplicate", 0, "claim", "e1", "duplicate", ""},
		}},
		{"given up after the last attempt", []ledgerStep{
			{"accepted", 0, "accept", "e1", "", ""},
			{"past the hour", after + time.Millisecond, "", "", "", "e1:0"},
			{"given up", 0, "give up", "e1", "true", ""},
			{"given up once", 0, "give up", "e1", "false", ""},
			{"not queued again", 0, "requeue", "e1", "false", ""},
			{"a late sync still marks it", 0, "applied", "e1", "", ""},
			{"still a duplicate", 0, "claim", "e1", "duplicate", ""},
		}},
		// The sync can finish before the webhook's confirm is written.
		{"applied before it was confirmed", []ledgerStep{
			{"claimed", 0, "claim", "e1", "claimed", ""},
			{"the sync is done first", 0, "applied", "e1", "", ""},
			{"confirmed", 0, "confirm", "e1", "", ""},
			{"two hours later", 2 * after, "", "", "", ""},
			{"a duplicate", 0, "claim", "e1", "duplicate", ""},
		}},
		{"an event the ledger never held", []ledgerStep{
			{"applied", 0, "applied", "resync/1", "", ""},
			{"no item was made", 0, "claim", "resync/1", "claimed", ""},
			{"not queued again", 0, "requeue", "resync/2", "false", ""},
		}},
		{"past the dedup TTL, forgotten", []ledgerStep{
			{"accepted", 0, "accept", "e1", "", ""},
			{"past the hour", after + time.Millisecond, "", "", "", "e1:0"},
			{"past the TTL", ttl, "", "", "", ""},
		}},
		{"without recovery, a redelivery of an event never synced is a duplicate", []ledgerStep{
			{"accepted", 0, "accept", "e1", "", ""},
			{"redelivered two hours later", 2 * after, "claim", "e1", "duplicate", "e1:0"},
		}},
	}
	// With RecoverAfter(after): a redelivery of an event unsynced that long
	// is claimed again, so that the webhook queues it in place of the lost
	// message.
	recovering := []struct {
		name  string
		steps []ledgerStep
	}{
		{"a redelivery recovers an event never synced", []ledgerStep{
			{"accepted", 0, "accept", "e1", "", ""},
			{"redelivered at once", 0, "claim", "e1", "duplicate", ""},
			{"redelivered an hour later, to the millisecond", after, "claim", "e1", "duplicate", ""},
			{"redelivered past the hour: claimed again", time.Millisecond, "claim", "e1", "claimed", ""},
			{"while it is queued", 0, "claim", "e1", "in_flight", ""},
			{"queued and confirmed: unsynced anew", 0, "confirm", "e1", "", ""},
			{"past another hour", after + time.Millisecond, "", "", "", "e1:0"},
			{"the sync applies it", 0, "applied", "e1", "", ""},
			{"a duplicate ever after", 2 * after, "claim", "e1", "duplicate", ""},
		}},
		{"a sweep's requeue counts as queued", []ledgerStep{
			{"accepted", 0, "accept", "e1", "", ""},
			{"swept past the hour", after + time.Millisecond, "requeue", "e1", "true", ""},
			{"redelivered", time.Minute, "claim", "e1", "duplicate", ""},
		}},
		{"an applied event is a duplicate", []ledgerStep{
			{"accepted", 0, "accept", "e1", "", ""},
			{"applied", 0, "applied", "e1", "", ""},
			{"redelivered two hours later", 2 * after, "claim", "e1", "duplicate", ""},
		}},
	}
	for i, lc := range append(lifecycles, recovering...) {
		t.Run(lc.name, func(t *testing.T) {
			h := s.fresh(t)
			ctx := t.Context()
			d := h.Deduper(inFlight)
			if i >= len(lifecycles) {
				d = h.Recovering(inFlight, after)
			}
			for _, st := range lc.steps {
				h.Clock.Advance(st.advance)
				var got string
				var err error
				switch st.do {
				case "accept":
					var res ingest.ClaimResult
					if res, err = d.Claim(ctx, st.key, ttl); err == nil && res != ingest.Claimed {
						t.Fatalf("%s: Claim = %v, want claimed", st.name, res)
					}
					if err == nil {
						err = d.Confirm(ctx, st.key, ledgerEvent(st.key))
					}
				case "claim":
					var res ingest.ClaimResult
					res, err = d.Claim(ctx, st.key, ttl)
					got = res.String()
				case "confirm":
					err = d.Confirm(ctx, st.key, ledgerEvent(st.key))
				case "applied":
					err = d.MarkApplied(ctx, st.key)
				case "requeue":
					var ok bool
					ok, err = d.Requeued(ctx, st.key, h.Clock.Now())
					got = strconv.FormatBool(ok)
				case "give up":
					var ok bool
					ok, err = d.GiveUp(ctx, st.key, h.Clock.Now())
					got = strconv.FormatBool(ok)
				}
				if err != nil {
					t.Fatalf("%s: %s: %v", st.name, st.do, err)
				}
				if got != st.want {
					t.Errorf("%s: %s = %s, want %s", st.name, st.do, got, st.want)
				}
				us, err := d.Unsynced(ctx, "acme", h.Clock.Now().Add(-after), 10)
				if err != nil {
					t.Fatalf("%s: Unsynced: %v", st.name, err)
				}
				var list []string
				for _, u := range us {
					list = append(list, fmt.Sprintf("%s:%d", u.Key, u.Attempts))
				}
				if got := strings.Join(list, ","); got != st.list {
					t.Errorf("%s: Unsynced = %q, want %q", st.name, got, st.list)
				}
			}
		})
	}

	t.Run("by connection, oldest first, at most limit", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		d := h.Deduper(inFlight)
		accept := func(conn, key string) {
			t.Helper()
			if _, err := d.Claim(ctx, key, ttl); err != nil {
				t.Fatal(err)
			}
			e := ledgerEvent(key)
			e.Connection = conn
			if err := d.Confirm(ctx, key, e); err != nil {
				t.Fatal(err)
			}
			h.Clock.Advance(time.Second)
		}
		accept("acme", "acme/c")
		accept("acme", "acme/a")
		accept("other", "other/a")
		accept("acme", "acme/b")
		queued := s.base
		tests := []struct {
			conn  string
			limit int
			want  string
		}{
			{"acme", 10, "acme/c,acme/a,acme/b"},
			{"acme", 2, "acme/c,acme/a"},
			{"acme", 0, ""},
			{"other", 10, "other/a"},
			{"nobody", 10, ""},
		}
		for _, tt := range tests {
			us, err := d.Unsynced(ctx, tt.conn, h.Clock.Now(), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, u := range us {
				keys = append(keys, u.Key)
			}
			if got := strings.Join(keys, ","); got != tt.want {
				t.Errorf("Unsynced(%s, limit %d) = %q, want %q", tt.conn, tt.limit, got, tt.want)
			}
		}
		us, err := d.Unsynced(ctx, "acme", h.Clock.Now(), 1)
		if err != nil || len(us) != 1 {
			t.Fatalf("Unsynced = %v, %v", us, err)
		}
		if got, want := us[0].QueuedAt, queued; !got.Equal(want) {
			t.Errorf("QueuedAt = %v, want %v (when it was confirmed)", got, want)
		}
	})

	t.Run("the event is kept as queued, or only its order when too large", func(t *testing.T) {
		big := ledgerEvent("big")
		big.SourceStatus = strings.Repeat("x", 450_000) // an item holds at most 400 KB
		thin := order.Event{Connection: big.Connection, Source: big.Source, SourceEventID: big.SourceEventID,
			Topic: big.Topic, Order: big.Order, Fetch: true}
		small := ledgerEvent("small")
		small.Lines = []order.Line{{SKU: "SKU-1", Quantity: 2}}
		small.OccurredAt = s.base.Add(-time.Minute)
		tests := []struct {
			name        string
			event       order.Event
			want        order.Event
			wantTrimmed bool
		}{
			{"small: whole", small, small, false},
			{"too large: its order only, to be read from the store", big, thin, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := s.fresh(t)
				ctx := t.Context()
				d := h.Deduper(inFlight)
				key := "acme/" + tt.event.SourceEventID
				if _, err := d.Claim(ctx, key, ttl); err != nil {
					t.Fatal(err)
				}
				if err := d.Confirm(ctx, key, tt.event); err != nil {
					t.Fatalf("Confirm: %v", err)
				}
				us, err := d.Unsynced(ctx, "acme", h.Clock.Now().Add(time.Millisecond), 10)
				if err != nil || len(us) != 1 {
					t.Fatalf("Unsynced = %d entries, %v; want 1", len(us), err)
				}
				if got, want := jsonOf(t, us[0].Event), jsonOf(t, tt.want); got != want {
					t.Errorf("event = %.300s\nwant    %.300s", got, want)
				}
				if us[0].Trimmed != tt.wantTrimmed || us[0].Key != key {
					t.Errorf("entry = %s trimmed %v, want %s trimmed %v", us[0].Key, us[0].Trimmed, key, tt.wantTrimmed)
				}
			})
		}
	})
}
