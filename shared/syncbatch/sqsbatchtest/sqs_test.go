// The batch handler on the real emulators (DynamoDB Local, local-aws-sqs),
// for what is about SQS and DynamoDB themselves: the retry's visibility
// timeout set on a real message, a re-sent message's delay, SQS's own
// redrive keeping a failure the DLQ refused, and DynamoDB unreachable
// failing the whole batch. The sync's behaviour is tested without an
// emulator, on the in-memory store and queue (shared/syncbatch,
// shared/syncer). This directory holds tests only: it is its own package
// so that only these start the emulators.
package sqsbatchtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/emf"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

type marketplacesFunc func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error)

func (f marketplacesFunc) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return f(ctx, conn)
}

// notices records what the merchant was told.
type notices struct {
	mu   sync.Mutex
	sent []syncer.Notice
}

func (n *notices) Notify(_ context.Context, x syncer.Notice) error {
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

// config is the part of the sync's policy these tests set.
type config struct {
	RetryBase, EffectLease time.Duration
}

type env struct {
	t          *testing.T
	sqs        *sqs.Client
	store      *dynamostore.Store
	fake       *backmarkettest.Server
	queue, dlq string
	notes      *notices
	mps        syncer.Marketplaces
	nextID     int64
	// logs is the sync's JSON log, as Lambda receives it.
	logs *jsonLog
}

// jsonLog is a JSON log read back line by line.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// redriven sums the EMF metric "redriven" (service=sync) over the log's
// lines, as CloudWatch would.
func (l *jsonLog) redriven(t *testing.T) float64 {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var n float64
	for _, line := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ms, err := emf.Read(line)
		if err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		if m, ok := ms["redriven"]; ok && slices.Contains(m.Dimensions, "service=sync") {
			n += m.Value
		}
	}
	return n
}

// newEnv provisions template.yaml's table and queues for one test, with
// a Back Market fake on loopback and connection "acme" to it.
func newEnv(t *testing.T) *env {
	t.Helper()
	st := stacktest.New(t, nil)
	c := stacktest.Clients()
	e := &env{t: t, sqs: c.SQS, store: dynamostore.New(c.DynamoDB, st.Ref("Table")), fake: backmarkettest.New(backmarkettest.Options{Token: "bm-token"}),
		queue: st.Ref("SyncQueue"), dlq: st.Ref("SyncDLQ"), notes: &notices{}, nextID: 100, logs: &jsonLog{}}
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	conn := order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test",
		Store:       order.Endpoint{Platform: order.Shopify},
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: srv.URL, CredentialRef: "bm"}}
	if err := e.store.PutConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	e.mps = marketplacesFunc(func(_ context.Context, conn order.Connection) (syncer.Marketplace, error) {
		return backmarket.New(srv.Client(), backmarket.Options{BaseURL: conn.Marketplace.BaseURL, Token: "bm-token"}), nil
	})
	return e
}

// processor is the sync as the Lambda runs it, on store and mps, with the
// env's queue and deadLetters as its DLQ ("" leaves dead-lettering to the
// queue's redrive policy, as the sync function does).
func (e *env) processor(cfg config, store syncer.Store, mps syncer.Marketplaces, deadLetters string) *syncbatch.Handler {
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	s := syncer.New(syncer.Config{RetryBase: cfg.RetryBase, EffectLease: cfg.EffectLease}, store, mps, e.notes, log)
	var dlq syncbatch.DeadLetters
	if deadLetters != "" {
		dlq = sqsqueue.New(e.sqs, deadLetters)
	}
	return syncbatch.New(syncbatch.Config{}, s, sqsqueue.New(e.sqs, e.queue), dlq, log)
}

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

// send puts ev on the sync queue.
func (e *env) send(ev any) {
	e.t.Helper()
	body, _ := json.Marshal(ev)
	if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(e.queue), MessageBody: aws.String(string(body))}); err != nil {
		e.t.Fatal(err)
	}
}

// receiveRaw receives up to max messages of the sync queue, waiting up to
// wait seconds, without handling them.
func (e *env) receiveRaw(max, wait int32) []events.SQSMessage {
	e.t.Helper()
	out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queue), MaxNumberOfMessages: max,
		WaitTimeSeconds: wait,
		// local-aws-sqs answers ApproximateReceiveCount only through the
		// deprecated field, so ask through both (as localstack's poller).
		AttributeNames:              []sqstypes.QueueAttributeName{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil {
		e.t.Fatal(err)
	}
	var msgs []events.SQSMessage
	for _, m := range out.Messages {
		msgs = append(msgs, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes})
	}
	return msgs
}

