package refresh_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// refreshEntries are the order's refresh entries of the run at at: step,
// topic, code, detail.
func (e *env) refreshEntries(mk string, at time.Time) []string {
	var out []string
	for _, x := range e.load(mk).Timeline {
		if x.Kind != order.TimelineRefresh {
			continue
		}
		if !x.At.Equal(at) || x.Source != refresh.Source {
			e.t.Errorf("%s: entry %+v, want one at the run's time from %s", mk, x, refresh.Source)
		}
		out = append(out, strings.Join([]string{x.Step, x.Topic, x.Code, x.Detail}, "|"))
	}
	return out
}

func TestTheRefreshsChangesAreOnTheTimeline(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env) string
		want  []string
	}{
		{"a back-office cancellation", func(e *env) string {
			e.working(false)
			e.synced("501", "s501", e.at.Add(-3*time.Hour))
			e.fake.Seed(bmOrder(501, backmarkettest.OrderCancelled, backmarkettest.LineCancelled, e.at.Add(-20*time.Minute)))
			return "501"
		}, []string{"manual-change|||accepted → cancelled (state 8)"}},
		{"a held import's edit applied and requeued", func(e *env) string {
			e.working(true)
			e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "901"}, MarketplaceStatus: order.StatusAwaitingAcceptance,
				Sync: order.SyncOutcome{Result: order.SyncHeld, ErrorCode: "address_missing", At: e.at.Add(-2 * time.Hour)}})
			e.fake.Seed(bmOrder(901, backmarkettest.OrderAwaitingAcceptance, backmarkettest.LineAwaitingMerchant, e.at.Add(-30*time.Minute)))
			return "901"
		}, []string{"edit-applied|||address", "requeued|" + refresh.TopicEdited + "||"}},
		{"an edit refused", refusedEdit, []string{"edit-refused||order_not_editable|address"}},
		{"a failed order tried again", func(e *env) string {
			e.working(false)
			e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "701", StoreOrderID: "s701"}, StoreStatus: order.StatusAccepted,
				Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "marketplace_unavailable", Attempts: 3, At: e.at.Add(-2 * time.Hour)}})
			return "701"
		}, []string{"requeued|" + refresh.TopicRetry + "|marketplace_unavailable|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			mk := tt.setup(e)
			at := e.at
			e.mustRun()
			if got := e.refreshEntries(mk, at); !slices.Equal(got, tt.want) {
				t.Errorf("refresh entries = %q, want %q", got, tt.want)
			}
			for _, x := range e.load(mk).Timeline {
				if strings.Contains(x.Detail, "rue") || strings.Contains(x.Detail, "Paris") {
					t.Errorf("entry %+v names the address", x)
				}
			}
		})
	}
}

// TestARefusedEditsEntryKeepsWhatExplainsIt: the timeline explains an
// entry long after the run from its facts, so the refused edit's keeps
// the status the order was in, as the error list's words have it.
func TestARefusedEditsEntryKeepsWhatExplainsIt(t *testing.T) {
	e := newEnv(t)
	refusedEdit(e)
	e.mustRun()
	var facts map[string]string
	for _, x := range e.load("902").Timeline {
		if x.Step == refresh.StepEditRefused {
			facts = x.Facts
		}
	}
	if want := map[string]string{"from": "accepted"}; !maps.Equal(facts, want) {
		t.Errorf("edit-refused facts = %v, want %v", facts, want)
	}
}

// refusedEdit sets up order 902: accepted on both sides, and edited on the
// marketplace (its address), which the next run refuses.
func refusedEdit(e *env) string {
	e.working(true)
	e.save(order.State{Ref: order.Ref{MarketplaceOrderID: "902", StoreOrderID: "s902"}, StoreStatus: order.StatusAccepted,
		MarketplaceStatus: order.StatusAccepted, ShippingAddress: &order.Address{Line1: "1 rue Ancienne", City: "Paris", Country: "FR"},
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "90201"}},
		Sync:  order.SyncOutcome{Result: order.SyncSynced, At: e.at.Add(-2 * time.Hour)}})
	e.fake.Seed(bmOrder(902, backmarkettest.OrderToShip, backmarkettest.LineAccepted, e.at.Add(-30*time.Minute)))
	return "902"
}
