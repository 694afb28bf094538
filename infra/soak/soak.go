// Package soak drives the real webhook handler, sync and connectors with
// many orders under chaos (marketplace 429s and 503s, answers lost before
// and after the change applied, slow answers, reads lagging writes,
// duplicated and reordered webhooks, workers killed mid-batch, storage
// throttling and write races, SQS send and visibility failures, SES
// errors), then checks the promises per order: the marketplace shows the
// store's last word, or the order failed with a reason the merchant can
// read and sits in the DLQ to be re-sent; no business action happened
// twice; no status moved backwards; nothing is left in flight. A failure
// is left to the sync queue's redrive policy, as the sync function leaves
// it: it sits in the DLQ, its source queue recorded, until the run
// redrives the whole DLQ to its source as the console does by default;
// the redriven events are synced again, and the promises checked after.
//
// It runs on the in-memory store and queue (shared/memstore,
// shared/testkit/memqueue) and the Back Market fake on loopback, so tens of
// thousands of events take minutes on two cores. `make soak` runs it.
package soak

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/notify"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/memqueue"
)

// Config sets a run. Zero fields take the defaults.
type Config struct {
	// Events is how many store events (webhooks) to send, duplicates not
	// counted (20,000).
	Events int
	// Seed makes the orders and the faults reproducible.
	Seed int64
	// Connections is how many merchant connections share the load (4),
	// each with its own marketplace account.
	Connections int
	// Rates are the faults' chances (DefaultRates); Calm turns them off.
	Rates Rates
	Calm  bool
	// Duplicates is the share of webhooks delivered twice (0.1).
	Duplicates float64
	// Deadline bounds the whole run (10 minutes).
	Deadline time.Duration
	// Emulators runs the soak on DynamoDB Local and local-aws-sqs,
	// provisioned from template.yaml, instead of in memory (needs `make
	// deps`; use a smaller Events).
	Emulators bool
	// Log receives the system's own log lines (discarded when nil).
	Log io.Writer
}

func (c Config) withDefaults() Config {
	if c.Events <= 0 {
		c.Events = 20000
	}
	if c.Connections <= 0 {
		c.Connections = 4
	}
	if c.Rates == (Rates{}) && !c.Calm {
		c.Rates = DefaultRates
	}
	if c.Duplicates == 0 {
		c.Duplicates = 0.1
	}
	if c.Deadline <= 0 {
		c.Deadline = 10 * time.Minute
	}
	return c
}

// Report is what a run found.
type Report struct {
	Seed                                        int64
	Events, Deliveries, Orders                  int
	Accepted, Duplicate, WebhookRetry, Rejected int
	Applied, FailedWithReason                   int
	Lost, DuplicateEffects, Regressions         int
	InFlight, BadEmails                         int
	// ReasonOnOrderOnly counts failed orders whose reason is on the order
	// but not in the error list: their last try was killed and SQS's
	// redrive moved them to the DLQ.
	ReasonOnOrderOnly int
	// Redriven counts the messages redriven from the DLQ to their source
	// queue once the first run drained; RedrivenCounted, the sync's
	// "redriven" metric lines: at most Redriven plus the platform's
	// duplicate deliveries (Deliveries-Events). The webhook no longer
	// turns a duplicate away, so a copy of an event that already failed
	// for good reaches the sync as a first receive of that event and is
	// counted as redriven too; a redriven event whose failure the order
	// does not record, its bookkeeping throttled, say, is not counted. Unsourced counts DLQ messages with no source
	// queue on record (sent straight to the DLQ: the console's default
	// redrive cannot move them); it must be 0.
	Redriven, RedrivenCounted, Unsourced int
	EmailsSent                           int64
	Reasons                              map[string]int
	Faults                               map[string]int
	// Problems names the orders behind each non-zero bad count (at most
	// 20).
	Problems []string
	Elapsed  time.Duration
}

// OK reports whether every promise held.
func (r Report) OK() bool {
	return r.Lost == 0 && r.Rejected == 0 && r.DuplicateEffects == 0 && r.Regressions == 0 && r.InFlight == 0 && r.BadEmails == 0 &&
		r.Unsourced == 0 && r.RedrivenCounted <= r.Redriven+r.Deliveries-r.Events && r.Applied+r.FailedWithReason == r.Orders
}

