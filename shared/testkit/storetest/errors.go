package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

func failure(conn, marketplaceID string, at time.Time) order.ErrorRecord {
	return order.ErrorRecord{Connection: conn, MarketplaceOrderID: marketplaceID, StoreOrderID: "s-" + marketplaceID,
		StoreOrderName: "#" + marketplaceID, Code: "shipping_data_missing", Kind: "permanent", Title: "Shipping data missing",
		Cause: "Order #" + marketplaceID + " was not marked shipped", Remedy: "Add the tracking number", Attempts: 1, At: at}
}

// ids returns the records' marketplace order ids, in order.
func ids(rs []order.ErrorRecord) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.MarketplaceOrderID)
	}
	return out
}

// seq returns prefix0 … prefix(n-1).
func seq(prefix string, from, to int) []string {
	out := []string{}
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(prefix, i))
	}
	return out
}

func (s *suite) errors(t *testing.T) {
	const week = 7 * 24 * time.Hour

	t.Run("newest first, with limit and since", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		// 25 errors every 6 h back from now (all within the week), one
		// of another connection, and one 8 days old (expired; a table's
		// TTL may not have deleted it yet).
		for i := range 25 {
			if err := h.Store.RecordError(ctx, failure("acme", fmt.Sprint("m", i), s.base.Add(-time.Duration(i)*6*time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range []order.ErrorRecord{failure("other", "x1", s.base), failure("acme", "old", s.base.Add(-8*24*time.Hour))} {
			if err := h.Store.RecordError(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name  string
			conn  string
			since time.Time
			limit int
			want  []string
		}{
			{"the newest 20 of the week", "acme", s.base.Add(-week), 20, seq("m", 0, 20)},
			{"at most 5", "acme", s.base.Add(-week), 5, seq("m", 0, 5)},
			{"all 25 of the week", "acme", s.base.Add(-week), 100, seq("m", 0, 25)},
			{"since 48 h: 0, 6, …, 48 h", "acme", s.base.Add(-48 * time.Hour), 20, seq("m", 0, 9)},
			{"since a month: the expired one is left out", "acme", s.base.Add(-30 * 24 * time.Hour), 100, seq("m", 0, 25)},
			{"since now", "acme", s.base, 20, []string{"m0"}},
			{"since a second from now", "acme", s.base.Add(time.Second), 20, []string{}},
			{"another connection's", "other", s.base.Add(-week), 20, []string{"x1"}},
			{"a connection without errors", "quiet", s.base.Add(-week), 20, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := h.Store.RecentErrors(ctx, tt.conn, tt.since, tt.limit)
				if err != nil || !slices.Equal(ids(got), tt.want) {
					t.Errorf("RecentErrors = %v, %v; want %v", ids(got), err, tt.want)
				}
				for i := 1; i < len(got); i++ {
					if !got[i].At.Before(got[i-1].At) {
						t.Errorf("not newest first at %d: %v then %v", i, got[i-1].At, got[i].At)
					}
				}
			})
		}
		t.Run("a record comes back whole", func(t *testing.T) {
			got, err := h.Store.RecentErrors(ctx, "acme", s.base, 1)
			want := failure("acme", "m0", s.base)
			if err != nil || len(got) != 1 || jsonOf(t, got[0]) != jsonOf(t, want) {
				t.Errorf("RecentErrors = %+v, %v; want [%+v]", got, err, want)
			}
		})
		t.Run("seen 8 days later, every one has expired", func(t *testing.T) {
			h.Clock.Advance(8 * 24 * time.Hour)
			if got, err := h.Store.RecentErrors(ctx, "acme", s.base.Add(-30*24*time.Hour), 20); err != nil || len(got) != 0 {
				t.Errorf("RecentErrors = %v, %v; want none (expired items are left out before a TTL deletes them)", ids(got), err)
			}
		})
	})

	t.Run("since is inclusive to the nanosecond, and order holds within a second", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		offsets := map[string]time.Duration{
			"before": -time.Nanosecond, "at": 0, "1ns": time.Nanosecond, "123ms": 123 * time.Millisecond,
			"123.4ms": 123400 * time.Microsecond, "250ms": 250 * time.Millisecond, "500ms": 500 * time.Millisecond, "1s": time.Second,
		}
		for id, d := range offsets {
			if err := h.Store.RecordError(ctx, failure("acme", id, s.base.Add(d))); err != nil {
				t.Fatal(err)
			}
		}
		got, err := h.Store.RecentErrors(ctx, "acme", s.base, 20)
		want := []string{"1s", "500ms", "250ms", "123.4ms", "123ms", "1ns", "at"}
		if err != nil || !slices.Equal(ids(got), want) {
			t.Errorf("RecentErrors since %v = %v, %v; want %v", s.base, ids(got), err, want)
		}
	})

	t.Run("an order failing again in its run of failures is listed once, as it last failed", func(t *testing.T) {
		// A merchant re-syncing an order it has not fixed yet, or the
		// hourly check retrying an outage for a day, made one entry a
		// try: the order crowded the others out of the last 20.
		h := s.fresh(t)
		ctx := t.Context()
		run := s.base.Add(-3 * time.Hour)
		for i, at := range []time.Duration{-3 * time.Hour, -2 * time.Hour, -time.Hour} {
			r := failure("acme", "m1", s.base.Add(at))
			r.Since, r.Attempts = run, i+1
			if err := h.Store.RecordError(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		other := failure("acme", "m1", s.base.Add(-90*time.Minute)) // another problem of the run
		other.Code, other.Since = "sku_not_found", run
		later := failure("acme", "m1", s.base) // a run of its own, after the order synced
		later.Since = s.base
		for _, r := range []order.ErrorRecord{other, later, failure("acme", "m2", s.base.Add(-30*time.Minute))} {
			if err := h.Store.RecordError(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := h.Store.RecentErrors(ctx, "acme", s.base.Add(-week), 20)
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, r := range got {
			listed = append(listed, fmt.Sprintf("%s %s %d", r.MarketplaceOrderID, r.Code, r.Attempts))
		}
		want := []string{"m1 shipping_data_missing 1", "m2 shipping_data_missing 1", "m1 shipping_data_missing 3", "m1 sku_not_found 1"}
		if !slices.Equal(listed, want) {
			t.Errorf("RecentErrors = %q, want %q", listed, want)
		}
		if len(got) > 2 && !got[2].At.Equal(s.base.Add(-time.Hour)) {
			t.Errorf("the run's entry is listed at %v, want its last failure's %v", got[2].At, s.base.Add(-time.Hour))
		}
	})
	t.Run("a failure is listed for a week, to the second", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if err := h.Store.RecordError(ctx, failure("acme", "m1", s.base)); err != nil {
			t.Fatal(err)
		}
		for _, st := range []struct {
			name string
			at   time.Time
			want []string
		}{
			{"a second before the week is out", s.base.Add(order.ErrorRetention - time.Second), []string{"m1"}},
			{"a week later", s.base.Add(order.ErrorRetention), []string{}},
		} {
			h.Clock.Set(st.at)
			if got, err := h.Store.RecentErrors(ctx, "acme", s.base.Add(-time.Hour), 10); err != nil || !slices.Equal(ids(got), st.want) {
				t.Errorf("%s: RecentErrors = %v, %v; want %v", st.name, ids(got), err, st.want)
			}
		}
	})

	// DynamoDB returns at most 1 MB per page: 110 errors of 12 KB take two,
	// whatever the limit.
	t.Run("every error of the week, past one page", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		for i := range 110 {
			r := failure("acme", fmt.Sprint("m", i), s.base.Add(-time.Duration(i)*time.Minute))
			r.Cause += strings.Repeat(".", 12<<10)
			if err := h.Store.RecordError(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			limit int
			want  []string
		}{
			{100, seq("m", 0, 100)},
			{1000, seq("m", 0, 110)}, // the refresh's
		} {
			got, err := h.Store.RecentErrors(ctx, "acme", s.base.Add(-week), tt.limit)
			if err != nil || !slices.Equal(ids(got), tt.want) {
				t.Errorf("RecentErrors(limit %d) = %d %v, %v; want %d %v", tt.limit, len(got), ids(got), err, len(tt.want), tt.want)
			}
		}
	})

	t.Run("limits", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		for i := range 3 {
			if err := h.Store.RecordError(ctx, failure("acme", fmt.Sprint("m", i), s.base.Add(-time.Duration(i)*time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			limit int
			want  []string
		}{
			{-1, []string{}},
			{0, []string{}},
			{1, []string{"m0"}},
			{2, []string{"m0", "m1"}},
			{3, seq("m", 0, 3)},
			{4, seq("m", 0, 3)},
		} {
			t.Run(fmt.Sprint("limit ", tt.limit), func(t *testing.T) {
				got, err := func() (_ []order.ErrorRecord, err error) {
					defer func() {
						if p := recover(); p != nil {
							err = fmt.Errorf("panic: %v", p)
						}
					}()
					return h.Store.RecentErrors(ctx, "acme", s.base.Add(-week), tt.limit)
				}()
				if err != nil || !slices.Equal(ids(got), tt.want) {
					t.Errorf("RecentErrors = %v, %v; want %v", ids(got), err, tt.want)
				}
			})
		}
	})

	t.Run("one failure of an order at one time is listed once", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		again := failure("acme", "m1", s.base)
		again.Attempts = 2
		for _, r := range []order.ErrorRecord{failure("acme", "m1", s.base), again, failure("acme", "m2", s.base)} {
			if err := h.Store.RecordError(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := h.Store.RecentErrors(ctx, "acme", s.base.Add(-time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]order.ErrorRecord{}
		for _, r := range got {
			byID[r.MarketplaceOrderID] = r
		}
		if len(got) != 2 || byID["m1"].Attempts != 2 || byID["m2"].Attempts != 1 {
			t.Errorf("RecentErrors = %+v; want m1 once, as recorded last (2 attempts), and m2, failing at the same time", got)
		}
	})
}
