package storetest

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// retention: an order's state item, which holds the shipping address,
// carries a TTL counted from its save: the store's order retention (the
// default, order.DefaultRetention) once the order is closed, the longer of
// that and order.OpenRetention while it is open. Its store order's link
// always expires after the state would: at the next whole week (Unix
// time) at or after the state's expiry, and, while the order is open,
// order.LinkSlack later, so that the save closing it within the slack
// leaves the link as it is. A link is only ever moved later.
// weekSeconds is what a link's expiry is rounded up to.
const weekSeconds = 7 * 24 * 60 * 60

// weekAfter is the next whole week at or after t (Unix seconds).
func weekAfter(t int64) int64 { return t + weekSeconds - 1 - (t+weekSeconds-1)%weekSeconds }

func (s *suite) retention(t *testing.T) {
	h := s.fresh(t)
	if h.Expiries == nil {
		t.Fatal("storetest: the harness needs Expiries")
	}
	ctx := t.Context()
	ttl := s.base.Add(order.DefaultRetention).Unix()
	week := weekAfter(ttl)
	openTTL := s.base.Add(order.OpenRetention).Unix()
	open := weekAfter(openTTL) + order.LinkSlack // an open order's link, or a linked one's
	tests := []struct {
		name              string
		status            order.Status
		linkTo            string // the link's marketplace order ("": none)
		wantState, wantLk int64
	}{
		{"awaiting acceptance", order.StatusAwaitingAcceptance, "m1", openTTL, open},
		{"accepted", order.StatusAccepted, "m1", openTTL, open},
		{"partially shipped", order.StatusPartiallyShipped, "m1", openTTL, open},
		{"awaiting acceptance, never linked", order.StatusAwaitingAcceptance, "", openTTL, open},
		{"shipped, linked: the link lasts already", order.StatusShipped, "m1", ttl, open},
		{"delivered", order.StatusDelivered, "m1", ttl, open},
		{"cancelled", order.StatusCancelled, "m1", ttl, open},
		{"refused", order.StatusRefused, "m1", ttl, open},
		{"refunded", order.StatusRefunded, "m1", ttl, open},
		{"closed, its store order now linked to another", order.StatusShipped, "m2", ttl, open},
		{"closed, without a link: made with the week after the TTL", order.StatusShipped, "", ttl, week},
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
	t.Run("an open order's state never outlives its link", func(t *testing.T) {
		// A state left open with no save for long (a cancellation ordersync
		// never heard of) kept its state for ever while its link expired:
		// an event naming only the store order then found no order and
		// was dropped unrecorded. State and link now go together.
		h := s.fresh(t)
		st := shippedOrder(s.base)
		st.MarketplaceStatus = order.StatusAccepted
		st.Ref.MarketplaceOrderID, st.Ref.StoreOrderID = "ret-abandoned", "sret-abandoned"
		if _, err := h.Store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
		gs, gl := h.Expiries(t, "acme", "ret-abandoned", "sret-abandoned")
		if gs == 0 || gl < gs {
			t.Errorf("an open order's expiries (state, link) = %d, %d: the state outlives its link", gs, gl)
		}
	})
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
		if _, gl := h.Expiries(t, "acme", "ret-link", "sret-link"); gl != open {
			t.Errorf("an open order's link expires at %d, want %d", gl, open)
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
	t.Run("an open order closed within the slack keeps its link; past it the link moves later", func(t *testing.T) {
		st := shippedOrder(s.base)
		st.Ref.MarketplaceOrderID, st.Ref.StoreOrderID = "ret-open", "sret-open"
		if err := h.Store.LinkOrder(ctx, "acme", st.Ref.StoreOrderID, st.Ref.MarketplaceOrderID); err != nil {
			t.Fatal(err)
		}
		openTTL := h.Clock.Now().Add(order.OpenRetention).Unix()
		linked := weekAfter(openTTL) + order.LinkSlack
		st, err := h.Store.SaveOrder(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if gs, gl := h.Expiries(t, "acme", "ret-open", "sret-open"); gs != openTTL || gl != linked {
			t.Fatalf("open: expiries = %d, %d; want %d, %d", gs, gl, openTTL, linked)
		}
		for _, step := range []time.Duration{time.Hour, 24 * time.Hour} {
			h.Clock.Advance(step)
			st.MarketplaceStatus = order.StatusShipped
			if st, err = h.Store.SaveOrder(ctx, st); err != nil {
				t.Fatal(err)
			}
			want := h.Clock.Now().Add(order.DefaultRetention).Unix()
			if gs, gl := h.Expiries(t, "acme", "ret-open", "sret-open"); gs != want || gl != linked {
				t.Errorf("closed %v later: expiries = %d, %d; want %d, and the link's %d as it was", step, gs, gl, want, linked)
			}
		}
		// A correction of the closed order so late that its state would
		// outlive the open order's link: the link moves to the week after
		// the state's new expiry.
		h.Clock.Advance(order.OpenRetention - order.DefaultRetention + time.Duration(order.LinkSlack+weekSeconds)*time.Second)
		if st, err = h.Store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
		want := h.Clock.Now().Add(order.DefaultRetention).Unix()
		if gs, gl := h.Expiries(t, "acme", "ret-open", "sret-open"); gs != want || gl != weekAfter(want) {
			t.Errorf("corrected past the slack: expiries = %d, %d; want %d, %d", gs, gl, want, weekAfter(want))
		}
	})
	t.Run("an open order saved after a long quiet moves its link later", func(t *testing.T) {
		h := s.fresh(t)
		st := shippedOrder(s.base)
		st.Ref.MarketplaceOrderID, st.Ref.StoreOrderID = "ret-quiet", "sret-quiet"
		st, err := h.Store.SaveOrder(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		first := weekAfter(h.Clock.Now().Add(order.OpenRetention).Unix()) + order.LinkSlack
		// Within the slack the link lasts long enough: a save leaves it.
		h.Clock.Advance(time.Duration(order.LinkSlack-weekSeconds) * time.Second)
		if st, err = h.Store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
		if _, gl := h.Expiries(t, "acme", "ret-quiet", "sret-quiet"); gl != first {
			t.Errorf("saved within the slack: the link expires at %d, want %d as it was", gl, first)
		}
		// Past it, the link would expire before the state saved now.
		h.Clock.Advance(2 * weekSeconds * time.Second)
		if _, err = h.Store.SaveOrder(ctx, st); err != nil {
			t.Fatal(err)
		}
		want := weekAfter(h.Clock.Now().Add(order.OpenRetention).Unix()) + order.LinkSlack
		if _, gl := h.Expiries(t, "acme", "ret-quiet", "sret-quiet"); gl != want {
			t.Errorf("saved past the slack: the link expires at %d, want %d", gl, want)
		}
	})
}
