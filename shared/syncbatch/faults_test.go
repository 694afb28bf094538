package syncbatch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/pace"
	"github.com/ordersync/ordersync/shared/pace/pacetest"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/memqueue"
)

func TestRetryDelayGrowsWithTheAttempt(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	e.fake.SetFault(backmarkettest.Fault{Status: 503})
	e.send(shipped(mk, store, "6A1", time.Now()))
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{1, 1500 * time.Millisecond}, {2, 3 * time.Second}} {
		attempt, want := tc.attempt, tc.want
		if _, ok := e.receive(e.proc); !ok {
			t.Fatalf("attempt %d: the message did not come back", attempt)
		}
		if n := e.held().Receives; n != attempt {
			t.Fatalf("receive count = %d, want %d", n, attempt)
		}
		got := e.retryIn()
		if got != want {
			t.Errorf("attempt %d: retry in %v, want attempt × 1.5 s = %v", attempt, got, want)
		}
		e.clock.add(got)
	}
}

func TestRetryAfterWinsAndIsCapped(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		cap        time.Duration
		want       time.Duration
	}{
		{"the marketplace's Retry-After wins over attempt × 1.5 s", "7", 0, 7 * time.Second},
		{"a Retry-After longer than the cap is capped", "3600", 90 * time.Second, 90 * time.Second},
		{"a 429 without Retry-After waits attempt × 1.5 s", "", 0, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.proc = e.processor(config{RetryCap: tc.cap})
			mk, store := e.order()
			e.fake.SetFault(backmarkettest.Fault{Status: 429, RetryAfter: tc.retryAfter})
			if resp := e.deliver(shipped(mk, store, "6A1", time.Now()), 1); len(resp.BatchItemFailures) != 1 {
				t.Fatalf("failures = %v, want the message retried", resp.BatchItemFailures)
			}
			if got := e.retryIn(); got != tc.want {
				t.Errorf("retry in %v, want %v", got, tc.want)
			}
			if st := e.state(mk); st.Sync.Result != order.SyncPending || st.Sync.ErrorCode != "rate_limited" {
				t.Errorf("sync = %+v, want pending with rate_limited", st.Sync)
			}
		})
	}
}

// lossyTransport makes the nth POST (1-based) time out: before it reaches
// the marketplace, or, with landed, after the marketplace applied it, so
// only the answer is lost.
type lossyTransport struct {
	next   http.RoundTripper
	nth    int32
	landed bool
	posts  atomic.Int32
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout (the answer was lost)" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func (l *lossyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || l.posts.Add(1) != l.nth {
		return l.next.RoundTrip(r)
	}
	if !l.landed {
		return nil, timeoutError{}
	}
	resp, err := l.next.RoundTrip(r)
	if err == nil {
		resp.Body.Close()
	}
	return nil, timeoutError{}
}

func TestTimeoutThenLookup(t *testing.T) {
	for _, landed := range []bool{true, false} {
		t.Run(fmt.Sprintf("landed=%v", landed), func(t *testing.T) {
			e := newEnv(t)
			const lease = time.Minute
			e.proc = e.processor(config{EffectLease: lease})
			// POST 1 accepts the line, POST 2 ships it: lose the ship's answer.
			e.client = &http.Client{Transport: &lossyTransport{next: e.client.Transport, nth: 2, landed: landed}}
			mk, store := e.order()
			ev := shipped(mk, store, "6A1", time.Now())
			e.send(ev)
			resp, _ := e.receive(e.proc)
			if landed {
				// The lookup finds the parcel shipped: done, without a retry.
				if len(resp.BatchItemFailures) != 0 {
					t.Errorf("failures = %v, want none: the order shows the shipment", resp.BatchItemFailures)
				}
			} else {
				if len(resp.BatchItemFailures) != 1 {
					t.Fatalf("failures = %v, want a retry: the ship did not land", resp.BatchItemFailures)
				}
				// A read may lag the write: the call is made again only
				// once its claim's lease ran out. The retry (1.5 s later)
				// comes within it.
				e.clock.add(e.retryIn())
				if resp, ok := e.receive(e.proc); !ok || len(resp.BatchItemFailures) != 1 {
					t.Fatalf("within the lease: received %v, failures = %v, want a retry", ok, resp.BatchItemFailures)
				}
				if n := e.ships(mk); n != 0 {
					t.Fatalf("ship calls within the lease = %d, want 0", n)
				}
				e.clock.add(lease)
				if _, ok := e.receive(e.proc); !ok {
					t.Fatal("the message did not come back after the lease")
				}
			}
			if ships := e.ships(mk); ships != 1 {
				t.Errorf("ship calls the marketplace received = %d, want exactly 1", ships)
			}
			if st := e.state(mk); st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusShipped {
				t.Errorf("sync = %+v, status %q; want synced and shipped", st.Sync, st.MarketplaceStatus)
			}
			// A replay of the event after all this makes no call.
			before := len(e.fake.Calls())
			ev.SourceEventID = "replayed"
			e.deliver(ev, 1)
			if n := len(e.fake.Calls()) - before; n != 0 {
				t.Errorf("replay made %d marketplace calls, want 0", n)
			}
		})
	}
}

