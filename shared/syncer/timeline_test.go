package syncer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

// timelineOf is the order's timeline, one line an entry: kind, source,
// topic, step, code, detail.
func timelineOf(t *testing.T, e *env, mk string) []string {
	t.Helper()
	st, err := e.store.LoadOrder(context.Background(), "acme", mk)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(st.Timeline))
	for i, x := range st.Timeline {
		if x.At.IsZero() || (i > 0 && x.At.Before(st.Timeline[i-1].At)) {
			t.Errorf("entry %d (%s) at %v: want a time, oldest first", i, x.Kind, x.At)
		}
		out = append(out, strings.Join([]string{string(x.Kind), string(x.Source), x.Topic, x.EventID, x.Step, x.Code, x.Detail}, "|"))
	}
	return out
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTimelineRecordsAFailureAndTheMerchantsResync(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	s := e.syncer(syncer.Config{})
	ev := shipped(mk, store, "6A1", time.Now())
	ev.SourceEventID, ev.Topic = "wh-1", "orders/fulfilled"
	// Back Market refuses the accept: a permanent failure.
	e.fake.SetFault(backmarkettest.Fault{Status: 400, Methods: "POST", Count: 1})
	if out := s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1}); out.Verdict != syncer.DeadLetter {
		t.Fatalf("first verdict = %v (%+v), want DeadLetter", out.Verdict, out)
	}
	st, _ := e.store.LoadOrder(context.Background(), "acme", mk)
	code := st.Sync.ErrorCode
	if code == "" {
		t.Fatalf("no error code recorded: %+v", st.Sync)
	}
	resync := order.Event{Connection: "acme", Source: "resync", SourceEventID: "resync-1", Topic: "merchant/resync",
		Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}}
	if out := s.Sync(context.Background(), syncer.Delivery{Event: resync, Attempt: 1}); out.Verdict != syncer.Done {
		t.Fatalf("resync verdict = %v (%+v), want Done", out.Verdict, out)
	}
	sameLines(t, timelineOf(t, e, mk), []string{
		"received|shopify|orders/fulfilled|wh-1|||",
		"call|backmarket|||accept|" + code + "|HTTP 400",
		"failed|||wh-1||" + code + "|failed after 1 try",
		"received|resync|merchant/resync|resync-1|||",
		"call|backmarket|||accept||ok",
		"call|backmarket|||ship||ok",
		"resolved||merchant/resync|||" + code + "|",
		"synced||||||",
	})
}

func TestTimelineRecordsARetryAndTheEventOnce(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	s := e.syncer(syncer.Config{RetryBase: time.Second})
	ev := shipped(mk, store, "6A1", time.Now())
	ev.SourceEventID, ev.Topic = "wh-2", "orders/fulfilled"
	e.fake.SetFault(backmarkettest.Fault{Status: 503, Methods: "POST", Count: 1})
	if out := s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1}); out.Verdict != syncer.Retry {
		t.Fatalf("first verdict = %v (%+v), want Retry", out.Verdict, out)
	}
	if out := s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 2}); out.Verdict != syncer.Done {
		t.Fatalf("second verdict = %v (%+v), want Done", out.Verdict, out)
	}
	sameLines(t, timelineOf(t, e, mk), []string{
		"received|shopify|orders/fulfilled|wh-2|||",
		"call|backmarket|||accept|marketplace_unavailable|HTTP 503",
		"retried|||||marketplace_unavailable|try 1 of 3 failed; next try in 1s",
		"call|backmarket|||accept||ok",
		"call|backmarket|||ship||ok",
		"resolved||webhook|||marketplace_unavailable|",
		"synced||||||",
	})
}

func TestTimelineKeepsTheNewestEntries(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	s := e.syncer(syncer.Config{})
	at := time.Now()
	// Each re-sync of a synced order adds its received entry only.
	events := order.MaxTimeline + 10
	for i := range events {
		ev := order.Event{Connection: "acme", Source: "resync", SourceEventID: fmt.Sprintf("resync-%d", i), Topic: "merchant/resync",
			Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}}
		if i == 0 {
			ev = shipped(mk, store, "6A1", at)
		}
		if out := s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1}); out.Verdict != syncer.Done {
			t.Fatalf("event %d: verdict = %v (%+v), want Done", i, out.Verdict, out)
		}
	}
	st, err := e.store.LoadOrder(context.Background(), "acme", mk)
	if err != nil {
		t.Fatal(err)
	}
	// The first event adds 4 entries (received, accept, ship, synced),
	// every other one 1.
	all := 4 + events - 1
	if got, want := len(st.Timeline), order.MaxTimeline; got != want {
		t.Errorf("entries = %d, want %d", got, want)
	}
	if got, want := st.TimelineDropped, all-order.MaxTimeline; got != want {
		t.Errorf("dropped = %d, want %d", got, want)
	}
	if last := st.Timeline[len(st.Timeline)-1]; last.EventID != fmt.Sprintf("resync-%d", events-1) || last.Detail != "nothing to change" {
		t.Errorf("newest entry = %+v, want resync-%d's received, nothing to change", last, events-1)
	}
}

// TestAFailedEntryKeepsTheWordsOfItsFailure: the timeline explains a
// failure long after it, from the entry alone, so the entry keeps the
// details that fill the catalogue's words (which part is missing), not
// just the code.
func TestAFailedEntryKeepsTheWordsOfItsFailure(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	s := e.syncer(syncer.Config{})
	ev := shipped(mk, store, "", time.Now())
	if out := s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1}); out.Verdict != syncer.DeadLetter {
		t.Fatalf("verdict = %v (%+v), want DeadLetter", out.Verdict, out)
	}
	st, err := e.store.LoadOrder(context.Background(), "acme", mk)
	if err != nil {
		t.Fatal(err)
	}
	var failed *order.TimelineEntry
	for _, en := range st.Timeline {
		if en.Kind == order.TimelineFailed {
			failed = &en
		}
	}
	if failed == nil || failed.Code != "shipping_data_missing" {
		t.Fatalf("failed entry = %+v, want one for shipping_data_missing", failed)
	}
	if got := failed.Facts["missing"]; got != "tracking number" {
		t.Errorf("facts = %v, want missing: tracking number", failed.Facts)
	}
	for _, k := range []string{"order", "marketplace"} {
		if _, ok := failed.Facts[k]; ok {
			t.Errorf("facts = %v: %s is the connection's and the order's, filled when read, not kept", failed.Facts, k)
		}
	}
}
