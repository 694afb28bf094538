package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// The reads and writes of the refresh: checkpoints per side, orders read
// in bulk, the index of unsettled orders and the drift reports.

func (s *suite) checkpoints(t *testing.T) {
	sides := []refresh.Side{refresh.SideMarketplace, refresh.SideStore}

	t.Run("never refreshed is the zero checkpoint", func(t *testing.T) {
		h := s.fresh(t)
		for _, side := range sides {
			if got, err := h.Store.Checkpoint(t.Context(), "acme", side); err != nil || !got.Since.IsZero() || !got.RunAt.IsZero() {
				t.Errorf("Checkpoint(%s) = %+v, %v; want the zero checkpoint", side, got, err)
			}
		}
	})

	t.Run("set, replaced, per connection and side, in UTC", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		paris := time.FixedZone("CET", 3600)
		cp := func(since time.Duration) refresh.Checkpoint {
			return refresh.Checkpoint{Since: s.base.Add(since).In(paris).Add(123456789), RunAt: s.base.Add(since + time.Minute).In(paris)}
		}
		sets := []struct {
			conn string
			side refresh.Side
			cp   refresh.Checkpoint
		}{
			{"acme", refresh.SideMarketplace, cp(-3 * time.Hour)},
			{"acme", refresh.SideStore, cp(-2 * time.Hour)},
			{"other", refresh.SideMarketplace, cp(-time.Hour)},
			{"acme", refresh.SideMarketplace, cp(0)}, // replaces the first
		}
		for _, set := range sets {
			if err := h.Store.SetCheckpoint(ctx, set.conn, set.side, set.cp); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			conn string
			side refresh.Side
			want refresh.Checkpoint
		}{
			{"acme", refresh.SideMarketplace, sets[3].cp},
			{"acme", refresh.SideStore, sets[1].cp},
			{"other", refresh.SideMarketplace, sets[2].cp},
			{"other", refresh.SideStore, refresh.Checkpoint{}},
		}
		for _, tt := range tests {
			got, err := h.Store.Checkpoint(ctx, tt.conn, tt.side)
			if err != nil || !got.Since.Equal(tt.want.Since) || !got.RunAt.Equal(tt.want.RunAt) ||
				!tt.want.Since.IsZero() && (got.Since.Location() != time.UTC || got.RunAt.Location() != time.UTC) {
				t.Errorf("Checkpoint(%s, %s) = %+v, %v; want %+v in UTC", tt.conn, tt.side, got, err, tt.want)
			}
		}
	})

	t.Run("a checkpoint is not a connection", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		want := refresh.Checkpoint{Since: s.base, RunAt: s.base.Add(time.Minute)}
		if err := h.Store.SetCheckpoint(ctx, "acme", refresh.SideStore, want); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Store.Connection(ctx, "acme"); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Connection after SetCheckpoint = %+v, %v; want order.ErrNotFound", got, err)
		}
		if err := h.Store.PutConnection(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.PauseConnection(ctx, "acme", "auth_expired"); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Store.Checkpoint(ctx, "acme", refresh.SideStore); err != nil || !got.Since.Equal(want.Since) || !got.RunAt.Equal(want.RunAt) {
			t.Errorf("Checkpoint after PutConnection and PauseConnection = %+v, %v; want %+v", got, err, want)
		}
	})
}