// String is the report as `make soak` prints it.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak: seed %d, %d events (%d deliveries with duplicates) for %d orders, in %s\n",
		r.Seed, r.Events, r.Deliveries, r.Orders, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "  webhooks: %d accepted, %d answered duplicate, %d refused, %d retried by the platform after a 5xx\n",
		r.Accepted, r.Duplicate, r.Rejected, r.WebhookRetry)
	fmt.Fprintf(&b, "  faults injected: %s\n", counts(r.Faults))
	fmt.Fprintf(&b, "  failed with a reason, by code: %s (%d with the reason on the order only: last try killed, moved by SQS's redrive)\n",
		counts(r.Reasons), r.ReasonOnOrderOnly)
	fmt.Fprintf(&b, "  DLQ: %d redriven to their source queue (%d counted as redriven by the sync), %d without a source queue\n",
		r.Redriven, r.RedrivenCounted, r.Unsourced)
	fmt.Fprintf(&b, "  emails sent: %d\n", r.EmailsSent)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  problem: %s\n", p)
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "events in %d, applied %d, failed-with-reason %d, lost %d, duplicate effects %d, regressions %d, in flight %d, bad emails %d: %s\n",
		r.Events, r.Applied, r.FailedWithReason, r.Lost, r.DuplicateEffects, r.Regressions, r.InFlight, r.BadEmails, verdict)
	return b.String()
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Policy of the system under soak: the template's shape, its times scaled
// down so that retries and leases pass in milliseconds.
const (
	clientTimeout = 250 * time.Millisecond
	webhookSecret = "soak-webhook-secret"
	token         = "soak-bm-token"
)