func TestReorderedPairIsAcknowledgedAndIgnored(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	accepted := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "older", OccurredAt: at,
		Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}, Status: order.StatusAccepted}
	// The newer "shipped" arrives first.
	if resp := e.deliver(shipped(mk, store, "6A1", at.Add(time.Minute)), 1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	before := e.state(mk)
	calls := len(e.fake.Calls())
	if resp := e.deliver(accepted, 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("the stale event failed: %v; want it acknowledged", resp.BatchItemFailures)
	}
	after := e.state(mk)
	if after.StoreStatus != order.StatusShipped || after.MarketplaceStatus != order.StatusShipped || after.Sync.Result != order.SyncSynced {
		t.Errorf("after the stale event: store %q, marketplace %q, sync %+v; want shipped and synced",
			after.StoreStatus, after.MarketplaceStatus, after.Sync)
	}
	if !after.StoreUpdatedAt.Equal(before.StoreUpdatedAt) {
		t.Errorf("store time moved back: %v → %v", before.StoreUpdatedAt, after.StoreUpdatedAt)
	}
	if n := len(e.fake.Calls()) - calls; n != 0 {
		t.Errorf("the stale event made %d marketplace calls, want 0", n)
	}
}

func TestConcurrentWorkersNeverLoseAnUpdateOrDoubleCall(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	// The order's address changes while its shipment comes in, each event
	// delivered several times, to several workers at once.
	addr := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "addr", OccurredAt: at,
		Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}, Status: order.StatusAccepted,
		ShippingAddress: &order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"}}
	ship := shipped(mk, store, "6A1", at.Add(time.Second))
	var evs []any
	for i := range 8 {
		ev := any(ship)
		if i%2 == 0 {
			ev = addr
		}
		evs = append(evs, ev)
	}
	var wg sync.WaitGroup
	for _, m := range e.take(1, evs...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker is its own processor, as concurrent Lambdas are.
			_, _ = e.handle(context.Background(), e.processor(config{}), []events.SQSMessage{m})
		}()
	}
	wg.Wait()
	// Whatever lost the race on a call retries: by the queue's visibility
	// timeout every message not deleted is back.
	for range 8 {
		e.clock.add(visibility)
		if _, ok := e.receive(e.proc); !ok {
			break
		}
	}
	if _, _, total := e.queue.Counts(); total != 0 {
		t.Errorf("the queue still holds %d messages", total)
	}
	st := e.state(mk)
	if st.ShippingAddress == nil || st.ShippingAddress.Line1 != "6 place des Vosges" {
		t.Errorf("address update lost: %+v", st.ShippingAddress)
	}
	if len(st.Parcels) != 1 || st.Parcels[0].Tracking.Number != "6A1" || st.StoreStatus != order.StatusShipped {
		t.Errorf("shipment lost: status %q, parcels %+v", st.StoreStatus, st.Parcels)
	}
	if st.Sync.Result != order.SyncSynced {
		t.Errorf("sync = %+v, want synced", st.Sync)
	}
	perState := map[int]int{}
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk && c.Status < 300 {
			perState[c.NewState]++
		}
	}
	if perState[2] != 1 || perState[3] != 1 {
		t.Errorf("accepted calls per new state = %v, want one accept (2) and one ship (3)", perState)
	}
}

