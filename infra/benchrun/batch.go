package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/pace"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
)

// batchLatency is how long the fake marketplace takes to answer each
// request.
const batchLatency = 100 * time.Millisecond

// batchOrders is one batch: the event source's BatchSize.
const batchOrders = 10

// batchSection measures a batch of 10 orders of one connection through
// the real sync batch handler, syncer and Back Market connector, paced as
// syncapp paces it, against the Back Market fake answering each request
// in 100 ms, beside the same 10 orders' syncs each started at once on its
// own (no batch handler, no pacing): the floor a batch can reach. Then
// the same with the marketplace's limit binding, a fake that answers 429
// past 20 requests a second: paced by that limit, and not paced.
func batchSection(ctx context.Context, env Env) ([]Row, error) {
	runs := 5
	if env.Quick {
		runs = 2
	}
	var rows []Row

	// The marketplace allows it: Back Market's own limit.
	var handler, floor []time.Duration
	for r := range runs {
		// Alternate which goes first, so neither always meets a warmer
		// machine.
		for _, viaHandler := range []bool{r%2 == 0, r%2 != 0} {
			b, err := newBatchRun(ctx, 0, backmarket.RateLimit)
			if err != nil {
				return nil, err
			}
			res, err := b.run(ctx, viaHandler)
			b.close()
			if err != nil {
				return nil, err
			}
			if res.failed > 0 || res.tooMany > 0 {
				return nil, fmt.Errorf("batch: %d orders not synced at the first try, %d answers 429, under Back Market's limit", res.failed, res.tooMany)
			}
			if viaHandler {
				handler = append(handler, res.elapsed)
			} else {
				floor = append(floor, res.elapsed)
			}
		}
	}
	h, f := median(handler), median(floor)
	rows = append(rows, Row{Section: "batch", Name: "10 orders of one connection, one batch", Value: ms(h), Unit: "ms", Goal: 1.5,
		Note: fmt.Sprintf("syncbatch.Handle, paced by backmarket.RateLimit (%d per %v), fake Back Market answering in %v; median of %d",
			backmarket.RateLimit.Requests, backmarket.RateLimit.Per, batchLatency, runs)}.Compared("all at once", ms(f)))

	// The limit binds: 20 requests a second, enforced by the fake.
	tight := pace.Limit{Requests: 20, Per: time.Second}
	paced, err := newBatchRun(ctx, tight.Requests, tight)
	if err != nil {
		return nil, err
	}
	p, err := paced.run(ctx, true)
	paced.close()
	if err != nil {
		return nil, err
	}
	if p.failed > 0 || p.tooMany > 0 {
		return nil, fmt.Errorf("batch: paced by the fake's limit, %d orders not synced at the first try, %d answers 429", p.failed, p.tooMany)
	}
	// What the bucket asks for p.requests: its burst at once, the rest at
	// its rate (half the limit each, see pace.Limit).
	burst, rate := float64(tight.Requests)/2, float64(tight.Requests)/2/tight.Per.Seconds()
	asked := time.Duration(max(float64(p.requests)-burst, 0) / rate * float64(time.Second))
	rows = append(rows,
		Row{Section: "batch", Name: "limit binding: paced batch", Value: ms(p.elapsed), Unit: "ms",
			Note: fmt.Sprintf("fake answers 429 past %d requests/s; %d requests, 0 answered 429, every order synced at its first try; beside: the bucket's own time for them",
				tight.Requests, p.requests)}.Compared("bucket's time", ms(asked)),
		Row{Section: "batch", Name: "limit binding: paced rate", Value: float64(p.requests) / p.elapsed.Seconds(), Unit: "requests/s",
			Note: "requests over the batch's time"}.Compared("fake's limit", float64(tight.Requests)/tight.Per.Seconds()))

	unpaced, err := newBatchRun(ctx, tight.Requests, pace.Limit{})
	if err != nil {
		return nil, err
	}
	u, err := unpaced.run(ctx, true)
	unpaced.close()
	if err != nil {
		return nil, err
	}
	rows = append(rows, Row{Section: "batch", Name: "limit binding, not paced: orders to retry", Value: float64(u.failed), Unit: "orders",
		Note: fmt.Sprintf("the same batch with no bucket: %d of %d requests answered 429, those orders retried later (paced: 0)", u.tooMany, u.requests)})
	return rows, nil
}

// batchRun is one connection's batch of orders on a fresh store and a
// fresh Back Market fake.
type batchRun struct {
	fake    *backmarkettest.Server
	srv     *httptest.Server
	sync    *syncer.Syncer
	handler *syncbatch.Handler
	batch   events.SQSEvent
	counts  *statusCounter
}

