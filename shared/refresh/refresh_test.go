package refresh_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/testkit/queuetest"
)

var creds = secrets.Static{"bm": "bm-token", "shop": "shop-token"}

type marketplaces struct{}

func (marketplaces) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return connectors.Marketplace(ctx, conn, creds, httpclient.New(httpclient.Options{}))
}

type storefronts struct{}

func (storefronts) Storefront(ctx context.Context, conn order.Connection) (syncer.Storefront, error) {
	return connectors.Storefront(ctx, conn, creds, httpclient.New(httpclient.Options{}))
}

// queue is the sync queue: queuetest's, one event at a time.
type queue struct{ *queuetest.Queue }

func (q queue) EnqueueBatch(ctx context.Context, es []order.Event) error {
	for _, e := range es {
		if err := q.Enqueue(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

type env struct {
	t     *testing.T
	store *memstore.Store
	fake  *backmarkettest.Server
	shop  *shopifytest.Server
	queue *queuetest.Queue
	r     *refresh.Refresher
	// at is the time of the next run; runs move it on an hour.
	at time.Time
}

// newEnv is a Back Market connection "acme" to a Shopify store, paused
// with auth_expired (see resume).
func newEnv(t *testing.T) *env {
	e := &env{t: t, store: memstore.New(), queue: &queuetest.Queue{},
		fake: backmarkettest.New(backmarkettest.Options{Token: "bm-token"}), shop: shopifytest.New("shop-token"),
		at: time.Now().UTC().Truncate(time.Hour).Add(20 * time.Minute)}
	mp := httptest.NewServer(e.fake)
	t.Cleanup(mp.Close)
	shop := httptest.NewServer(e.shop)
	t.Cleanup(shop.Close)
	conn := order.Connection{ID: "acme", MerchantEmail: "ops@acme.test",
		Store:       order.Endpoint{Platform: order.Shopify, BaseURL: shop.URL, CredentialRef: "shop"},
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: mp.URL, CredentialRef: "bm"},
		Paused:      true, PausedCode: "auth_expired"}
	if err := e.store.PutConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	e.r = refresh.New(e.store, marketplaces{}, queue{e.queue}, slog.New(slog.DiscardHandler)).
		WithStorefronts(storefronts{})
	return e
}

// working unpauses the connection, and sets whether it imports orders.
func (e *env) working(importOrders bool) {
	e.t.Helper()
	ctx := context.Background()
	c, _ := e.store.Connection(ctx, "acme")
	c.Paused, c.PausedCode, c.ImportOrders = false, "", importOrders
	if err := e.store.PutConnection(ctx, c); err != nil {
		e.t.Fatal(err)
	}
}

// run refreshes acme at e.at and moves e.at on an hour.
func (e *env) run() (refresh.Report, error) {
	e.t.Helper()
	rep, err := e.r.Refresh(context.Background(), refresh.Job{Connection: "acme", At: e.at})
	e.at = e.at.Add(time.Hour)
	return rep, err
}

func (e *env) mustRun() refresh.Report {
	e.t.Helper()
	rep, err := e.run()
	if err != nil {
		e.t.Fatalf("Refresh: %v", err)
	}
	return rep
}

// save stores an order state.
func (e *env) save(st order.State) order.State {
	e.t.Helper()
	st.Connection = "acme"
	saved, err := e.store.SaveOrder(context.Background(), st)
	if err != nil {
		e.t.Fatal(err)
	}
	return saved
}

func (e *env) load(mk string) order.State {
	e.t.Helper()
	st, err := e.store.LoadOrder(context.Background(), "acme", mk)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// held records an order held with code, as the sync does.
func (e *env) held(mk, code string) {
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: mk, StoreOrderID: "s" + mk},
		StoreStatus: order.StatusShipped, Sync: order.SyncOutcome{Result: order.SyncHeld, ErrorCode: code, Attempts: 1, At: e.at.Add(-time.Hour)}})
}

