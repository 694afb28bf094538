package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
)

const syncConnection = "c-bench"

// syncSection runs fulfilled-order events through the real sync batch
// handler and syncer, over memstore and an in-memory marketplace that
// answers at once, in batches of 10 as the event source mapping delivers
// them, under a CPU profile; then splits the profile's samples by whose
// code they were in.
func syncSection(ctx context.Context, env Env) ([]Row, error) {
	// Enough for a few hundred profile samples (100 a second).
	n := 30_000
	if env.Quick {
		n = 3_000
	}
	batches, err := syncBatches(n)
	if err != nil {
		return nil, err
	}
	h, mp := newSyncRun()
	prof := filepath.Join(env.Dir, "sync.pprof")
	f, err := os.Create(prof)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	start := time.Now()
	runErr := runBatches(ctx, h, batches)
	elapsed := time.Since(start)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return nil, err
	}
	if runErr != nil {
		return nil, runErr
	}
	// Every order accepted and shipped: the run did the work it claims.
	if got := mp.shipped(); got != n {
		return nil, fmt.Errorf("sync: %d of %d orders shipped on the marketplace", got, n)
	}
	rows := []Row{{Section: "sync", Name: "events/s, one instance", Value: float64(n) / elapsed.Seconds(), Unit: "events/s",
		Note: fmt.Sprintf("%d orders/fulfilled events in batches of 10, each accepted and shipped; memstore, in-memory marketplace, no latency", n)}}
	shares, err := cpuShares(ctx, prof)
	if err != nil {
		return nil, fmt.Errorf("sync: reading the CPU profile: %w", err)
	}
	for _, s := range shares {
		rows = append(rows, Row{Section: "sync", Name: "CPU share: " + s.name, Value: s.share * 100, Unit: "%", Note: s.note})
	}
	return rows, nil
}

// syncBatches builds n orders/fulfilled events as the webhook queues them
// (order.EncodeMessage of shopify.ParseWebhook's event), in SQS batches
// of 10.
func syncBatches(n int) ([]events.SQSEvent, error) {
	at := time.Now().UTC().Add(-time.Minute)
	var batches []events.SQSEvent
	for i := range n {
		o := benchOrder(i)
		id := fmt.Sprintf("evt-sync-%d", i)
		e, err := shopify.ParseWebhook(shopify.TopicOrdersFulfilled, id,
			localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo", Number: fmt.Sprintf("6A%09d", i)}, at))
		if err != nil {
			return nil, err
		}
		e.Connection = syncConnection
		body, err := order.EncodeMessage(e)
		if err != nil {
			return nil, err
		}
		if i%10 == 0 {
			batches = append(batches, events.SQSEvent{})
		}
		b := &batches[len(batches)-1]
		b.Records = append(b.Records, events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: body,
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
	}
	return batches, nil
}

func benchOrder(i int) localsystem.DemoOrder {
	id := int64(800000 + i)
	return localsystem.DemoOrder{MarketplaceID: id, StoreID: 450789000 + id, Name: fmt.Sprintf("#%d", id),
		SKUs: []string{"IPH12-64-BLK", "CASE-CLEAR"}}
}

// newSyncRun wires the sync function's handler as app does, on fakes: the
// logger is JSON to nowhere, so formatting each line is paid as on Lambda.
func newSyncRun() (*syncbatch.Handler, *memMarketplace) {
	store := memstore.New()
	// memstore cannot fail to store a connection.
	_ = store.PutConnection(context.Background(), order.Connection{ID: syncConnection, MerchantName: "Bench", MerchantEmail: "ops@bench.test",
		Store: order.Endpoint{Platform: order.Shopify}, Marketplace: order.Endpoint{Platform: order.BackMarket}})
	mp := &memMarketplace{orders: map[string]order.MarketplaceOrder{}}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	s := syncer.New(syncer.Config{}, store, marketplaceOf{mp}, noNotices{}, log)
	return syncbatch.New(syncbatch.Config{}, s, retryQueue{}, nil, log), mp
}

func runBatches(ctx context.Context, h *syncbatch.Handler, batches []events.SQSEvent) error {
	for _, b := range batches {
		// A Lambda invocation's deadline, as the handler expects one.
		bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := h.Handle(bctx, b)
		cancel()
		if err != nil {
			return err
		}
		if len(resp.BatchItemFailures) > 0 {
			return fmt.Errorf("sync: %d messages of a batch failed (first %s)", len(resp.BatchItemFailures), resp.BatchItemFailures[0].ItemIdentifier)
		}
	}
	return nil
}

type share struct {
	name, note string
	share      float64
}

// cpuShares splits a CPU profile's self time (pprof's flat) by package:
// ordersync's production code, its fakes in this run (memstore, benchrun's
// own marketplace), and everything else (stdlib, runtime with its GC, the
// Lambda and AWS SDKs). It reads the profile with `go tool pprof -top`, the
// reader the Go distribution ships, rather than a new module.
func cpuShares(ctx context.Context, path string) ([]share, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0",
		"-unit=ms", path).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof: %w", err)
	}
	if os.Getenv("BENCHRUN_PPROF_DUMP") != "" {
		os.Stderr.Write(out)
	}
	var own, fakes, other float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "   12.50ms  3.1%  40.2%   30ms  7.4%  github.com/…/syncer.(*Syncer).Sync"
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !strings.HasSuffix(f[0], "ms") || !strings.HasSuffix(f[1], "%") {
			continue
		}
		ms, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "ms"), 64)
		if err != nil {
			continue
		}
		fn := strings.Join(f[5:], " ")
		switch {
		case strings.HasPrefix(fn, "main.") || strings.HasPrefix(fn, "github.com/ordersync/ordersync/shared/memstore."):
			fakes += ms
		case strings.HasPrefix(fn, "github.com/ordersync/"):
			own += ms
		default:
			other += ms
		}
	}
	total := own + fakes + other
	if total == 0 {
		return nil, fmt.Errorf("no samples in the profile")
	}
	return []share{
		{name: "ordersync code", share: own / total, note: "self time in github.com/ordersync/… (syncbatch, syncer, order, shopify…), fakes excluded"},
		{name: "stdlib, runtime, SDKs", share: other / total, note: "self time elsewhere; GC and allocation count here though our code causes them"},
		{name: "fakes", share: fakes / total, note: "memstore and the in-memory marketplace: DynamoDB and HTTP stand-ins"},
	}, nil
}

