package syncer_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/mirakl/mirakltest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// TestMiraklRefundAfterShipment: a return the store takes of a whole line
// of a shipped Mirakl order is refunded with OR28 where the connection
// names a refund reason code, once however often the event comes (a
// redelivery, a later replay of the same refund), and is on the order's
// timeline: the store's return, the call, Mirakl's refund. Without a
// reason code, or for part of a line, it is explained once, nothing sent.
func TestMiraklRefundAfterShipment(t *testing.T) {
	ctx := context.Background()
	parcel := order.Parcel{ID: "F1", Tracking: order.Tracking{Number: "6A1", Carrier: "Colissimo"},
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}}}
	returned := func(qty int) []order.Refund {
		return []order.Refund{{ID: "R-9", Kind: order.RefundReturn, Lines: []order.Line{{SKU: "SKU-A", Quantity: qty}}}}
	}
	tests := []struct {
		name     string
		reason   string
		qtyA     int  // line SKU-A's quantity on Mirakl
		noPrice  bool // Mirakl states no shipping price for SKU-A
		verdict  syncer.Verdict
		or28     int
		told     []string
		timeline []string // the call and Mirakl's refund, as Step/Source
	}{
		{"with a reason code: refunded once with OR28", "17", 1, false, syncer.Done, 1, nil,
			[]string{"refund-lines/mirakl", "refund/mirakl"}},
		{"without: explained once, nothing sent", "", 1, false, syncer.DeadLetter, 0,
			[]string{string(syncerr.RefundUnsupported)}, nil},
		{"part of a line: explained once, nothing sent", "17", 2, false, syncer.DeadLetter, 0,
			[]string{string(syncerr.RefundUnsupported)}, nil},
		{"the connector finds no amount to refund: explained once, nothing sent", "17", 1, true, syncer.DeadLetter, 0,
			[]string{string(syncerr.RefundUnsupported)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memstore.New()
			fake := mirakltest.New(mirakltest.Options{APIKey: "mk", RefundReasons: []string{"17"}})
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			conn := order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test", Store: order.Endpoint{Platform: order.Shopify},
				Marketplace: order.Endpoint{Platform: order.Mirakl, BaseURL: srv.URL, RefundReasonCode: tt.reason}}
			if err := store.PutConnection(ctx, conn); err != nil {
				t.Fatal(err)
			}
			o := mirakltest.AwaitingAcceptance("M1-A", "SKU-A", "SKU-B")
			o.OrderState, o.ShippingCompany, o.ShippingTracking = mirakltest.StateShipped, "Colissimo", "6A1"
			o.OrderLines[0].Quantity = tt.qtyA
			for i := range o.OrderLines {
				o.OrderLines[i] = o.OrderLines[i].Priced(12.5, 4.9, 20)
				o.OrderLines[i].OrderLineState = mirakltest.StateShipped
			}
			if tt.noPrice {
				o.OrderLines[0].ShippingPrice = nil
			}
			fake.Seed(o)
			notes := &notices{}
			s := syncer.New(syncer.Config{}, store, marketplacesFunc(func(_ context.Context, c order.Connection) (syncer.Marketplace, error) {
				return mirakl.New(http.DefaultClient, mirakl.Options{BaseURL: c.Marketplace.BaseURL, APIKey: "mk",
					RefundReasonCode: c.Marketplace.RefundReasonCode}), nil
			}), notes, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
			t0 := time.Now().Add(-time.Hour)
			e := storeEvent("M1-A", "77", t0, order.StatusShipped, returned(1), parcel)
			replay := storeEvent("M1-A", "77", t0.Add(time.Minute), order.StatusShipped, returned(1), parcel)
			if out := s.Sync(ctx, syncer.Delivery{Event: e, Attempt: 1}); out.Verdict != tt.verdict {
				t.Fatalf("first delivery: verdict %v (%+v), want %v", out.Verdict, out.Failure, tt.verdict)
			}
			if st, _ := store.LoadOrder(ctx, "acme", "M1-A"); len(st.MarketplaceRefunds) != tt.or28 {
				t.Errorf("after the first delivery the order records Mirakl refunds %v; want %d (the refund its call made)", st.MarketplaceRefunds, tt.or28)
			}
			for i, d := range []syncer.Delivery{{Event: e, Attempt: 2}, {Event: replay, Attempt: 1}} {
				if out := s.Sync(ctx, d); out.Verdict != syncer.Done {
					t.Fatalf("delivery %d again: verdict %v (%+v), want done (nothing new)", i+2, out.Verdict, out.Failure)
				}
			}
			n := 0
			for _, c := range fake.Calls() {
				if c.Operation == "OR28" {
					n++
				}
			}
			if n != tt.or28 {
				t.Errorf("%d OR28 calls, want %d", n, tt.or28)
			}
			got, _ := fake.Order("M1-A")
			if r := got.OrderLines[0].Refunds; len(r) != tt.or28 {
				t.Errorf("line SKU-A shows %d refunds on Mirakl; want %d", len(r), tt.or28)
			}
			var told []string
			for _, n := range notes.sent {
				told = append(told, string(n.Explanation.Code))
			}
			if !slices.Equal(told, tt.told) {
				t.Errorf("merchant told %v, want %v", told, tt.told)
			}
			st, err := store.LoadOrder(ctx, "acme", "M1-A")
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			storeReturn := 0
			for _, te := range st.Timeline {
				switch {
				case te.Kind == order.TimelineRefund && te.Source == order.Shopify && te.EventID == "R-9":
					storeReturn++
				case te.Kind == order.TimelineCall && te.Step == "refund-lines" && te.Detail == "ok",
					te.Kind == order.TimelineRefund && te.Source == order.Mirakl:
					seen = append(seen, te.Step+"/"+string(te.Source))
				}
			}
			if storeReturn != 1 {
				t.Errorf("the store's return is on the timeline %d times, want once (%+v)", storeReturn, st.Timeline)
			}
			if !slices.Equal(seen, tt.timeline) {
				t.Errorf("timeline %v, want %v (%+v)", seen, tt.timeline, st.Timeline)
			}
		})
	}
}
