package syncbatch_test

// The sync's tests run on the in-memory store (shared/memstore) and queue
// (shared/testkit/memqueue), with the platforms' fakes on loopback: no
// emulator, and a clock that moves only when a test moves it. What is
// about SQS and DynamoDB themselves is tested on the emulators, in
// sqsbatchtest.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/memqueue"
)

// config is the policy of the whole sync, as the sync function sets it:
// the syncer's and the batch handler's.
type config struct {
	MaxReceiveCount          int
	RetryBase, RetryCap      time.Duration
	EffectLease, Bookkeeping time.Duration
	Concurrency              int
	Now                      func() time.Time
}

// processor is the sync as the Lambda runs it: the syncer behind the
// batch handler.
type processor struct {
	*syncbatch.Handler
	sync *syncer.Syncer
}

func newProcessor(cfg config, store syncer.Store, mps syncer.Marketplaces, q syncbatch.Queue, dlq syncbatch.DeadLetters, n syncer.Notifier, log *slog.Logger) *processor {
	s := syncer.New(syncer.Config{MaxAttempts: cfg.MaxReceiveCount, RetryBase: cfg.RetryBase, RetryCap: cfg.RetryCap, EffectLease: cfg.EffectLease,
		Bookkeeping: cfg.Bookkeeping, Now: cfg.Now}, store, mps, n, log)
	p := &processor{sync: s}
	p.Handler = syncbatch.New(syncbatch.Config{Concurrency: cfg.Concurrency}, s, q, dlq, log)
	return p
}

// WithStorefronts lets the syncer read orders from the store.
func (p *processor) WithStorefronts(s syncer.Storefronts) *processor {
	p.sync.WithStorefronts(s)
	return p
}

// marketplacesFunc adapts a function to syncer.Marketplaces.
type marketplacesFunc func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error)

func (f marketplacesFunc) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return f(ctx, conn)
}

// notices records what the merchant was told.
type notices struct {
	mu   sync.Mutex
	sent []syncer.Notice
}

func (n *notices) Notify(ctx context.Context, x syncer.Notice) error {
	if err := ctx.Err(); err != nil {
		return err // as SES's client fails on a context that is done
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, x)
	return nil
}

func (n *notices) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.sent)
}

// clock is the time the queue, the store and the syncer read.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// errUnreachable stands for ordersync's own storage being out of reach.
var errUnreachable = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")

// store is the in-memory store as the syncer meets DynamoDB through its
// client: a call on a context that is done fails, as the SDK's calls do,
// and with down every call fails, as with the table out of reach.
type store struct {
	*memstore.Store
	down bool
}

var _ syncer.Store = (*store)(nil)

func (s *store) check(ctx context.Context) error {
	if s.down {
		return errUnreachable
	}
	return ctx.Err()
}

func (s *store) Connection(ctx context.Context, id string) (order.Connection, error) {
	if err := s.check(ctx); err != nil {
		return order.Connection{}, err
	}
	return s.Store.Connection(ctx, id)
}

func (s *store) PauseConnection(ctx context.Context, id, code string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.Store.PauseConnection(ctx, id, code)
}

func (s *store) FindOrder(ctx context.Context, conn, storeOrderID string) (string, error) {
	if err := s.check(ctx); err != nil {
		return "", err
	}
	return s.Store.FindOrder(ctx, conn, storeOrderID)
}

func (s *store) LinkOrder(ctx context.Context, conn, storeOrderID, marketplaceOrderID string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.Store.LinkOrder(ctx, conn, storeOrderID, marketplaceOrderID)
}

func (s *store) LoadOrder(ctx context.Context, conn, marketplaceOrderID string) (order.State, error) {
	if err := s.check(ctx); err != nil {
		return order.State{}, err
	}
	return s.Store.LoadOrder(ctx, conn, marketplaceOrderID)
}

func (s *store) SaveOrder(ctx context.Context, st order.State) (order.State, error) {
	if err := s.check(ctx); err != nil {
		return order.State{}, err
	}
	return s.Store.SaveOrder(ctx, st)
}

func (s *store) ClaimEffects(ctx context.Context, scope string, keys []string, lease time.Duration) ([]syncer.Claim, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s.Store.ClaimEffects(ctx, scope, keys, lease)
}

func (s *store) ConfirmEffects(ctx context.Context, scope string, keys ...string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.Store.ConfirmEffects(ctx, scope, keys...)
}

