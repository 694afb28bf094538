package syncbatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
	"github.com/ordersync/ordersync/shared/syncer"
)

// timings is the real sync queue, recording the retry delays asked of it.
type timings struct {
	*sqsqueue.Queue
	mu     sync.Mutex
	delays []time.Duration
}

func (q *timings) RetryIn(ctx context.Context, receiptHandle string, d time.Duration) error {
	q.mu.Lock()
	q.delays = append(q.delays, d)
	q.mu.Unlock()
	return q.Queue.RetryIn(ctx, receiptHandle, d)
}

func (q *timings) last(t *testing.T) time.Duration {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.delays) == 0 {
		t.Fatal("no retry was timed")
	}
	return q.delays[len(q.delays)-1]
}

func (e *env) timedProcessor(cfg config) *timings {
	q := &timings{Queue: sqsqueue.New(stacktest.Clients().SQS, e.queue)}
	e.proc = e.processor(cfg, q)
	return q
}

func TestRetryDelayGrowsWithTheAttempt(t *testing.T) {
	e := newEnv(t)
	q := e.timedProcessor(config{})
	mk, store := e.order()
	e.fake.SetFault(backmarkettest.Fault{Status: 503})
	ev := shipped(mk, store, "6A1", time.Now())
	for attempt, want := range map[int]time.Duration{1: 1500 * time.Millisecond, 2: 3 * time.Second} {
		e.deliver(ev, attempt)
		if got := q.last(t); got != want {
			t.Errorf("attempt %d: retry in %v, want attempt × 1.5 s = %v", attempt, got, want)
		}
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
			q := e.timedProcessor(config{RetryCap: tc.cap})
			mk, store := e.order()
			e.fake.SetFault(backmarkettest.Fault{Status: 429, RetryAfter: tc.retryAfter})
			if resp := e.deliver(shipped(mk, store, "6A1", time.Now()), 1); len(resp.BatchItemFailures) != 1 {
				t.Fatalf("failures = %v, want the message retried", resp.BatchItemFailures)
			}
			if got := q.last(t); got != tc.want {
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
			const lease = 500 * time.Millisecond
			e.proc = e.processor(config{EffectLease: lease}, sqsqueue.New(stacktest.Clients().SQS, e.queue))
			// POST 1 accepts the line, POST 2 ships it: lose the ship's answer.
			e.client = &http.Client{Transport: &lossyTransport{next: e.client.Transport, nth: 2, landed: landed}}
			mk, store := e.order()
			ev := shipped(mk, store, "6A1", time.Now())
			resp := e.deliver(ev, 1)
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
				// once its claim's lease ran out.
				if resp := e.deliver(ev, 2); len(resp.BatchItemFailures) != 1 {
					t.Fatalf("within the lease: failures = %v, want a retry", resp.BatchItemFailures)
				}
				if n := e.ships(mk); n != 0 {
					t.Fatalf("ship calls within the lease = %d, want 0", n)
				}
				time.Sleep(lease)
				e.deliver(ev, 3)
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
	var wg sync.WaitGroup
	for i := range 8 {
		ev := any(ship)
		if i%2 == 0 {
			ev = addr
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker is its own processor, as concurrent Lambdas are.
			p := e.processor(config{}, sqsqueue.New(stacktest.Clients().SQS, e.queue))
			_, _ = p.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record(t, fmt.Sprint("w", i), ev)}})
		}()
	}
	wg.Wait()
	// Whatever lost the race on a call retries; one more delivery settles.
	e.deliver(ship, 2)
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

// inflight counts concurrent requests to the marketplace.
type inflight struct {
	next     http.RoundTripper
	mu       sync.Mutex
	now, max int
}

func (f *inflight) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.now++
	f.max = max(f.max, f.now)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.now--; f.mu.Unlock() }()
	return f.next.RoundTrip(r)
}

func TestBatchConcurrencyIsBoundedPerConnection(t *testing.T) {
	e := newEnv(t)
	counter := &inflight{next: e.client.Transport}
	e.client = &http.Client{Transport: counter}
	// Every answer takes a while, so concurrent calls overlap.
	e.fake.SetFault(backmarkettest.Fault{Delay: 100 * time.Millisecond})
	var recs []events.SQSMessage
	for i := range 6 {
		mk, store := e.order()
		recs = append(recs, record(t, fmt.Sprint("m", i), shipped(mk, store, "6A"+mk, time.Now())))
	}
	p := e.processor(config{Concurrency: 6, PerConnection: 2}, sqsqueue.New(stacktest.Clients().SQS, e.queue))
	resp, err := p.Handle(context.Background(), events.SQSEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %v, %v", resp.BatchItemFailures, err)
	}
	if counter.max != 2 {
		t.Errorf("at most %d calls in flight to one connection's marketplace, want 2 (PerConnection)", counter.max)
	}
}

