package ingesttest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/ingest/ingesttest"
	"github.com/ordersync/ordersync/shared/order"
)

func TestDeduperConformance(t *testing.T) {
	ingesttest.TestDeduper(t, func(*testing.T) ingest.Deduper { return ingesttest.NewDeduper() })
}

func TestDeduperStaleClaimIsTakenOver(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	d := ingesttest.NewDeduper()
	d.Now = func() time.Time { return now }
	d.InFlightWindow = time.Minute
	ctx := context.Background()
	if got, _ := d.Claim(ctx, "k", time.Hour); got != ingest.Claimed {
		t.Fatalf("first Claim = %v, want claimed", got)
	}
	now = now.Add(2 * time.Minute) // the first delivery died without releasing
	if got, _ := d.Claim(ctx, "k", time.Hour); got != ingest.Claimed {
		t.Fatalf("Claim after the in-flight window = %v, want claimed", got)
	}
	if err := d.Confirm(ctx, "k", order.Event{Connection: "c", SourceEventID: "k"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour) // past the ttl: forgotten
	if got, _ := d.Claim(ctx, "k", time.Hour); got != ingest.Claimed {
		t.Fatalf("Claim after the ttl = %v, want claimed", got)
	}
}

func TestEncodingQueueCountsTheSQSBody(t *testing.T) {
	q := &ingesttest.EncodingQueue{}
	e := order.Event{Connection: "c1", Source: order.Shopify, SourceEventID: "evt-1", Topic: "orders/updated"}
	if err := q.Enqueue(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	want, err := order.EncodeMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if n, b := q.Sent(); n != 1 || b != int64(len(want)) {
		t.Errorf("Sent() = %d, %d; want 1, %d", n, b, len(want))
	}
	q.Err = context.DeadlineExceeded
	if err := q.Enqueue(context.Background(), e); err != context.DeadlineExceeded {
		t.Errorf("Enqueue with Err set = %v; want it", err)
	}
	if n, _ := q.Sent(); n != 1 {
		t.Errorf("Sent() after a failed Enqueue = %d; want 1", n)
	}
}
