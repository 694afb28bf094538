package syncer_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/mirakl/mirakltest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// seedTwo seeds a Back Market order of lines SKU-A and SKU-B in the given
// line state (1 awaiting the merchant, 2 accepted).
func (e *env) seedTwo(lineState int) (mkID, storeID string) {
	e.id++
	o := backmarkettest.AwaitingAcceptance(e.id, "SKU-A", "SKU-B")
	if lineState == backmarkettest.LineAccepted {
		o.State = backmarkettest.OrderToShip
		for i := range o.OrderLines {
			o.OrderLines[i].State = backmarkettest.LineAccepted
		}
	}
	e.fake.Seed(o)
	return fmt.Sprint(e.id), fmt.Sprint(9000 + e.id)
}

func storeEvent(mkID, storeID string, at time.Time, status order.Status, refunds []order.Refund, parcels ...order.Parcel) order.Event {
	return order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: fmt.Sprintf("evt-%d", at.UnixNano()), OccurredAt: at,
		Order: order.Ref{StoreOrderID: storeID, StoreOrderName: "#" + storeID, MarketplaceOrderID: mkID}, Status: status,
		Lines:   []order.Line{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}},
		Refunds: refunds, Parcels: parcels}
}

func cancelled(sku string) []order.Refund {
	return []order.Refund{{ID: "R-" + sku, Kind: order.RefundCancel, Lines: []order.Line{{SKU: sku, Quantity: 1}}}}
}

func (e *env) calls(mkID string, newState int) []string {
	var skus []string
	for _, c := range e.fake.Calls() {
		if c.OrderID == mkID && c.NewState == newState && c.Status < 300 {
			skus = append(skus, c.SKU)
		}
	}
	return skus
}

func TestPartialCancel(t *testing.T) {
	ctx := context.Background()
	parcelB := order.Parcel{ID: "F1", Tracking: order.Tracking{Number: "6A1", Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "SKU-B", Quantity: 1}}}
	tests := []struct {
		name       string
		lineState  int
		build      func(mk, st string, t0 time.Time) []order.Event
		verdicts   []syncer.Verdict
		refused    []string // lines refused on Back Market (new_state 4)
		accepted   []string
		shipped    []string
		wantCode   string // the code the merchant was told (one email), "" none
		wantStatus order.Status
	}{
		{name: "a line cancelled before acceptance is refused, the rest accepted", lineState: backmarkettest.LineAwaitingMerchant,
			build: func(mk, st string, t0 time.Time) []order.Event {
				return []order.Event{storeEvent(mk, st, t0, order.StatusAccepted, cancelled("SKU-A"))}
			},
			verdicts: []syncer.Verdict{syncer.Done}, refused: []string{"SKU-A"}, accepted: []string{"SKU-B"},
			wantStatus: order.StatusPartiallyCancelled},
		{name: "a line cancelled after acceptance is explained once, the rest ships", lineState: backmarkettest.LineAccepted,
			build: func(mk, st string, t0 time.Time) []order.Event {
				return []order.Event{
					storeEvent(mk, st, t0, order.StatusAccepted, cancelled("SKU-A")),
					storeEvent(mk, st, t0.Add(time.Minute), order.StatusShipped, nil, parcelB),
				}
			},
			verdicts: []syncer.Verdict{syncer.DeadLetter, syncer.Done}, shipped: []string{"SKU-B"},
			// SKU-A waits on Back Market for the merchant's cancel there.
			wantCode: string(syncerr.CancelUnsupported), wantStatus: order.StatusPartiallyShipped},
		{name: "a return after shipment is recorded and explained once", lineState: backmarkettest.LineAccepted,
			build: func(mk, st string, t0 time.Time) []order.Event {
				all := parcelB
				all.Lines = []order.Line{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}}
				ret := []order.Refund{{ID: "R9", Kind: order.RefundReturn, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}}
				return []order.Event{
					storeEvent(mk, st, t0, order.StatusShipped, nil, all),
					storeEvent(mk, st, t0.Add(time.Minute), order.StatusShipped, ret),
					storeEvent(mk, st, t0.Add(2*time.Minute), order.StatusShipped, ret),
				}
			},
			verdicts: []syncer.Verdict{syncer.Done, syncer.DeadLetter, syncer.Done}, shipped: []string{"SKU-A", "SKU-B"},
			wantCode: string(syncerr.RefundUnsupported), wantStatus: order.StatusShipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			mk, st := e.seedTwo(tt.lineState)
			s := e.syncer(syncer.Config{})
			for i, ev := range tt.build(mk, st, time.Now().Add(-time.Hour)) {
				out := s.Sync(ctx, syncer.Delivery{Event: ev, Attempt: 1})
				if out.Verdict != tt.verdicts[i] {
					t.Fatalf("event %d: verdict = %v (%+v), want %v", i, out.Verdict, out.Failure, tt.verdicts[i])
				}
			}
			for _, c := range []struct {
				what      string
				state     int
				got, want []string
			}{{"refused", 4, e.calls(mk, 4), tt.refused}, {"accepted", 2, e.calls(mk, 2), tt.accepted}, {"shipped", 3, e.calls(mk, 3), tt.shipped}} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("lines %s on Back Market = %v, want %v", c.what, c.got, c.want)
				}
			}
			state, err := e.store.LoadOrder(ctx, "acme", mk)
			if err != nil {
				t.Fatal(err)
			}
			if state.Sync.Result != order.SyncSynced || state.MarketplaceStatus != tt.wantStatus {
				t.Errorf("sync = %s %s, marketplace status %q; want synced, %q", state.Sync.Result, state.Sync.ErrorCode, state.MarketplaceStatus, tt.wantStatus)
			}
			var told []string
			for _, n := range e.notes.sent {
				told = append(told, string(n.Explanation.Code))
			}
			if want := []string{tt.wantCode}; tt.wantCode == "" && len(told) > 0 || tt.wantCode != "" && !slices.Equal(told, want) {
				t.Errorf("merchant told %v, want %q once", told, tt.wantCode)
			}
			if tt.wantCode != "" && (state.Resolved == nil || state.Resolved.Code != tt.wantCode) {
				t.Errorf("resolved = %+v, want %s resolved by the next sync", state.Resolved, tt.wantCode)
			}
			refunds := 0
			for _, en := range state.Timeline {
				if en.Kind == order.TimelineRefund && en.Source == order.Shopify {
					refunds++
					if en.Detail == "" || en.Step == "" {
						t.Errorf("refund entry %+v: want its kind and lines", en)
					}
				}
			}
			if want := 1; refunds != want {
				t.Errorf("store refund entries on the timeline = %d, want %d", refunds, want)
			}
		})
	}
}