func (s *store) RenewEffect(ctx context.Context, scope, key string, token int64) (syncer.Claim, bool, error) {
	if err := s.check(ctx); err != nil {
		return syncer.Claim{}, false, err
	}
	return s.Store.RenewEffect(ctx, scope, key, token)
}

func (s *store) ReleaseEffects(ctx context.Context, scope string, claims map[string]int64) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.Store.ReleaseEffects(ctx, scope, claims)
}

func (s *store) RecordError(ctx context.Context, r order.ErrorRecord) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.Store.RecordError(ctx, r)
}

func (s *store) RecentErrors(ctx context.Context, conn string, since time.Time, limit int) ([]order.ErrorRecord, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s.Store.RecentErrors(ctx, conn, since, limit)
}

func (s *store) MarkNotified(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	return s.Store.MarkNotified(ctx, key, ttl)
}

func (s *store) ClearNotified(ctx context.Context, keys ...string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.Store.ClearNotified(ctx, keys...)
}

// The sync queue as template.yaml declares it.
const (
	visibility      = 360 * time.Second
	maxReceiveCount = 3
)

type env struct {
	t     *testing.T
	clock *clock
	store *store
	fake  *backmarkettest.Server
	queue *memqueue.Queue
	dlq   *memqueue.Queue
	notes *notices
	proc  *processor
	conn  order.Connection
	// nextID is the last Back Market order id seeded.
	nextID int64
	// client is the HTTP client the Back Market connector gets: a test may
	// change its transport to lose answers.
	client *http.Client
	mps    syncer.Marketplaces
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := &clock{t: time.Now()}
	dlq := memqueue.New("SyncDLQ", memqueue.Options{Now: c.now})
	e := &env{t: t, clock: c, store: &store{Store: memstore.New().WithClock(c.now)}, fake: backmarkettest.New(backmarkettest.Options{Token: "bm-token"}),
		queue: memqueue.New("SyncQueue", memqueue.Options{Visibility: visibility, MaxReceiveCount: maxReceiveCount, DLQ: dlq, Now: c.now}),
		dlq:   dlq, notes: &notices{}, nextID: 100}
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	e.conn = order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test",
		Store:       order.Endpoint{Platform: order.Shopify},
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: srv.URL, CredentialRef: "bm"}}
	if err := e.store.PutConnection(context.Background(), e.conn); err != nil {
		t.Fatal(err)
	}
	e.client = srv.Client()
	e.mps = marketplacesFunc(func(_ context.Context, conn order.Connection) (syncer.Marketplace, error) {
		if conn.Marketplace.Platform != order.BackMarket {
			return nil, syncerr.E(syncerr.PlatformUnsupported, "platform", string(conn.Marketplace.Platform))
		}
		return backmarket.New(e.client, backmarket.Options{BaseURL: conn.Marketplace.BaseURL, Token: "bm-token"}), nil
	})
	e.proc = e.processor(config{})
	return e
}

// processor returns a processor on the env's store, marketplaces, queue
// and DLQ, with cfg.
func (e *env) processor(cfg config) *processor {
	return e.processorOn(cfg, e.store, e.mps, e.dlq)
}