// inflight counts concurrent requests to the marketplace. The first
// request waits (up to 10 s) for want (2 when zero) to be in flight, so
// want requests overlap whenever they may; the answers' delay gives one
// more the time to come in too, were it let through.
type inflight struct {
	next           http.RoundTripper
	want           int
	mu             sync.Mutex
	seen, now, max int
	paired         chan struct{}
	once           sync.Once
}

func (f *inflight) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.seen++
	f.now++
	f.max = max(f.max, f.now)
	first, two := f.seen == 1, f.now >= max(f.want, 2)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.now--; f.mu.Unlock() }()
	if two {
		f.once.Do(func() { close(f.paired) })
	}
	if first {
		select {
		case <-f.paired:
		case <-time.After(10 * time.Second):
		}
	}
	return f.next.RoundTrip(r)
}

// TestABatchPacesOneConnectionByItsRateLimit runs a batch of one
// connection's orders at once, its marketplace paced at 2 requests a
// second on a clock the test moves: every order is synced at its first
// try, and the requests took the time the limit asks. (That the pace keeps
// a marketplace from answering 429 is shared/pace's test, and the bench's
// batch section shows it on a limiting fake; how long a batch takes is the
// bench's to measure.)
func TestABatchPacesOneConnectionByItsRateLimit(t *testing.T) {
	e := newEnv(t)
	pc := pacetest.NewClock(time.Now())
	counter := &inflight{next: e.client.Transport, want: 1, paired: make(chan struct{})}
	e.client = pace.NewBuckets(pc).Client(&http.Client{Transport: counter}, e.conn.ID, pace.Limit{Requests: 2, Per: time.Second})
	var evs []any
	for range 4 {
		mk, store := e.order()
		evs = append(evs, shipped(mk, store, "6A"+mk, time.Now()))
	}
	p := e.processor(config{})
	type handled struct {
		resp events.SQSEventResponse
		err  error
	}
	done := make(chan handled, 1)
	go func() {
		resp, err := e.handle(context.Background(), p, e.take(1, evs...))
		done <- handled{resp, err}
	}()
	// Move the pace's clock to each wait's end, until the batch is done.
	var waited time.Duration
	var h handled
	for finished := false; !finished; {
		select {
		case h = <-done:
			finished = true
		default:
			if n, next := pc.Waiting(); n > 0 {
				pc.Advance(next)
				waited += next
			} else {
				runtime.Gosched()
			}
		}
	}
	if h.err != nil || len(h.resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %v, %v: want every order synced at its first try", h.resp.BatchItemFailures, h.err)
	}
	// One token at once, then one a second: at least a second for each
	// request after the first.
	if want := time.Duration(counter.seen-1) * time.Second; counter.seen < 2*len(evs) || waited < want {
		t.Errorf("the batch waited %v for %d requests, want at least %v, and two requests an order", waited, counter.seen, want)
	}
}

func TestConcurrencyDefaultsToTheWholeBatch(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		want        int
	}{
		{"unset: every order of the batch at once", 0, 6},
		{"set", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			counter := &inflight{next: e.client.Transport, want: tc.want, paired: make(chan struct{})}
			e.client = &http.Client{Transport: counter}
			e.fake.SetFault(backmarkettest.Fault{Delay: 100 * time.Millisecond})
			var evs []any
			for range 6 {
				mk, store := e.order()
				evs = append(evs, shipped(mk, store, "6A"+mk, time.Now()))
			}
			p := e.processor(config{Concurrency: tc.concurrency})
			resp, err := e.handle(context.Background(), p, e.take(1, evs...))
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Handle = %v, %v", resp.BatchItemFailures, err)
			}
			if got := counter.max; got != tc.want {
				t.Errorf("at most %d calls in flight, want %d", got, tc.want)
			}
		})
	}
}