// queued drains the sync queue, by marketplace order id (or store order
// id where the event names no marketplace order).
func (e *env) queued() map[string]order.Event {
	e.t.Helper()
	out, err := e.queue.Take()
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]order.Event{}
	for _, ev := range out {
		k := cmp(ev.Order.MarketplaceOrderID, ev.Order.StoreOrderID)
		if _, dup := m[k]; dup {
			e.t.Errorf("order %s queued twice in one run", k)
		}
		m[k] = ev
	}
	return m
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (e *env) paused() bool {
	e.t.Helper()
	c, err := e.store.Connection(context.Background(), "acme")
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Paused
}

func keys(m map[string]order.Event) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func bmDate(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// bmOrder is a Back Market order in state with one line in line state,
// last modified at.
func bmOrder(id int64, state, line int, at time.Time) backmarkettest.Order {
	o := backmarkettest.AwaitingAcceptance(id, "SKU-A")
	o.State, o.OrderLines[0].State, o.DateModification = state, line, bmDate(at)
	return o
}

func TestReconnectResumesThePausedConnectionAndItsHeldOrders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.held("101", "auth_expired")
	e.held("102", "auth_expired")
	e.held("103", "address_missing") // held for another reason: the merchant must act
	noticeKey := syncer.ConnectionNoticeKey("acme", "auth_expired")
	if _, err := e.store.MarkNotified(ctx, noticeKey, time.Hour); err != nil {
		t.Fatal(err)
	}

	// The key is still refused: nothing changes.
	e.fake.SetFault(backmarkettest.Fault{Status: 401})
	if rep := e.mustRun(); !rep.Paused {
		t.Errorf("report %+v: want paused", rep)
	}
	if !e.paused() {
		t.Error("resumed while the marketplace still refuses the key")
	}
	if q := e.queued(); len(q) != 0 {
		t.Errorf("queued %v for a paused connection, want nothing", keys(q))
	}

	// The merchant reconnects with a key the marketplace takes.
	e.fake.ClearFaults()
	rep := e.mustRun()
	if e.paused() || !rep.Resumed {
		t.Errorf("still paused after the marketplace took the key again (report %+v)", rep)
	}
	got := e.queued()
	if !slices.Equal(keys(got), []string{"101", "102"}) || got["102"].Order.StoreOrderID != "s102" {
		t.Errorf("queued %v, want one re-sync for each of 101 and 102 (not 103)", keys(got))
	}
	if ev := got["101"]; ev.Source != refresh.Source || ev.Topic != refresh.TopicResumed || !ev.OccurredAt.IsZero() || ev.Status != "" {
		t.Errorf("re-sync event %+v: want an ordersync event that changes nothing", ev)
	}
	if rep.Retried.Count != 2 || rep.StillFailing.Count != 1 || rep.StillFailing.IDs[0] != "103" {
		t.Errorf("report: retried %+v, still failing %+v; want 101 and 102, then 103", rep.Retried, rep.StillFailing)
	}
	// The email mark stays until a held order syncs (the sync clears it):
	// a key that reads but cannot write must not email every hour.
	if first, _ := e.store.MarkNotified(ctx, noticeKey, time.Hour); first {
		t.Error("the expiry email mark was cleared on resume")
	}
}

func TestAHeldOrderIsFoundHoweverLongThePause(t *testing.T) {
	e := newEnv(t)
	// Held a month ago: long gone from the week's error list.
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "111", StoreOrderID: "s111"}, StoreStatus: order.StatusAccepted,
		Sync: order.SyncOutcome{Result: order.SyncHeld, ErrorCode: "auth_expired", At: e.at.Add(-30 * 24 * time.Hour)}})
	e.mustRun()
	if q := e.queued(); !slices.Equal(keys(q), []string{"111"}) {
		t.Errorf("queued %v, want 111", keys(q))
	}
}

func TestAnOutageDuringTheProbeFailsTheJobAndKeepsThePause(t *testing.T) {
	e := newEnv(t)
	e.held("201", "auth_expired")
	e.fake.SetFault(backmarkettest.Fault{Status: 503})
	// The job is tried again, then dead-lettered with this reason.
	if _, err := e.run(); err == nil {
		t.Error("Refresh = nil on a 503: the key was never checked")
	}
	if !e.paused() {
		t.Error("resumed on a 503")
	}
	if q := e.queued(); len(q) != 0 {
		t.Errorf("queued %v, want nothing", keys(q))
	}
}