func TestMarketplaceRefundOnTheTimeline(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.id++
	o := backmarkettest.AwaitingAcceptance(e.id, "SKU-A", "SKU-B")
	o.State, o.TrackingNumber = backmarkettest.OrderShipped, "6A1"
	o.OrderLines[0].State = backmarkettest.LineRefundedAfter
	o.OrderLines[1].State = backmarkettest.LineShipped
	e.fake.Seed(o)
	mk, st := fmt.Sprint(e.id), fmt.Sprint(9000+e.id)
	all := order.Parcel{ID: "F1", Tracking: order.Tracking{Number: "6A1", Carrier: "Colissimo"},
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}}}
	s := e.syncer(syncer.Config{})
	t0 := time.Now().Add(-time.Hour)
	for i := range 2 {
		if out := s.Sync(ctx, syncer.Delivery{Event: storeEvent(mk, st, t0.Add(time.Duration(i)*time.Minute), order.StatusShipped, nil, all), Attempt: 1}); out.Verdict != syncer.Done {
			t.Fatalf("sync %d: verdict %v (%+v), want Done", i, out.Verdict, out.Failure)
		}
	}
	state, err := e.store.LoadOrder(ctx, "acme", mk)
	if err != nil {
		t.Fatal(err)
	}
	var got []order.TimelineEntry
	for _, en := range state.Timeline {
		if en.Kind == order.TimelineRefund {
			got = append(got, en)
		}
	}
	if len(got) != 1 || got[0].Source != order.BackMarket || got[0].Step != string(order.RefundRefund) || got[0].Detail != "1 × SKU-A" {
		t.Errorf("refund entries = %+v; want one, Back Market's refund of 1 × SKU-A", got)
	}
	if n := len(e.calls(mk, 3)); n != 0 {
		t.Errorf("ship calls = %d, want none (shipped already)", n)
	}
}

