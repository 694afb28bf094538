package syncer_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// The core's tests run on the in-memory store and the Back Market fake on
// loopback: no emulator. shared/syncbatch drives the sync through the
// in-memory queue; only what is about SQS and DynamoDB themselves runs on
// the emulators, in shared/syncbatch/sqsbatchtest.

type marketplacesFunc func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error)

func (f marketplacesFunc) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return f(ctx, conn)
}

type notices struct {
	mu   sync.Mutex
	sent []syncer.Notice
}

func (n *notices) Notify(_ context.Context, x syncer.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, x)
	return nil
}

type env struct {
	t     *testing.T
	store *memstore.Store
	fake  *backmarkettest.Server
	conn  order.Connection
	notes *notices
	// client is the Back Market connector's HTTP client.
	client *http.Client
	// wrap, when set, wraps the marketplace the syncer gets.
	wrap func(syncer.Marketplace) syncer.Marketplace
	id   int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, store: memstore.New(), fake: backmarkettest.New(backmarkettest.Options{Token: "bm"}), notes: &notices{}, id: 100}
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	e.conn = order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test",
		Store: order.Endpoint{Platform: order.Shopify}, Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: srv.URL}}
	if err := e.store.PutConnection(context.Background(), e.conn); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) syncer(cfg syncer.Config) *syncer.Syncer { return e.syncerOn(e.store, cfg) }

// syncerOn is syncer over store (one that counts e.store's calls, say).
func (e *env) syncerOn(store syncer.Store, cfg syncer.Config) *syncer.Syncer {
	return syncer.New(cfg, store, marketplacesFunc(func(_ context.Context, conn order.Connection) (syncer.Marketplace, error) {
		var mp syncer.Marketplace = backmarket.New(cmp.Or(e.client, http.DefaultClient), backmarket.Options{BaseURL: conn.Marketplace.BaseURL, Token: "bm"})
		if e.wrap != nil {
			mp = e.wrap(mp)
		}
		return mp, nil
	}), e.notes, slog.New(slog.NewTextHandler(testWriter{e.t}, nil)))
}

func (e *env) order() (mkID, storeID string) {
	e.id++
	e.fake.Seed(backmarkettest.AwaitingAcceptance(e.id, "SKU-A"))
	return fmt.Sprint(e.id), fmt.Sprint(9000 + e.id)
}

func shipped(mkID, storeID, tracking string, at time.Time) order.Event {
	return order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: fmt.Sprintf("evt-%d", at.UnixNano()), OccurredAt: at,
		Order: order.Ref{StoreOrderID: storeID, StoreOrderName: "#" + storeID, MarketplaceOrderID: mkID}, Status: order.StatusShipped,
		Lines:   []order.Line{{SKU: "SKU-A", Quantity: 1}},
		Parcels: []order.Parcel{{ID: "f-" + storeID, Tracking: order.Tracking{Number: tracking, Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}}}
}

func (e *env) ships(mkID string) int {
	n := 0
	for _, c := range e.fake.Calls() {
		if c.OrderID == mkID && c.NewState == 3 && c.Status < 300 {
			n++
		}
	}
	return n
}

func TestShippedSyncsInOneTry(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	out := e.syncer(syncer.Config{}).Sync(context.Background(), syncer.Delivery{Event: shipped(mk, store, "6A1", time.Now()), Attempt: 1})
	if out.Verdict != syncer.Done {
		t.Fatalf("verdict = %v (%+v), want Done", out.Verdict, out)
	}
	st, err := e.store.LoadOrder(context.Background(), "acme", mk)
	if err != nil || st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("state = %+v, %v; want synced and shipped", st, err)
	}
	if n := e.ships(mk); n != 1 {
		t.Errorf("ship calls = %d, want 1", n)
	}
}

func TestAPermanentFailureIsDeadLetteredWithItsReason(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	out := e.syncer(syncer.Config{}).Sync(context.Background(), syncer.Delivery{Event: shipped(mk, store, "", time.Now()), Attempt: 1})
	if out.Verdict != syncer.DeadLetter || out.Failure.Code != syncerr.ShippingDataMissing || out.Failure.OrderKey != "acme/"+mk {
		t.Fatalf("outcome = %+v, want dead-lettered with shipping_data_missing for acme/%s", out, mk)
	}
	errs, _ := e.store.RecentErrors(context.Background(), "acme", time.Now().Add(-time.Hour), 10)
	if len(errs) != 1 || errs[0].Code != "shipping_data_missing" || len(e.notes.sent) != 1 {
		t.Errorf("errors %+v, %d emails; want the failure listed and emailed once", errs, len(e.notes.sent))
	}
}

