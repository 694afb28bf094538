package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/localstack"
	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/shopify"
)

// latencySection starts the local stack (emulators, HTTP API, SQS poller,
// sync, sandbox marketplace: what `make run` runs) and delivers signed
// orders/fulfilled webhooks at a fixed rate, each for a new order awaiting
// acceptance. It measures the webhook's answer beside a bare SQS
// SendMessage to a queue of the same emulator, sent at the same moment,
// and the time from the POST to the sandbox marketplace recording the
// order's shipment. Then it delivers one event as 5 concurrent copies
// and counts the copies answered other than 2xx.
//
// It does so twice, on a new stack each time: first as deployed, with the
// template's connection cache (ConnectionCacheSeconds: one connection read
// per instance and connection in that time), then as the local stack runs
// by default, the cache off (every webhook reads its connection from
// DynamoDB), which is what issue 14's 1.54× measured.
func latencySection(ctx context.Context, env Env) ([]Row, error) {
	root, err := localaws.ModuleRoot()
	if err != nil {
		return nil, err
	}
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	cacheSecs := tmpl.Parameters["ConnectionCacheSeconds"]
	deployed, err := measureLatency(ctx, env, "cached", map[string]string{"ConnectionCacheSeconds": cacheSecs})
	if err != nil {
		return nil, err
	}
	uncached, err := measureLatency(ctx, env, "uncached", nil)
	if err != nil {
		return nil, err
	}
	cached := fmt.Sprintf("connection cache %s s (the template's default, as deployed)", cacheSecs)
	off := "connection cache off (the local stack's default: every webhook reads its connection)"
	return []Row{
		Row{Section: "latency", Name: "webhook answer p50", Value: ms(pct(deployed.answers, 0.50)), Unit: "ms", Note: deployed.note + "; " + cached}.
			Compared("bare SQS SendMessage p50", ms(pct(deployed.bare, 0.50))),
		Row{Section: "latency", Name: "webhook answer p99", Value: ms(pct(deployed.answers, 0.99)), Unit: "ms", Goal: 1.5, Note: deployed.note + "; " + cached}.
			Compared("bare SQS SendMessage p99", ms(pct(deployed.bare, 0.99))),
		Row{Section: "latency", Name: "webhook answer p50, cache off", Value: ms(pct(uncached.answers, 0.50)), Unit: "ms", Note: uncached.note + "; " + off}.
			Compared("bare SQS SendMessage p50", ms(pct(uncached.bare, 0.50))),
		Row{Section: "latency", Name: "webhook answer p99, cache off", Value: ms(pct(uncached.answers, 0.99)), Unit: "ms", Note: uncached.note + "; " + off}.
			Compared("bare SQS SendMessage p99", ms(pct(uncached.bare, 0.99))),
		{Section: "latency", Name: "webhook → marketplace p50", Value: ms(pct(deployed.endToEnd, 0.50)), Unit: "ms",
			Note: "from the POST to the sandbox recording the shipment (polled every ms); includes the poller's receive wait; " +
				"every order is of one Back Market connection, about 3 calls each, above the pace its rate limit allows (shared/pace): " +
				"this is the connection's backlog, not the sync's own time; " + cached},
		{Section: "latency", Name: "webhook → marketplace p99", Value: ms(pct(deployed.endToEnd, 0.99)), Unit: "ms", Note: deployed.note + "; " + cached},
		{Section: "latency", Name: "webhook → marketplace p50, under the pace", Value: ms(pct(deployed.paced, 0.50)), Unit: "ms",
			Note: fmt.Sprintf("%d webhooks at %d/s of the same connection, about 6 calls/s where its bucket refills 10/s: the sync's own time, "+
				"the poller's receive wait included; ", len(deployed.paced), pacedRate) + cached},
		{Section: "latency", Name: "webhook → marketplace p99, under the pace", Value: ms(pct(deployed.paced, 0.99)), Unit: "ms",
			Note: fmt.Sprintf("%d webhooks at %d/s; ", len(deployed.paced), pacedRate) + cached},
		{Section: "latency", Name: "copies of one delivery answered non-2xx", Value: float64(deployed.bad + uncached.bad), Unit: "copies",
			Note: fmt.Sprintf("of %d: %d rounds of 5 concurrent copies (same event id) on each stack; goal 0", deployed.total+uncached.total, (deployed.total+uncached.total)/5)},
	}, nil
}