// The adapter's side of it, DynamoDB out of reach, is in sqsbatchtest.
func TestStorageDownFailsTheWholeBatch(t *testing.T) {
	e := newEnv(t)
	p := e.processorOn(config{}, e.downStore(), e.mps, e.dlq)
	mk, store := e.order()
	_, err := e.handle(context.Background(), p, e.take(1, shipped(mk, store, "6A1", time.Now()), shipped(mk, store, "6A2", time.Now())))
	if err == nil {
		t.Fatal("Handle succeeded with the store down; want an error for the whole batch")
	}
	if ok, refused := e.callsFor(mk); ok+refused != 0 {
		t.Errorf("%d marketplace calls without a store", ok+refused)
	}
	if len(e.deadLetters()) != 0 || e.notes.count() != 0 {
		t.Error("nothing may be dead-lettered or emailed when nothing could be decided")
	}
	if _, _, total := e.queue.Counts(); total != 2 {
		t.Errorf("the queue holds %d messages, want both left to come back", total)
	}
}

// The same on SQS itself, with its real receive counts and redrive, is in
// sqsbatchtest.
func TestWhenTheDLQRefusesTheRedriveKeepsTheFailure(t *testing.T) {
	e := newEnv(t)
	// A DLQ that refuses every message: the sync cannot dead-letter.
	gone := memqueue.New("gone", memqueue.Options{Faults: func(string) error {
		return errors.New("AWS.SimpleQueueService.NonExistentQueue")
	}})
	broken := e.processorOn(config{}, e.store, e.mps, gone)
	mk, store := e.order()
	e.send(shipped(mk, store, "", time.Now()))
	tries := 0
	for tries <= maxReceiveCount {
		resp, ok := e.receive(broken)
		if !ok {
			break
		}
		tries++
		if len(resp.BatchItemFailures) != 1 {
			t.Fatalf("try %d: failures = %v; a message the DLQ refused must stay on the queue", tries, resp.BatchItemFailures)
		}
		if got := e.held().Receives; got != tries {
			t.Errorf("try %d: receive count = %d", tries, got)
		}
		e.clock.add(e.retryIn())
	}
	if tries != 3 {
		t.Errorf("tries = %d, want the queue's maxReceiveCount (3)", tries)
	}
	// After the last try, the queue's redrive policy moved it to the DLQ.
	if dl := e.dlq.Messages(); len(dl) != 1 || dl[0].Source != "SyncQueue" {
		t.Fatalf("DLQ = %+v, want the message moved there by the redrive policy", dl)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != "shipping_data_missing" {
		t.Errorf("sync = %+v, want failed with its reason", st.Sync)
	}
	if got := e.notes.count(); got != 1 {
		t.Errorf("emails = %d, want 1 over the three tries", got)
	}
}

func TestALostAnswerOnOneLineOfTwoIsShippedOnTheRetry(t *testing.T) {
	e := newEnv(t)
	// The claim on the cut shipment holds for its lease (a read may lag
	// the write): the retry comes after it.
	const lease = time.Minute
	e.proc = e.processor(config{EffectLease: lease})
	// POSTs: accept A, accept B, ship A, ship B. Ship B never arrives.
	e.client = &http.Client{Transport: &lossyTransport{next: e.client.Transport, nth: 4}}
	e.nextID++
	e.fake.Seed(backmarkettest.AwaitingAcceptance(e.nextID, "SKU-A", "SKU-B"))
	mk, store := fmt.Sprint(e.nextID), fmt.Sprint(9000+e.nextID)
	ev := shipped(mk, store, "6A2", time.Now())
	ev.Lines = []order.Line{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}}
	ev.Parcels[0].Lines = ev.Lines
	e.send(ev)
	if resp, _ := e.receive(e.proc); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures = %v, want a retry: line B is not shipped", resp.BatchItemFailures)
	}
	if st := e.state(mk); st.Sync.Result == order.SyncSynced {
		t.Fatalf("recorded synced with one line of two shipped: %+v", st.Sync)
	}
	e.clock.add(lease + time.Millisecond) // a claim is abandoned only past its lease
	if _, ok := e.receive(e.proc); !ok {
		t.Fatal("the message did not come back after the lease")
	}
	shippedLines := map[string]int{}
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk && c.NewState == 3 && c.Status < 300 {
			shippedLines[c.SKU]++
		}
	}
	if shippedLines["SKU-A"] != 1 || shippedLines["SKU-B"] != 1 {
		t.Errorf("ship calls per line = %v, want each line shipped once", shippedLines)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("sync = %+v, status %q; want synced and shipped", st.Sync, st.MarketplaceStatus)
	}
}