// numbered returns n ids, prefix000 on.
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func (s *suite) loadOrders(t *testing.T) {
	t.Run("no ids is an empty map", func(t *testing.T) {
		h := s.fresh(t)
		for _, ids := range [][]string{nil, {}} {
			got, err := h.Store.LoadOrders(t.Context(), "acme", ids)
			if err != nil || got == nil || len(got) != 0 {
				t.Errorf("LoadOrders(%#v) = %#v, %v; want an empty map", ids, got, err)
			}
		}
	})

	// More ids than one BatchGetItem takes (100), repeated ids, ids with no
	// state and another connection's.
	t.Run("many, repeated and missing ids", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		ids := numbered("m", 230)
		want := map[string]order.State{}
		for i, id := range ids {
			st := shippedOrder(s.base)
			st.Ref.MarketplaceOrderID, st.MarketplaceState = id, fmt.Sprint(i)
			saved, err := h.Store.SaveOrder(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			want[id] = saved
		}
		// A write just before the read is seen (the read is consistent).
		updated := want["m150"]
		updated.StoreStatus = order.StatusCancelled
		updated, err := h.Store.SaveOrder(ctx, updated)
		if err != nil {
			t.Fatal(err)
		}
		want["m150"] = updated
		other := shippedOrder(s.base)
		other.Connection, other.Ref.MarketplaceOrderID = "other", "x1"
		if _, err := h.Store.SaveOrder(ctx, other); err != nil {
			t.Fatal(err)
		}

		ask := append(slices.Clone(ids), "m000", "m229", "m000", "missing-1", "x1", "missing-2")
		slices.Reverse(ask)
		got, err := h.Store.LoadOrders(ctx, "acme", ask)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("LoadOrders = %d states, want %d", len(got), len(want))
		}
		for id, w := range want {
			if g, ok := got[id]; !ok || jsonOf(t, g) != jsonOf(t, w) {
				t.Errorf("LoadOrders[%s] = %+v (present %t), want %+v", id, g, ok, w)
			}
		}
		for _, id := range []string{"missing-1", "missing-2", "x1"} {
			if g, ok := got[id]; ok {
				t.Errorf("LoadOrders[%s] = %+v, want it absent", id, g)
			}
		}
	})
}

func (s *suite) findOrders(t *testing.T) {
	t.Run("no ids is an empty map", func(t *testing.T) {
		h := s.fresh(t)
		got, err := h.Store.FindOrders(t.Context(), "acme", nil)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("FindOrders(nil) = %#v, %v; want an empty map", got, err)
		}
	})

	t.Run("many, repeated and unlinked ids", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		ids := numbered("s", 210)
		want := map[string]string{}
		for _, id := range ids {
			want[id] = "BM-" + id
			if err := h.Store.LinkOrder(ctx, "acme", id, want[id]); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Store.LinkOrder(ctx, "acme", "s007", "BM-relinked"); err != nil {
			t.Fatal(err)
		}
		want["s007"] = "BM-relinked"
		if err := h.Store.LinkOrder(ctx, "other", "x1", "BM-x1"); err != nil {
			t.Fatal(err)
		}
		ask := append([]string{"unlinked", "s209", "x1", "s007"}, ids...)
		ask = append(ask, "s007", "s100")
		got, err := h.Store.FindOrders(ctx, "acme", ask)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("FindOrders = %d links, want %d", len(got), len(want))
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("FindOrders[%s] = %q, want %q", id, got[id], w)
			}
		}
		for _, id := range []string{"unlinked", "x1"} {
			if g, ok := got[id]; ok {
				t.Errorf("FindOrders[%s] = %q, want it absent", id, g)
			}
		}
	})
}

// syncedAs is an order of acme that last synced with result r at at.
func syncedAs(id string, r order.SyncResult, at time.Time) order.State {
	st := shippedOrder(at)
	st.Ref.MarketplaceOrderID, st.Ref.StoreOrderID = id, "s-"+id
	st.Sync = order.SyncOutcome{Result: r, At: at}
	if r != order.SyncSynced {
		st.Sync.ErrorCode, st.Sync.FirstFailedAt = "sku_not_found", at.Add(-time.Minute)
	}
	return st
}

func orderIDs(states []order.State) []string {
	out := make([]string, len(states))
	for i, st := range states {
		out[i] = st.Ref.MarketplaceOrderID
	}
	return out
}

