package syncer_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// countingStore counts the writes of an order's state.
type countingStore struct {
	syncer.Store
	saves, confirms, links, claims, renews atomic.Int32
}

func (c *countingStore) LinkOrder(ctx context.Context, conn, storeOrderID, marketplaceOrderID string) error {
	c.links.Add(1)
	return c.Store.LinkOrder(ctx, conn, storeOrderID, marketplaceOrderID)
}

func (c *countingStore) ConfirmEffects(ctx context.Context, scope string, keys ...string) error {
	c.confirms.Add(1)
	return c.Store.ConfirmEffects(ctx, scope, keys...)
}

func (c *countingStore) ClaimEffects(ctx context.Context, scope string, keys []string, lease time.Duration) ([]syncer.Claim, error) {
	c.claims.Add(1)
	return c.Store.ClaimEffects(ctx, scope, keys, lease)
}

func (c *countingStore) RenewEffect(ctx context.Context, scope, key string, token int64) (syncer.Claim, bool, error) {
	c.renews.Add(1)
	return c.Store.RenewEffect(ctx, scope, key, token)
}

func (c *countingStore) SaveOrder(ctx context.Context, s order.State) (order.State, error) {
	c.saves.Add(1)
	return c.Store.SaveOrder(ctx, s)
}

// TestASyncThatGoesWellWritesTheOrderOnce: the event's change and the
// outcome go in one write (a write unit and the indexes' each, per event).
func TestASyncThatGoesWellWritesTheOrderOnce(t *testing.T) {
	e := newEnv(t)
	cs := &countingStore{Store: e.store}
	s := e.syncerOn(cs, syncer.Config{})
	mk, store := e.order()
	out := s.Sync(t.Context(), syncer.Delivery{Event: shipped(mk, store, "6A1", time.Now()), Attempt: 1})
	if out.Verdict != syncer.Done {
		t.Fatalf("verdict = %v (%+v), want Done", out.Verdict, out)
	}
	if n := cs.saves.Load(); n != 1 {
		t.Errorf("%d writes of the order, want 1", n)
	}
	// The calls are named on the order, not confirmed one by one; and
	// claimed together (accept and ship: one write).
	if n := cs.confirms.Load(); n != 0 {
		t.Errorf("%d claims confirmed, want 0", n)
	}
	if n := cs.claims.Load(); n != 1 {
		t.Errorf("%d claim writes for the accept and the shipment, want 1", n)
	}
	st, err := e.store.LoadOrder(t.Context(), "acme", mk)
	if err != nil || st.Sync.Result != order.SyncSynced || st.StoreStatus != order.StatusShipped || len(st.Timeline) == 0 ||
		st.Timeline[0].Kind != order.TimelineReceived {
		t.Errorf("state = %+v, %v; want the event applied, synced, and its received entry first on the timeline", st, err)
	}
	// Past the claims' lease, a redelivery of the event, its marketplace
	// read lagging (the order as before the calls), makes no call again.
	accepts := 0
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk {
			accepts++
		}
	}
	e.fake.Seed(backmarkettest.AwaitingAcceptance(e.id, "SKU-A"))
	late := e.syncerOn(cs, syncer.Config{EffectLease: time.Nanosecond})
	late.Sync(t.Context(), syncer.Delivery{Event: shipped(mk, store, "6A1", time.Now()), Attempt: 2})
	after := 0
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk {
			after++
		}
	}
	if after != accepts {
		t.Errorf("marketplace calls of the order: %d before the redelivery, %d after; want none more", accepts, after)
	}
}

// nested runs another sync while the first call of this one is made.
type nested struct {
	syncer.Marketplace
	during func()
	done   atomic.Bool
}

func (n *nested) Accept(ctx context.Context, o order.MarketplaceOrder) error {
	if n.done.CompareAndSwap(false, true) {
		n.during()
	}
	return n.Marketplace.Accept(ctx, o)
}

// TestANewerWordDuringTheCallsIsNotLost: a newer event of the order comes
// in while this one's first call is made, finds that call claimed, and
// goes back to the queue. Its change is on the order at once, and this
// sync, finding it at its own write, plans again on it: the order ends
// with the newer word, synced, before the newer event's retry.
func TestANewerWordDuringTheCallsIsNotLost(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	now := time.Now()
	older, newer := shipped(mk, store, "6A-OLD", now), shipped(mk, store, "6A-NEW", now.Add(time.Minute))
	newer.Parcels[0].ID = "f-other"
	var newerOut syncer.Outcome
	var s *syncer.Syncer
	n := &nested{during: func() {
		newerOut = s.Sync(context.Background(), syncer.Delivery{Event: newer, Attempt: 1})
	}}
	e.wrap = func(mp syncer.Marketplace) syncer.Marketplace { n.Marketplace = mp; return n }
	s = e.syncer(syncer.Config{})
	out := s.Sync(context.Background(), syncer.Delivery{Event: older, Attempt: 1})
	if newerOut.Verdict != syncer.Retry {
		t.Fatalf("newer event: %+v, want Retry (the accept it needs is in progress)", newerOut)
	}
	if out.Verdict != syncer.Done {
		t.Fatalf("older event: %+v, want Done", out)
	}
	st, err := e.store.LoadOrder(context.Background(), "acme", mk)
	if err != nil {
		t.Fatal(err)
	}
	hasNew := false
	for _, p := range st.Parcels {
		hasNew = hasNew || p.Tracking.Number == "6A-NEW"
	}
	if !st.StoreUpdatedAt.Equal(newer.OccurredAt) || !hasNew {
		t.Errorf("stored word at %v with parcels %+v; want the newer event's (%v, 6A-NEW)", st.StoreUpdatedAt, st.Parcels, newer.OccurredAt)
	}
	if st.Sync.Result != order.SyncSynced {
		t.Errorf("sync = %+v, want synced", st.Sync)
	}
}