// gated holds a marketplace's first Order call until the gate opens,
// telling reached when it gets there.
type gated struct {
	syncer.Marketplace
	reached, gate chan struct{}
	once          sync.Once
}

func (g *gated) Order(ctx context.Context, id string) (order.MarketplaceOrder, error) {
	g.once.Do(func() { close(g.reached); <-g.gate })
	return g.Marketplace.Order(ctx, id)
}

func TestAnOutcomeIsNotWrittenOverANewerChange(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	g := &gated{reached: make(chan struct{}), gate: make(chan struct{})}
	slow := e.processorOn(config{}, e.store, marketplacesFunc(func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
		mp, err := e.mps.Marketplace(ctx, conn)
		g.Marketplace = mp
		return g, err
	}), e.dlq)
	// Worker A takes the store's first word: the order is accepted.
	accepted := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "accepted", OccurredAt: at,
		Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}, Status: order.StatusAccepted}
	done := make(chan events.SQSEventResponse)
	msgs := e.take(1, accepted)
	go func() {
		resp, _ := e.handle(context.Background(), slow, msgs)
		done <- resp
	}()
	<-g.reached
	// Meanwhile worker B applies the next word, shipped without its
	// tracking number, and fails as it must.
	e.deliver(shipped(mk, store, "", at.Add(time.Minute)), 1)
	if st := e.state(mk); st.Sync.ErrorCode != "shipping_data_missing" {
		t.Fatalf("worker B: sync = %+v, want shipping_data_missing", st.Sync)
	}
	close(g.gate)
	if resp := <-done; len(resp.BatchItemFailures) != 0 {
		t.Errorf("worker A: failures = %v, want its event acknowledged", resp.BatchItemFailures)
	}
	// A's success, planned on the older word, must not hide B's failure.
	if st := e.state(mk); st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != "shipping_data_missing" {
		t.Errorf("sync = %+v, want B's failure to hold", st.Sync)
	}
}

func TestTheLastTryNeverEndsWithoutAReason(t *testing.T) {
	// last receives ev on its last try: its third receive.
	last := func(e *env, ev any) []events.SQSMessage { return e.take(maxReceiveCount, ev) }
	t.Run("a panic", func(t *testing.T) {
		e := newEnv(t)
		mk, store := e.order()
		boom := e.processorOn(config{}, e.store, marketplacesFunc(func(context.Context, order.Connection) (syncer.Marketplace, error) {
			panic("connector bug")
		}), e.dlq)
		resp, err := e.handle(context.Background(), boom, last(e, shipped(mk, store, "6A4", time.Now())))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Errorf("Handle = %v, %v; want the message dead-lettered, not left to SQS", resp.BatchItemFailures, err)
		}
		if dl := e.deadLetters(); len(dl) != 1 || dl[0]["error_code"] != "internal_error" || dl[0]["order_key"] != "acme/"+mk {
			t.Errorf("DLQ = %v, want the message with internal_error", dl)
		}
		if st := e.state(mk); st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != "internal_error" {
			t.Errorf("sync = %+v, want failed with internal_error", st.Sync)
		}
	})
	t.Run("no time left", func(t *testing.T) {
		e := newEnv(t)
		mk, store := e.order()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // under the 5 s margin
		defer cancel()
		resp, err := e.handle(ctx, e.proc, last(e, shipped(mk, store, "6A5", time.Now())))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Errorf("Handle = %v, %v; want the message dead-lettered", resp.BatchItemFailures, err)
		}
		if dl := e.deadLetters(); len(dl) != 1 || dl[0]["error_code"] != "marketplace_unavailable" {
			t.Errorf("DLQ = %v, want the message with its reason", dl)
		}
	})
	t.Run("ordersync's storage down", func(t *testing.T) {
		e := newEnv(t)
		mk, store := e.order()
		p := e.processorOn(config{}, e.downStore(), e.mps, e.dlq)
		resp, err := e.handle(context.Background(), p, last(e, shipped(mk, store, "6A6", time.Now())))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Errorf("Handle = %v, %v; want the message dead-lettered", resp.BatchItemFailures, err)
		}
		if dl := e.deadLetters(); len(dl) != 1 || dl[0]["error_code"] != "internal_error" {
			t.Errorf("DLQ = %v, want the message with internal_error", dl)
		}
	})
}