// take receives n messages of the sync queue, waiting for them.
func (e *env) take(n int) []events.SQSMessage {
	e.t.Helper()
	var msgs []events.SQSMessage
	for tries := 0; len(msgs) < n && tries < 5; tries++ {
		msgs = append(msgs, e.receiveRaw(int32(n-len(msgs)), 2)...)
	}
	if len(msgs) != n {
		e.t.Fatalf("received %d messages, want %d", len(msgs), n)
	}
	return msgs
}

// handle hands msgs to p as the event source mapping does, deleting the
// messages that did not fail (none when the whole batch failed).
func (e *env) handle(p *syncbatch.Handler, msgs ...events.SQSMessage) (events.SQSEventResponse, error) {
	ctx := context.Background()
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
			if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.queue), ReceiptHandle: aws.String(m.ReceiptHandle)}); err != nil {
				e.t.Errorf("delete %s: %v", m.MessageId, err)
			}
		}
	}
	return resp, nil
}

// giveBack makes a received message visible again at once.
func (e *env) giveBack(m events.SQSMessage) {
	e.t.Helper()
	if _, err := e.sqs.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.queue),
		ReceiptHandle: aws.String(m.ReceiptHandle), VisibilityTimeout: 0}); err != nil {
		e.t.Fatal(err)
	}
}

// deadLetters drains the DLQ and returns its messages' attributes.
func (e *env) deadLetters() []map[string]string {
	e.t.Helper()
	var out []map[string]string
	for {
		res, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.dlq), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			a := map[string]string{}
			for k, v := range m.MessageAttributes {
				a[k] = aws.ToString(v.StringValue)
			}
			out = append(out, a)
			_, _ = e.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(e.dlq), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

func receives(m events.SQSMessage) string { return m.Attributes["ApproximateReceiveCount"] }

// The queue's own visibility timeout is 360 s: a message back within a
// 20 s wait came back because the sync's ChangeMessageVisibility timed it
// (1.5 s after a first try, which SQS counts in whole seconds: 2 s).
func TestARetryIsTimedOnTheRealMessage(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	e.fake.SetFault(backmarkettest.Fault{Status: 503})
	e.send(shipped(mk, store, "6A1", time.Now()))
	first := e.take(1)[0]
	if got := receives(first); got != "1" {
		t.Fatalf("first receive count = %s, want 1", got)
	}
	start := time.Now()
	resp, err := e.handle(e.processor(config{}, e.store, e.mps, e.dlq), first)
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("Handle = %v, %v; want the message retried", resp.BatchItemFailures, err)
	}
	if early := e.receiveRaw(10, 0); len(early) != 0 {
		t.Fatalf("received %d messages at once after the retry was timed, want none", len(early))
	}
	back := e.receiveRaw(1, 20)
	elapsed := time.Since(start)
	if len(back) != 1 {
		t.Fatal("the message did not come back within 20 s: its visibility timeout was not changed")
	}
	if got := receives(back[0]); got != "2" {
		t.Errorf("receive count on the retry = %s, want 2", got)
	}
	if want := 1500 * time.Millisecond; elapsed < want {
		t.Errorf("the message came back %v after the try, want at least the %v the sync asked", elapsed, want)
	}
}