// TestAKnownOrderIsNotLinkedAgain: the store order's link is made by the
// state's save (SaveOrder links before it writes), never by a put of its
// own: not for the order's first event, nor a later one (a write unit per
// event that changed nothing, 2 for 2 events before e79a1e2, 1 before the
// save made it). The link is there.
func TestAKnownOrderIsNotLinkedAgain(t *testing.T) {
	e := newEnv(t)
	cs := &countingStore{Store: e.store}
	s := e.syncerOn(cs, syncer.Config{})
	mk, store := e.order()
	at := time.Now()
	for i, ev := range []order.Event{shipped(mk, store, "6A1", at), shipped(mk, store, "6A1", at.Add(time.Minute))} {
		if out := s.Sync(t.Context(), syncer.Delivery{Event: ev, Attempt: 1}); out.Verdict != syncer.Done {
			t.Fatalf("event %d: verdict = %v (%+v), want Done", i, out.Verdict, out)
		}
	}
	if n := cs.links.Load(); n != 0 {
		t.Errorf("%d link puts for two events of one store order, want none (the save links)", n)
	}
	if got, err := e.store.FindOrder(t.Context(), "acme", store); err != nil || got != mk {
		t.Errorf("FindOrder(%s) = %q, %v; want %q", store, got, err, mk)
	}
}

// slowAccept makes the accept take a while, or fail, before the shipment.
type slowAccept struct {
	syncer.Marketplace
	delay time.Duration
	fail  error
}

func (s *slowAccept) Accept(ctx context.Context, o order.MarketplaceOrder) error {
	time.Sleep(s.delay)
	if s.fail != nil {
		return s.fail
	}
	return s.Marketplace.Accept(ctx, o)
}

// TestAFailedCallGivesBackTheClaimsOfThoseAfterIt: the plan's accept and
// shipment are claimed together; the accept fails, and the retry at once
// finds neither claimed (not busy for a lease because the shipment was
// claimed and never made).
func TestAFailedCallGivesBackTheClaimsOfThoseAfterIt(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	sa := &slowAccept{fail: syncerr.E(syncerr.MarketplaceUnavailable)}
	e.wrap = func(mp syncer.Marketplace) syncer.Marketplace { sa.Marketplace = mp; return sa }
	s := e.syncer(syncer.Config{})
	ev := shipped(mk, store, "6A1", time.Now())
	if out := s.Sync(t.Context(), syncer.Delivery{Event: ev, Attempt: 1}); out.Verdict != syncer.Retry {
		t.Fatalf("first try: %+v, want Retry", out)
	}
	sa.fail = nil
	if out := s.Sync(t.Context(), syncer.Delivery{Event: ev, Attempt: 2}); out.Verdict != syncer.Done {
		t.Fatalf("second try: %+v, want Done (no claim held by the first)", out)
	}
	if n := e.ships(mk); n != 1 {
		t.Errorf("ship calls = %d, want 1", n)
	}
}

// TestACallAfterASlowOneIsClaimedAgain: the shipment's claim was taken
// with the accept's; the accept took more than half the lease, so the
// shipment's claim is renewed (a whole lease for its call) before it is
// made, and is made once.
func TestACallAfterASlowOneIsClaimedAgain(t *testing.T) {
	e := newEnv(t)
	cs := &countingStore{Store: e.store}
	mk, store := e.order()
	const lease = 200 * time.Millisecond
	sa := &slowAccept{delay: lease * 6 / 10}
	e.wrap = func(mp syncer.Marketplace) syncer.Marketplace { sa.Marketplace = mp; return sa }
	s := e.syncerOn(cs, syncer.Config{EffectLease: lease})
	if out := s.Sync(t.Context(), syncer.Delivery{Event: shipped(mk, store, "6A1", time.Now()), Attempt: 1}); out.Verdict != syncer.Done {
		t.Fatalf("verdict = %+v, want Done", out)
	}
	if n, r := cs.claims.Load(), cs.renews.Load(); n != 1 || r != 1 {
		t.Errorf("%d claim writes and %d renewals, want 1 (both calls) and 1 (the shipment)", n, r)
	}
	if n := e.ships(mk); n != 1 {
		t.Errorf("ship calls = %d, want 1", n)
	}
}

