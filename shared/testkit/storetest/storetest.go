// Package storetest is the conformance suite of ordersync's store: every
// implementation (shared/dynamostore on DynamoDB Local, shared/memstore in
// memory) runs Run and must pass it, so that tests of the use cases can run
// on the in-memory one and mean what they say about the real one.
//
// The suite pins the semantics the sync, the refresh, the webhook and the
// merchant API rely on: versioned writes that lose nothing, claims that
// exactly one worker wins, leases and expiries measured on the store's
// clock, lists that follow the table's pages to the end, and copies that
// share no memory with the caller.
package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncer"
)

// Store is everything a store does, for the sync (syncer.Store), the
// refresh (refresh.Store), the merchant API (merchantapi.Store), the
// webhook (ingest.Connections) and the operators who add connections.
type Store interface {
	PutConnection(ctx context.Context, c order.Connection) error
	// DeleteConnection removes a connection (its orders and errors stay,
	// to expire or be read); deleting one that is gone is no error.
	DeleteConnection(ctx context.Context, id string) error
	Connection(ctx context.Context, id string) (order.Connection, error)
	Connections(ctx context.Context) ([]order.Connection, error)
	PauseConnection(ctx context.Context, id, code string) error
	ResumeConnection(ctx context.Context, id string) error
	// The merchant API's connection routes.
	CreateConnection(ctx context.Context, c order.Connection) error
	SaveConnection(ctx context.Context, c order.Connection) error

	FindOrder(ctx context.Context, connection, storeOrderID string) (string, error)
	LinkOrder(ctx context.Context, connection, storeOrderID, marketplaceOrderID string) error
	LoadOrder(ctx context.Context, connection, marketplaceOrderID string) (order.State, error)
	SaveOrder(ctx context.Context, s order.State) (order.State, error)

	ClaimEffects(ctx context.Context, scope string, keys []string, lease time.Duration) ([]syncer.Claim, error)
	RenewEffect(ctx context.Context, scope, key string, token int64) (syncer.Claim, bool, error)
	ConfirmEffects(ctx context.Context, scope string, keys ...string) error
	ReleaseEffects(ctx context.Context, scope string, claims map[string]int64) error

	RecordError(ctx context.Context, r order.ErrorRecord) error
	RecentErrors(ctx context.Context, connection string, since time.Time, limit int) ([]order.ErrorRecord, error)

	MarkNotified(ctx context.Context, key string, ttl time.Duration) (bool, error)
	ClearNotified(ctx context.Context, keys ...string) error

	Checkpoint(ctx context.Context, connection string, side refresh.Side) (refresh.Checkpoint, error)
	SetCheckpoint(ctx context.Context, connection string, side refresh.Side, cp refresh.Checkpoint) error
	LoadOrders(ctx context.Context, connection string, marketplaceOrderIDs []string) (map[string]order.State, error)
	FindOrders(ctx context.Context, connection string, storeOrderIDs []string) (map[string]string, error)
	Unsettled(ctx context.Context, connection string, limit int) ([]order.State, error)
	SaveReport(ctx context.Context, r refresh.Report) error
	Reports(ctx context.Context, connection string, limit int) ([]refresh.Report, error)

	// The merchant's listing of orders, and re-sync jobs (listing.go).
	merchantapi.OrderStore
	// SKU aliases (aliases.go).
	PutSKUAlias(ctx context.Context, connection string, a order.SKUAlias) error
	DeleteSKUAlias(ctx context.Context, connection, storeSKU string) (order.SKUAlias, error)
	SKUAliases(ctx context.Context, connection, after string, limit int) ([]order.SKUAlias, string, error)
}

// Deduper is the webhook's deduper (ingest.Deduper) and the ledger of
// accepted events it keeps, as the sync (syncer.Ledger) and the refresh
// (refresh.Ledger) use it.
type Deduper interface {
	ingest.Deduper
	syncer.Ledger
	refresh.Ledger
}

// Harness is one empty store under test and the clock it reads.
type Harness struct {
	// Store is the store under test, holding nothing, reading the time
	// from Clock.
	Store Store
	// Deduper returns Store's webhook deduper with the given in-flight
	// window, reading the time from Clock.
	Deduper func(inFlight time.Duration) Deduper
	// Recovering is Deduper whose Claim takes over a key whose event is
	// unsynced since more than after (its RecoverAfter).
	Recovering func(inFlight, after time.Duration) Deduper
	// Clock is the clock Store and its dedupers read. The suite sets and
	// moves it; nothing else should.
	Clock *Clock
	// Expiries returns the TTLs (Unix seconds, 0 for none) of an order's
	// state item and of its store order's link item, as the table's
	// expires_at holds them (personal data retention; retention.go).
	Expiries func(t *testing.T, conn, marketplaceOrderID, storeOrderID string) (state, link int64)
}

// Clock is a clock a test sets and moves by hand. The zero Clock reads the
// zero time. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Run runs the suite. newStore is called once per case and must return an
// empty store: cases see no other case's items.
func Run(t *testing.T, newStore func(t *testing.T) Harness) {
	t.Helper()
	s := &suite{newStore: newStore,
		// A whole second, for the expiries the table counts in seconds;
		// near the wall clock, in case the store deletes what expired.
		base: time.Now().UTC().Truncate(time.Second)}
	t.Run("connections", s.connections)
	t.Run("links", s.links)
	t.Run("orders", s.orders)
	t.Run("effects", s.effects)
	t.Run("effects together", s.effectsTogether)
	t.Run("effect tokens", s.effectTokens)
	t.Run("dedup", s.dedup)
	t.Run("ledger", s.ledger)
	t.Run("errors", s.errors)
	t.Run("notified", s.notified)
	t.Run("checkpoints", s.checkpoints)
	t.Run("load orders", s.loadOrders)
	t.Run("find orders", s.findOrders)
	t.Run("unsettled", s.unsettled)
	t.Run("reports", s.reports)
	t.Run("not found", s.notFound)
	t.Run("key limits", s.keyLimits)
	// The merchant's listing of orders, and re-sync jobs (listing.go).
	t.Run("list orders", s.listOrders)
	t.Run("find orders by name", s.findByName)
	t.Run("jobs", s.jobs)
	t.Run("connection writes", s.connectionWrites)
	// The order timeline (order.State.Timeline).
	t.Run("timeline", s.timeline)
	t.Run("sku aliases", s.aliases)
	// Personal data retention (retention.go).
	t.Run("retention", s.retention)
}

type suite struct {
	newStore func(t *testing.T) Harness
	base     time.Time
}

// fresh returns a new harness with its clock at the suite's base time.
func (s *suite) fresh(t *testing.T) Harness {
	t.Helper()
	h := s.newStore(t)
	if h.Store == nil || h.Clock == nil || h.Deduper == nil || h.Recovering == nil {
		t.Fatal("storetest: the harness needs a Store, a Clock, a Deduper and a Recovering deduper")
	}
	h.Clock.Set(s.base)
	return h
}

// jsonOf is v as a store item holds it: the suite compares values by what
// their json tags keep, which is what every store keeps.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return string(b)
}

// race runs f in n goroutines released together and returns their results.
func race[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}