func TestAnUnknownConnectionIsNotFound(t *testing.T) {
	e := newEnv(t)
	_, err := e.r.Refresh(context.Background(), refresh.Job{Connection: "nobody", At: e.at})
	if !errors.Is(err, order.ErrNotFound) {
		t.Errorf("Refresh = %v, want order.ErrNotFound", err)
	}
}

func TestNewMarketplaceOrdersAreQueuedForImportWhereAsked(t *testing.T) {
	for _, importOrders := range []bool{true, false} {
		t.Run(fmt.Sprint("import_orders=", importOrders), func(t *testing.T) {
			e := newEnv(t)
			e.working(importOrders)
			e.fake.Seed(backmarkettest.AwaitingAcceptance(301, "SKU-A"))
			shipped := backmarkettest.AwaitingAcceptance(302, "SKU-A")
			shipped.State = backmarkettest.OrderShipped
			e.fake.Seed(shipped)
			e.held("303", "auth_expired") // known to ordersync already
			e.fake.Seed(backmarkettest.AwaitingAcceptance(303, "SKU-A"))
			rep := e.mustRun()
			var imports []string
			for id, ev := range e.queued() {
				if ev.Intent == order.IntentImport {
					imports = append(imports, id)
				}
			}
			want := []string(nil)
			if importOrders {
				want = []string{"301"}
			}
			if !slices.Equal(imports, want) || rep.Imports.Count != len(want) {
				t.Errorf("imports queued = %v (report %+v), want %v (the open order ordersync does not know)", imports, rep.Imports, want)
			}
		})
	}
}

// synced is an order ordersync synced: the store accepted it, the
// marketplace took the acceptance.
func (e *env) synced(mk, storeID string, storeAt time.Time) order.State {
	e.t.Helper()
	if err := e.store.LinkOrder(context.Background(), "acme", storeID, mk); err != nil {
		e.t.Fatal(err)
	}
	return e.save(order.State{Ref: order.Ref{MarketplaceOrderID: mk, StoreOrderID: storeID}, StoreStatus: order.StatusAccepted,
		StoreUpdatedAt: storeAt, MarketplaceStatus: order.StatusAccepted, MarketplaceState: "3",
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}, Sync: order.SyncOutcome{Result: order.SyncSynced, At: storeAt}})
}

// TestAStoreOrderClaimingAMarketplaceOrderIsNotReportedInSync: a store
// order naming a marketplace order only in a note attribute (which its
// buyer can write) is held for the merchant's link, never in sync; a
// black-box try read such orders (claim/5006) under the report's in sync.
func TestAStoreOrderClaimingAMarketplaceOrderIsNotReportedInSync(t *testing.T) {
	e := newEnv(t)
	e.working(false)
	for _, at := range []time.Duration{-time.Minute, -3 * time.Hour} { // fresh, and settled
		e.shop.AddOrder(shopifytest.Order{UpdatedAt: e.at.Add(at),
			CustomAttributes: []shopifytest.Attribute{{Key: shopify.MarketplaceOrderAttribute, Value: "499"}},
			LineItems:        []shopifytest.LineItem{{SKU: "SKU-A", Quantity: 1}}})
	}
	rep := e.mustRun()
	for _, id := range rep.InSync.IDs {
		if strings.HasPrefix(id, "claim/") {
			t.Errorf("report in sync %+v lists a claim", rep.InSync)
		}
	}
}