// Run runs one soak.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Deadline)
	defer cancel()
	rep := Report{Seed: cfg.Seed, Events: cfg.Events, Reasons: map[string]int{}}
	d := newDice(cfg.Seed)
	faults := &Faults{}
	var redriven atomic.Int64
	log := slog.New(redriveCounter{Handler: slog.NewTextHandler(cmp.Or[io.Writer](cfg.Log, io.Discard), &slog.HandlerOptions{Level: slog.LevelWarn}), n: &redriven})

	queueFaults := func(op string) error {
		switch {
		case op == "send" && d.roll(cfg.Rates.QueueSend):
			faults.add("SQS send failed")
			return fmt.Errorf("throttled")
		case op == "visibility" && d.roll(cfg.Rates.QueueVisibility):
			faults.add("SQS visibility change failed")
			return fmt.Errorf("throttled")
		}
		return nil
	}
	be := memoryBackend(queueFaults)
	if cfg.Emulators {
		var err error
		if be, err = emulatorBackend(ctx, queueFaults); err != nil {
			return rep, err
		}
	}
	defer be.close()
	store := be.store
	fakes := make([]*backmarkettest.Server, cfg.Connections)
	secrets := staticSecrets{"webhook": webhookSecret, "bm": token}
	for i := range fakes {
		fakes[i] = backmarkettest.New(backmarkettest.Options{Token: token})
		srv := httptest.NewServer(&marketplaceChaos{next: fakes[i], dice: d, rates: cfg.Rates, faults: faults, timeout: clientTimeout})
		defer srv.Close()
		conn := order.Connection{ID: connID(i), MerchantName: "Soak " + strconv.Itoa(i), MerchantEmail: "ops@soak.test",
			Store:             order.Endpoint{Platform: order.Shopify},
			Marketplace:       order.Endpoint{Platform: order.BackMarket, BaseURL: srv.URL, CredentialRef: "bm"},
			WebhookSecretRefs: []string{"webhook"}}
		if err := store.PutConnection(ctx, conn); err != nil {
			return rep, err
		}
	}

	queue := be.queue
	hc := &http.Client{Timeout: clientTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	mail := &mailbox{dice: d, p: cfg.Rates.MailFailure, faults: faults}
	core := syncer.New(syncer.Config{RetryBase: 20 * time.Millisecond, RetryCap: 300 * time.Millisecond,
		EffectLease: be.timing.lease, Bookkeeping: be.timing.bookkeeping},
		chaosStore{Store: store, dice: d, p: cfg.Rates.StoreThrottle, faults: faults},
		marketplaces{secrets: secrets, hc: hc}, notify.New(mail), log)
	// No DLQ of its own: failures are left to the redrive policy, as the
	// sync function leaves them.
	batch := syncbatch.New(syncbatch.Config{DeadlineMargin: 500 * time.Millisecond, SendReserve: 100 * time.Millisecond},
		core, queue, nil, log)
	// As deployed (shared/app/webhookapp): no deduper, every delivery is
	// queued and the sync's claims deduplicate.
	webhook := ingest.New(ingest.Config{}, store, secrets, nil, queue, log)

	kill := func() (time.Duration, bool) {
		if d.roll(cfg.Rates.WorkerKilled) {
			faults.add("worker killed mid-batch")
			return time.Duration(10+d.intn(200)) * time.Millisecond, true
		}
		return 0, false
	}
	mctx, stopMapping := context.WithCancel(ctx)
	mappingDone := make(chan struct{})
	go func() { be.run(mctx, batch.Handle, kill); close(mappingDone) }()

	orders, deliveries := plan(cfg, d)
	rep.Orders, rep.Deliveries = len(orders), len(deliveries)
	for _, o := range orders {
		fakes[o.conn].Seed(backmarkettest.AwaitingAcceptance(o.mkID, o.skus...))
	}
	var accepted, duplicate, retried, rejected atomic.Int64
	deliver(ctx, webhook, deliveries, &accepted, &duplicate, &retried, &rejected)
	rep.Rejected = int(rejected.Load())
	rep.Accepted, rep.Duplicate, rep.WebhookRetry = int(accepted.Load()), int(duplicate.Load()), int(retried.Load())

	// Wait for the queue to drain: nothing visible, in flight or delayed.
	drained := func() {
		for ctx.Err() == nil {
			if n, err := be.pending(ctx); err == nil && n == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	drained()
	// The failures sat in the DLQ; the operator redrives it all to its
	// source (the console's default), the causes unchanged: what failed
	// for a reason that passed syncs now, the rest fails again and is back
	// in the DLQ.
	n, err := be.redrive(ctx)
	rep.Redriven = n
	if err != nil {
		stopMapping()
		<-mappingDone
		return rep, fmt.Errorf("soak: redrive: %w", err)
	}
	drained()
	stopMapping()
	<-mappingDone
	rep.InFlight, _ = be.pending(context.WithoutCancel(ctx))
	dead, err := be.deadLetters(context.WithoutCancel(ctx))
	if err != nil {
		return rep, err
	}
	check(context.WithoutCancel(ctx), &rep, orders, fakes, store, dead)
	rep.RedrivenCounted = int(redriven.Load())
	rep.Faults = faults.Counts()
	rep.EmailsSent, rep.BadEmails = mail.sent.Load(), int(mail.bad.Load())
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func connID(i int) string { return "soak" + strconv.Itoa(i) }

type staticSecrets map[string]string

func (s staticSecrets) Secret(_ context.Context, name string) (string, error) {
	if v, ok := s[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %s: %w", name, order.ErrNotFound)
}

type marketplaces struct {
	secrets staticSecrets
	hc      *http.Client
}

func (m marketplaces) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return connectors.Marketplace(ctx, conn, m.secrets, m.hc)
}

// step is one store event of an order's script.
type step struct {
	status   order.Status
	tracking string // for shipped: "" is a parcel missing its number
}

// plannedOrder is one order and the store's words about it.
type plannedOrder struct {
	conn    int
	mkID    int64
	storeID int64
	skus    []string
	steps   []step
	at      []time.Time
	ids     []string
}

// delivery is one webhook as the platform sends it.
type delivery struct {
	o    *plannedOrder
	step int
}

// scripts are the orders' stories, with their weights.
var scripts = []struct {
	weight int
	steps  []step
}{
	{50, []step{{order.StatusAccepted, ""}, {order.StatusShipped, "T"}}}, // accepted, then shipped
	{15, []step{{order.StatusShipped, "T"}}},                             // shipped at once
	{10, []step{{order.StatusAccepted, ""}}},                             // accepted only
	{10, []step{{order.StatusShipped, ""}, {order.StatusShipped, "T"}}},  // tracking filled in later
	{8, []step{{order.StatusAccepted, ""}, {order.StatusShipped, ""}}},   // tracking never given
	{7, []step{{order.StatusAccepted, ""}, {order.StatusCancelled, ""}}}, // cancelled in the store
}

// plan makes the orders and their webhooks, duplicated and shuffled.
func plan(cfg Config, d *dice) ([]*plannedOrder, []delivery) {
	total := 0
	for _, s := range scripts {
		total += s.weight
	}
	var orders []*plannedOrder
	var out []delivery
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	for n, i := 0, 0; n < cfg.Events; i++ {
		w := d.intn(total)
		var steps []step
		for _, s := range scripts {
			if w < s.weight {
				steps = s.steps
				break
			}
			w -= s.weight
		}
		if n+len(steps) > cfg.Events {
			steps = steps[:cfg.Events-n]
		}
		o := &plannedOrder{conn: i % cfg.Connections, mkID: 100000 + int64(i), storeID: 500000 + int64(i), steps: steps}
		o.skus = []string{"SKU-" + strconv.Itoa(i%7)}
		if i%5 == 0 {
			o.skus = append(o.skus, "SKU-X"+strconv.Itoa(i%3))
		}
		for k := range steps {
			o.at = append(o.at, base.Add(time.Duration(k)*time.Minute))
			o.ids = append(o.ids, fmt.Sprintf("evt-%d-%d", i, k))
			out = append(out, delivery{o: o, step: k})
			if d.roll(cfg.Duplicates) {
				out = append(out, delivery{o: o, step: k})
			}
		}
		orders = append(orders, o)
		n += len(steps)
	}
	// Reorder: each webhook moves up to 40 places, so an order's words
	// often arrive out of order, and duplicates far from their twin.
	for i := range out {
		j := min(len(out)-1, i+d.intn(40))
		out[i], out[j] = out[j], out[i]
	}
	return orders, out
}

// body is the Shopify REST Order an orders/updated webhook carries for step
// k of o.
func (o *plannedOrder) body(k int) []byte {
	s, at := o.steps[k], o.at[k]
	type item struct {
		ID       int64  `json:"id"`
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	var items []item
	for i, sku := range o.skus {
		items = append(items, item{ID: o.storeID*10 + int64(i), SKU: sku, Quantity: 1})
	}
	m := map[string]any{
		"id": o.storeID, "name": "#S" + strconv.FormatInt(o.storeID, 10),
		"created_at": o.at[0].Add(-time.Minute).Format(time.RFC3339), "updated_at": at.Format(time.RFC3339),
		"financial_status": "paid", "fulfillment_status": nil, "line_items": items,
		"note_attributes": []map[string]string{{"name": "ordersync_marketplace_order_id", "value": strconv.FormatInt(o.mkID, 10)}},
		"source_name":     "ordersync", "source_identifier": strconv.FormatInt(o.mkID, 10),
		"shipping_address": map[string]string{"first_name": "Ada", "last_name": "Lovelace", "address1": "1 rue de Rivoli", "city": "Paris", "zip": "75001", "country_code": "FR"},
	}
	switch s.status {
	case order.StatusCancelled:
		m["cancelled_at"], m["cancel_reason"] = at.Format(time.RFC3339), "customer"
	case order.StatusShipped:
		m["fulfillment_status"] = "fulfilled"
		f := map[string]any{"id": o.storeID*10 + 9, "order_id": o.storeID, "status": "success", "line_items": items,
			"created_at": at.Format(time.RFC3339), "tracking_company": "Colissimo"}
		if s.tracking != "" {
			n := "6A" + strconv.FormatInt(o.mkID, 10)
			f["tracking_number"], f["tracking_numbers"] = n, []string{n}
		}
		m["fulfillments"] = []any{f}
	}
	b, _ := json.Marshal(m)
	return b
}

// deliver sends every webhook the way Shopify does: signed, and again
// after a 5xx or a failed connection until it is answered 2xx.
func deliver(ctx context.Context, h *ingest.Handler, ds []delivery, accepted, duplicate, retried, rejected *atomic.Int64) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(ds) {
					return
				}
				dl := ds[i]
				body := dl.o.body(dl.step)
				for try := 0; ctx.Err() == nil; try++ {
					if try > 0 {
						retried.Add(1)
						time.Sleep(time.Duration(try) * 5 * time.Millisecond)
					}
					resp, err := h.Handle(ctx, events.APIGatewayV2HTTPRequest{
						RawPath: "/webhooks/shopify/" + connID(dl.o.conn),
						RequestContext: events.APIGatewayV2HTTPRequestContext{
							HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: "/webhooks/shopify/" + connID(dl.o.conn)}},
						PathParameters: map[string]string{"source": "shopify", "connection": connID(dl.o.conn)},
						Headers: map[string]string{
							"content-type": "application/json", "x-shopify-topic": "orders/updated",
							"x-shopify-event-id": dl.o.ids[dl.step], "x-shopify-webhook-id": dl.o.ids[dl.step],
							"x-shopify-hmac-sha256": signShopify(body),
						},
						Body: string(body),
					})
					if err != nil || resp.StatusCode >= 500 {
						continue
					}
					if resp.StatusCode >= 400 {
						rejected.Add(1)
						if rejected.Load() == 1 {
							fmt.Println("soak: a webhook was refused:", resp.StatusCode, resp.Body)
						}
						break
					}
					if resp.StatusCode == http.StatusAccepted {
						accepted.Add(1)
					} else if strings.Contains(resp.Body, "duplicate") {
						duplicate.Add(1)
					}
					break
				}
			}
		}()
	}
	wg.Wait()
}