// processorOn returns a processor on the env's queue and clock, with cfg,
// store, marketplaces and DLQ.
func (e *env) processorOn(cfg config, s syncer.Store, mps syncer.Marketplaces, dlq syncbatch.DeadLetters) *processor {
	cfg.Now = e.clock.now
	return newProcessor(cfg, s, mps, e.queue, dlq, e.notes, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// downStore is the env's store out of reach.
func (e *env) downStore() *store { return &store{Store: e.store.Store, down: true} }

// order seeds a Back Market order awaiting acceptance and returns the ids.
func (e *env) order() (mkID, storeID string) {
	e.nextID++
	e.fake.Seed(backmarkettest.AwaitingAcceptance(e.nextID, "SKU-A"))
	return fmt.Sprint(e.nextID), fmt.Sprint(9000 + e.nextID)
}

func shipped(mkID, storeID, tracking string, at time.Time) order.Event {
	return order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: fmt.Sprintf("evt-%d", at.UnixNano()), OccurredAt: at,
		Order: order.Ref{StoreOrderID: storeID, StoreOrderName: "#" + storeID, MarketplaceOrderID: mkID}, Status: order.StatusShipped,
		Lines:   []order.Line{{SKU: "SKU-A", Quantity: 1}},
		Parcels: []order.Parcel{{ID: "f-" + storeID, Tracking: order.Tracking{Number: tracking, Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}}}
}

func body(ev any) string {
	b, _ := json.Marshal(ev)
	return string(b)
}

// send puts ev on the sync queue.
func (e *env) send(ev any) {
	e.t.Helper()
	if err := e.queue.Send(context.Background(), body(ev), nil); err != nil {
		e.t.Fatal(err)
	}
}

// take sends the events to the sync queue and receives them as one batch,
// on the attempt-th receive of each (1: the first), with the receipt
// handles and receive counts the queue gives. The receives before it give
// the messages back at once, as a worker stopped before it answered would.
func (e *env) take(attempt int, evs ...any) []events.SQSMessage {
	e.t.Helper()
	for _, ev := range evs {
		e.send(ev)
	}
	for n := 1; ; n++ {
		msgs, err := e.queue.Receive(len(evs))
		if err != nil {
			e.t.Fatal(err)
		}
		if len(msgs) != len(evs) {
			e.t.Fatalf("receive %d: got %d messages, want the %d sent", n, len(msgs), len(evs))
		}
		for i, m := range msgs {
			if m.Body != body(evs[i]) || m.Attributes["ApproximateReceiveCount"] != fmt.Sprint(n) {
				e.t.Fatalf("receive %d: message %d is %s (receive %s), want %s", n, i, m.Body, m.Attributes["ApproximateReceiveCount"], body(evs[i]))
			}
		}
		if n == attempt {
			return msgs
		}
		for _, m := range msgs {
			if err := e.queue.RetryIn(context.Background(), m.ReceiptHandle, 0); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// handle hands msgs to p as the event source mapping does: it deletes the
// messages that did not fail, and none when the whole batch failed. It
// may be called from any goroutine.
func (e *env) handle(ctx context.Context, p *processor, msgs []events.SQSMessage) (events.SQSEventResponse, error) {
	resp, err := p.Handle(ctx, events.SQSEvent{Records: msgs})
	if err != nil {
		return resp, err
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range msgs {
		if !failed[m.MessageId] {
			if err := e.queue.Delete(m.ReceiptHandle); err != nil {
				e.t.Errorf("delete %s: %v", m.MessageId, err)
			}
		}
	}
	return resp, nil
}

// deliver sends ev to the sync queue and hands it to e.proc on its
// attempt-th receive.
func (e *env) deliver(ev any, attempt int) events.SQSEventResponse {
	e.t.Helper()
	resp, err := e.handle(context.Background(), e.proc, e.take(attempt, ev))
	if err != nil {
		e.t.Fatalf("Handle: %v", err)
	}
	return resp
}

// receive hands the next visible message of the sync queue to p, with its
// receive count; ok is false when there is none.
func (e *env) receive(p *processor) (resp events.SQSEventResponse, ok bool) {
	e.t.Helper()
	msgs, err := e.queue.Receive(1)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(msgs) == 0 {
		return events.SQSEventResponse{}, false
	}
	resp, err = e.handle(context.Background(), p, msgs)
	if err != nil {
		e.t.Fatalf("Handle: %v", err)
	}
	return resp, true
}

// held is the one message the sync queue holds.
func (e *env) held() memqueue.Message {
	e.t.Helper()
	msgs := e.queue.Messages()
	if len(msgs) != 1 {
		e.t.Fatalf("the queue holds %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

// retryIn is how long from now the queue holds its one message back: the
// delay the sync asked for its retry.
func (e *env) retryIn() time.Duration {
	e.t.Helper()
	return e.held().VisibleAt.Sub(e.clock.now())
}

// deadLetters drains the DLQ and returns its messages' attributes.
func (e *env) deadLetters() []map[string]string {
	e.t.Helper()
	var out []map[string]string
	for {
		msgs, err := e.dlq.Receive(10)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			a := map[string]string{}
			for k, v := range m.MessageAttributes {
				if v.StringValue != nil {
					a[k] = *v.StringValue
				}
			}
			out = append(out, a)
			if err := e.dlq.Delete(m.ReceiptHandle); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

func (e *env) state(mkID string) order.State {
	e.t.Helper()
	st, err := e.store.LoadOrder(context.Background(), "acme", mkID)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) callsFor(mkID string) (ok, refused int) {
	for _, c := range e.fake.Calls() {
		if c.OrderID == mkID {
			if c.Status < 300 {
				ok++
			} else {
				refused++
			}
		}
	}
	return ok, refused
}

// ships counts the ship calls the marketplace received for an order.
func (e *env) ships(mkID string) int {
	n := 0
	for _, c := range e.fake.Calls() {
		if c.OrderID == mkID && c.NewState == 3 {
			n++
		}
	}
	return n
}
