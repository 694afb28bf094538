package ingest_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
)

// encodedQueue records how the handler hands it events.
type encodedQueue struct {
	enqueued []order.Event
	encoded  []string
}

var _ ingest.EncodedQueue = (*encodedQueue)(nil)

func (q *encodedQueue) Enqueue(_ context.Context, e order.Event) error {
	q.enqueued = append(q.enqueued, e)
	return nil
}

func (q *encodedQueue) EnqueueEncoded(_ context.Context, e order.Event, body string) error {
	q.enqueued = append(q.enqueued, e)
	q.encoded = append(q.encoded, body)
	return nil
}

// TestTheEventIsEncodedOnce: the handler encodes each event to refuse one
// too large; an EncodedQueue is given that message, the event's own
// encoding, and asked for no second one. With a deduper or without.
func TestTheEventIsEncodedOnce(t *testing.T) {
	for _, withDedup := range []bool{false, true} {
		t.Run(map[bool]string{false: "no deduper", true: "deduper"}[withDedup], func(t *testing.T) {
			e := newEnv(t, ingest.Config{})
			q := &encodedQueue{}
			var dedup ingest.Deduper
			if withDedup {
				dedup = e.dedup
			}
			h := ingest.New(ingest.Config{Now: e.dedup.Now}, e.conns, e.secrets, dedup, q, slog.New(slog.DiscardHandler))
			resp, err := h.Handle(context.Background(), shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret))
			if err != nil || resp.StatusCode != http.StatusAccepted {
				t.Fatalf("Handle = %d %s, %v; want 202", resp.StatusCode, resp.Body, err)
			}
			if len(q.enqueued) != 1 || len(q.encoded) != 1 {
				t.Fatalf("%d events queued, %d of them encoded; want 1 handed on encoded", len(q.enqueued), len(q.encoded))
			}
			want, err := order.EncodeMessage(q.enqueued[0])
			if err != nil {
				t.Fatal(err)
			}
			if q.encoded[0] != want {
				t.Errorf("message %s\nwant the event's encoding %s", q.encoded[0], want)
			}
		})
	}
}
