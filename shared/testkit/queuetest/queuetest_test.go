package queuetest_test

import (
	"errors"
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