func (s *suite) unsettled(t *testing.T) {
	t.Run("pending, failed and held, oldest sync first", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		in := []order.State{
			syncedAs("failed", order.SyncFailed, s.base.Add(-time.Hour)),
			syncedAs("pending", order.SyncPending, s.base.Add(-3*time.Hour)),
			// Less than a second apart: the index must sort by the fraction.
			syncedAs("held", order.SyncHeld, s.base.Add(-3*time.Hour+500*time.Millisecond)),
			syncedAs("synced", order.SyncSynced, s.base.Add(-4*time.Hour)),
			{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "never-synced"}},
		}
		other := syncedAs("elsewhere", order.SyncFailed, s.base.Add(-5*time.Hour))
		other.Connection = "other"
		want := map[string]order.State{}
		for _, st := range append(in, other) {
			saved, err := h.Store.SaveOrder(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			want[st.Ref.MarketplaceOrderID] = saved
		}
		got, err := h.Store.Unsettled(ctx, "acme", 10)
		if err != nil || !slices.Equal(orderIDs(got), []string{"pending", "held", "failed"}) {
			t.Fatalf("Unsettled = %v, %v; want [pending held failed]", orderIDs(got), err)
		}
		for _, g := range got {
			if w := want[g.Ref.MarketplaceOrderID]; jsonOf(t, g) != jsonOf(t, w) {
				t.Errorf("Unsettled: %+v, want the whole state %+v", g, w)
			}
		}
		if got, err := h.Store.Unsettled(ctx, "other", 10); err != nil || !slices.Equal(orderIDs(got), []string{"elsewhere"}) {
			t.Errorf("Unsettled(other) = %v, %v; want [elsewhere]", orderIDs(got), err)
		}
	})

	t.Run("an order leaves once synced and comes back when it fails again", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		st, err := h.Store.SaveOrder(ctx, syncedAs("m1", order.SyncFailed, s.base.Add(-time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			result order.SyncResult
			want   []string
		}{
			{order.SyncSynced, nil},
			{order.SyncSynced, nil},
			{order.SyncPending, []string{"m1"}},
			{order.SyncHeld, []string{"m1"}},
			{order.SyncSynced, nil},
			{order.SyncFailed, []string{"m1"}},
		}
		for i, step := range steps {
			st.Sync = order.SyncOutcome{Result: step.result, At: s.base.Add(time.Duration(i) * time.Minute)}
			if st, err = h.Store.SaveOrder(ctx, st); err != nil {
				t.Fatal(err)
			}
			got, err := h.Store.Unsettled(ctx, "acme", 10)
			if err != nil || !slices.Equal(orderIDs(got), step.want) {
				t.Fatalf("after saving it %s (step %d): Unsettled = %v, %v; want %v", step.result, i, orderIDs(got), err, step.want)
			}
			if len(got) == 1 && (got[0].Version != st.Version || !got[0].Sync.At.Equal(st.Sync.At)) {
				t.Errorf("step %d: Unsettled = v%d synced %v, want the newest state v%d %v", i, got[0].Version, got[0].Sync.At, st.Version, st.Sync.At)
			}
		}
	})

	// Orders of 30 KB each: a limit over 33 needs more than one of the
	// index's 1 MB pages.
	t.Run("limited, across pages", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		const n = 40
		all := numbered("m", n) // oldest sync first
		big := strings.Repeat("x", 30<<10)
		// Saved newest first, so that the index's order is not the saves'.
		for i := n - 1; i >= 0; i-- {
			st := syncedAs(all[i], order.SyncFailed, s.base.Add(-time.Duration(n-i)*time.Minute))
			st.Lines[0].Title = big
			if i%2 == 0 {
				st.Sync.Result = order.SyncPending
			}
			if _, err := h.Store.SaveOrder(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		for _, limit := range []int{0, -1, 1, 7, n - 1, n, n + 10} {
			got, err := h.Store.Unsettled(ctx, "acme", limit)
			want := all[:max(0, min(limit, n))]
			if err != nil || !slices.Equal(orderIDs(got), want) {
				t.Errorf("Unsettled(limit %d) = %d %v, %v; want %d %v", limit, len(got), orderIDs(got), err, len(want), want)
			}
			for _, g := range got {
				if len(g.Lines) != 1 || g.Lines[0].Title != big {
					t.Errorf("Unsettled(limit %d): %s came back without its lines", limit, g.Ref.MarketplaceOrderID)
					break
				}
			}
		}
	})
}

// fullReport is a report with every field set.
func fullReport(at time.Time) refresh.Report {
	o := func(ids ...string) refresh.Orders { return refresh.Orders{Count: len(ids) + 1, IDs: ids} }
	return refresh.Report{Connection: "acme", At: at, FinishedAt: at.Add(3 * time.Second), Paused: true, Resumed: true,
		MarketplaceListed: 12, StoreListed: 9, InSync: o("m1", "m2"), Behind: o("m3"), ChangedByHand: o("m4"),
		Recovered: o("m5"), Imports: o("m6"), Retried: o("m7"), Resolved: o("m8"), StillFailing: o("m9"),
		EditsApplied: o("m10"), EditsRefused: o("m11"), Requeued: 2, GaveUp: 1}
}

func ats(rs []refresh.Report) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.At.UTC().Format(time.RFC3339Nano)
	}
	return out
}