// newBatchRun seeds 10 orders awaiting acceptance on a fake answering
// each request in batchLatency (and 429 past rateLimit requests a second
// when positive), and wires the sync as syncapp does, its requests paced
// by limit (none when zero).
func newBatchRun(ctx context.Context, rateLimit int, limit pace.Limit) (*batchRun, error) {
	fake := backmarkettest.New(backmarkettest.Options{Token: "bench-token", RateLimit: rateLimit, RateWindow: time.Second})
	fake.SetFault(backmarkettest.Fault{Delay: batchLatency})
	srv := httptest.NewServer(fake)
	batches, err := syncBatches(batchOrders)
	if err != nil {
		srv.Close()
		return nil, err
	}
	for i := range batchOrders {
		o := benchOrder(i)
		fake.Seed(backmarkettest.AwaitingAcceptance(o.MarketplaceID, o.SKUs...))
	}
	store := memstore.New()
	conn := order.Connection{ID: syncConnection, MerchantName: "Bench", MerchantEmail: "ops@bench.test",
		Store:       order.Endpoint{Platform: order.Shopify},
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: srv.URL, CredentialRef: "bm"}}
	if err := store.PutConnection(ctx, conn); err != nil {
		srv.Close()
		return nil, err
	}
	counts := &statusCounter{next: http.DefaultTransport}
	hc := httpclient.New(httpclient.Options{Timeout: 10 * time.Second})
	hc.Transport = counts.wrap(hc.Transport)
	buckets := pace.NewBuckets(nil)
	mps := marketplacesFunc(func(ctx context.Context, c order.Connection) (syncer.Marketplace, error) {
		// connectors.Source.Marketplace, with the limit this run sets.
		return connectors.Marketplace(ctx, c, benchSecrets{"bm": "bench-token"}, buckets.Client(hc, c.ID, limit))
	})
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	s := syncer.New(syncer.Config{}, store, mps, noNotices{}, log)
	return &batchRun{fake: fake, srv: srv, sync: s, handler: syncbatch.New(syncbatch.Config{}, s, retryQueue{}, nil, log),
		batch: batches[0], counts: counts}, nil
}

func (b *batchRun) close() { b.srv.Close() }

type batchResult struct {
	elapsed                   time.Duration
	failed, requests, tooMany int
}

// run syncs the batch's orders, through the batch handler or (the floor)
// each message handed to the syncer at once in its own goroutine, within
// a Lambda-like deadline.
func (b *batchRun) run(ctx context.Context, viaHandler bool) (batchResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var res batchResult
	start := time.Now()
	if viaHandler {
		resp, err := b.handler.Handle(ctx, b.batch)
		if err != nil {
			return res, err
		}
		res.failed = len(resp.BatchItemFailures)
	} else {
		var wg sync.WaitGroup
		var failed atomic.Int32
		for _, m := range b.batch.Records {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e, err := order.DecodeMessage(m.Body)
				if err != nil || b.sync.Sync(ctx, syncer.Delivery{Event: e, Attempt: 1}).Verdict != syncer.Done {
					failed.Add(1)
				}
			}()
		}
		wg.Wait()
		res.failed = int(failed.Load())
	}
	res.elapsed = time.Since(start)
	res.requests, res.tooMany = b.counts.totals()
	if res.failed == 0 {
		// Every order shipped on the marketplace: the run did its work.
		for _, c := range b.fake.Calls() {
			if c.Status >= 400 {
				return res, fmt.Errorf("batch: marketplace call %+v failed", c)
			}
		}
		if n := len(b.fake.Calls()); n != 2*2*batchOrders {
			return res, fmt.Errorf("batch: %d update calls on the marketplace, want %d (accept and ship, 2 lines, %d orders)", n, 4*batchOrders, batchOrders)
		}
	}
	return res, nil
}

// statusCounter counts the requests that reached the marketplace, and its
// 429 answers.
type statusCounter struct {
	next              http.RoundTripper
	requests, tooMany atomic.Int32
}

func (c *statusCounter) wrap(next http.RoundTripper) http.RoundTripper {
	if next != nil {
		c.next = next
	}
	return c
}

func (c *statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	c.requests.Add(1)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		c.tooMany.Add(1)
	}
	return resp, err
}

func (c *statusCounter) totals() (requests, tooMany int) {
	return int(c.requests.Load()), int(c.tooMany.Load())
}

type marketplacesFunc func(ctx context.Context, c order.Connection) (syncer.Marketplace, error)

func (f marketplacesFunc) Marketplace(ctx context.Context, c order.Connection) (syncer.Marketplace, error) {
	return f(ctx, c)
}

// benchSecrets are the connection's credentials.
type benchSecrets map[string]string

func (s benchSecrets) Secret(_ context.Context, name string) (string, error) {
	if v, ok := s[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %q: %w", name, order.ErrNotFound)
}
