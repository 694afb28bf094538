package syncbatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/webhook"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

// queueBodies are sync messages as the ingest handler writes them: the
// events the platforms' documented webhooks parse to (see each package's
// testdata/SOURCES.md), on connection acme, some already linked to a
// marketplace order; then edge cases.
func queueBodies(f *testing.F) [][]byte {
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	var evs []order.Event
	add := func(e order.Event, err error) {
		if err != nil {
			f.Fatal(err)
		}
		evs = append(evs, e)
	}
	add(shopify.ParseWebhook("orders/fulfilled", "evt-1", read("../shopify/testdata/shopify_order_fulfilled_derived.json")))
	add(shopify.ParseWebhook("orders/updated", "evt-2", read("../shopify/testdata/shopify_order_2026-07.json")))
	add(woocommerce.ParseWebhook("order.updated", "dlv-1", read("../woocommerce/testdata/woocommerce_order_727_imported_derived.json")))
	add(bigcommerce.ParseWebhook(read("../bigcommerce/testdata/bigcommerce_webhook_store_order_statusUpdated.json")))
	add(webhook.ParseStandard("msg_1", read("../webhook/testdata/standard_order_shipped.json")))
	var out [][]byte
	for i, e := range evs {
		e.Connection = "acme"
		if e.Order.MarketplaceOrderID == "" && i%2 == 0 {
			e.Order.MarketplaceOrderID = fmt.Sprint(261671 + i)
		}
		b, err := json.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out,
		[]byte(`"not an event"`), []byte(``), []byte(`{}`), []byte(`{"connection":"acme"}`),
		[]byte(`{"connection":"acme","order":{"marketplace_order_id":"261671"},"occurred_at":"yesterday"}`),
		[]byte(`{"connection":"gone","order":{"marketplace_order_id":"1"},"status":"shipped"}`),
		[]byte(`{"connection":"acme","order":{"marketplace_order_id":"`+strings.Repeat("9", 3000)+`"},"status":"shipped"}`),
		[]byte(`{"connection":"acme","order":{"store_order_id":"9"},"fetch":true}`),
		[]byte(`{"connection":"acme","order":{"marketplace_order_id":"261671"},"intent":"import"}`),
		[]byte(`{"connection":"acme","order":{"marketplace_order_id":"261671"},"status":"shipped","parcels":[{"tracking":{"number":"6A1"},"lines":[{"sku":"SKU-A","quantity":-1}]}]}`),
	)
}

// FuzzKeyOf: whatever the body, keyOf groups it on the connection and the
// order the sync reads from it (the marketplace order id, else the store
// order id), so one order's messages run one after the other.
func FuzzKeyOf(f *testing.F) {
	for _, b := range queueBodies(f) {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, body string) {
		k := keyOf(body)
		if keyOf(body) != k {
			t.Fatal("keyOf is not deterministic")
		}
		var e order.Event
		if json.Unmarshal([]byte(body), &e) != nil {
			return
		}
		want := groupKey{e.Connection, "s#" + e.Order.StoreOrderID}
		if e.Order.MarketplaceOrderID != "" {
			want.order = "m#" + e.Order.MarketplaceOrderID
		}
		if k != want {
			t.Fatalf("keyOf(%q) = %+v, want %+v", body, k, want)
		}
	})
}

// FuzzHandle hands any batch of up to 10 message bodies (one a line) to
// the real handler, over an in-memory store, a marketplace that accepts
// every call, queue and DLQ: it never panics (nor does the syncer, which
// would recover, log it and fail with internal_error); the whole batch
// fails only when every message failed on the store; otherwise every
// message is either reported as a batch item failure or carried out, a
// dead letter carries a catalogue code, and a body the sync cannot read
// is dead-lettered at once as invalid_data.
func FuzzHandle(f *testing.F) {
	bodies := queueBodies(f)
	for i, b := range bodies {
		f.Add(uint8(i), b)
	}
	f.Add(uint8(3), bytes.Join(bodies, []byte("\n")))
	f.Add(uint8(1), bytes.Join([][]byte{bodies[0], bodies[0], bodies[1], []byte(`{`)}, []byte("\n")))
	f.Fuzz(func(t *testing.T, receives uint8, batch []byte) {
		lines := bytes.Split(batch, []byte("\n"))
		if len(lines) > 10 {
			lines = lines[:10]
		}
		var ev events.SQSEvent
		for i, l := range lines {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("m", i), ReceiptHandle: fmt.Sprint("rh", i),
				Body: string(l), Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(1 + receives%4)}})
		}
		b := newBatchEnv(t)
		resp, err := b.h.Handle(context.Background(), ev)
		if msg, ok := b.logs.find("panic"); ok {
			t.Fatalf("logged %q", msg)
		}
		dead := b.dlq.sent()
		if err != nil {
			// Every message failed on the store: the in-memory store only
			// refuses keys longer than DynamoDB's, so each was readable.
			for _, m := range ev.Records {
				if !readable(m.Body) {
					t.Fatalf("Handle: %v, though %q is unreadable", err, m.Body)
				}
			}
			if len(dead) > 0 {
				t.Fatalf("Handle: %v, after dead-lettering %d", err, len(dead))
			}
			return
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			if failed[f.ItemIdentifier] || !slices.ContainsFunc(ev.Records, func(m events.SQSMessage) bool { return m.MessageId == f.ItemIdentifier }) {
				t.Fatalf("batch item failures %+v: repeated or unknown %q", resp.BatchItemFailures, f.ItemIdentifier)
			}
			failed[f.ItemIdentifier] = true
		}
		for _, d := range dead {
			if code := syncerr.Code(d.attrs[AttrErrorCode]); !slices.Contains(syncerr.Codes(), code) {
				t.Fatalf("dead letter %q with error_code %q", d.body, code)
			}
		}
		for _, m := range ev.Records {
			if readable(m.Body) {
				continue
			}
			if failed[m.MessageId] {
				t.Fatalf("unreadable message %q left for a retry", m.Body)
			}
			if !slices.ContainsFunc(dead, func(d deadLetter) bool {
				return d.body == m.Body && d.attrs[AttrErrorCode] == string(syncerr.InvalidData)
			}) {
				t.Fatalf("unreadable message %q not dead-lettered as invalid_data (DLQ: %+v)", m.Body, dead)
			}
		}
	})
}

