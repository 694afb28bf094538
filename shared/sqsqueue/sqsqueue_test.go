package sqsqueue_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// TestEnqueue checks what the sync receives: the event as its JSON body,
// and the connection and event id as attributes an operator can filter on.
// (The attribute check lived in merchantapi's tests, which now run on an
// in-memory queue.)
func TestEnqueue(t *testing.T) {
	st := stacktest.New(t, nil)
	c := stacktest.Clients()
	url := st.Ref("SyncQueue")
	q := sqsqueue.New(c.SQS, url)
	tests := []struct {
		name      string
		event     order.Event
		wantAttrs map[string]string
	}{
		{"a re-sync", order.Event{Connection: "acme", Source: "resync", SourceEventID: "resync-0123456789abcdef0123456789abcdef",
			Order: order.Ref{StoreOrderID: "s1", MarketplaceOrderID: "261673"}},
			map[string]string{"connection": "acme", "source_event_id": "resync-0123456789abcdef0123456789abcdef"}},
		{"no event id: the attribute is left out", order.Event{Connection: "acme", Source: "ordersync", Intent: order.IntentImport,
			Order: order.Ref{MarketplaceOrderID: "261674"}},
			map[string]string{"connection": "acme"}},
	}
	// The webhook hands on the message it encoded (EnqueueEncoded); the
	// message is the same.
	sends := map[string]func(context.Context, order.Event) error{
		"Enqueue": q.Enqueue,
		"EnqueueEncoded": func(ctx context.Context, e order.Event) error {
			body, err := order.EncodeMessage(e)
			if err != nil {
				return err
			}
			return q.EnqueueEncoded(ctx, e, body)
		},
	}
	for _, tt := range tests {
		for how, send := range sends {
			t.Run(tt.name+", "+how, func(t *testing.T) {
				ctx := t.Context()
				if err := send(ctx, tt.event); err != nil {
					t.Fatal(err)
				}
				res, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
					MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Messages) != 1 {
					t.Fatalf("%d messages on the queue, want 1", len(res.Messages))
				}
				m := res.Messages[0]
				if _, err := c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
				var got order.Event
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &got); err != nil {
					t.Fatalf("message %s: %v", aws.ToString(m.Body), err)
				}
				want, _ := json.Marshal(tt.event)
				if b, _ := json.Marshal(got); string(b) != string(want) {
					t.Errorf("body = %s, want %s", b, want)
				}
				gotAttrs := map[string]string{}
				for k, v := range m.MessageAttributes {
					gotAttrs[k] = aws.ToString(v.StringValue)
				}
				if len(gotAttrs) != len(tt.wantAttrs) {
					t.Errorf("attributes = %v, want %v", gotAttrs, tt.wantAttrs)
				}
				for k, v := range tt.wantAttrs {
					if gotAttrs[k] != v {
						t.Errorf("message attribute %s = %q, want %q", k, gotAttrs[k], v)
					}
				}
			})
		}
	}
}

// TestAMissingQueueIsAnError: the merchant API answers 503 on this.
func TestAMissingQueueIsAnError(t *testing.T) {
	st := stacktest.New(t, nil)
	q := sqsqueue.New(stacktest.Clients().SQS, st.Ref("SyncQueue")+"-missing")
	if err := q.Enqueue(t.Context(), order.Event{Connection: "acme", SourceEventID: "e1"}); err == nil {
		t.Error("Enqueue to a missing queue = nil, want an error")
	}
}
