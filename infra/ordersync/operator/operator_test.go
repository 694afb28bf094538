package operator_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/infra/ordersync/operator"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// env is template.yaml's table and queues on the emulators, with the
// operator on them and a DLQ seeded as the sync leaves it.
type env struct {
	t          *testing.T
	sqs        *sqs.Client
	store      *dynamostore.Store
	queue, dlq string
	op         *operator.Operator
	slept      []time.Duration
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := stacktest.New(t, nil)
	c := stacktest.Clients()
	e := &env{t: t, sqs: c.SQS, store: dynamostore.New(c.DynamoDB, st.Ref("Table")), queue: st.Ref("SyncQueue"), dlq: st.Ref("SyncDLQ")}
	e.op = operator.New(operator.Config{SyncQueueURL: e.queue, DLQURL: e.dlq}, e.sqs, e.store, sqsqueue.New(e.sqs, e.queue))
	e.op.Sleep = func(d time.Duration) { e.slept = append(e.slept, d) }
	for _, id := range []string{"acme", "globex"} {
		if err := e.store.PutConnection(context.Background(), order.Connection{ID: id, Store: order.Endpoint{Platform: order.Shopify},
			Marketplace: order.Endpoint{Platform: order.BackMarket}}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

var day = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// failed stores order id of conn as failed with code at, and puts its
// event in the DLQ as SQS's redrive policy leaves it: the attributes it
// was first sent with, no reason.
func (e *env) failed(conn, id, code string, at time.Time) {
	e.t.Helper()
	ctx := context.Background()
	ref := order.Ref{MarketplaceOrderID: id, StoreOrderID: "s" + id, StoreOrderName: "#" + id}
	if _, err := e.store.SaveOrder(ctx, order.State{Connection: conn, Ref: ref, StoreStatus: order.StatusShipped,
		Sync:     order.SyncOutcome{Result: order.SyncFailed, ErrorCode: code, At: at, FirstFailedAt: at, Attempts: 1},
		Timeline: []order.TimelineEntry{{At: at, Kind: order.TimelineReceived, Source: order.Shopify}, {At: at, Kind: order.TimelineFailed, Code: code}}}); err != nil {
		e.t.Fatal(err)
	}
	body, err := order.EncodeMessage(order.Event{Connection: conn, Source: order.Shopify, SourceEventID: "evt-" + id, OccurredAt: at, Order: ref, Status: order.StatusShipped})
	if err != nil {
		e.t.Fatal(err)
	}
	e.sendDLQ(body, map[string]string{"connection": conn, "source_event_id": "evt-" + id})
}

func (e *env) sendDLQ(body string, attrs map[string]string) {
	e.t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(e.dlq), MessageBody: aws.String(body), MessageAttributes: map[string]sqstypes.MessageAttributeValue{}}
	for k, v := range attrs {
		in.MessageAttributes[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	if _, err := e.sqs.SendMessage(context.Background(), in); err != nil {
		e.t.Fatal(err)
	}
}

// seed fills the DLQ: two auth failures of acme, a missing tracking of
// acme, one of globex dead-lettered with its reason in attributes (as the
// sync did before it left that to the redrive policy), and an unreadable
// message.
func (e *env) seed() {
	e.failed("acme", "101", "auth_expired", day)
	e.failed("acme", "102", "auth_expired", day.Add(48*time.Hour))
	e.failed("acme", "103", "shipping_data_missing", day.Add(time.Hour))
	body, _ := order.EncodeMessage(order.Event{Connection: "globex", Source: order.Shopify, Order: order.Ref{MarketplaceOrderID: "201"}})
	e.sendDLQ(body, map[string]string{"error_code": "sku_not_found", "first_failed_at": day.Format(time.RFC3339), "connection": "globex"})
	e.sendDLQ("{not json", nil)
}

// visible reads every visible message of the queue, releasing each at
// once, and returns the marketplace order ids of their bodies (or the body).
func (e *env) visible(url string) []string {
	e.t.Helper()
	ctx := context.Background()
	var ids []string
	var held []*string
	for {
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			held = append(held, m.ReceiptHandle)
			ev, err := order.DecodeMessage(aws.ToString(m.Body))
			if err != nil {
				ids = append(ids, aws.ToString(m.Body))
				continue
			}
			ids = append(ids, ev.Order.MarketplaceOrderID)
		}
	}
	for _, h := range held {
		_, _ = e.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: h})
	}
	slices.Sort(ids)
	return ids
}

func TestListGroupsByConnectionAndCodeAndMovesNothing(t *testing.T) {
	e := newEnv(t)
	e.seed()
	groups, all, err := e.op.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Errorf("messages = %d, want 5", len(all))
	}
	got := map[string]int{}
	for _, g := range groups {
		got[g.Connection+"/"+g.Code] = g.Count
	}
	want := map[string]int{"acme/auth_expired": 2, "acme/shipping_data_missing": 1, "globex/sku_not_found": 1, "unknown/unreadable": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("group %s = %d, want %d (groups %+v)", k, got[k], n, groups)
		}
	}
	if g := groups[0]; g.Connection != "acme" || g.Code != "auth_expired" || !g.Oldest.Equal(day) || !g.Newest.Equal(day.Add(48*time.Hour)) {
		t.Errorf("largest group = %+v, want acme/auth_expired from %s to %s", g, day, day.Add(48*time.Hour))
	}
	if got, want := e.visible(e.dlq), []string{"101", "102", "103", "201", "{not json"}; !slices.Equal(got, want) {
		t.Errorf("DLQ after list = %v, want every message still there and visible: %v", got, want)
	}
}