func TestAStoreChangeWhoseWebhookWasLostIsQueued(t *testing.T) {
	e := newEnv(t)
	e.working(false)
	placed := e.at.Add(-3 * time.Hour)
	// Two imported orders the store accepted; then the merchant shipped one
	// and its webhook never came.
	quiet := e.shop.AddOrder(shopifytest.Order{SourceIdentifier: "401", UpdatedAt: placed,
		LineItems: []shopifytest.LineItem{{SKU: "SKU-A", Quantity: 1}}})
	shippedAt := e.at.Add(-40 * time.Minute)
	lost := e.shop.AddOrder(shopifytest.Order{SourceIdentifier: "402", UpdatedAt: shippedAt,
		LineItems: []shopifytest.LineItem{{SKU: "SKU-A", Quantity: 1}}})
	e.shop.UpdateOrder(lost.ID, func(o *shopifytest.Order) {
		o.Fulfillments = []shopifytest.Fulfillment{{ID: "f1", Status: "SUCCESS", Tracking: []shopifytest.Tracking{{Company: "UPS", Number: "1Z999"}},
			Lines: []shopifytest.FulfilledLine{{LineItemID: o.LineItems[0].ID, Quantity: 1}}}}
		o.FulfillmentOrders[0].Status = "CLOSED"
		o.UpdatedAt = shippedAt
	})
	// And one changed a minute ago: its webhook is surely on its way.
	fresh := e.shop.AddOrder(shopifytest.Order{SourceIdentifier: "403", UpdatedAt: e.at.Add(-time.Minute),
		LineItems: []shopifytest.LineItem{{SKU: "SKU-A", Quantity: 2}}})
	e.synced("401", quiet.ID, placed)
	e.synced("402", lost.ID, placed)
	e.synced("403", fresh.ID, placed)
	for _, id := range []int64{401, 402, 403} {
		e.fake.Seed(bmOrder(id, backmarkettest.OrderToShip, backmarkettest.LineAccepted, placed))
	}

	rep := e.mustRun()
	got := e.queued()
	if !slices.Equal(keys(got), []string{"402"}) {
		t.Fatalf("queued %v, want only 402 (the lost shipment)", keys(got))
	}
	ev := got["402"]
	if ev.Topic != refresh.TopicStoreChanged || ev.Order.MarketplaceOrderID != "402" || len(ev.Parcels) != 1 || ev.Parcels[0].Tracking.Number != "1Z999" {
		t.Errorf("queued %+v, want the store's order with its parcel", ev)
	}
	if rep.Recovered.Count != 1 || rep.InSync.Count != 2 {
		t.Errorf("report recovered %+v, in sync %+v; want 402 recovered, 401 and 403 in sync", rep.Recovered, rep.InSync)
	}

	// The next run lists the fresh order again (the overlap), now settled;
	// its webhook delivered it meanwhile.
	st := e.load("403")
	st.Lines, st.StoreUpdatedAt = []order.Line{{SKU: "SKU-A", Quantity: 2, StoreLineID: fresh.LineItems[0].ID}}, fresh.UpdatedAt
	e.save(st)
	e.mustRun()
	if q := e.queued(); len(q) != 0 {
		t.Errorf("second run queued %v, want nothing", keys(q))
	}
}

func TestACancellationInTheMarketplacesBackOfficeIsRecordedNotFought(t *testing.T) {
	e := newEnv(t)
	e.working(false)
	placed := e.at.Add(-3 * time.Hour)
	e.synced("501", "s501", placed)
	e.fake.Seed(bmOrder(501, backmarkettest.OrderCancelled, backmarkettest.LineCancelled, e.at.Add(-20*time.Minute)))

	rep := e.mustRun()
	if q := e.queued(); len(q) != 0 {
		t.Errorf("queued %v: the refresh fought a back-office cancellation", keys(q))
	}
	st := e.load("501")
	if st.MarketplaceStatus != order.StatusCancelled || st.ManualChange == nil ||
		st.ManualChange.From != order.StatusAccepted || st.ManualChange.To != order.StatusCancelled {
		t.Errorf("state %+v (manual change %+v): want the cancellation recorded", st, st.ManualChange)
	}
	if st.StoreStatus != order.StatusAccepted {
		t.Errorf("store status = %s: the store's side is the store's", st.StoreStatus)
	}
	if rep.ChangedByHand.Count != 1 || rep.ChangedByHand.IDs[0] != "501" {
		t.Errorf("report changed by hand = %+v, want 501", rep.ChangedByHand)
	}
}