// readable reports whether the sync can read body: an event, of a
// connection.
func readable(body string) bool {
	var e order.Event
	return json.Unmarshal([]byte(body), &e) == nil && e.Connection != ""
}

// batchEnv is one handler over fakes, fresh for each input.
type batchEnv struct {
	h    *Handler
	dlq  *fakeDLQ
	logs *logRecorder
}

func newBatchEnv(t *testing.T) *batchEnv {
	store := memstore.New()
	for _, c := range []order.Connection{
		{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test", Store: order.Endpoint{Platform: order.Shopify},
			Marketplace: order.Endpoint{Platform: order.BackMarket}, ImportOrders: true},
		{ID: "paused", MerchantName: "Paused", MerchantEmail: "ops@paused.test", Store: order.Endpoint{Platform: order.WooCommerce},
			Marketplace: order.Endpoint{Platform: order.Mirakl}, Paused: true, PausedCode: string(syncerr.AuthExpired)},
	} {
		if err := store.PutConnection(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	logs := &logRecorder{}
	log := slog.New(logs)
	mps := marketplaces(func(context.Context, order.Connection) (syncer.Marketplace, error) {
		return &acceptingMarketplace{}, nil
	})
	s := syncer.New(syncer.Config{MaxAttempts: 3, RetryBase: time.Millisecond, RetryCap: time.Second}, store, mps, noNotices{}, log)
	dlq := &fakeDLQ{}
	return &batchEnv{h: New(Config{}, s, fakeQueue{}, dlq, log), dlq: dlq, logs: logs}
}

type marketplaces func(context.Context, order.Connection) (syncer.Marketplace, error)

func (f marketplaces) Marketplace(ctx context.Context, c order.Connection) (syncer.Marketplace, error) {
	return f(ctx, c)
}

// acceptingMarketplace holds orders of one line, SKU-A, awaiting
// acceptance until a call moves them, and does whatever it is asked.
type acceptingMarketplace struct {
	mu     sync.Mutex
	orders map[string]order.MarketplaceOrder
}

func (m *acceptingMarketplace) get(id string) order.MarketplaceOrder {
	if o, ok := m.orders[id]; ok {
		return o
	}
	return order.MarketplaceOrder{ID: id, Status: order.StatusAwaitingAcceptance, State: "1",
		Lines:           []order.MarketplaceLine{{ID: "1", SKU: "SKU-A", Quantity: 1, Status: order.StatusAwaitingAcceptance, State: "1"}},
		ShippingAddress: &order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"}}
}

func (m *acceptingMarketplace) set(o order.MarketplaceOrder, s order.Status, tr order.Tracking) {
	if m.orders == nil {
		m.orders = map[string]order.MarketplaceOrder{}
	}
	o.Status, o.Tracking = s, tr
	o.Lines = slices.Clone(o.Lines)
	for i := range o.Lines {
		o.Lines[i].Status, o.Lines[i].Tracking = s, tr
	}
	m.orders[o.ID] = o
}

func (m *acceptingMarketplace) Order(_ context.Context, id string) (order.MarketplaceOrder, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(id), nil
}

func (m *acceptingMarketplace) OrdersUpdatedSince(context.Context, time.Time) ([]order.MarketplaceOrder, error) {
	return nil, nil
}

func (m *acceptingMarketplace) Accept(_ context.Context, o order.MarketplaceOrder) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(m.get(o.ID), order.StatusAccepted, order.Tracking{})
	return nil
}

func (m *acceptingMarketplace) Ship(_ context.Context, o order.MarketplaceOrder, p order.Parcel) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(m.get(o.ID), order.StatusShipped, p.Tracking)
	return nil
}

func (m *acceptingMarketplace) Cancel(_ context.Context, o order.MarketplaceOrder, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(m.get(o.ID), order.StatusCancelled, order.Tracking{})
	return nil
}

func (m *acceptingMarketplace) Capabilities() order.Capabilities {
	return order.Capabilities{Cancel: true, AcceptRequired: true, PerLine: true}
}

type noNotices struct{}

func (noNotices) Notify(context.Context, syncer.Notice) error { return nil }

type fakeQueue struct{}

func (fakeQueue) RetryIn(context.Context, string, time.Duration) error { return nil }
func (fakeQueue) Resend(context.Context, string, time.Duration) error  { return nil }

type deadLetter struct {
	body  string
	attrs map[string]string
}

type fakeDLQ struct {
	mu   sync.Mutex
	msgs []deadLetter
}

func (d *fakeDLQ) Send(_ context.Context, body string, attrs map[string]string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, deadLetter{body, attrs})
	return nil
}

func (d *fakeDLQ) sent() []deadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.msgs)
}

// logRecorder is a slog handler that keeps every message logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

// find returns the first message containing s.
func (l *logRecorder) find(s string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.IndexFunc(l.msgs, func(m string) bool { return strings.Contains(m, s) })
	if i < 0 {
		return "", false
	}
	return l.msgs[i], true
}