func TestAHeldOrderThatSyncsClearsTheConnectionsEmailMark(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.SetFault(backmarkettest.Fault{Status: 401})
	mk, store := e.order()
	ev := shipped(mk, store, "6A7", time.Now())
	e.deliver(ev, 1)
	if st := e.state(mk); st.Sync.Result != order.SyncHeld {
		t.Fatalf("sync = %+v, want held", st.Sync)
	}
	key := syncer.ConnectionNoticeKey("acme", "auth_expired")
	if first, _ := e.store.MarkNotified(ctx, key, time.Hour); first {
		t.Fatal("no email mark after the pause")
	}
	// Reconnected (the refresh resumes it), the held order syncs again.
	e.fake.ClearFaults()
	if err := e.store.ResumeConnection(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	ev.SourceEventID, ev.OccurredAt = "resumed", time.Time{}
	e.deliver(ev, 1)
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Fatalf("sync = %+v, want synced", st.Sync)
	}
	if first, _ := e.store.MarkNotified(ctx, key, time.Hour); !first {
		t.Error("the connection's email mark survived a held order syncing: a later expiry would not be told")
	}
}

// TestTheMarkOfTheFailureToldIsForgottenWhenTheOrderSyncs: the merchant is
// emailed about a failure; the fix then meets an outage (a transient
// failure, retried, which tells nobody) and syncs on the retry. The sync
// forgets the mark of the failure told, not of the outage's code, so a
// later failure of the kind is told again. And an order that only met the
// outage has no mark to forget.
func TestTheMarkOfTheFailureToldIsForgottenWhenTheOrderSyncs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk, store := e.order()
	at := time.Now()
	e.deliver(shipped(mk, store, "", at), 1)
	if st := e.state(mk); st.Sync.ErrorCode != string(syncerr.ShippingDataMissing) || e.notes.count() != 1 {
		t.Fatalf("sync = %+v, emails %d; want shipping_data_missing told", st.Sync, e.notes.count())
	}
	e.fake.SetFault(backmarkettest.Fault{Status: 503, Count: 1, Methods: "POST"})
	fixed := shipped(mk, store, "6A9", at.Add(time.Minute))
	e.deliver(fixed, 1)
	if st := e.state(mk); st.Sync.Result != order.SyncPending {
		t.Fatalf("sync = %+v, want pending after the outage", st.Sync)
	}
	e.deliver(fixed, 2)
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Fatalf("sync = %+v, want synced", st.Sync)
	}
	// The mark syncer's notifyKey gives the failure told.
	key := "acme#" + mk + store + "#" + string(syncerr.ShippingDataMissing)
	if first, _ := e.store.MarkNotified(ctx, key, time.Hour); !first {
		t.Error("the mark of the failure told survived the order's sync: a later one would not be told")
	}
	if e.notes.count() != 1 {
		t.Errorf("emails = %d, want 1: the outage retried tells nobody", e.notes.count())
	}
}

// TestEveryFailureToldInARunIsForgottenWhenTheOrderSyncs: the merchant is
// emailed about missing tracking, then, with tracking added, about a SKU
// the marketplace order does not have; the fix of both syncs the order.
// Its sync forgets both marks, not only the last one's: a later failure
// of either kind is told again.
func TestEveryFailureToldInARunIsForgottenWhenTheOrderSyncs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk, store := e.order()
	at := time.Now()
	e.deliver(shipped(mk, store, "", at), 1)
	unknown := shipped(mk, store, "6A9", at.Add(time.Minute))
	unknown.Lines[0].SKU, unknown.Parcels[0].Lines[0].SKU = "SKU-NOPE", "SKU-NOPE"
	e.deliver(unknown, 1)
	if st := e.state(mk); st.Sync.ErrorCode != string(syncerr.SKUNotFound) || e.notes.count() != 2 {
		t.Fatalf("sync = %+v, emails %d; want sku_not_found told after shipping_data_missing", st.Sync, e.notes.count())
	}
	e.deliver(shipped(mk, store, "6A9", at.Add(2*time.Minute)), 1)
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Fatalf("sync = %+v, want synced", st.Sync)
	}
	for _, code := range []syncerr.Code{syncerr.ShippingDataMissing, syncerr.SKUNotFound} {
		// The mark syncer's notifyKey gives the failure told.
		key := "acme#" + mk + store + "#" + string(code)
		if first, _ := e.store.MarkNotified(ctx, key, time.Hour); !first {
			t.Errorf("the mark of %s, told in the run of failures, survived the order's sync: a later one would not be told", code)
		}
	}
}