func TestAMarketplaceBehindTheStoreGetsASync(t *testing.T) {
	e := newEnv(t)
	e.working(false)
	placed := e.at.Add(-3 * time.Hour)
	// The store shipped 601 and ordersync holds it; the marketplace still
	// says accepted (a sync's call undone, say).
	st := e.synced("601", "s601", placed)
	st.StoreStatus = order.StatusShipped
	st.Parcels = []order.Parcel{{ID: "p1", Tracking: order.Tracking{Number: "1Z1", Carrier: "UPS", URL: "https://ups.example/1Z1"},
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}}
	e.save(st)
	e.fake.Seed(bmOrder(601, backmarkettest.OrderToShip, backmarkettest.LineAccepted, e.at.Add(-30*time.Minute)))
	// 602: the marketplace is where the store is.
	e.synced("602", "s602", placed)
	e.fake.Seed(bmOrder(602, backmarkettest.OrderToShip, backmarkettest.LineAccepted, e.at.Add(-30*time.Minute)))

	rep := e.mustRun()
	got := e.queued()
	if !slices.Equal(keys(got), []string{"601"}) || got["601"].Topic != refresh.TopicBehind {
		t.Errorf("queued %v, want a re-sync of 601", got)
	}
	if rep.Behind.Count != 1 || rep.InSync.Count != 1 {
		t.Errorf("report behind %+v in sync %+v", rep.Behind, rep.InSync)
	}
}

func TestAnOutageLongerThanTheQuickRetriesHealsOnLaterRefreshes(t *testing.T) {
	e := newEnv(t)
	e.working(false)
	e.r.WithConfig(refresh.Config{MaxRefreshTries: 2})
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "701", StoreOrderID: "s701"}, StoreStatus: order.StatusAccepted,
		Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "marketplace_unavailable", Attempts: 3, At: e.at.Add(-2 * time.Hour)}})
	// Permanent: waits on the merchant.
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "702", StoreOrderID: "s702"}, StoreStatus: order.StatusShipped,
		Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "tracking_missing", Attempts: 1, At: e.at.Add(-2 * time.Hour)}})
	// Retrying right now: left to its quick retries.
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "703", StoreOrderID: "s703"}, StoreStatus: order.StatusAccepted,
		Sync: order.SyncOutcome{Result: order.SyncPending, ErrorCode: "rate_limited", Attempts: 1, At: e.at.Add(-time.Minute)}})

	for i, want := range []bool{true, true, false} {
		rep := e.mustRun()
		got := e.queued()
		if ev, ok := got["701"]; ok != want || (want && ev.Topic != refresh.TopicRetry) {
			t.Errorf("run %d: queued %v, want 701 queued: %v", i+1, keys(got), want)
		}
		if _, ok := got["703"]; ok == (i == 0) {
			// After an hour still pending, its quick retries are lost.
			t.Errorf("run %d: queued %v: 703 is queued only once it has been pending an hour", i+1, keys(got))
		}
		if !slices.Contains(rep.StillFailing.IDs, "702") {
			t.Errorf("run %d: still failing %+v, want 702 listed", i+1, rep.StillFailing)
		}
		if i == 2 && !slices.Contains(rep.StillFailing.IDs, "701") {
			t.Errorf("run 3: still failing %+v, want 701 once its refresh tries are spent", rep.StillFailing)
		}
	}
	if st := e.load("701"); st.RefreshTries != 2 {
		t.Errorf("refresh tries = %d, want 2", st.RefreshTries)
	}
}

func TestCheckpointsOverlapSoClockSkewSkipsNothing(t *testing.T) {
	e := newEnv(t)
	e.working(true)
	first := e.at
	e.mustRun() // nothing yet
	cp, err := e.store.Checkpoint(context.Background(), "acme", refresh.SideMarketplace)
	if err != nil || cp.RunAt != first || cp.Since.IsZero() {
		t.Fatalf("checkpoint %+v, %v after the first run", cp, err)
	}
	// The marketplace's clock runs three minutes behind ordersync's: an
	// order it stamps before the first run's time shows in its listing
	// only now.
	o := backmarkettest.AwaitingAcceptance(801, "SKU-A")
	o.DateModification = bmDate(first.Add(-3 * time.Minute))
	e.fake.Seed(o)
	rep := e.mustRun()
	if got := e.queued(); !slices.Equal(keys(got), []string{"801"}) || rep.Imports.Count != 1 {
		t.Errorf("queued %v, want the import of 801", keys(got))
	}
}