func TestListTellsAnOrderThatSyncedSince(t *testing.T) {
	e := newEnv(t)
	e.failed("acme", "101", "auth_expired", day)
	st, err := e.store.LoadOrder(context.Background(), "acme", "101")
	if err != nil {
		t.Fatal(err)
	}
	st.Sync = order.SyncOutcome{Result: order.SyncSynced, At: day.Add(time.Hour)}
	st.Resolved = &order.Resolution{Code: "auth_expired", At: day.Add(time.Hour), How: "connection/resumed"}
	if _, err := e.store.SaveOrder(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	groups, _, err := e.op.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Code != "auth_expired" || groups[0].Count != 1 || groups[0].Resolved != 1 {
		t.Errorf("groups = %+v, want one auth_expired, resolved since", groups)
	}
}

func TestRedriveMovesOnlyTheMatchingMessages(t *testing.T) {
	for _, tc := range []struct {
		name          string
		filter        operator.Filter
		moved, stayed []string
	}{
		{"a connection", operator.Filter{Connection: "acme"}, []string{"101", "102", "103"}, []string{"201", "{not json"}},
		{"a code", operator.Filter{Code: "auth_expired"}, []string{"101", "102"}, []string{"103", "201", "{not json"}},
		{"a code from its attributes", operator.Filter{Code: "sku_not_found"}, []string{"201"}, []string{"101", "102", "103", "{not json"}},
		{"a date range", operator.Filter{Since: day, Until: day.Add(24 * time.Hour)}, []string{"101", "103", "201"}, []string{"102", "{not json"}},
		{"a connection and a code", operator.Filter{Connection: "acme", Code: "shipping_data_missing"}, []string{"103"}, []string{"101", "102", "201", "{not json"}},
		{"an order", operator.Filter{MarketplaceOrderID: "102"}, []string{"102"}, []string{"101", "103", "201", "{not json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.seed()
			res, err := e.op.Redrive(context.Background(), tc.filter, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Matched != len(tc.moved) || res.Redriven != len(tc.moved) || res.LeftInDLQ != len(tc.stayed) {
				t.Errorf("result = %+v, want %d matched and redriven, %d left", res, len(tc.moved), len(tc.stayed))
			}
			if got := e.visible(e.queue); !slices.Equal(got, tc.moved) {
				t.Errorf("sync queue = %v, want %v", got, tc.moved)
			}
			if got := e.visible(e.dlq); !slices.Equal(got, tc.stayed) {
				t.Errorf("DLQ = %v, want %v left in place and visible", got, tc.stayed)
			}
		})
	}
}

// TestRedriveKeepsTheMessageAttributes: the message goes back with its
// attributes and the code it was dead-lettered for, which the sync logs
// and counts as a redrive.
func TestRedriveKeepsTheMessageAttributes(t *testing.T) {
	e := newEnv(t)
	e.seed()
	if _, err := e.op.Redrive(context.Background(), operator.Filter{Code: "sku_not_found"}, 0, false); err != nil {
		t.Fatal(err)
	}
	out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queue), MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("sync queue: %v, %v", out, err)
	}
	if got := aws.ToString(out.Messages[0].MessageAttributes["connection"].StringValue); got != "globex" {
		t.Errorf("connection attribute = %q, want globex", got)
	}
	if got := aws.ToString(out.Messages[0].MessageAttributes["error_code"].StringValue); got != "sku_not_found" {
		t.Errorf("error_code attribute = %q, want the code it was dead-lettered for", got)
	}
}