// TestAFailureRepeatedInItsRunIsOneEntryOfTheErrorList: the store
// reports the order again, its tracking still missing (or the merchant
// re-syncs it unfixed): the list keeps one entry for the order's problem,
// as it last failed, not one a try.
func TestAFailureRepeatedInItsRunIsOneEntryOfTheErrorList(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	for i := range 3 {
		e.deliver(shipped(mk, store, "", at.Add(time.Duration(i)*time.Minute)), 1)
	}
	errs, err := e.store.RecentErrors(context.Background(), "acme", at.Add(-time.Hour), 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || errs[0].Code != string(syncerr.ShippingDataMissing) {
		t.Fatalf("error list = %+v, want one shipping_data_missing entry", errs)
	}
	if first := e.state(mk).Sync.FirstFailedAt; !errs[0].Since.Equal(first) {
		t.Errorf("the entry's run began %v, want the order's %v", errs[0].Since, first)
	}
}

func TestAStoreOrderCannotTakeOverAnotherOnesMarketplaceOrder(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	e.deliver(shipped(mk, store, "6A8", time.Now()), 1)
	calls := len(e.fake.Calls())
	// Another store order names the same marketplace order (a buyer can
	// write Shopify note attributes) and is cancelled.
	other := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "other", OccurredAt: time.Now().Add(time.Minute),
		Order: order.Ref{StoreOrderID: "666", MarketplaceOrderID: mk}, Status: order.StatusCancelled}
	if resp := e.deliver(other, 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures = %v, want the event acknowledged", resp.BatchItemFailures)
	}
	if n := len(e.fake.Calls()) - calls; n != 0 {
		t.Errorf("%d marketplace calls for a store order not linked to the order", n)
	}
	if st := e.state(mk); st.Ref.StoreOrderID != store || st.StoreStatus == order.StatusCancelled {
		t.Errorf("state = %+v, want it untouched", st)
	}
	if got, err := e.store.FindOrder(context.Background(), "acme", "666"); err == nil {
		t.Errorf("store order 666 was linked to %s", got)
	}
}

// acceptGate holds Accept until the gate opens.
type acceptGate struct {
	syncer.Marketplace
	reached, gate chan struct{}
}

func (g *acceptGate) Accept(ctx context.Context, o order.MarketplaceOrder) error {
	close(g.reached)
	<-g.gate
	return g.Marketplace.Accept(ctx, o)
}

func TestALastTryThatFindsTheCallInProgressLeavesItToItsWorker(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	g := &acceptGate{reached: make(chan struct{}), gate: make(chan struct{})}
	holder := e.holding(g, config{})
	ev := shipped(mk, store, "6A9", time.Now())
	held := e.take(1, ev)
	done := make(chan struct{})
	go func() {
		_, _ = e.handle(context.Background(), holder, held)
		close(done)
	}()
	<-g.reached
	// A duplicate of the event, on its last try, while the accept is made.
	resp, err := e.handle(context.Background(), e.proc, e.take(maxReceiveCount, ev))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("Handle = %v, %v; want the duplicate acknowledged", resp.BatchItemFailures, err)
	}
	if len(e.deadLetters()) != 0 || e.notes.count() != 0 {
		t.Error("the duplicate was dead-lettered or emailed while its twin was making the call")
	}
	close(g.gate)
	<-done
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Errorf("sync = %+v, want the holder's synced", st.Sync)
	}
}

// holding returns a processor whose marketplace holds Accept until g's
// gate opens.
func (e *env) holding(g *acceptGate, cfg config) *processor {
	return e.processorOn(cfg, e.store, marketplacesFunc(func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
		mp, err := e.mps.Marketplace(ctx, conn)
		g.Marketplace = mp
		return g, err
	}), e.dlq)
}

