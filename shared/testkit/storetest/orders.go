package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// shippedOrder is an order state with every kind of field set.
func shippedOrder(at time.Time) order.State {
	return order.State{Connection: "acme", Ref: order.Ref{StoreOrderID: "s1", StoreOrderName: "#1001", MarketplaceOrderID: "m1"},
		StoreStatus: order.StatusShipped, StoreUpdatedAt: at.Add(-time.Hour),
		Lines:           []order.Line{{SKU: "A", Quantity: 1, StoreLineID: "l1", MarketplaceLineID: "ml1", Title: "Widget"}},
		ShippingAddress: &order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"},
		Parcels: []order.Parcel{{ID: "f1", Tracking: order.Tracking{Number: "1Z", Carrier: "UPS", URL: "https://ups.test/1Z"},
			Lines: []order.Line{{SKU: "A", Quantity: 1}}}},
		MarketplaceStatus: order.StatusAccepted, MarketplaceState: "3",
		Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "sku_not_found", Message: "m", Attempts: 2, At: at, FirstFailedAt: at.Add(-time.Minute)}}
}

func (s *suite) orders(t *testing.T) {
	t.Run("create at version 0", func(t *testing.T) {
		h := s.fresh(t)
		in := shippedOrder(s.base)
		saved, err := h.Store.SaveOrder(t.Context(), in)
		if err != nil || saved.Version != 1 {
			t.Fatalf("SaveOrder = v%d, %v; want v1", saved.Version, err)
		}
		want := in
		want.Version = 1
		got, err := h.Store.LoadOrder(t.Context(), "acme", "m1")
		if err != nil || jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("LoadOrder = %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("update at the stored version", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		st := shippedOrder(s.base)
		for v := int64(1); v <= 3; v++ {
			st.Sync.Attempts = int(v)
			var err error
			if st, err = h.Store.SaveOrder(ctx, st); err != nil || st.Version != v {
				t.Fatalf("save %d = v%d, %v; want v%d", v, st.Version, err, v)
			}
		}
		got, err := h.Store.LoadOrder(ctx, "acme", "m1")
		if err != nil || got.Version != 3 || got.Sync.Attempts != 3 {
			t.Errorf("LoadOrder = v%d with %d attempts, %v; want v3 with 3", got.Version, got.Sync.Attempts, err)
		}
	})

	conflicts := []struct {
		name    string
		stored  int   // saves before the write (0: none)
		version int64 // the version the write was read at
	}{
		{"create over an existing order", 1, 0},
		{"a stale version", 3, 2},
		{"a version ahead of the stored one", 1, 2},
		{"an update of an order never stored", 0, 1},
		{"a negative version", 1, -1},
	}
	for _, tt := range conflicts {
		t.Run("conflict: "+tt.name, func(t *testing.T) {
			h := s.fresh(t)
			ctx := t.Context()
			st := shippedOrder(s.base)
			for range tt.stored {
				var err error
				if st, err = h.Store.SaveOrder(ctx, st); err != nil {
					t.Fatal(err)
				}
			}
			before, beforeErr := h.Store.LoadOrder(ctx, "acme", "m1")
			w := shippedOrder(s.base)
			w.Version, w.StoreStatus, w.Parcels = tt.version, order.StatusCancelled, nil
			got, err := h.Store.SaveOrder(ctx, w)
			if !errors.Is(err, order.ErrConflict) {
				t.Fatalf("SaveOrder at v%d over %d saves = v%d, %v; want order.ErrConflict", tt.version, tt.stored, got.Version, err)
			}
			after, afterErr := h.Store.LoadOrder(ctx, "acme", "m1")
			if jsonOf(t, after) != jsonOf(t, before) || fmt.Sprint(afterErr) != fmt.Sprint(beforeErr) {
				t.Errorf("after the conflict LoadOrder = %+v, %v; want it unchanged: %+v, %v", after, afterErr, before, beforeErr)
			}
		})
	}

	t.Run("ids are required", func(t *testing.T) {
		for _, ref := range []struct{ conn, id string }{{"", "m1"}, {"acme", ""}} {
			h := s.fresh(t)
			st := shippedOrder(s.base)
			st.Connection, st.Ref.MarketplaceOrderID = ref.conn, ref.id
			if _, err := h.Store.SaveOrder(t.Context(), st); err == nil || errors.Is(err, order.ErrConflict) {
				t.Errorf("SaveOrder(connection %q, order %q): err = %v, want an error that is not a conflict (a retry cannot fix it)", ref.conn, ref.id, err)
			}
			if got, err := h.Store.LoadOrder(t.Context(), ref.conn, ref.id); !errors.Is(err, order.ErrNotFound) {
				t.Errorf("LoadOrder(%q, %q) = %+v, %v; want order.ErrNotFound", ref.conn, ref.id, got, err)
			}
		}
	})

	t.Run("orders are per connection", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		a, b := shippedOrder(s.base), shippedOrder(s.base)
		b.Connection, b.StoreStatus = "other", order.StatusCancelled
		for _, st := range []order.State{a, b} {
			if _, err := h.Store.SaveOrder(ctx, st); err != nil {
				t.Fatalf("SaveOrder(%s): %v", st.Connection, err)
			}
		}
		for _, want := range []order.State{a, b} {
			got, err := h.Store.LoadOrder(ctx, want.Connection, "m1")
			if err != nil || got.StoreStatus != want.StoreStatus || got.Version != 1 {
				t.Errorf("LoadOrder(%s) = %s v%d, %v; want %s v1", want.Connection, got.StoreStatus, got.Version, err, want.StoreStatus)
			}
		}
	})

	t.Run("values are copies", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		in := shippedOrder(s.base)
		if _, err := h.Store.SaveOrder(ctx, in); err != nil {
			t.Fatal(err)
		}
		want := shippedOrder(s.base)
		want.Version = 1
		in.Lines[0].SKU, in.Parcels[0].Lines[0].SKU, in.ShippingAddress.Name = "changed", "changed", "changed"
		got, err := h.Store.LoadOrder(ctx, "acme", "m1")
		if err != nil {
			t.Fatal(err)
		}
		got.Lines[0].SKU, got.Parcels[0].Tracking.Number, got.Parcels[0].Lines[0].Quantity, got.ShippingAddress.City = "changed", "changed", 9, "changed"
		again, err := h.Store.LoadOrder(ctx, "acme", "m1")
		if err != nil || jsonOf(t, again) != jsonOf(t, want) {
			t.Errorf("LoadOrder after callers changed their copies = %+v, %v; want %+v", again, err, want)
		}
	})

	// The merchant's override (the merchant API's fix) is part of the
	// state: every part of it round-trips, by one and by many.
	t.Run("an override round-trips", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		in := shippedOrder(s.base)
		was := *in.ShippingAddress
		in.Override = &order.Override{
			Tracking: &order.TrackingOverride{ParcelID: "f1", Tracking: order.Tracking{Number: "6A1", Carrier: "Colissimo", URL: "https://colissimo.test/6A1"},
				Replaced: order.Tracking{Carrier: "Colissimo"}, At: s.base.Add(-time.Minute)},
			ShippingAddress: &order.AddressOverride{Address: order.Address{Name: "V. Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"},
				Replaced: &was, At: s.base},
		}
		if _, err := h.Store.SaveOrder(ctx, in); err != nil {
			t.Fatal(err)
		}
		want := in
		want.Version = 1
		wantJSON := jsonOf(t, want)
		in.Override.Tracking.Tracking.Number, in.Override.ShippingAddress.Replaced.City = "changed", "changed"
		got, err := h.Store.LoadOrder(ctx, "acme", "m1")
		if err != nil || jsonOf(t, got) != wantJSON {
			t.Errorf("LoadOrder = %s, %v; want %s", jsonOf(t, got), err, wantJSON)
		}
		many, err := h.Store.LoadOrders(ctx, "acme", []string{"m1"})
		if err != nil || jsonOf(t, many["m1"]) != wantJSON {
			t.Errorf("LoadOrders = %s, %v; want %s", jsonOf(t, many["m1"]), err, wantJSON)
		}
	})

	t.Run("concurrent saves of one version: exactly one wins", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		read, err := h.Store.SaveOrder(ctx, shippedOrder(s.base))
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := race(n, func(i int) error {
			st := read
			st.Parcels = []order.Parcel{{ID: fmt.Sprint("winner-", i)}}
			_, err := h.Store.SaveOrder(ctx, st)
			return err
		})
		winner, conflicts := -1, 0
		for i, err := range errs {
			switch {
			case err == nil:
				winner = i
			case errors.Is(err, order.ErrConflict):
				conflicts++
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		}
		if conflicts != n-1 || winner < 0 {
			t.Fatalf("%d conflicts among %d writers, want exactly one winner (%v)", conflicts, n, errs)
		}
		got, err := h.Store.LoadOrder(ctx, "acme", "m1")
		if err != nil || got.Version != 2 || len(got.Parcels) != 1 || got.Parcels[0].ID != fmt.Sprint("winner-", winner) {
			t.Errorf("LoadOrder = v%d %+v, %v; want v2 with the winner's parcel winner-%d", got.Version, got.Parcels, err, winner)
		}
	})

	t.Run("concurrent creates: exactly one wins", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		const n = 8
		errs := race(n, func(i int) error {
			st := shippedOrder(s.base)
			st.MarketplaceState = fmt.Sprint(i)
			_, err := h.Store.SaveOrder(ctx, st)
			return err
		})
		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Errorf("writers %d and %d both created the order", winner, i)
				}
				winner = i
			} else if !errors.Is(err, order.ErrConflict) {
				t.Errorf("writer %d: %v, want nil or order.ErrConflict", i, err)
			}
		}
		got, err := h.Store.LoadOrder(ctx, "acme", "m1")
		if winner < 0 || err != nil || got.Version != 1 || got.MarketplaceState != fmt.Sprint(winner) {
			t.Errorf("LoadOrder = v%d state %q, %v; want v1 as writer %d wrote it", got.Version, got.MarketplaceState, err, winner)
		}
	})

	// Workers add one parcel each, reloading on conflict: every parcel
	// must be in the final state.
	t.Run("concurrent writers never lose an update", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if _, err := h.Store.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "m2"}}); err != nil {
			t.Fatal(err)
		}
		const workers = 8
		errs := race(workers, func(i int) error {
			for {
				st, err := h.Store.LoadOrder(ctx, "acme", "m2")
				if err != nil {
					return err
				}
				st.Parcels = append(st.Parcels, order.Parcel{ID: fmt.Sprint(i)})
				if _, err = h.Store.SaveOrder(ctx, st); !errors.Is(err, order.ErrConflict) {
					return err
				}
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		}
		got, err := h.Store.LoadOrder(ctx, "acme", "m2")
		seen := map[string]bool{}
		for _, p := range got.Parcels {
			seen[p.ID] = true
		}
		if err != nil || len(got.Parcels) != workers || len(seen) != workers || got.Version != workers+1 {
			t.Errorf("parcels = %d (%d different) at v%d, %v; want %d at v%d", len(got.Parcels), len(seen), got.Version, err, workers, workers+1)
		}
	})
}