func TestDryRunCountsAndMovesNothing(t *testing.T) {
	e := newEnv(t)
	e.seed()
	res, err := e.op.Redrive(context.Background(), operator.Filter{Connection: "acme"}, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := (operator.RedriveResult{Matched: 3, LeftInDLQ: 2, DryRun: true}); res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	if got := e.visible(e.queue); len(got) != 0 {
		t.Errorf("sync queue = %v, want nothing moved", got)
	}
	if got := e.visible(e.dlq); len(got) != 5 {
		t.Errorf("DLQ = %v, want all 5 still there", got)
	}
}

func TestRedriveKeepsToItsRate(t *testing.T) {
	e := newEnv(t)
	e.seed()
	if _, err := e.op.Redrive(context.Background(), operator.Filter{Connection: "acme"}, 4, false); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}
	if !slices.Equal(e.slept, want) {
		t.Errorf("waits = %v, want %v between the 3 messages at 4 a second", e.slept, want)
	}
}

func TestResyncQueuesStoredOrders(t *testing.T) {
	e := newEnv(t)
	e.failed("acme", "101", "auth_expired", day)
	res, err := e.op.Resync(context.Background(), "acme", []string{"101", "999"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Queued, []string{"101"}) || !slices.Equal(res.NotFound, []string{"999"}) {
		t.Errorf("result = %+v, want 101 queued, 999 not found", res)
	}
	out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queue), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("sync queue: %v, %v", out, err)
	}
	var ev order.Event
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &ev); err != nil || ev.Order.MarketplaceOrderID != "101" || ev.Topic != "merchant/resync" {
		t.Errorf("queued event = %+v, %v; want a re-sync of 101", ev, err)
	}
}

func TestOrderShowsStateAndTimeline(t *testing.T) {
	e := newEnv(t)
	e.failed("acme", "101", "auth_expired", day)
	st, err := e.op.Order(context.Background(), "acme", "101")
	if err != nil || st.Sync.ErrorCode != "auth_expired" || st.Ref.StoreOrderName != "#101" {
		t.Errorf("order = %+v, %v", st, err)
	}
	if len(st.Timeline) != 2 || st.Timeline[1].Kind != order.TimelineFailed || st.Timeline[1].Code != "auth_expired" {
		t.Errorf("timeline = %+v, want received then failed with auth_expired", st.Timeline)
	}
	if _, err := e.op.Order(context.Background(), "acme", "999"); err == nil {
		t.Error("an order not stored: no error")
	}
}
