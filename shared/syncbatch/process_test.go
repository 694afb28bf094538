package syncbatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

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

type env struct {
	t      *testing.T
	store  *dynamostore.Store
	fake   *backmarkettest.Server
	queue  string
	dlq    string
	notes  *notices
	proc   *processor
	conn   order.Connection
	nextID int64
	// client is the HTTP client the Back Market connector gets: a test may
	// change its transport to lose answers.
	client *http.Client
	mps    syncer.Marketplaces
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := stacktest.New(t, nil)
	c := stacktest.Clients()
	e := &env{t: t, store: dynamostore.New(c.DynamoDB, st.Ref("Table")), fake: backmarkettest.New(backmarkettest.Options{Token: "bm-token"}),
		queue: st.Ref("SyncQueue"), dlq: st.Ref("SyncDLQ"), notes: &notices{}, nextID: 100}
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
	e.proc = e.processor(config{}, sqsqueue.New(c.SQS, e.queue))
	return e
}

// processor returns a processor on the env's store, marketplace and DLQ,
// with cfg and q.
func (e *env) processor(cfg config, q syncbatch.Queue) *processor {
	return newProcessor(cfg, e.store, e.mps, q, sqsqueue.New(stacktest.Clients().SQS, e.dlq), e.notes,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
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

// deliver puts ev on the real queue, receives it (so its receipt handle is
// real), and hands it to the processor as the event source mapping would,
// with the given receive count.
func (e *env) deliver(ev any, attempt int) events.SQSEventResponse {
	e.t.Helper()
	ctx := context.Background()
	body, _ := json.Marshal(ev)
	c := stacktest.Clients()
	if _, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(e.queue), MessageBody: aws.String(string(body))}); err != nil {
		e.t.Fatal(err)
	}
	out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queue), MaxNumberOfMessages: 1, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		e.t.Fatalf("receive: %v, %d messages", err, len(out.Messages))
	}
	m := out.Messages[0]
	rec := events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(attempt)}}
	resp, err := e.proc.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{rec}})
	if err != nil {
		e.t.Fatalf("Handle: %v", err)
	}
	// The event source mapping deletes what did not fail.
	if len(resp.BatchItemFailures) == 0 {
		_, _ = c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.queue), ReceiptHandle: m.ReceiptHandle})
	}
	return resp
}

// deadLetters drains the DLQ and returns its messages' attributes.
func (e *env) deadLetters() []map[string]string {
	e.t.Helper()
	var out []map[string]string
	c := stacktest.Clients()
	for {
		res, err := c.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.dlq), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
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
			_, _ = c.SQS.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(e.dlq), ReceiptHandle: m.ReceiptHandle})
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

func TestShipAcceptsFirstAndSyncs(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	if resp := e.deliver(shipped(mk, store, "6A123", time.Now()), 1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	st := e.state(mk)
	if st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("state = %+v, want synced and shipped", st.Sync)
	}
	if ok, _ := e.callsFor(mk); ok != 2 {
		t.Errorf("calls = %d, want accept then ship", ok)
	}
	if got, err := e.store.FindOrder(context.Background(), "acme", store); err != nil || got != mk {
		t.Errorf("store order link = %q, %v; want %s", got, err, mk)
	}
}

func TestDuplicateAndReplayMakeNoSecondCall(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	ev := shipped(mk, store, "6A123", time.Now())
	e.deliver(ev, 1)
	ev.SourceEventID = "redelivered-with-another-id"
	e.deliver(ev, 1)
	e.deliver(ev, 1)
	if ok, _ := e.callsFor(mk); ok != 2 {
		t.Errorf("marketplace calls = %d, want 2 (one accept, one ship) whatever the duplicates", ok)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Errorf("sync = %+v", st.Sync)
	}
}