func TestMiraklSplitParcels(t *testing.T) {
	ctx := context.Background()
	parcels := []order.Parcel{
		{ID: "F1", Tracking: order.Tracking{Number: "6A1", Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}},
		{ID: "F2", Tracking: order.Tracking{Number: "6A2", Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "SKU-B", Quantity: 1}}},
	}
	tests := []struct {
		name     string
		split    bool
		verdicts []syncer.Verdict
		ops      []string // the fake's state-changing calls, in order
		told     []string
		tracking string // the order's tracking on Mirakl
	}{
		{"not enabled: the first tracking sent, the other explained once", false,
			[]syncer.Verdict{syncer.DeadLetter, syncer.Done}, []string{"OR23", "OR24"}, []string{string(syncerr.ParcelsUnsupported)}, "6A1"},
		{"enabled: a shipment per parcel", true,
			[]syncer.Verdict{syncer.Done, syncer.Done}, []string{"ST01", "ST01"}, nil, "6A1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memstore.New()
			fake := mirakltest.New(mirakltest.Options{APIKey: "mk", MultiShipment: tt.split})
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			conn := order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test", Store: order.Endpoint{Platform: order.Shopify},
				Marketplace: order.Endpoint{Platform: order.Mirakl, BaseURL: srv.URL, SplitParcels: tt.split}}
			if err := store.PutConnection(ctx, conn); err != nil {
				t.Fatal(err)
			}
			o := mirakltest.AwaitingAcceptance("M1-A", "SKU-A", "SKU-B")
			o.OrderState = mirakltest.StateShipping
			for i := range o.OrderLines {
				o.OrderLines[i].OrderLineState = mirakltest.StateShipping
			}
			fake.Seed(o)
			notes := &notices{}
			s := syncer.New(syncer.Config{}, store, marketplacesFunc(func(_ context.Context, c order.Connection) (syncer.Marketplace, error) {
				return mirakl.New(http.DefaultClient, mirakl.Options{BaseURL: c.Marketplace.BaseURL, APIKey: "mk", MultiShipment: c.Marketplace.SplitParcels}), nil
			}), notes, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
			t0 := time.Now().Add(-time.Hour)
			events := []order.Event{
				storeEvent("M1-A", "77", t0, order.StatusShipped, nil, parcels...),
				storeEvent("M1-A", "77", t0.Add(time.Minute), order.StatusShipped, nil, parcels...),
			}
			if tt.split {
				// The store ships one parcel, then the other.
				events[0] = storeEvent("M1-A", "77", t0, order.StatusPartiallyShipped, nil, parcels[0])
			}
			for i, ev := range events {
				if out := s.Sync(ctx, syncer.Delivery{Event: ev, Attempt: 1}); out.Verdict != tt.verdicts[i] {
					t.Fatalf("event %d: verdict %v (%+v), want %v", i, out.Verdict, out.Failure, tt.verdicts[i])
				}
			}
			var ops []string
			for _, c := range fake.Calls() {
				if c.Status < 300 {
					ops = append(ops, c.Operation)
				}
			}
			if !slices.Equal(ops, tt.ops) {
				t.Errorf("calls = %v, want %v", ops, tt.ops)
			}
			var told []string
			for _, n := range notes.sent {
				told = append(told, string(n.Explanation.Code))
				if !strings.Contains(n.Explanation.Cause, "6A2") {
					t.Errorf("cause %q does not name the tracking not sent", n.Explanation.Cause)
				}
			}
			if !slices.Equal(told, tt.told) {
				t.Errorf("merchant told %v, want %v", told, tt.told)
			}
			got, _ := fake.Order("M1-A")
			if got.OrderState != mirakltest.StateShipped || got.ShippingTracking != tt.tracking {
				t.Errorf("Mirakl order %s tracking %q; want SHIPPED with %q", got.OrderState, got.ShippingTracking, tt.tracking)
			}
			st, err := store.LoadOrder(ctx, "acme", "M1-A")
			if err != nil || st.Sync.Result != order.SyncSynced {
				t.Errorf("state %+v, %v; want synced", st.Sync, err)
			}
		})
	}
}