func TestUnreachableStoreFailsTheWholeBatch(t *testing.T) {
	e := newEnv(t)
	// A DynamoDB endpoint nothing listens on.
	down := dynamodb.NewFromConfig(aws.Config{Region: "eu-west-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")},
		func(o *dynamodb.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:1") })
	p := newProcessor(config{}, dynamostore.New(down, "nowhere"), e.mps, sqsqueue.New(stacktest.Clients().SQS, e.queue),
		sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mk, store := e.order()
	_, err := p.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		record(t, "a", shipped(mk, store, "6A1", time.Now())), record(t, "b", shipped(mk, store, "6A2", time.Now())),
	}})
	if err == nil {
		t.Fatal("Handle succeeded with DynamoDB unreachable; want an error for the whole batch")
	}
	if ok, refused := e.callsFor(mk); ok+refused != 0 {
		t.Errorf("%d marketplace calls without a store", ok+refused)
	}
	if len(e.deadLetters()) != 0 || e.notes.count() != 0 {
		t.Error("nothing may be dead-lettered or emailed when nothing could be decided")
	}
}

// receive takes the next message from the real queue and hands it to the
// processor with its real receive count, as the event source mapping does,
// deleting it when it did not fail.
func (e *env) receive(p *processor) (events.SQSEventResponse, bool) {
	e.t.Helper()
	ctx := context.Background()
	c := stacktest.Clients()
	out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queue), MaxNumberOfMessages: 1,
		WaitTimeSeconds: 2, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Messages) == 0 {
		return events.SQSEventResponse{}, false
	}
	m := out.Messages[0]
	rec := events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Attributes: m.Attributes}
	resp, err := p.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{rec}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(resp.BatchItemFailures) == 0 {
		_, _ = c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.queue), ReceiptHandle: m.ReceiptHandle})
	}
	return resp, true
}