func TestAMarketplaceEditIsAppliedOnlyWhilePending(t *testing.T) {
	e := newEnv(t)
	e.working(true)
	ctx := context.Background()
	// 901 was held on import: no address. The buyer has added one.
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "901"}, MarketplaceStatus: order.StatusAwaitingAcceptance,
		Sync: order.SyncOutcome{Result: order.SyncHeld, ErrorCode: "address_missing", At: e.at.Add(-2 * time.Hour)}})
	e.fake.Seed(bmOrder(901, backmarkettest.OrderAwaitingAcceptance, backmarkettest.LineAwaitingMerchant, e.at.Add(-30*time.Minute)))
	// 902 is imported and accepted; the marketplace order's address changed.
	old := &order.Address{Name: "Victor Hugo", Line1: "1 rue Ancienne", City: "Paris", PostalCode: "75001", Country: "FR"}
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "902", StoreOrderID: "s902"}, StoreStatus: order.StatusAccepted,
		MarketplaceStatus: order.StatusAccepted, ShippingAddress: old, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "90201"}},
		Sync: order.SyncOutcome{Result: order.SyncSynced, At: e.at.Add(-2 * time.Hour)}})
	e.fake.Seed(bmOrder(902, backmarkettest.OrderToShip, backmarkettest.LineAccepted, e.at.Add(-30*time.Minute)))

	rep := e.mustRun()
	got := e.queued()
	if ev, ok := got["901"]; !ok || ev.Intent != order.IntentImport {
		t.Errorf("queued %v, want 901's import tried again", got)
	}
	if st := e.load("901"); st.ShippingAddress == nil || st.ShippingAddress.City != "Paris" {
		t.Errorf("901's address = %+v, want the marketplace's edit", st.ShippingAddress)
	}
	st := e.load("902")
	if st.ShippingAddress.Line1 != "1 rue Ancienne" || st.StoreStatus != order.StatusAccepted {
		t.Errorf("902 = %+v: an edit after acceptance must not be applied", st)
	}
	if rep.EditsApplied.Count != 1 || rep.EditsRefused.Count != 1 || rep.EditsRefused.IDs[0] != "902" {
		t.Errorf("report edits applied %+v refused %+v", rep.EditsApplied, rep.EditsRefused)
	}
	errs, err := e.store.RecentErrors(ctx, "acme", e.at.Add(-3*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || errs[0].Code != "order_not_editable" || errs[0].MarketplaceOrderID != "902" || errs[0].Remedy == "" {
		t.Fatalf("errors %+v, want one order_not_editable for 902 with a remedy", errs)
	}
	// The same edit, listed again by the overlap, is not reported again.
	e.fake.Seed(bmOrder(902, backmarkettest.OrderToShip, backmarkettest.LineAccepted, e.at.Add(-65*time.Minute)))
	e.mustRun()
	if errs, _ := e.store.RecentErrors(ctx, "acme", e.at.Add(-5*time.Hour), 10); len(errs) != 1 {
		t.Errorf("%d errors after a second run, want the one", len(errs))
	}
}

func TestTheReportIsStoredAndNamesResolvedOrders(t *testing.T) {
	e := newEnv(t)
	e.working(false)
	ctx := context.Background()
	e.mustRun()
	// 1001 failed, then synced: its error is resolved.
	failedAt := e.at.Add(-30 * time.Minute)
	if err := e.store.RecordError(ctx, order.ErrorRecord{Connection: "acme", MarketplaceOrderID: "1001", Code: "tracking_missing", At: failedAt}); err != nil {
		t.Fatal(err)
	}
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "1001", StoreOrderID: "s1001"}, StoreStatus: order.StatusShipped,
		Sync:     order.SyncOutcome{Result: order.SyncSynced, At: failedAt.Add(10 * time.Minute)},
		Resolved: &order.Resolution{Code: "tracking_missing", At: failedAt.Add(10 * time.Minute), How: "webhook"}})
	at := e.at
	rep := e.mustRun()
	if rep.Resolved.Count != 1 || rep.Resolved.IDs[0] != "1001" {
		t.Errorf("resolved %+v, want 1001", rep.Resolved)
	}
	reps, err := e.store.Reports(ctx, "acme", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || !reps[0].At.Equal(at) || reps[0].Resolved.Count != 1 {
		t.Errorf("stored reports %+v, want two, the newest first", reps)
	}
}