// A newer event on its last try finds the accept it needs in progress
// elsewhere: it is sent again as a new message, delayed by the claim's
// lease (DelaySeconds), its receive count starting over.
func TestALastTryFindingTheCallBusyIsResentWithADelay(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	g := &acceptGate{reached: make(chan struct{}), gate: make(chan struct{})}
	holder := e.processor(config{}, e.store, marketplacesFunc(func(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
		mp, err := e.mps.Marketplace(ctx, conn)
		g.Marketplace = mp
		return g, err
	}), e.dlq)
	e.send(order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "accepted", OccurredAt: at,
		Order: order.Ref{StoreOrderID: store, MarketplaceOrderID: mk}, Status: order.StatusAccepted})
	held := e.take(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.handle(holder, held...)
	}()
	defer func() { close(g.gate); <-done }()
	<-g.reached
	// The shipped event, received for the third time (the queue's
	// maxReceiveCount): its last try.
	e.send(shipped(mk, store, "6B1", at.Add(time.Minute)))
	var last events.SQSMessage
	for i := 1; i <= 3; i++ {
		last = e.take(1)[0]
		if got := receives(last); got != strconv.Itoa(i) {
			t.Fatalf("receive %d: count = %s", i, got)
		}
		if i < 3 {
			e.giveBack(last)
		}
	}
	const lease = 2 * time.Second
	start := time.Now()
	resp, err := e.handle(e.processor(config{EffectLease: lease}, e.store, e.mps, e.dlq), last)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %v, %v; want the delivery done with and the event sent again", resp.BatchItemFailures, err)
	}
	if early := e.receiveRaw(10, 0); len(early) != 0 {
		t.Fatalf("received %d messages at once, want none: the event is sent again after the lease", len(early))
	}
	again := e.receiveRaw(1, 20)
	elapsed := time.Since(start)
	if len(again) != 1 {
		t.Fatal("the event sent again never arrived")
	}
	if got := receives(again[0]); got != "1" {
		t.Errorf("receive count of the event sent again = %s, want 1 (a new message)", got)
	}
	if elapsed < lease {
		t.Errorf("the event sent again arrived %v after the try, want at least the lease %v", elapsed, lease)
	}
	var ev order.Event
	if err := json.Unmarshal([]byte(again[0].Body), &ev); err != nil || ev.Status != order.StatusShipped || ev.Order.MarketplaceOrderID != mk {
		t.Errorf("the message sent again = %s, %v; want the shipped event", again[0].Body, err)
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

func TestWhenTheDLQRefusesSQSRedriveKeepsTheFailure(t *testing.T) {
	e := newEnv(t)
	// A DLQ that refuses every message: the sync cannot dead-letter.
	broken := e.processor(config{RetryBase: 100 * time.Millisecond}, e.store, e.mps, e.queue+"-gone")
	mk, store := e.order()
	e.send(shipped(mk, store, "", time.Now()))
	// Each try is given back with a 1 s visibility; after the third,
	// SQS's redrive policy (maxReceiveCount 3) moves the message to the
	// DLQ. The deadline only stops a test that would otherwise hang.
	tries := 0
	var dl []map[string]string
	for deadline := time.Now().Add(time.Minute); len(dl) == 0 && time.Now().Before(deadline); {
		got := e.receiveRaw(1, 2)
		if len(got) == 0 {
			dl = e.deadLetters()
			continue
		}
		tries++
		if c := receives(got[0]); c != strconv.Itoa(tries) {
			t.Errorf("try %d: receive count = %s", tries, c)
		}
		resp, err := e.handle(broken, got[0])
		if err != nil || len(resp.BatchItemFailures) != 1 {
			t.Fatalf("try %d: Handle = %v, %v; a message the DLQ refused must stay on the queue", tries, resp.BatchItemFailures, err)
		}
	}
	if tries != 3 {
		t.Errorf("tries = %d, want the queue's maxReceiveCount (3)", tries)
	}
	if len(dl) != 1 {
		t.Fatalf("DLQ = %v, want the message moved there by SQS", dl)
	}
	if st, err := e.store.LoadOrder(context.Background(), "acme", mk); err != nil || st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != "shipping_data_missing" {
		t.Errorf("sync = %+v, %v; want failed with its reason", st.Sync, err)
	}
	if got := e.notes.count(); got != 1 {
		t.Errorf("emails = %d, want 1 over the three tries", got)
	}
}

func TestUnreachableStoreFailsTheWholeBatch(t *testing.T) {
	e := newEnv(t)
	// A DynamoDB endpoint nothing listens on.
	down := dynamodb.NewFromConfig(aws.Config{Region: "eu-west-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")},
		func(o *dynamodb.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:1") })
	p := e.processor(config{}, dynamostore.New(down, "nowhere"), e.mps, e.dlq)
	mk, store := e.order()
	e.send(shipped(mk, store, "6A1", time.Now()))
	e.send(shipped(mk, store, "6A2", time.Now()))
	if _, err := e.handle(p, e.take(2)...); err == nil {
		t.Fatal("Handle succeeded with DynamoDB unreachable; want an error for the whole batch")
	}
	calls := 0
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk {
			calls++
		}
	}
	if calls != 0 {
		t.Errorf("%d marketplace calls without a store", calls)
	}
	if len(e.deadLetters()) != 0 || e.notes.count() != 0 {
		t.Error("nothing may be dead-lettered or emailed when nothing could be decided")
	}
}

// TestAFailureLeftToTheRedrivePolicyRedrivesToItsSource is the sync
// function's path: a permanent failure is recorded, never deleted from the
// sync queue, and released at once on each receive until SQS's redrive
// policy moves it to the DLQ, noting its source. Then a message move task
// with no destination (the console's "Redrive to source queue(s)") brings
// it back to the sync queue.
func TestAFailureLeftToTheRedrivePolicyRedrivesToItsSource(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := e.processor(config{RetryBase: 100 * time.Millisecond}, e.store, e.mps, "")
	mk, store := e.order()
	e.send(shipped(mk, store, "", time.Now()))
	tries := 0
	var sentID string
	var syncedAt time.Time
	for deadline := time.Now().Add(time.Minute); e.depth(e.dlq) == 0 && time.Now().Before(deadline); {
		got := e.receiveRaw(1, 1)
		if len(got) == 0 {
			continue
		}
		tries++
		sentID = got[0].MessageId
		resp, err := e.handle(p, got[0])
		if err != nil || len(resp.BatchItemFailures) != 1 {
			t.Fatalf("try %d: Handle = %v, %v; a failure must stay on the queue until SQS moves it", tries, resp.BatchItemFailures, err)
		}
		// Received again by the same handler, it is not synced again.
		st, err := e.store.LoadOrder(ctx, "acme", mk)
		if err != nil {
			t.Fatal(err)
		}
		if tries == 1 {
			syncedAt = st.Sync.At
		} else if !st.Sync.At.Equal(syncedAt) {
			t.Errorf("try %d: the order was synced again (at %s, first at %s)", tries, st.Sync.At, syncedAt)
		}
	}
	if tries != 3 {
		t.Errorf("receives = %d, want the queue's maxReceiveCount (3)", tries)
	}
	if got := e.depth(e.dlq); got != 1 {
		t.Fatalf("DLQ depth = %d, want the message moved there by SQS", got)
	}
	if st, err := e.store.LoadOrder(ctx, "acme", mk); err != nil || st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != "shipping_data_missing" {
		t.Errorf("sync = %+v, %v; want failed with its reason", st.Sync, err)
	}
	if got := e.notes.count(); got != 1 {
		t.Errorf("emails = %d, want 1", got)
	}
	if got := e.logs.redriven(t); got != 0 {
		t.Errorf("redriven = %v before any redrive, want 0", got)
	}

	// The console's default: no destination, back to the source queue.
	dlqARN := e.arn(e.dlq)
	if _, err := e.sqs.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)}); err != nil {
		t.Fatalf("StartMessageMoveTask with no destination: %v", err)
	}
	back := e.take(1)
	if e.depth(e.dlq) != 0 {
		t.Error("the DLQ still holds the message")
	}
	var ev order.Event
	if err := json.Unmarshal([]byte(back[0].Body), &ev); err != nil || ev.Order.MarketplaceOrderID != mk {
		t.Errorf("redriven body = %s (%v), want the order's event (first id %s)", back[0].Body, err, sentID)
	}
	if c := receives(back[0]); c != "1" {
		t.Errorf("redriven receive count = %s, want 1", c)
	}
	// Nothing on the message says it was moved: a new id, its receive
	// count at 1, no DeadLetterQueueSourceArn (the emulator drops it; AWS
	// documents a redriven message as a new one).
	if _, ok := back[0].Attributes["DeadLetterQueueSourceArn"]; ok || back[0].MessageId == sentID {
		t.Errorf("redriven message %+v: want nothing left of its move (the metric must not rely on it)", back[0])
	}
	// Redriven, it is synced again (even by the handler that failed it),
	// and counted as a redrive: once.
	if _, err := e.handle(p, back[0]); err != nil {
		t.Fatal(err)
	}
	if st, err := e.store.LoadOrder(ctx, "acme", mk); err != nil || !st.Sync.At.After(syncedAt) {
		t.Errorf("redriven: sync = %+v, %v; want it synced again after %s", st.Sync, err, syncedAt)
	}
	if got := e.logs.redriven(t); got != 1 {
		t.Errorf("redriven = %v after one redrive, want 1", got)
	}
	// Failed again, it is received again before SQS moves it: not a redrive.
	for _, m := range e.receiveRaw(1, 2) {
		if _, err := e.handle(p, m); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.logs.redriven(t); got != 1 {
		t.Errorf("redriven = %v after the redriven message's second receive, want still 1", got)
	}
}