// A newer event on its last try finds the accept it needs in progress
// elsewhere; the worker making the accept then finds its own outcome
// superseded. Before, both messages were acknowledged and the ship was
// never made.
func TestALastTryThatFindsTheCallBusyIsNotDropped(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	g := &acceptGate{reached: make(chan struct{}), gate: make(chan struct{})}
	holder := e.holding(g, config{})
	accepted := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "accepted", OccurredAt: at,
		Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}, Status: order.StatusAccepted}
	held := e.take(1, accepted)
	done := make(chan struct{})
	go func() {
		_, _ = e.handle(context.Background(), holder, held)
		close(done)
	}()
	<-g.reached
	// The newer word comes in a moment after the accept was claimed: when
	// it comes back, a lease later, the claim is past its lease.
	e.clock.add(time.Millisecond)
	const lease = time.Second
	e.proc = e.processor(config{EffectLease: lease})
	if resp := e.deliver(shipped(mk, store, "6B1", at.Add(time.Minute)), 3); len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures = %v; a last try left to SQS's redrive reaches the DLQ without a reason", resp.BatchItemFailures)
	}
	// The shipped event must still be somewhere it will be tried from: sent
	// again, as a new message, after the lease.
	msgs := e.queue.Messages()
	if len(msgs) != 2 || msgs[1].Receives != 0 || msgs[1].VisibleAt.Sub(e.clock.now()) != lease {
		t.Fatalf("the queue holds %+v; want the holder's message and the shipped event sent again, due in %v", msgs, lease)
	}
	if _, ok := e.receive(e.proc); ok {
		t.Fatal("the event sent again was received before its delay")
	}
	e.clock.add(lease)
	resp, ok := e.receive(e.proc)
	if !ok {
		t.Fatal("the shipped event was acknowledged while its calls were not made: nothing is left to make them")
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("the event sent again failed: %v", resp.BatchItemFailures)
	}
	close(g.gate)
	<-done
}

func TestASupersededWorkerLeavesTheNewerPlanRun(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	g := &acceptGate{reached: make(chan struct{}), gate: make(chan struct{})}
	holder := e.holding(g, config{})
	accepted := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "accepted", OccurredAt: at,
		Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}, Status: order.StatusAccepted}
	held := e.take(1, accepted)
	done := make(chan struct{})
	go func() {
		_, _ = e.handle(context.Background(), holder, held)
		close(done)
	}()
	<-g.reached
	// The newer word comes in and its worker finds the accept busy: it
	// leaves the order for later.
	e.deliver(shipped(mk, store, "6B2", at.Add(time.Minute)), 1)
	close(g.gate)
	<-done
	// The worker that made the accept planned on the older word; the order
	// it leaves behind must not wait for the other worker's retry.
	st := e.state(mk)
	if st.MarketplaceStatus != order.StatusShipped || st.Sync.Result != order.SyncSynced {
		t.Errorf("after the holder: marketplace %q, sync %+v; want shipped and synced", st.MarketplaceStatus, st.Sync)
	}
	ships := 0
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk && c.NewState == 3 && c.Status < 300 {
			ships++
		}
	}
	if ships != 1 {
		t.Errorf("ship calls = %d, want 1", ships)
	}
}

// Before, the time kept for recording the outcome started with the work:
// a marketplace answer slower than it left the failure unrecorded, with
// no DLQ message and no email.
func TestBookkeepingHasItsOwnBudgetAfterASlowAnswer(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	e.proc = e.processor(config{Bookkeeping: 300 * time.Millisecond})
	e.fake.SetFault(backmarkettest.Fault{Delay: 600 * time.Millisecond})
	if resp := e.deliver(shipped(mk, store, "", time.Now()), 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures = %v, want the failure dead-lettered", resp.BatchItemFailures)
	}
	if dl := e.deadLetters(); len(dl) != 1 || dl[0]["error_code"] != "shipping_data_missing" {
		t.Errorf("DLQ = %v, want the message with shipping_data_missing", dl)
	}
	errs, err := e.store.RecentErrors(context.Background(), "acme", time.Now().Add(-time.Hour), 10)
	if err != nil || len(errs) != 1 || errs[0].Code != "shipping_data_missing" {
		t.Errorf("error list = %+v, %v; want the failure", errs, err)
	}
	if e.notes.count() != 1 {
		t.Errorf("emails = %d, want 1", e.notes.count())
	}
}