// latencyRound is what measureLatency measured on one stack.
type latencyRound struct {
	answers, bare, endToEnd []time.Duration
	// paced is webhook → marketplace at pacedRate (the deployed stack's
	// round only).
	paced      []time.Duration
	bad, total int // copies answered non-2xx, of copies sent
	note       string
}

// measureLatency runs latencySection's measurements on a new local stack
// started with params (template parameters), its data in env.Dir/local-name.
func measureLatency(ctx context.Context, env Env, name string, params map[string]string) (latencyRound, error) {
	rate, secs, copyRounds := 20, 10, 5
	if env.Quick {
		secs, copyRounds = 3, 2
	}
	sys, err := localsystem.Start(ctx, localsystem.Options{Dir: filepath.Join(env.Dir, "local-"+name), Params: params})
	if err != nil {
		return latencyRound{}, fmt.Errorf("latency (%s): starting the local stack: %w", name, err)
	}
	defer sys.Stop()
	if err := sys.SeedDemo(ctx); err != nil {
		return latencyRound{}, err
	}
	q, err := sys.Clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-bare-send")})
	if err != nil {
		return latencyRound{}, err
	}
	w := &shipWatch{sys: sys, seen: map[string]time.Time{}}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go w.run(wctx)

	l := &latencyRun{sys: sys, queueURL: *q.QueueUrl, watch: w}
	// Warm up: the functions' cold starts and the connections' first use
	// are not what this measures.
	for i := range 3 {
		if _, err := l.deliver(ctx, 9_000+i, nil); err != nil {
			return latencyRound{}, fmt.Errorf("latency (%s): warm-up: %w", name, err)
		}
	}
	if err := w.wait(ctx, l.ids, 60*time.Second); err != nil {
		return latencyRound{}, fmt.Errorf("latency (%s): warm-up: %w", name, err)
	}

	// The run: one delivery (and one bare send) every 1/rate s.
	n := rate * secs
	answers, bare := make([]time.Duration, n), make([]time.Duration, n)
	posted := make([]time.Time, n)
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for i := range n {
		<-tick.C
		wg.Add(2)
		go func() {
			defer wg.Done()
			ans, err := l.deliver(ctx, 10_000+i, &posted[i])
			answers[i] = ans
			if err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := sys.Clients.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &l.queueURL, MessageBody: aws.String(l.lastBody())})
			bare[i] = time.Since(start)
			if err != nil {
				errs <- fmt.Errorf("bare SendMessage: %w", err)
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		return latencyRound{}, fmt.Errorf("latency (%s): %w", name, err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.FormatInt(latencyOrder(10_000+i).MarketplaceID, 10)
	}
	if err := w.wait(ctx, ids, 120*time.Second); err != nil {
		return latencyRound{}, fmt.Errorf("latency (%s): %w", name, err)
	}
	endToEnd := make([]time.Duration, n)
	for i, id := range ids {
		endToEnd[i] = w.at(id).Sub(posted[i])
	}

	// Under the pace: the same webhooks at a rate the connection's limit
	// sustains, so what is measured is the sync's own time (the poller's
	// wait included), not a backlog. Only on the stack as deployed.
	var paced []time.Duration
	if params != nil {
		if paced, err = l.endToEndAt(ctx, pacedRate, secs, 30_000); err != nil {
			return latencyRound{}, fmt.Errorf("latency (%s), under the pace: %w", name, err)
		}
	}

	// 5 concurrent copies of one delivery, copyRounds times.
	bad, total := 0, 0
	for r := range copyRounds {
		o := latencyOrder(20_000 + r)
		sys.SeedMarketplaceOrder(o)
		body := localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo", Number: "6A" + strconv.Itoa(20_000+r)}, time.Now().UTC())
		eventID := fmt.Sprintf("evt-copies-%d-%d", time.Now().UnixNano(), r)
		var mu sync.Mutex
		var cwg sync.WaitGroup
		for range 5 {
			cwg.Add(1)
			go func() {
				defer cwg.Done()
				status, _, err := sys.PostShopify(ctx, shopify.TopicOrdersFulfilled, eventID, body)
				mu.Lock()
				defer mu.Unlock()
				total++
				if err != nil || status < 200 || status > 299 {
					bad++
				}
			}()
		}
		cwg.Wait()
	}
	return latencyRound{answers: answers, bare: bare, endToEnd: endToEnd, paced: paced, bad: bad, total: total,
		note: fmt.Sprintf("%d orders/fulfilled webhooks at %d/s through the local stack (emulators)", n, rate)}, nil
}

// pacedRate is the webhooks a second of the run under the pace: about 3
// Back Market calls an order (read, accept, ship) at 2 orders/s is 6 calls
// a second, within the 10 a second backmarket.RateLimit's bucket refills
// (shared/pace: half of 200 per 10 s).
const pacedRate = 2

// endToEndAt delivers rate webhooks a second for secs seconds, once the
// connection's bucket has had time to refill from what ran before, and
// returns each one's time from the POST to the sandbox recording its
// shipment. Orders are base and up.
func (l *latencyRun) endToEndAt(ctx context.Context, rate, secs, base int) ([]time.Duration, error) {
	refill := backmarket.RateLimit.Per // the whole bucket, from empty
	select {
	case <-time.After(refill):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	n := rate * secs
	posted, ids := make([]time.Time, n), make([]string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for i := range n {
		<-tick.C
		ids[i] = strconv.FormatInt(latencyOrder(base+i).MarketplaceID, 10)
		wg.Go(func() {
			if _, err := l.deliver(ctx, base+i, &posted[i]); err != nil {
				errs <- err
			}
		})
	}
	tick.Stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, err
	}
	if err := l.watch.wait(ctx, ids, 60*time.Second); err != nil {
		return nil, err
	}
	out := make([]time.Duration, n)
	for i, id := range ids {
		out[i] = l.watch.at(id).Sub(posted[i])
	}
	return out, nil
}

// latencyRun delivers webhooks of new demo orders to the local stack.
type latencyRun struct {
	sys      *localsystem.System
	queueURL string
	watch    *shipWatch

	mu   sync.Mutex
	ids  []string // marketplace order ids delivered (the warm-up's)
	body string   // the last webhook body, for the bare send's size
}

func latencyOrder(i int) localsystem.DemoOrder {
	id := int64(700_000 + i)
	return localsystem.DemoOrder{MarketplaceID: id, StoreID: 450789000 + id, Name: fmt.Sprintf("#B%d", id), SKUs: []string{"IPH12-64-BLK"}}
}

// deliver seeds order i awaiting acceptance and posts its orders/fulfilled
// webhook; it returns the answer's time, and sets *at, when given, to the
// moment of the POST.
func (l *latencyRun) deliver(ctx context.Context, i int, at *time.Time) (time.Duration, error) {
	o := latencyOrder(i)
	l.sys.SeedMarketplaceOrder(o)
	body := localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo", Number: "6A" + strconv.Itoa(i)}, time.Now().UTC())
	id := strconv.FormatInt(o.MarketplaceID, 10)
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.body = string(body)
	l.mu.Unlock()
	start := time.Now()
	if at != nil {
		*at = start
	}
	status, resp, err := l.sys.PostShopify(ctx, shopify.TopicOrdersFulfilled, fmt.Sprintf("evt-lat-%d-%d", start.UnixNano(), i), body)
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if status != http.StatusAccepted {
		return d, fmt.Errorf("webhook answered %d %s", status, resp)
	}
	return d, nil
}

func (l *latencyRun) lastBody() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.body
}

// shipWatch notes when the sandbox marketplace first records a shipment
// (a line moved to shipped) of each order, polling its calls every
// millisecond.
type shipWatch struct {
	sys *localsystem.System

	mu   sync.Mutex
	seen map[string]time.Time
}

func (w *shipWatch) run(ctx context.Context) {
	done := 0
	for ctx.Err() == nil {
		calls := w.sys.Sandbox.Calls()
		now := time.Now()
		w.mu.Lock()
		for _, c := range calls[done:] {
			if c.NewState == backmarkettest.LineShipped && c.Status < 300 {
				if _, ok := w.seen[c.OrderID]; !ok {
					w.seen[c.OrderID] = now
				}
			}
		}
		w.mu.Unlock()
		done = len(calls)
		time.Sleep(time.Millisecond)
	}
}

func (w *shipWatch) at(id string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[id]
}

// wait returns once every order of ids is seen shipped, or an error after
// timeout naming how many were not.
func (w *shipWatch) wait(ctx context.Context, ids []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		w.mu.Lock()
		for _, id := range ids {
			if _, ok := w.seen[id]; !ok {
				missing++
			}
		}
		w.mu.Unlock()
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%d of %d orders never shipped on the sandbox marketplace within %s", missing, len(ids), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pct is the p-quantile of ds (nearest rank).
func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
