package storetest

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// retention: a closed order's state item, which holds the shipping
// address, carries a TTL of the store's order retention (the default,
// order.DefaultRetention) counted from its save, and its store order's
// link one at the next whole week (Unix time) at or after it; an open
// order's items carry none.
// weekSeconds is what a link's expiry is rounded up to.
const weekSeconds = 7 * 24 * 60 * 60

func (s *suite) retention(t *testing.T) {
	h := s.fresh(t)
	if h.Expiries == nil {
		t.Fatal("storetest: the harness needs Expiries")
	}
	ctx := t.Context()
	ttl := s.base.Add(order.DefaultRetention).Unix()
	week := ttl + weekSeconds - 1 - (ttl+weekSeconds-1)%weekSeconds
	tests := []struct {
		name              string
		status            order.Status
		linkTo            string // the link's marketplace order ("": none)
		wantState, wantLk int64
	}{
		{"awaiting acceptance", order.StatusAwaitingAcceptance, "m1", 0, 0},
		{"accepted", order.StatusAccepted, "m1", 0, 0},
		{"partially shipped", order.StatusPartiallyShipped, "m1", 0, 0},
		{"shipped", order.StatusShipped, "m1", ttl, week},
		{"delivered", order.StatusDelivered, "m1", ttl, week},
		{"cancelled", order.StatusCancelled, "m1", ttl, week},
		{"refused", order.StatusRefused, "m1", ttl, week},
		{"refunded", order.StatusRefunded, "m1", ttl, week},
		{"closed, its store order now linked to another", order.StatusShipped, "m2", ttl, 0},
		{"closed, without a link: made again, with the TTL", order.StatusShipped, "", ttl, week},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := shippedOrder(s.base)
			st.Ref.MarketplaceOrderID = "ret" + string(rune('a'+i))
			st.Ref.StoreOrderID = "sret" + string(rune('a'+i))
			st.MarketplaceStatus = tt.status
			if tt.linkTo != "" {
				to := st.Ref.MarketplaceOrderID
				if tt.linkTo != "m1" {
					to = "other-" + to
				}
				if err := h.Store.LinkOrder(ctx, "acme", st.Ref.StoreOrderID, to); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := h.Store.SaveOrder(ctx, st); err != nil {
				t.Fatal(err)
			}
			gotState, gotLink := h.Expiries(t, "acme", st.Ref.MarketplaceOrderID, st.Ref.StoreOrderID)
			if gotState != tt.wantState || gotLink != tt.wantLk {
				t.Errorf("expiries (state, link) = %d, %d; want %d, %d", gotState, gotLink, tt.wantState, tt.wantLk)
			}
		})
	}
	t.Run("a save links the store order it names, never one linked to another", func(t *testing.T) {
		st := shippedOrder(s.base)
		st.MarketplaceStatus = order.StatusAccepted
		st.Ref.MarketplaceOrderID, st.Ref.StoreOrderID = "ret-link", "sret-link"
		if _, err := h.Store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Store.FindOrder(ctx, "acme", "sret-link"); err != nil || got != "ret-link" {
			t.Errorf("FindOrder after the save = %q, %v; want ret-link", got, err)
		}
		if _, gl := h.Expiries(t, "acme", "ret-link", "sret-link"); gl != 0 {
			t.Errorf("an open order's link expires at %d, want never", gl)
		}
		if err := h.Store.LinkOrder(ctx, "acme", "sret-taken", "ret-owner"); err != nil {
			t.Fatal(err)
		}
		st.Ref.MarketplaceOrderID, st.Ref.StoreOrderID = "ret-intruder", "sret-taken"
		if _, err := h.Store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Store.FindOrder(ctx, "acme", "sret-taken"); err != nil || got != "ret-owner" {
			t.Errorf("FindOrder of a store order linked to another = %q, %v; want ret-owner, untouched", got, err)
		}
	})
	t.Run("an open order saved closed gains the TTL; a later save counts from it", func(t *testing.T) {
		st := shippedOrder(s.base)
		st.Ref.MarketplaceOrderID, st.Ref.StoreOrderID = "ret-open", "sret-open"
		if err := h.Store.LinkOrder(ctx, "acme", st.Ref.StoreOrderID, st.Ref.MarketplaceOrderID); err != nil {
			t.Fatal(err)
		}
		st, err := h.Store.SaveOrder(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if gs, gl := h.Expiries(t, "acme", "ret-open", "sret-open"); gs != 0 || gl != 0 {
			t.Fatalf("open: expiries = %d, %d; want none", gs, gl)
		}
		for _, step := range []time.Duration{time.Hour, 24 * time.Hour} {
			h.Clock.Advance(step)
			st.MarketplaceStatus = order.StatusShipped
			if st, err = h.Store.SaveOrder(ctx, st); err != nil {
				t.Fatal(err)
			}
			want := h.Clock.Now().Add(order.DefaultRetention).Unix()
			if gs, gl := h.Expiries(t, "acme", "ret-open", "sret-open"); gs != want || gl < want || gl >= want+weekSeconds || gl%weekSeconds != 0 {
				t.Errorf("after %v: expiries = %d, %d; want %d, and a whole week at or after it", step, gs, gl, want)
			}
		}
	})
}
