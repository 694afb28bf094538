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

// TestMiraklCancelAcceptedLine: a line the store cancels once the Mirakl
// order is accepted is cancelled with OR30 where the connection names a
// reason code, and the rest ships; without one it is explained once.
func TestMiraklCancelAcceptedLine(t *testing.T) {
	ctx := context.Background()
	parcelB := order.Parcel{ID: "F1", Tracking: order.Tracking{Number: "6A1", Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "SKU-B", Quantity: 1}}}
	tests := []struct {
		name     string
		reason   string
		disabled bool // Mirakl has not enabled partial cancelation for the shop
		verdicts []syncer.Verdict
		ops      []string // the fake's state-changing calls answered yes, in order
		told     []string
		stateA   string
	}{
		{"with a reason code: OR30, then the rest ships", "34", false,
			[]syncer.Verdict{syncer.Done, syncer.Done}, []string{"OR30", "OR23", "OR24"}, nil, mirakltest.StateCanceled},
		{"without: explained once, nothing sent", "", false,
			[]syncer.Verdict{syncer.DeadLetter}, nil, []string{string(syncerr.CancelUnsupported)}, mirakltest.StateShipping},
		// Mirakl refuses OR30 itself: explained once as what it cannot
		// take, not retried as out of step.
		{"partial cancelation not enabled: explained once after OR30", "34", true,
			[]syncer.Verdict{syncer.DeadLetter}, nil, []string{string(syncerr.CancelUnsupported)}, mirakltest.StateShipping},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memstore.New()
			fake := mirakltest.New(mirakltest.Options{APIKey: "mk", PartialCancelation: !tt.disabled, CancelReasons: []string{"34"}})
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			conn := order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test", Store: order.Endpoint{Platform: order.Shopify},
				Marketplace: order.Endpoint{Platform: order.Mirakl, BaseURL: srv.URL, CancelReasonCode: tt.reason}}
			if err := store.PutConnection(ctx, conn); err != nil {
				t.Fatal(err)
			}
			o := mirakltest.AwaitingAcceptance("M1-A", "SKU-A", "SKU-B")
			o.OrderState = mirakltest.StateShipping
			for i := range o.OrderLines {
				o.OrderLines[i] = o.OrderLines[i].Priced(12.5, 4.9, 20)
				o.OrderLines[i].OrderLineState = mirakltest.StateShipping
			}
			fake.Seed(o)
			notes := &notices{}
			s := syncer.New(syncer.Config{}, store, marketplacesFunc(func(_ context.Context, c order.Connection) (syncer.Marketplace, error) {
				return mirakl.New(http.DefaultClient, mirakl.Options{BaseURL: c.Marketplace.BaseURL, APIKey: "mk",
					CancelReasonCode: c.Marketplace.CancelReasonCode}), nil
			}), notes, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
			t0 := time.Now().Add(-time.Hour)
			events := []order.Event{
				storeEvent("M1-A", "77", t0, order.StatusAccepted, cancelled("SKU-A")),
				storeEvent("M1-A", "77", t0.Add(time.Minute), order.StatusShipped, cancelled("SKU-A"), parcelB),
			}
			for i, want := range tt.verdicts {
				if out := s.Sync(ctx, syncer.Delivery{Event: events[i], Attempt: 1}); out.Verdict != want {
					t.Fatalf("event %d: verdict %v (%+v), want %v", i, out.Verdict, out.Failure, want)
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
			}
			if !slices.Equal(told, tt.told) {
				t.Errorf("merchant told %v, want %v", told, tt.told)
			}
			got, _ := fake.Order("M1-A")
			if s := got.OrderLines[0].OrderLineState; s != tt.stateA {
				t.Errorf("line SKU-A is %s on Mirakl; want %s", s, tt.stateA)
			}
		})
	}
}