// depth is the queue's ApproximateNumberOfMessages (visible messages).
func (e *env) depth(url string) int {
	e.t.Helper()
	out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		e.t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}

// arn is the queue's ARN.
func (e *env) arn(url string) string {
	e.t.Helper()
	out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// TestAMessageSentStraightToTheDLQHasNoSource is why the sync leaves the
// move to the redrive policy: a message sent to the DLQ with SendMessage
// (as the sync did) was moved from no queue, and a move task to the
// source queue(s), the console's default, fails on it and leaves it there.
func TestAMessageSentStraightToTheDLQHasNoSource(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if err := sqsqueue.New(e.sqs, e.dlq).Send(ctx, `{"connection":"acme"}`, map[string]string{"error_code": "invalid_data"}); err != nil {
		t.Fatal(err)
	}
	dlqARN := e.arn(e.dlq)
	if _, err := e.sqs.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)}); err != nil {
		t.Fatal(err)
	}
	// The deadline only stops a test that would otherwise hang.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := e.sqs.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Results) == 1 && aws.ToString(out.Results[0].Status) != "RUNNING" {
			if got := aws.ToString(out.Results[0].Status); got != "FAILED" {
				t.Errorf("move task %s, want FAILED", got)
			}
			t.Logf("failure reason: %s", aws.ToString(out.Results[0].FailureReason))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the move task never ended")
		}
	}
	if got := e.depth(e.dlq); got != 1 {
		t.Errorf("DLQ depth = %d, want the message left there", got)
	}
}