// want is what the marketplace must show once the store's last word is
// applied, or the code it must fail with.
func (o *plannedOrder) want() (order.Status, syncerr.Code) {
	last := o.steps[len(o.steps)-1]
	switch {
	case last.status == order.StatusCancelled:
		return "", syncerr.CancelUnsupported
	case last.status == order.StatusShipped && last.tracking == "":
		return "", syncerr.ShippingDataMissing
	}
	return last.status, ""
}

// check compares each order with what the store last said.
func check(ctx context.Context, rep *Report, orders []*plannedOrder, fakes []*backmarkettest.Server, store store, deadLetters []memqueue.Message) {
	problem := func(format string, args ...any) {
		if len(rep.Problems) < 20 {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}
	// In the DLQ: moved there by SQS's redrive policy, its source queue on
	// record (its reason is on the order and in the error list).
	dead := map[string]bool{}
	deadEvent := map[string]bool{} // by source event id
	for _, m := range deadLetters {
		if m.Source == "" {
			rep.Unsourced++
			problem("DLQ message %s has no source queue: sent straight to the DLQ", m.ID)
		}
		if e, err := order.DecodeMessage(m.Body); err == nil && e.Order.MarketplaceOrderID != "" {
			dead[e.Connection+"/"+e.Order.MarketplaceOrderID] = true
			deadEvent[e.SourceEventID] = true
		}
	}
	errorsOf := map[string]map[string]bool{}
	storeError := map[string]map[string]string{} // connection → store order id → a code of its error list
	calls := map[int]map[string][]backmarkettest.Call{}
	for i, f := range fakes {
		calls[i] = map[string][]backmarkettest.Call{}
		for _, c := range f.Calls() {
			calls[i][c.OrderID] = append(calls[i][c.OrderID], c)
		}
	}
	for _, o := range orders {
		conn, id := connID(o.conn), strconv.FormatInt(o.mkID, 10)
		if errorsOf[conn] == nil {
			errorsOf[conn], storeError[conn] = map[string]bool{}, map[string]string{}
			recs, _ := store.RecentErrors(ctx, conn, time.Now().Add(-order.ErrorRetention), 1<<30)
			for _, r := range recs {
				errorsOf[conn][r.MarketplaceOrderID+"#"+r.Code] = true
				errorsOf[conn]["store:"+r.StoreOrderID+"#"+r.Code] = true
				storeError[conn][r.StoreOrderID] = cmp.Or(storeError[conn][r.StoreOrderID], r.Code)
			}
		}
		// At most once, never backwards: per line, successful updates.
		done := map[string]int{}
		last := map[string]int{}
		for _, c := range calls[o.conn][id] {
			if c.Status >= 300 {
				continue
			}
			k := c.SKU + "#" + strconv.Itoa(c.NewState)
			done[k]++
			if done[k] == 2 {
				rep.DuplicateEffects++
				problem("order %s/%s: line %s set to state %d twice; its calls: %s", conn, id, c.SKU, c.NewState, callLog(calls[o.conn][id]))
			}
			if c.NewState < last[c.SKU] {
				rep.Regressions++
				problem("order %s/%s: line %s moved back from state %d to %d", conn, id, c.SKU, last[c.SKU], c.NewState)
			}
			last[c.SKU] = max(last[c.SKU], c.NewState)
		}
		st, err := store.LoadOrder(ctx, conn, id)
		lastStep := len(o.steps) - 1
		if err != nil || st.StoreStatus != o.steps[lastStep].status || !st.StoreUpdatedAt.Equal(o.at[lastStep]) {
			// The last word was not applied: its own message must be in the
			// DLQ, and the error list say why (ordersync's own storage
			// failed).
			if code := storeError[conn][strconv.FormatInt(o.storeID, 10)]; deadEvent[o.ids[lastStep]] && code != "" {
				rep.FailedWithReason++
				rep.Reasons[code]++
				continue
			}
			rep.Lost++
			problem("order %s/%s: the store's last word (%s at %s) was never applied: held %q at %s (%v)",
				conn, id, o.steps[lastStep].status, o.at[lastStep].Format(time.RFC3339), st.StoreStatus, st.StoreUpdatedAt.Format(time.RFC3339), err)
			continue
		}
		mo, _ := fakes[o.conn].Order(id)
		wantStatus, wantCode := o.want()
		if wantCode == "" && marketplaceStatus(mo) == wantStatus && st.Sync.Result == order.SyncSynced {
			rep.Applied++
			continue
		}
		// Not applied: it must have failed with a reason the merchant can
		// read, be in the error list, and sit in the DLQ to be re-sent.
		code := st.Sync.ErrorCode
		readable := code != "" && syncerr.Lookup(syncerr.Code(code)).Remedy != ""
		failed := st.Sync.Result == order.SyncFailed || st.Sync.Result == order.SyncHeld
		if failed && readable && dead[conn+"/"+id] && errorsOf[conn][id+"#"+code] {
			rep.FailedWithReason++
			rep.Reasons[code]++
			continue
		}
		if readable && dead[conn+"/"+id] && !errorsOf[conn][id+"#"+code] {
			// Its last try never ended (the worker was killed) and SQS's
			// redrive moved it: re-sendable, the reason on the order only.
			rep.FailedWithReason++
			rep.ReasonOnOrderOnly++
			rep.Reasons[code]++
			continue
		}
		rep.Lost++
		problem("order %s/%s: marketplace shows %q (want %q%s), sync %s %s, in DLQ %v, in error list %v",
			conn, id, marketplaceStatus(mo), wantStatus, codeSuffix(wantCode), st.Sync.Result, code, dead[conn+"/"+id], errorsOf[conn][id+"#"+code])
	}
	slices.Sort(rep.Problems)
}

func codeSuffix(c syncerr.Code) string {
	if c == "" {
		return ""
	}
	return " or " + string(c)
}

// marketplaceStatus is the lifecycle status a Back Market order's state
// shows.
func marketplaceStatus(o backmarkettest.Order) order.Status {
	switch o.State {
	case 1:
		return order.StatusAwaitingAcceptance
	case 3:
		return order.StatusAccepted
	case 9:
		return order.StatusShipped
	case 8:
		return order.StatusCancelled
	}
	return order.StatusUnknown
}

func signShopify(body []byte) string { return shopify.SignWebhook(body, webhookSecret) }

func callLog(cs []backmarkettest.Call) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s→%d:%d", c.SKU, c.NewState, c.Status)
	}
	return strings.Join(parts, " ")
}

// redriveCounter counts the sync's "redriven message received" lines (the
// "redriven" metric, logged at Info) into n and hands the records of its
// handler's level on to it.
type redriveCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (c redriveCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (c redriveCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "redriven message received" {
		c.n.Add(1)
	}
	if !c.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return c.Handler.Handle(ctx, r)
}

func (c redriveCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return redriveCounter{Handler: c.Handler.WithAttrs(as), n: c.n}
}

func (c redriveCounter) WithGroup(name string) slog.Handler {
	return redriveCounter{Handler: c.Handler.WithGroup(name), n: c.n}
}