// memMarketplace is a marketplace that answers at once: every order it is
// asked for awaits acceptance with the bench's two lines until a call
// moves it. It is safe for concurrent use.
type memMarketplace struct {
	mu     sync.Mutex
	orders map[string]order.MarketplaceOrder
}

func (m *memMarketplace) get(id string) order.MarketplaceOrder {
	if o, ok := m.orders[id]; ok {
		return o
	}
	o := order.MarketplaceOrder{ID: id, Status: order.StatusAwaitingAcceptance, State: "1",
		ShippingAddress: &order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"}}
	for i, sku := range benchOrder(0).SKUs {
		o.Lines = append(o.Lines, order.MarketplaceLine{ID: strconv.Itoa(i + 1), SKU: sku, Quantity: 1,
			Status: order.StatusAwaitingAcceptance, State: "1"})
	}
	return o
}

func (m *memMarketplace) set(id string, s order.Status, tr order.Tracking) {
	o := m.get(id)
	o.Status, o.Tracking = s, tr
	lines := make([]order.MarketplaceLine, len(o.Lines))
	for i, l := range o.Lines {
		l.Status, l.Tracking = s, tr
		lines[i] = l
	}
	o.Lines = lines
	m.orders[id] = o
}

func (m *memMarketplace) shipped() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, o := range m.orders {
		if o.Status == order.StatusShipped {
			n++
		}
	}
	return n
}

func (m *memMarketplace) Order(_ context.Context, id string) (order.MarketplaceOrder, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(id), nil
}

func (m *memMarketplace) OrdersUpdatedSince(context.Context, time.Time) ([]order.MarketplaceOrder, error) {
	return nil, nil
}

func (m *memMarketplace) Accept(_ context.Context, o order.MarketplaceOrder) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(o.ID, order.StatusAccepted, order.Tracking{})
	return nil
}

func (m *memMarketplace) Ship(_ context.Context, o order.MarketplaceOrder, p order.Parcel) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(o.ID, order.StatusShipped, p.Tracking)
	return nil
}

func (m *memMarketplace) Cancel(_ context.Context, o order.MarketplaceOrder, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(o.ID, order.StatusCancelled, order.Tracking{})
	return nil
}

func (m *memMarketplace) Capabilities() order.Capabilities {
	return order.Capabilities{Cancel: true, AcceptRequired: true, PerLine: true}
}

type marketplaceOf struct{ m *memMarketplace }

func (f marketplaceOf) Marketplace(context.Context, order.Connection) (syncer.Marketplace, error) {
	return f.m, nil
}

type noNotices struct{}

func (noNotices) Notify(context.Context, syncer.Notice) error { return nil }

// retryQueue is the sync queue's side of a batch; a run that needs it
// failed (runBatches reports the batch's failures).
type retryQueue struct{}

func (retryQueue) RetryIn(context.Context, string, time.Duration) error { return nil }
func (retryQueue) Resend(context.Context, string, time.Duration) error  { return nil }
