package sqsqueue_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// sqsMaxMessageBytes is SQS's limit on a message: body and message
// attributes (name, type and value of each) together, 256 KiB. (SQS now
// takes up to 1 MiB on a queue configured for it; ordersync holds itself
// to 256 KiB, which every queue accepts.)
const sqsMaxMessageBytes = 256 << 10

// htmlTitle is a line title of 255 bytes (Shopify's longest) where one
// character in three is <, > or &: JSON's HTML escaping writes each as 6.
func htmlTitle(i int) string {
	s := strings.Repeat(fmt.Sprintf("<b>Bolts & nuts</b> M%d <x> ", i%10), 12)
	return s[:255]
}

// noiseTitle is a line title of 255 printable bytes that no compressor
// shrinks much.
func noiseTitle(r *rand.Rand) string {
	b := make([]byte, 255)
	for i := range b {
		b[i] = byte('(' + r.IntN(80)) // no '"' or '\\'
	}
	return string(b)
}

func manyLines(n int, title func(i int) string) order.Event {
	e := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "evt-1", Topic: "orders/updated",
		Order: order.Ref{StoreOrderID: "450789469", StoreOrderName: "#1001", MarketplaceOrderID: "BM-1"}, Status: order.StatusAccepted,
		ShippingAddress: &order.Address{Name: "Bob <Bobby> & Co", Line1: "1 <Main> St & 2nd", Country: "FR"}}
	for i := range n {
		e.Lines = append(e.Lines, order.Line{SKU: fmt.Sprintf("SKU<%d>&", i), Quantity: 1 + i%3,
			StoreLineID: fmt.Sprint(466157049 + i), Title: title(i)})
	}
	return e
}

// messageSize is what SQS counts of a received message.
func messageSize(m struct {
	body  string
	attrs map[string]string
}) int {
	n := len(m.body)
	for k, v := range m.attrs {
		n += len(k) + len("String") + len(v)
	}
	return n
}

// TestEnqueueKeepsToTheLimit: what Enqueue sends never HTML-escapes, is
// within SQS's limit whatever the event's size, and reads back as the
// event; an event that cannot be made to fit is refused before anything
// is sent.
func TestEnqueueKeepsToTheLimit(t *testing.T) {
	st := stacktest.New(t, nil)
	c := stacktest.Clients()
	url := st.Ref("SyncQueue")
	q := sqsqueue.New(c.SQS, url)
	r := rand.New(rand.NewPCG(16, 4))
	tests := []struct {
		name     string
		event    order.Event
		tooLarge bool
	}{
		{name: "<, > and & are sent as they are", event: manyLines(1, htmlTitle)},
		{name: "500 lines full of <, > and &", event: manyLines(500, htmlTitle)},
		{name: "1000 lines: over the limit even unescaped", event: manyLines(1000, htmlTitle)},
		{name: "1500 lines of noise: too large", event: manyLines(1500, func(int) string { return noiseTitle(r) }), tooLarge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			err := q.Enqueue(ctx, tt.event)
			res, rerr := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
				MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
			if rerr != nil {
				t.Fatal(rerr)
			}
			if tt.tooLarge {
				if !errors.Is(err, order.ErrEventTooLarge) {
					t.Errorf("Enqueue = %v, want order.ErrEventTooLarge", err)
				}
				if len(res.Messages) != 0 {
					t.Errorf("%d messages sent, want none", len(res.Messages))
				}
				return
			}
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
			body := aws.ToString(m.Body)
			got := struct {
				body  string
				attrs map[string]string
			}{body, map[string]string{}}
			for k, v := range m.MessageAttributes {
				got.attrs[k] = aws.ToString(v.StringValue)
			}
			if n := messageSize(got); n > sqsMaxMessageBytes {
				t.Errorf("message of %d bytes, over SQS's %d", n, sqsMaxMessageBytes)
			}
			if strings.Contains(body, `\u003c`) || strings.Contains(body, `\u0026`) {
				t.Errorf("the body HTML-escapes: %.200s…", body)
			}
			e, err := order.DecodeMessage(body)
			if err != nil {
				t.Fatalf("body %.200s…: %v", body, err)
			}
			if !reflect.DeepEqual(e, tt.event) {
				t.Errorf("the body reads back as another event")
			}
		})
	}
}