// lagging makes the marketplace apply a ship and then lose the answer
// (the worker's context cancelled mid-call), and then answer reads with
// the order as it was before the ship for a while, as marketplaces whose
// reads lag their writes do.
type lagging struct {
	syncer.Marketplace
	mu    sync.Mutex
	stale *order.MarketplaceOrder
	reads int
}

func (l *lagging) Order(ctx context.Context, id string) (order.MarketplaceOrder, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stale != nil && l.reads > 0 {
		l.reads--
		return *l.stale, nil
	}
	return l.Marketplace.Order(ctx, id)
}

func (l *lagging) Ship(ctx context.Context, o order.MarketplaceOrder, p order.Parcel) error {
	before, err := l.Marketplace.Order(ctx, o.ID)
	if err != nil {
		return err
	}
	if err := l.Marketplace.Ship(ctx, o, p); err != nil {
		return err
	}
	l.mu.Lock()
	l.stale, l.reads = &before, 3
	l.mu.Unlock()
	return syncerr.E(syncerr.MarketplaceUnavailable).Wrap(fmt.Errorf("post: %w", context.Canceled))
}

// Found by the soak: a call whose answer was lost to a cancelled context
// was taken as not made, its claim released, and the next try, reading a
// lagging marketplace, shipped again.
func TestACallWhoseAnswerWasLostIsNotMadeAgainOnALaggingRead(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	l := &lagging{}
	e.wrap = func(mp syncer.Marketplace) syncer.Marketplace { l.Marketplace = mp; return l }
	s := e.syncer(syncer.Config{})
	ev := shipped(mk, store, "6A2", time.Now())
	for attempt := 1; attempt <= 3; attempt++ {
		s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: attempt})
	}
	if n := e.ships(mk); n != 1 {
		t.Errorf("ship calls = %d, want 1: an answer lost is not a call not made", n)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// failNthPost answers the nth POST with a 503, without passing it on.
type failNthPost struct {
	next  http.RoundTripper
	nth   int32
	posts atomic.Int32
}

func (f *failNthPost) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && f.posts.Add(1) == f.nth {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"error":"unavailable"}`)), Request: r}, nil
	}
	return f.next.RoundTrip(r)
}

// staleAfterShip answers reads with the order as it was before the last
// Ship, for a few reads after it, whatever the ship's answer was.
type staleAfterShip struct{ lagging }

func (l *staleAfterShip) Ship(ctx context.Context, o order.MarketplaceOrder, p order.Parcel) error {
	before, err := l.Marketplace.Order(ctx, o.ID)
	if err != nil {
		return err
	}
	err = l.Marketplace.Ship(ctx, o, p)
	l.mu.Lock()
	l.stale, l.reads = &before, 3
	l.mu.Unlock()
	return err
}

// Found by the soak: Back Market ships line by line, so a shipment refused
// at its second line had made its first; the claim was released and the
// next try, on a lagging read, shipped the first line again.
func TestAShipmentCutHalfWayIsNotMadeAgainOnALaggingRead(t *testing.T) {
	e := newEnv(t)
	e.id++
	e.fake.Seed(backmarkettest.AwaitingAcceptance(e.id, "SKU-A", "SKU-B"))
	mk, store := fmt.Sprint(e.id), fmt.Sprint(9000+e.id)
	// POSTs 1 and 2 accept the lines, 3 ships SKU-A, 4 (SKU-B) is refused.
	e.client = &http.Client{Transport: &failNthPost{next: http.DefaultTransport, nth: 4}}
	l := &staleAfterShip{}
	e.wrap = func(mp syncer.Marketplace) syncer.Marketplace { l.Marketplace = mp; return l }
	s := e.syncer(syncer.Config{EffectLease: 300 * time.Millisecond})
	ev := shipped(mk, store, "6A3", time.Now())
	ev.Lines = []order.Line{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}}
	ev.Parcels[0].Lines = ev.Lines
	for attempt := 1; attempt <= 3; attempt++ {
		s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: attempt})
	}
	time.Sleep(300 * time.Millisecond) // the lease runs out; reads are fresh again
	s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1})
	perLine := map[string]int{}
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk && c.NewState == 3 && c.Status < 300 {
			perLine[c.SKU]++
		}
	}
	if perLine["SKU-A"] != 1 || perLine["SKU-B"] != 1 {
		t.Errorf("ship calls per line = %v, want each line shipped once", perLine)
	}
}

// gateNthPost holds the nth POST until gate closes, telling reached when
// it gets there.
type gateNthPost struct {
	next          http.RoundTripper
	nth           int32
	posts         atomic.Int32
	reached, gate chan struct{}
}

func (g *gateNthPost) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && g.posts.Add(1) == g.nth {
		close(g.reached)
		<-g.gate
	}
	return g.next.RoundTrip(r)
}

// Found by the soak: a worker reading the order while another worker's
// shipment was half made planned the rest of it as a call of its own,
// under another claim, and shipped the second line twice.
func TestAWorkerDoesNotShipTheRestOfAShipmentInProgress(t *testing.T) {
	e := newEnv(t)
	e.id++
	e.fake.Seed(backmarkettest.AwaitingAcceptance(e.id, "SKU-A", "SKU-B"))
	mk, store := fmt.Sprint(e.id), fmt.Sprint(9000+e.id)
	// POSTs 1 and 2 accept the lines, 3 ships SKU-A, 4 ships SKU-B: hold 4.
	g := &gateNthPost{next: http.DefaultTransport, nth: 4, reached: make(chan struct{}), gate: make(chan struct{})}
	e.client = &http.Client{Transport: g}
	s := e.syncer(syncer.Config{})
	ev := shipped(mk, store, "6A4", time.Now())
	ev.Lines = []order.Line{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}}
	ev.Parcels[0].Lines = ev.Lines
	done := make(chan struct{})
	go func() {
		s.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1})
		close(done)
	}()
	<-g.reached
	// A second worker syncs the same order meanwhile (a redelivery).
	other := e.syncer(syncer.Config{})
	other.Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 2})
	close(g.gate)
	<-done
	perLine := map[string]int{}
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk && c.NewState == 3 && c.Status < 300 {
			perLine[c.SKU]++
		}
	}
	if perLine["SKU-A"] != 1 || perLine["SKU-B"] != 1 {
		t.Errorf("ship calls per line = %v, want each line shipped once", perLine)
	}
}

// A buyer can write a Shopify order's note attributes (cart attributes at
// checkout). Before, a store order whose note named another buyer's
// marketplace order took it over: it was accepted and shipped with the
// attacker's tracking, and linked to the attacker's store order.
func TestABuyerCannotLinkAStoreOrderToAMarketplaceOrder(t *testing.T) {
	e := newEnv(t)
	victim, _ := e.order()
	body := fmt.Sprintf(`{"id": 666, "name": "#666", "updated_at": "2026-11-30T10:00:00Z", "financial_status": "paid",
		"fulfillment_status": "fulfilled", "source_name": "web",
		"note_attributes": [{"name": "ordersync_marketplace_order_id", "value": %q}],
		"line_items": [{"id": 1, "sku": "SKU-A", "quantity": 1}],
		"fulfillments": [{"id": 7, "status": "success", "tracking_number": "ATTACKER1", "tracking_company": "Colissimo",
			"line_items": [{"id": 1, "sku": "SKU-A", "quantity": 1}]}]}`, victim)
	ev, err := shopify.ParseWebhook(shopify.TopicOrdersUpdated, "evt-attack", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ev.Connection = "acme"
	out := e.syncer(syncer.Config{}).Sync(context.Background(), syncer.Delivery{Event: ev, Attempt: 1})
	if calls := e.fake.Calls(); len(calls) != 0 {
		t.Errorf("the marketplace got %d calls for a store order ordersync never linked: %+v", len(calls), calls)
	}
	if id, err := e.store.FindOrder(context.Background(), "acme", "666"); err == nil {
		t.Errorf("store order 666 was linked to marketplace order %s", id)
	}
	if out.Verdict != syncer.DeadLetter || out.Failure.Code != syncerr.OrderLinkUnverified {
		t.Errorf("outcome = %+v, want it held for the merchant with order_link_unverified", out)
	}
	if _, err := e.store.LoadOrder(context.Background(), "acme", victim); err == nil {
		t.Error("the victim's marketplace order got a state from the attacker's store order")
	}
}

// fix sets the merchant's tracking on the order's only parcel, as the
// merchant API's fix route does.
func (e *env) fix(mkID string, t order.Tracking, at time.Time) order.State {
	e.t.Helper()
	st, err := e.store.LoadOrder(context.Background(), "acme", mkID)
	if err != nil {
		e.t.Fatal(err)
	}
	st.Override = &order.Override{Tracking: &order.TrackingOverride{ParcelID: st.Parcels[0].ID, Tracking: t, Replaced: st.Parcels[0].Tracking, At: at}}
	if st, err = e.store.SaveOrder(context.Background(), st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// fixEvent is the re-sync the fix route queues.
func fixEvent(st order.State) order.Event {
	return order.Event{Connection: "acme", Source: merchantapi.Source, SourceEventID: "fix-" + st.Ref.MarketplaceOrderID,
		Topic: "merchant/fix", Order: st.Ref}
}

// shipCall returns the one successful ship call of an order.
func (e *env) shipCall(mkID string) backmarkettest.Call {
	e.t.Helper()
	var out []backmarkettest.Call
	for _, c := range e.fake.Calls() {
		if c.OrderID == mkID && c.NewState == 3 && c.Status < 300 {
			out = append(out, c)
		}
	}
	if len(out) != 1 {
		e.t.Fatalf("ship calls = %+v, want one", out)
	}
	return out[0]
}

// A shipment the store sent without a tracking number fails with
// shipping_data_missing; the merchant's fix heals it: the re-sync ships
// with the merchant's tracking (and a URL derived from its carrier), and
// the order says the fix resolved it.
func TestAShipmentMissingItsTrackingSyncsAfterTheFix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk, store := e.order()
	s := e.syncer(syncer.Config{})
	if out := s.Sync(ctx, syncer.Delivery{Event: shipped(mk, store, "", time.Now().Add(-time.Hour)), Attempt: 1}); out.Failure.Code != syncerr.ShippingDataMissing {
		t.Fatalf("before the fix: outcome = %+v, want shipping_data_missing", out)
	}
	st := e.fix(mk, order.Tracking{Number: "6A 123", Carrier: "Colissimo"}, time.Now())
	if out := s.Sync(ctx, syncer.Delivery{Event: fixEvent(st), Attempt: 1}); out.Verdict != syncer.Done {
		t.Fatalf("after the fix: outcome = %+v, want Done", out)
	}
	call := e.shipCall(mk)
	if call.TrackingNumber != "6A 123" || call.Shipper != "Colissimo" || call.TrackingURL != "https://www.laposte.fr/outils/suivre-vos-envois?code=6A123" {
		t.Errorf("ship call = %+v, want the merchant's tracking with Colissimo's URL", call)
	}
	got, err := e.store.LoadOrder(ctx, "acme", mk)
	if err != nil || got.Sync.Result != order.SyncSynced || got.MarketplaceStatus != order.StatusShipped {
		t.Fatalf("state = %+v, %v; want synced and shipped", got, err)
	}
	if want := (order.Resolution{Code: "shipping_data_missing", At: got.Sync.At, How: "merchant/fix"}); got.Resolved == nil || *got.Resolved != want {
		t.Errorf("resolved = %+v, want %+v", got.Resolved, want)
	}
	if got.Override == nil || got.Parcels[0].Tracking.Number != "" {
		t.Errorf("stored: override %+v, parcels %+v; want the override kept beside the store's data, which stays the store's", got.Override, got.Parcels)
	}
}

// The rule between a fix and the store: a newer store event that brings
// tracking of its own wins over the merchant's older fix.
func TestNewerStoreTrackingWinsOverAnOlderFix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk, store := e.order()
	s := e.syncer(syncer.Config{})
	s.Sync(ctx, syncer.Delivery{Event: shipped(mk, store, "", time.Now().Add(-time.Hour)), Attempt: 1})
	e.fix(mk, order.Tracking{Number: "MERCHANT1", Carrier: "Colissimo"}, time.Now().Add(-time.Minute))
	if out := s.Sync(ctx, syncer.Delivery{Event: shipped(mk, store, "STORE1", time.Now()), Attempt: 1}); out.Verdict != syncer.Done {
		t.Fatalf("outcome = %+v, want Done", out)
	}
	if call := e.shipCall(mk); call.TrackingNumber != "STORE1" {
		t.Errorf("shipped with %q, want the store's newer STORE1", call.TrackingNumber)
	}
}

// A store event repeating the old, incomplete tracking brings nothing of
// its own: the fix stands.
func TestAStoreEventRepeatingTheOldTrackingLeavesTheFix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk, store := e.order()
	s := e.syncer(syncer.Config{})
	s.Sync(ctx, syncer.Delivery{Event: shipped(mk, store, "", time.Now().Add(-time.Hour)), Attempt: 1})
	e.fix(mk, order.Tracking{Number: "MERCHANT1", Carrier: "Colissimo"}, time.Now().Add(-time.Minute))
	if out := s.Sync(ctx, syncer.Delivery{Event: shipped(mk, store, "", time.Now()), Attempt: 1}); out.Verdict != syncer.Done {
		t.Fatalf("outcome = %+v, want Done", out)
	}
	if call := e.shipCall(mk); call.TrackingNumber != "MERCHANT1" {
		t.Errorf("shipped with %q, want the merchant's MERCHANT1", call.TrackingNumber)
	}
}