func (s *suite) reports(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		want := fullReport(s.base.Add(-time.Minute))
		if err := h.Store.SaveReport(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := h.Store.Reports(ctx, "acme", 5)
		if err != nil || len(got) != 1 || jsonOf(t, got[0]) != jsonOf(t, want) {
			t.Errorf("Reports = %+v, %v; want [%+v]", got, err, want)
		}
	})

	t.Run("newest first, limited, per connection", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		paris := time.FixedZone("CET", 3600)
		// Times a fraction of a second apart, with and without one, in two
		// zones, saved out of order.
		times := []time.Time{
			s.base.Add(-time.Hour),
			s.base.Add(-2 * time.Hour).In(paris),
			s.base,
			s.base.Add(500 * time.Millisecond).In(paris),
			s.base.Add(-time.Hour + time.Nanosecond),
			s.base.Add(-24 * time.Hour),
		}
		for i, at := range times {
			r := refresh.Report{Connection: "acme", At: at, StoreListed: i}
			if err := h.Store.SaveReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Store.SaveReport(ctx, refresh.Report{Connection: "other", At: s.base.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		// Neither the connection nor its checkpoints are reports.
		if err := h.Store.PutConnection(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.SetCheckpoint(ctx, "acme", refresh.SideStore, refresh.Checkpoint{Since: s.base}); err != nil {
			t.Fatal(err)
		}
		newest := slices.Clone(times)
		slices.SortFunc(newest, func(a, b time.Time) int { return b.Compare(a) })
		var all []string
		for _, at := range newest {
			all = append(all, at.UTC().Format(time.RFC3339Nano))
		}
		for _, limit := range []int{0, -1, 1, 3, len(all), len(all) + 5} {
			got, err := h.Store.Reports(ctx, "acme", limit)
			want := all[:max(0, min(limit, len(all)))]
			if err != nil || !slices.Equal(ats(got), want) {
				t.Errorf("Reports(limit %d) = %v, %v; want %v", limit, ats(got), err, want)
			}
		}
		if got, err := h.Store.Reports(ctx, "nobody", 5); err != nil || len(got) != 0 {
			t.Errorf("Reports(nobody) = %v, %v; want none", ats(got), err)
		}
	})

	t.Run("the same time again replaces it", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		first := fullReport(s.base)
		again := refresh.Report{Connection: "acme", At: s.base.In(time.FixedZone("CET", 3600)), StoreListed: 99}
		for _, r := range []refresh.Report{first, again} {
			if err := h.Store.SaveReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := h.Store.Reports(ctx, "acme", 5)
		if err != nil || len(got) != 1 || jsonOf(t, got[0]) != jsonOf(t, again) {
			t.Errorf("Reports = %+v, %v; want just the second save %+v", got, err, again)
		}
	})

	t.Run("kept order.ErrorRetention", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if err := h.Store.SaveReport(ctx, refresh.Report{Connection: "acme", At: s.base}); err != nil {
			t.Fatal(err)
		}
		h.Clock.Set(s.base.Add(order.ErrorRetention - time.Second))
		if got, err := h.Store.Reports(ctx, "acme", 5); err != nil || len(got) != 1 {
			t.Errorf("a second before it expires: Reports = %v, %v; want the report", ats(got), err)
		}
		h.Clock.Set(s.base.Add(order.ErrorRetention))
		if got, err := h.Store.Reports(ctx, "acme", 5); err != nil || len(got) != 0 {
			t.Errorf("once expired: Reports = %v, %v; want none", ats(got), err)
		}
	})
}
