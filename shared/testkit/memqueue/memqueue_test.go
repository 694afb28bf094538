package memqueue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestDeliverySemantics(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1e9, 0)}
	dlq := New("dlq", Options{Now: c.now})
	q := New("sync", Options{Visibility: 10 * time.Second, MaxReceiveCount: 2, DLQ: dlq, Now: c.now})
	if err := q.Send(ctx, "a", map[string]string{"k": "v", "empty": ""}); err != nil {
		t.Fatal(err)
	}
	t.Run("a received message is invisible until its timeout", func(t *testing.T) {
		got, _ := q.Receive(10)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != "1" {
			t.Fatalf("first receive = %+v, want a with count 1", got)
		}
		if _, ok := got[0].MessageAttributes["empty"]; ok {
			t.Error("an empty attribute was kept; SQS refuses them")
		}
		if again, _ := q.Receive(10); len(again) != 0 {
			t.Errorf("received %d while in flight, want 0", len(again))
		}
		c.add(10 * time.Second)
		again, _ := q.Receive(10)
		if len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
			t.Fatalf("after the timeout = %+v, want a with count 2", again)
		}
		if err := q.Delete(got[0].ReceiptHandle); !errors.Is(err, ErrUnknownReceipt) {
			t.Errorf("delete with a stale receipt = %v, want ErrUnknownReceipt", err)
		}
		if err := q.RetryIn(ctx, again[0].ReceiptHandle, 0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("past maxReceiveCount it moves to the DLQ with its source", func(t *testing.T) {
		if got, _ := q.Receive(10); len(got) != 0 {
			t.Errorf("received %+v past maxReceiveCount", got)
		}
		dl := dlq.Messages()
		if len(dl) != 1 || dl[0].Body != "a" || dl[0].Source != "sync" || dl[0].Attributes["k"] != "v" {
			t.Errorf("DLQ = %+v, want a from sync with its attributes", dl)
		}
		if _, _, total := q.Counts(); total != 0 {
			t.Errorf("queue holds %d, want 0", total)
		}
	})
	t.Run("a resent message waits for its delay and counts afresh", func(t *testing.T) {
		if err := q.Resend(ctx, "b", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if got, _ := q.Receive(10); len(got) != 0 {
			t.Errorf("received %d before the delay", len(got))
		}
		c.add(5 * time.Second)
		got, _ := q.Receive(10)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != "1" {
			t.Fatalf("after the delay = %+v", got)
		}
		if err := q.Delete(got[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("VisibleAt is when a receive may next return the message", func(t *testing.T) {
		visibleIn := func() time.Duration {
			t.Helper()
			m := q.Messages()
			if len(m) != 1 {
				t.Fatalf("queue holds %d messages, want 1", len(m))
			}
			return m[0].VisibleAt.Sub(c.now())
		}
		if err := q.Resend(ctx, "c", 4*time.Second); err != nil {
			t.Fatal(err)
		}
		if got, want := visibleIn(), 4*time.Second; got != want {
			t.Errorf("after a resend: visible in %v, want its delay %v", got, want)
		}
		c.add(4 * time.Second)
		got, _ := q.Receive(10)
		if len(got) != 1 {
			t.Fatalf("received %d after the delay, want 1", len(got))
		}
		if got, want := visibleIn(), 10*time.Second; got != want {
			t.Errorf("after a receive: visible in %v, want the visibility timeout %v", got, want)
		}
		if err := q.RetryIn(ctx, got[0].ReceiptHandle, 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if got, want := visibleIn(), 1500*time.Millisecond; got != want {
			t.Errorf("after RetryIn: visible in %v, want %v", got, want)
		}
		c.add(1500 * time.Millisecond)
		again, _ := q.Receive(10)
		if len(again) != 1 {
			t.Fatalf("received %d at the retry's time, want 1", len(again))
		}
		if err := q.Delete(again[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("faults fail the operation", func(t *testing.T) {
		boom := errors.New("throttled")
		f := New("f", Options{Faults: func(op string) error {
			if op == "send" {
				return boom
			}
			return nil
		}})
		if err := f.Send(ctx, "x", nil); !errors.Is(err, boom) {
			t.Errorf("send = %v, want the fault", err)
		}
		if f.Sent() != 0 {
			t.Error("a failed send was kept")
		}
	})
	t.Run("a message over SQS's limit is refused, attributes included", func(t *testing.T) {
		l := New("l", Options{})
		body := strings.Repeat("x", order.MaxMessageBytes-len("k")-len("String")-len("v"))
		if err := l.Send(ctx, body, map[string]string{"k": "v"}); err != nil {
			t.Errorf("a message of exactly the limit: %v", err)
		}
		if err := l.Send(ctx, body+"x", map[string]string{"k": "v"}); err == nil {
			t.Error("a message of one byte more was sent")
		}
		if l.Sent() != 1 {
			t.Errorf("sent %d, want 1", l.Sent())
		}
	})
}

// TestEnqueueBatch: each event is a message with its attributes, in order;
// one the queue refuses is reported and does not stop the others.
func TestEnqueueBatch(t *testing.T) {
	refuse := 2
	n := 0
	q := New("sync", Options{Faults: func(op string) error {
		if op == "send" {
			if n++; n == refuse {
				return errors.New("throttled")
			}
		}
		return nil
	}})
	err := q.EnqueueBatch(context.Background(), []order.Event{
		{Connection: "acme", SourceEventID: "e1"}, {Connection: "acme", SourceEventID: "e2"}, {Connection: "beta", SourceEventID: "e3"}})
	if err == nil || !strings.Contains(err.Error(), "e2") || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("EnqueueBatch = %v, want e2's failure", err)
	}
	msgs := q.Messages()
	if len(msgs) != 2 || msgs[0].Attributes["source_event_id"] != "e1" || msgs[1].Attributes["connection"] != "beta" {
		t.Fatalf("messages = %+v, want e1 and e3 with their attributes", msgs)
	}
	if e, err := order.DecodeMessage(msgs[1].Body); err != nil || e.SourceEventID != "e3" {
		t.Errorf("body = %s (%v), want e3 as order.EncodeMessage writes it", msgs[1].Body, err)
	}
}