func TestPermanentFailureIsRecordedEmailedOnceAndDeadLettered(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	ev := shipped(mk, store, "", time.Now())
	if resp := e.deliver(ev, 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("a permanent failure must not be retried: failures = %v", resp.BatchItemFailures)
	}
	st := e.state(mk)
	if st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != string(syncerr.ShippingDataMissing) {
		t.Errorf("sync = %+v, want failed with shipping_data_missing", st.Sync)
	}
	if ok, refused := e.callsFor(mk); ok+refused != 0 {
		t.Errorf("marketplace calls = %d, want none", ok+refused)
	}
	dl := e.deadLetters()
	if len(dl) != 1 || dl[0]["error_code"] != "shipping_data_missing" || dl[0]["order_key"] != "acme/"+mk || dl[0]["attempts"] != "1" || dl[0]["first_failed_at"] == "" {
		t.Errorf("DLQ = %v, want one message with its reason", dl)
	}
	errs, err := e.store.RecentErrors(context.Background(), "acme", time.Now().Add(-7*24*time.Hour), 20)
	if err != nil || len(errs) != 1 || errs[0].Code != "shipping_data_missing" || errs[0].Remedy == "" {
		t.Errorf("recent errors = %+v, %v", errs, err)
	}
	// A redrive with the cause still there: back to the DLQ, no second email.
	e.deliver(ev, 1)
	if got := e.notes.count(); got != 1 {
		t.Errorf("emails = %d, want 1 for the same order and problem", got)
	}
	if dl := e.deadLetters(); len(dl) != 1 {
		t.Errorf("redriven message: DLQ = %v, want it back there", dl)
	}
}

func TestFixThenRedriveApplies(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	old := shipped(mk, store, "", at)
	e.deliver(old, 1)
	// The merchant adds the tracking number: the store sends a newer event.
	e.deliver(shipped(mk, store, "6A999", at.Add(time.Minute)), 1)
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Fatalf("after the fix: sync = %+v, want synced", st.Sync)
	}
	// The operator redrives the old message: nothing more happens.
	if resp := e.deliver(old, 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("redriven stale message failed: %v", resp.BatchItemFailures)
	}
	if ok, _ := e.callsFor(mk); ok != 2 {
		t.Errorf("calls = %d, want 2", ok)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced || st.Parcels[0].Tracking.Number != "6A999" {
		t.Errorf("after redrive: %+v", st)
	}
}