// TestALaterEventKeepsTheOrdersPlaceInTheListing: the listing files an
// order by when it entered its sync state (Sync.Since): a later event of
// a synced order leaves it (its index key, so the index's write is one
// unit, not a delete and a put); a failure moves it.
func TestALaterEventKeepsTheOrdersPlaceInTheListing(t *testing.T) {
	e := newEnv(t)
	s := e.syncer(syncer.Config{})
	mk, store := e.order()
	at := time.Now()
	load := func() order.State {
		t.Helper()
		st, err := e.store.LoadOrder(t.Context(), "acme", mk)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if out := s.Sync(t.Context(), syncer.Delivery{Event: shipped(mk, store, "6A1", at), Attempt: 1}); out.Verdict != syncer.Done {
		t.Fatalf("first event: %+v", out)
	}
	first := load()
	if first.Sync.Since.IsZero() || !first.Sync.Since.Equal(first.Sync.At) {
		t.Fatalf("first sync: since %v, at %v; want since its sync", first.Sync.Since, first.Sync.At)
	}
	time.Sleep(2 * time.Millisecond)
	if out := s.Sync(t.Context(), syncer.Delivery{Event: shipped(mk, store, "6A1", at.Add(time.Minute)), Attempt: 1}); out.Verdict != syncer.Done {
		t.Fatalf("later event: %+v", out)
	}
	later := load()
	if !later.Sync.At.After(first.Sync.At) || !later.Sync.Since.Equal(first.Sync.Since) {
		t.Errorf("later sync: at %v since %v; want a newer at and the first since %v", later.Sync.At, later.Sync.Since, first.Sync.Since)
	}
	if got, want := merchantapi.OrderKey(later), merchantapi.OrderKey(first); got != want {
		t.Errorf("listing key %s after the later event, want %s as before", got, want)
	}
	// A new parcel the marketplace refuses: the order fails, and moves.
	e.fake.SetFault(backmarkettest.Fault{Status: http.StatusNotFound, Count: 10, Methods: "POST,GET"})
	s.Sync(t.Context(), syncer.Delivery{Event: shipped(mk, store, "6A2", at.Add(2*time.Minute)), Attempt: 3})
	failed := load()
	if failed.Sync.Result == order.SyncSynced || !failed.Sync.Since.After(first.Sync.Since) {
		t.Errorf("after a failure: %+v; want it failed, since that failure", failed.Sync)
	}
}

// lostAnswer lands the accept but loses its answer (it waits out the
// call's deadline), and runs during the read that follows (the sync
// looking whether it landed) once the plan's claims are past their lease.
type lostAnswer struct {
	syncer.Marketplace
	lease  time.Duration
	start  time.Time
	during func()
	lost   atomic.Bool
	ran    atomic.Bool
}

func (l *lostAnswer) Accept(ctx context.Context, o order.MarketplaceOrder) error {
	if err := l.Marketplace.Accept(context.WithoutCancel(ctx), o); err != nil {
		return err
	}
	l.lost.Store(true)
	<-ctx.Done()
	return ctx.Err()
}

func (l *lostAnswer) Order(ctx context.Context, id string) (order.MarketplaceOrder, error) {
	if l.lost.Load() && l.ran.CompareAndSwap(false, true) {
		time.Sleep(time.Until(l.start.Add(l.lease + 20*time.Millisecond)))
		l.during()
	}
	return l.Marketplace.Order(ctx, id)
}

// TestAWorkerNeverTakesAClaimAnotherTookOver: worker A claims the accept
// and the shipment; the accept's answer is lost and A's look at the order
// outlasts the lease, so worker B (a redelivery) takes the shipment's
// claim over, ships and records it. A, back at its shipment, holds a claim
// that is no longer its own: it must not release B's and claim again (it
// did: two shipments), but find the call taken and stop.
func TestAWorkerNeverTakesAClaimAnotherTookOver(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	const lease = 300 * time.Millisecond
	ev := shipped(mk, store, "6A1", time.Now())
	l := &lostAnswer{lease: lease}
	b := e.syncer(syncer.Config{EffectLease: lease})
	var bOut syncer.Outcome
	l.during = func() { bOut = b.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 2}) }
	a := syncer.New(syncer.Config{EffectLease: lease}, e.store, marketplacesFunc(func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
		l.Marketplace = backmarket.New(http.DefaultClient, backmarket.Options{BaseURL: conn.Marketplace.BaseURL, Token: "bm"})
		return l, nil
	}), e.notes, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	l.start = time.Now()
	a.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1})
	if !l.ran.Load() {
		t.Fatal("worker B never ran: the accept's answer was not lost")
	}
	if bOut.Verdict != syncer.Done {
		t.Errorf("worker B: %+v, want Done (it shipped)", bOut)
	}
	if n := e.ships(mk); n != 1 {
		t.Errorf("ship calls = %d, want 1", n)
	}
}