// jobs records the refresh queue's jobs.
type jobs struct{ got []refresh.Job }

func (j *jobs) SendJobs(_ context.Context, js []refresh.Job) error {
	j.got = append(j.got, js...)
	return nil
}

func TestDispatchQueuesOneJobPerConnection(t *testing.T) {
	store := memstore.New()
	ctx := context.Background()
	for i := range 25 {
		if err := store.PutConnection(ctx, order.Connection{ID: "c" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var j jobs
	at := time.Date(2026, 12, 2, 10, 20, 0, 0, time.UTC)
	n, err := refresh.Dispatch(ctx, store, &j, at)
	if err != nil || n != 25 || len(j.got) != 25 {
		t.Fatalf("Dispatch = %d, %v; %d jobs; want 25", n, err, len(j.got))
	}
	seen := map[string]bool{}
	for _, job := range j.got {
		if !job.At.Equal(at) || seen[job.Connection] {
			t.Errorf("job %+v: want each connection once, at %v", job, at)
		}
		seen[job.Connection] = true
	}
}

func TestAStoreThatCannotBeListedLeavesTheMarketplaceSideToDo(t *testing.T) {
	for _, tt := range []struct {
		name, ref, want string
	}{
		{"no store credential: a store that only sends webhooks", "", "no store credential"},
		{"the store refuses the credential", "bm", "store_disconnected"}, // the Back Market token is not the shop's
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.working(true)
			ctx := context.Background()
			c, _ := e.store.Connection(ctx, "acme")
			c.Store.CredentialRef = tt.ref
			if err := e.store.PutConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
			e.fake.Seed(backmarkettest.AwaitingAcceptance(1101, "SKU-A"))
			rep := e.mustRun()
			if rep.StoreNotListed != tt.want || rep.Imports.Count != 1 {
				t.Errorf("report %+v: want the store not listed (%s) and the import queued", rep, tt.want)
			}
		})
	}
}

// TestAHeldImportWithNoAddressOfItsOwnIsNoEdit: an import held for
// another reason than its address (the store refused ordersync's key) has
// no address stored, because it was never imported. The marketplace's
// address is not an edit of it: no edit is recorded, and the order waits
// for the reconnect that resumes it.
func TestAHeldImportWithNoAddressOfItsOwnIsNoEdit(t *testing.T) {
	e := newEnv(t)
	e.working(true)
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "903"}, MarketplaceStatus: order.StatusAwaitingAcceptance,
		Sync: order.SyncOutcome{Result: order.SyncHeld, ErrorCode: "store_disconnected", At: e.at.Add(-2 * time.Hour)}})
	e.fake.Seed(bmOrder(903, backmarkettest.OrderAwaitingAcceptance, backmarkettest.LineAwaitingMerchant, e.at.Add(-30*time.Minute)))

	rep := e.mustRun()
	if rep.EditsApplied.Count != 0 || rep.EditsRefused.Count != 0 {
		t.Errorf("report edits applied %+v refused %+v, want none", rep.EditsApplied, rep.EditsRefused)
	}
	st := e.load("903")
	for _, en := range st.Timeline {
		if en.Step == refresh.StepEditApplied {
			t.Errorf("timeline %+v records an edit nobody made", st.Timeline)
		}
	}
	if ev, ok := e.queued()["903"]; ok && ev.Topic == refresh.TopicEdited {
		t.Errorf("queued %+v as a marketplace edit", ev)
	}
}