func TestTransientFailureRetriesThenDeadLetters(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	e.fake.SetFault(backmarkettest.Fault{Status: 503})
	ev := shipped(mk, store, "6A123", time.Now())
	for attempt := 1; attempt <= 2; attempt++ {
		resp := e.deliver(ev, attempt)
		if len(resp.BatchItemFailures) != 1 {
			t.Fatalf("attempt %d: failures = %v, want the message retried", attempt, resp.BatchItemFailures)
		}
		if st := e.state(mk); st.Sync.Result != order.SyncPending || st.Sync.ErrorCode != "marketplace_unavailable" {
			t.Errorf("attempt %d: sync = %+v, want pending", attempt, st.Sync)
		}
	}
	if e.notes.count() != 0 || len(e.deadLetters()) != 0 {
		t.Fatal("retries must not email or dead-letter")
	}
	if resp := e.deliver(ev, 3); len(resp.BatchItemFailures) != 0 {
		t.Errorf("last attempt: failures = %v, want it dead-lettered", resp.BatchItemFailures)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncFailed || st.Sync.Attempts != 3 {
		t.Errorf("after the last try: sync = %+v, want failed after 3", st.Sync)
	}
	if dl := e.deadLetters(); len(dl) != 1 || dl[0]["error_code"] != "marketplace_unavailable" || dl[0]["attempts"] != "3" {
		t.Errorf("DLQ = %v", dl)
	}
	if e.notes.count() != 1 || e.notes.sent[0].Attempts != 3 {
		t.Errorf("emails = %+v, want one about a retried failure", e.notes.sent)
	}
}

func TestExpiredTokenPausesTheConnection(t *testing.T) {
	e := newEnv(t)
	e.fake.SetFault(backmarkettest.Fault{Status: 401})
	mk1, s1 := e.order()
	mk2, s2 := e.order()
	e.deliver(shipped(mk1, s1, "6A1", time.Now()), 1)
	e.fake.ClearFaults()
	e.deliver(shipped(mk2, s2, "6A2", time.Now()), 1)
	c, _ := e.store.Connection(context.Background(), "acme")
	if !c.Paused {
		t.Error("connection not paused after auth_expired")
	}
	for _, mk := range []string{mk1, mk2} {
		if st := e.state(mk); st.Sync.Result != order.SyncHeld || st.Sync.ErrorCode != "auth_expired" {
			t.Errorf("order %s: sync = %+v, want held with auth_expired", mk, st.Sync)
		}
	}
	if ok, _ := e.callsFor(mk2); ok != 0 {
		t.Error("a paused connection must not call the marketplace")
	}
	if got := e.notes.count(); got != 1 {
		t.Errorf("emails = %d, want one for the connection", got)
	}
	if dl := e.deadLetters(); len(dl) != 2 {
		t.Errorf("DLQ = %v, want both events kept for after the reconnect", dl)
	}
}

func TestUnsupportedPlatformAndUnreadableMessages(t *testing.T) {
	e := newEnv(t)
	amazon := e.conn
	amazon.ID, amazon.Marketplace.Platform = "amz", order.Amazon
	if err := e.store.PutConnection(context.Background(), amazon); err != nil {
		t.Fatal(err)
	}
	ev := shipped("AMZ-1", "55", "6A1", time.Now())
	ev.Connection = "amz"
	e.deliver(ev, 1)
	if st, _ := e.store.LoadOrder(context.Background(), "amz", "AMZ-1"); st.Sync.ErrorCode != "platform_unsupported" {
		t.Errorf("sync = %+v, want platform_unsupported", st.Sync)
	}
	if resp := e.deliver("not an event", 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("unreadable message: failures = %v, want it dead-lettered", resp.BatchItemFailures)
	}
	dl := e.deadLetters()
	codes := map[string]bool{}
	for _, a := range dl {
		codes[a["error_code"]] = true
	}
	if !codes["platform_unsupported"] || !codes["invalid_data"] {
		t.Errorf("DLQ codes = %v, want platform_unsupported and invalid_data", codes)
	}
}

func record(t *testing.T, id string, ev any) events.SQSMessage {
	t.Helper()
	b, _ := json.Marshal(ev)
	return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: string(b), Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

func TestPanicFailsOnlyItsMessage(t *testing.T) {
	e := newEnv(t)
	boom := e.conn
	boom.ID, boom.Marketplace.Platform = "boom", "exploding"
	if err := e.store.PutConnection(context.Background(), boom); err != nil {
		t.Fatal(err)
	}
	mk, store := e.order()
	c := stacktest.Clients()
	proc := newProcessor(config{}, e.store, marketplacesFunc(func(_ context.Context, conn order.Connection) (syncer.Marketplace, error) {
		if conn.ID == "boom" {
			panic("connector bug")
		}
		return backmarket.New(&http.Client{}, backmarket.Options{BaseURL: conn.Marketplace.BaseURL, Token: "bm-token"}), nil
	}), sqsqueue.New(c.SQS, e.queue), sqsqueue.New(c.SQS, e.dlq), e.notes, slog.New(slog.NewTextHandler(io.Discard, nil)))
	bad := shipped("B-1", "77", "6A1", time.Now())
	bad.Connection = "boom"
	resp, err := proc.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		record(t, "bad", bad), record(t, "good", shipped(mk, store, "6A2", time.Now())),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bad" {
		t.Errorf("failures = %+v, want only the panicking message", resp.BatchItemFailures)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Errorf("the other order: sync = %+v, want synced", st.Sync)
	}
}

func TestNoNewWorkNearTheDeadline(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // under the 5 s margin
	defer cancel()
	resp, err := e.proc.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, "m1", shipped(mk, store, "6A1", time.Now()))}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 {
		t.Errorf("failures = %+v, want the unstarted message reported", resp.BatchItemFailures)
	}
	if ok, refused := e.callsFor(mk); ok+refused != 0 {
		t.Error("a message started with too little time left")
	}
}