func TestWhenTheDLQRefusesSQSRedriveKeepsTheFailure(t *testing.T) {
	e := newEnv(t)
	c := stacktest.Clients()
	// A DLQ that refuses every message: the sync cannot dead-letter.
	broken := newProcessor(config{RetryBase: 100 * time.Millisecond}, e.store, e.mps, sqsqueue.New(c.SQS, e.queue),
		sqsqueue.New(c.SQS, e.queue+"-gone"), e.notes, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mk, store := e.order()
	body, _ := json.Marshal(shipped(mk, store, "", time.Now()))
	if _, err := c.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(e.queue), MessageBody: aws.String(string(body))}); err != nil {
		t.Fatal(err)
	}
	tries := 0
	for {
		resp, ok := e.receive(broken)
		if !ok {
			break
		}
		tries++
		if len(resp.BatchItemFailures) != 1 {
			t.Fatalf("try %d: failures = %v; a message the DLQ refused must stay on the queue", tries, resp.BatchItemFailures)
		}
	}
	if tries != 3 {
		t.Errorf("tries = %d, want the queue's maxReceiveCount (3)", tries)
	}
	// After the last try, SQS's redrive policy moved it to the DLQ.
	deadline := time.Now().Add(10 * time.Second)
	var dl []map[string]string
	for len(dl) == 0 && time.Now().Before(deadline) {
		dl = e.deadLetters()
	}
	if len(dl) != 1 {
		t.Fatalf("DLQ = %v, want the message moved there by SQS", dl)
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
	const lease = 300 * time.Millisecond
	e.proc = e.processor(config{EffectLease: lease}, sqsqueue.New(stacktest.Clients().SQS, e.queue))
	// POSTs: accept A, accept B, ship A, ship B. Ship B never arrives.
	e.client = &http.Client{Transport: &lossyTransport{next: e.client.Transport, nth: 4}}
	e.nextID++
	e.fake.Seed(backmarkettest.AwaitingAcceptance(e.nextID, "SKU-A", "SKU-B"))
	mk, store := fmt.Sprint(e.nextID), fmt.Sprint(9000+e.nextID)
	ev := shipped(mk, store, "6A2", time.Now())
	ev.Lines = []order.Line{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}}
	ev.Parcels[0].Lines = ev.Lines
	if resp := e.deliver(ev, 1); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures = %v, want a retry: line B is not shipped", resp.BatchItemFailures)
	}
	if st := e.state(mk); st.Sync.Result == order.SyncSynced {
		t.Fatalf("recorded synced with one line of two shipped: %+v", st.Sync)
	}
	time.Sleep(lease)
	e.deliver(ev, 2)
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
	slow := newProcessor(config{}, e.store, marketplacesFunc(func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
		mp, err := e.mps.Marketplace(ctx, conn)
		g.Marketplace = mp
		return g, err
	}), sqsqueue.New(stacktest.Clients().SQS, e.queue), sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Worker A takes the store's first word: the order is accepted.
	accepted := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "accepted", OccurredAt: at,
		Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}, Status: order.StatusAccepted}
	done := make(chan events.SQSEventResponse)
	go func() {
		resp, _ := slow.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record(t, "a", accepted)}})
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
	last := func(t *testing.T, ev any) events.SQSMessage {
		m := record(t, "last", ev)
		m.Attributes["ApproximateReceiveCount"] = "3"
		return m
	}
	t.Run("a panic", func(t *testing.T) {
		e := newEnv(t)
		mk, store := e.order()
		boom := newProcessor(config{}, e.store, marketplacesFunc(func(context.Context, order.Connection) (syncer.Marketplace, error) {
			panic("connector bug")
		}), sqsqueue.New(stacktest.Clients().SQS, e.queue), sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes,
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		resp, err := boom.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{last(t, shipped(mk, store, "6A4", time.Now()))}})
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
		resp, err := e.proc.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{last(t, shipped(mk, store, "6A5", time.Now()))}})
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
		down := dynamodb.NewFromConfig(aws.Config{Region: "eu-west-1", RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")},
			func(o *dynamodb.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:1") })
		p := newProcessor(config{}, dynamostore.New(down, "nowhere"), e.mps, sqsqueue.New(stacktest.Clients().SQS, e.queue),
			sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes, slog.New(slog.NewTextHandler(io.Discard, nil)))
		resp, err := p.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{last(t, shipped(mk, store, "6A6", time.Now()))}})
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
	holder := newProcessor(config{}, e.store, marketplacesFunc(func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
		mp, err := e.mps.Marketplace(ctx, conn)
		g.Marketplace = mp
		return g, err
	}), sqsqueue.New(stacktest.Clients().SQS, e.queue), sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	ev := shipped(mk, store, "6A9", time.Now())
	done := make(chan struct{})
	go func() {
		_, _ = holder.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record(t, "holder", ev)}})
		close(done)
	}()
	<-g.reached
	// A duplicate of the event, on its last try, while the accept is made.
	dup := record(t, "dup", ev)
	dup.Attributes["ApproximateReceiveCount"] = "3"
	resp, err := e.proc.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{dup}})
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
	return newProcessor(cfg, e.store, marketplacesFunc(func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
		mp, err := e.mps.Marketplace(ctx, conn)
		g.Marketplace = mp
		return g, err
	}), sqsqueue.New(stacktest.Clients().SQS, e.queue), sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
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
	done := make(chan struct{})
	go func() {
		_, _ = holder.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record(t, "holder", accepted)}})
		close(done)
	}()
	<-g.reached
	e.proc = newProcessor(config{EffectLease: time.Second}, e.store, e.mps, sqsqueue.New(stacktest.Clients().SQS, e.queue),
		sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if resp := e.deliver(shipped(mk, store, "6B1", at.Add(time.Minute)), 3); len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures = %v; a last try left to SQS's redrive reaches the DLQ without a reason", resp.BatchItemFailures)
	}
	// The shipped event must still be somewhere it will be tried from.
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
	done := make(chan struct{})
	go func() {
		_, _ = holder.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record(t, "holder", accepted)}})
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
	e.proc = newProcessor(config{Bookkeeping: 300 * time.Millisecond}, e.store, e.mps, sqsqueue.New(stacktest.Clients().SQS, e.queue),
		sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes, slog.New(slog.NewTextHandler(io.Discard, nil)))
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
