package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// FullTimeline is an order's timeline at its bound, of every kind of
// entry, with ids and words as long as real ones: for round trips, and
// for measuring what a state item costs to write.
func FullTimeline(at time.Time) ([]order.TimelineEntry, int) {
	kinds := []order.TimelineEntry{
		{Kind: order.TimelineReceived, Source: order.Shopify, Topic: "orders/fulfilled", EventID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
		{Kind: order.TimelineCall, Source: order.BackMarket, Step: "ship", Code: "marketplace_unavailable", Detail: "HTTP 503"},
		{Kind: order.TimelineRetried, Code: "marketplace_unavailable", Detail: "try 1 of 3 failed; next try in 1.5s"},
		{Kind: order.TimelineFailed, Code: "shipping_data_missing", Detail: "failed after 3 tries"},
		{Kind: order.TimelineReceived, Source: "resync", Topic: "merchant/resync", EventID: "resync-0f4c2b9e8a7d6c5b4a39281706f5e4d3"},
		{Kind: order.TimelineCall, Source: order.BackMarket, Step: "accept", Detail: "ok"},
		{Kind: order.TimelineResolved, Topic: "merchant/resync", Code: "shipping_data_missing"},
		{Kind: order.TimelineSynced},
		{Kind: order.TimelineRefresh, Source: "ordersync", Step: "manual-change", Detail: "accepted → cancelled (state 7)"},
	}
	out := make([]order.TimelineEntry, order.MaxTimeline)
	for i := range out {
		out[i] = kinds[i%len(kinds)]
		out[i].At = at.Add(time.Duration(i) * 1234567 * time.Microsecond)
		if out[i].EventID != "" {
			// Every event its own id, as random as real ones.
			sum := sha256.Sum256([]byte{byte(i)})
			out[i].EventID = out[i].EventID[:len(out[i].EventID)-32] + hex.EncodeToString(sum[:16])
		}
	}
	return out, 17
}

func (s *suite) timeline(t *testing.T) {
	t.Run("kept with the state", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		in := shippedOrder(s.base)
		in.Timeline, in.TimelineDropped = FullTimeline(s.base)
		saved, err := h.Store.SaveOrder(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		// A write of the outcome, as the sync makes it, keeps it too.
		saved.Sync.Result = order.SyncSynced
		saved.AddTimeline(order.TimelineEntry{At: s.base.Add(time.Hour), Kind: order.TimelineSynced})
		if _, err := h.Store.SaveOrder(ctx, saved); err != nil {
			t.Fatal(err)
		}
		want := saved
		want.Version = 2
		got, err := h.Store.LoadOrder(ctx, "acme", "m1")
		if err != nil || jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("LoadOrder = %+v, %v;\nwant %+v", got.Timeline, err, want.Timeline)
		}
		if got.TimelineDropped != in.TimelineDropped+1 || len(got.Timeline) != order.MaxTimeline {
			t.Errorf("got %d entries, %d dropped; want %d, %d", len(got.Timeline), got.TimelineDropped, order.MaxTimeline, in.TimelineDropped+1)
		}
		if last := got.Timeline[len(got.Timeline)-1]; !last.At.Equal(s.base.Add(time.Hour)) || last.Kind != order.TimelineSynced {
			t.Errorf("newest entry = %+v, want the synced one", last)
		}
	})
	t.Run("loaded with many orders", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		in := shippedOrder(s.base)
		in.Timeline, _ = FullTimeline(s.base)
		if _, err := h.Store.SaveOrder(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := h.Store.LoadOrders(ctx, "acme", []string{"m1"})
		if err != nil || len(got["m1"].Timeline) != order.MaxTimeline {
			t.Errorf("LoadOrders = %d entries, %v; want %d", len(got["m1"].Timeline), err, order.MaxTimeline)
		}
	})
}
