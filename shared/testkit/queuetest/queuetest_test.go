package queuetest_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/testkit/queuetest"
)

var (
	_ refresh.Queue     = (*queuetest.Queue)(nil)
	_ merchantapi.Queue = (*queuetest.Queue)(nil)
)

func TestQueue(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	events := []order.Event{
		{Connection: "acme", Source: "resync", SourceEventID: "e1", Order: order.Ref{MarketplaceOrderID: "m1"}},
		{Connection: "acme", Source: "ordersync", SourceEventID: "e2", OccurredAt: at, Intent: order.IntentImport,
			Parcels: []order.Parcel{{ID: "f1", Lines: []order.Line{{SKU: "A", Quantity: 1}}}}},
	}
	tests := []struct {
		name    string
		err     error
		wantLen int
	}{
		{"queued in order", nil, 2},
		{"an outage queues nothing", errors.New("sqs: throttled"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &queuetest.Queue{Err: tt.err}
			for _, e := range events {
				if err := q.Enqueue(ctx, e); !errors.Is(err, tt.err) {
					t.Fatalf("Enqueue = %v, want %v", err, tt.err)
				}
			}
			events[1].Parcels[0].ID = "changed after enqueue"
			defer func() { events[1].Parcels[0].ID = "f1" }()
			if got := q.Len(); got != tt.wantLen {
				t.Errorf("Len = %d, want %d", got, tt.wantLen)
			}
			got, err := q.Take()
			if err != nil || len(got) != tt.wantLen {
				t.Fatalf("Take = %+v, %v; want %d events", got, err, tt.wantLen)
			}
			if tt.wantLen > 0 && (got[0].SourceEventID != "e1" || got[1].SourceEventID != "e2" || !got[1].OccurredAt.Equal(at) ||
				got[1].Intent != order.IntentImport || got[1].Parcels[0].ID != "f1") {
				t.Errorf("Take = %+v, want the events as enqueued, oldest first", got)
			}
			if n := q.Len(); n != 0 {
				t.Errorf("Len after Take = %d, want 0", n)
			}
		})
	}
}

// TestEnqueueBatch: a batch is queued in its order; an event too large for
// a message is reported and the others are queued all the same.
func TestEnqueueBatch(t *testing.T) {
	// Titles no compressor shrinks much: packed, it is still too large.
	r := rand.New(rand.NewPCG(1, 2))
	huge := order.Event{Connection: "acme", SourceEventID: "huge"}
	for i := range 3000 {
		b := make([]byte, 255)
		for j := range b {
			b[j] = byte('(' + r.IntN(80))
		}
		huge.Lines = append(huge.Lines, order.Line{SKU: fmt.Sprint("SKU-", i), Title: string(b), Quantity: 1})
	}
	q := &queuetest.Queue{}
	err := q.EnqueueBatch(t.Context(), []order.Event{{Connection: "acme", SourceEventID: "e1"}, huge, {Connection: "acme", SourceEventID: "e3"}})
	if !errors.Is(err, order.ErrEventTooLarge) || !strings.Contains(err.Error(), "huge") {
		t.Errorf("EnqueueBatch = %v, want the too-large event named", err)
	}
	got, err := q.Take()
	var ids []string
	for _, e := range got {
		ids = append(ids, e.SourceEventID)
	}
	if err != nil || strings.Join(ids, ",") != "e1,e3" {
		t.Errorf("Take = %v, %v; want e1, e3", ids, err)
	}
	q.Err = errors.New("sqs: throttled")
	if err := q.EnqueueBatch(t.Context(), []order.Event{{Connection: "acme"}}); !errors.Is(err, q.Err) || q.Len() != 0 {
		t.Errorf("EnqueueBatch in an outage = %v, %d queued; want the outage, none", err, q.Len())
	}
}
