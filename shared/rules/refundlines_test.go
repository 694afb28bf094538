package rules

import (
	"reflect"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// shippedOrder is a Mirakl order shipped whole: line LA (SKU-A, 1), LB
// (SKU-B, 2), LC (SKU-A, 1); refunds are the marketplace's own.
func shippedOrder(refunds ...order.Refund) order.MarketplaceOrder {
	o := order.MarketplaceOrder{ID: "M1", Status: order.StatusShipped, Lines: []order.MarketplaceLine{
		{ID: "LA", SKU: "SKU-A", Quantity: 1, Status: order.StatusShipped},
		{ID: "LB", SKU: "SKU-B", Quantity: 2, Status: order.StatusShipped},
		{ID: "LC", SKU: "SKU-A", Quantity: 1, Status: order.StatusShipped}}}
	o.Refunds = refunds
	return o
}

func storeRefund(id string, kind order.RefundKind, lines ...order.Line) order.Refund {
	return order.Refund{ID: id, Kind: kind, Lines: lines}
}

func line(sku string, qty int) order.Line { return order.Line{SKU: sku, Quantity: qty} }

// mkRefund is a refund the marketplace shows of qty of line id.
func mkRefund(id, lineID, sku string, qty int) order.Refund {
	return order.Refund{ID: "refund/" + id, Kind: order.RefundRefund,
		Lines: []order.Line{{SKU: sku, Quantity: qty, MarketplaceLineID: lineID}}}
}

func refundStep(lines ...order.Line) Step { return Step{Action: ActionRefundLines, Lines: lines} }

func TestPlanRefundLines(t *testing.T) {
	refunds := order.Capabilities{Cancel: true, AcceptRequired: true, RefundLines: true}
	none := order.Capabilities{Cancel: true, AcceptRequired: true}
	tests := []struct {
		name        string
		caps        order.Capabilities
		remote      order.MarketplaceOrder
		want        Want
		steps       []Step
		unsupported []string // keys
	}{
		{"a return of a shipped line: refunded whole", refunds, shippedOrder(),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundReturn, line("SKU-B", 2))}},
			[]Step{refundStep(order.Line{SKU: "SKU-B", Quantity: 2, MarketplaceLineID: "LB"})}, nil},
		{"a refund of two lines of one SKU, in two store refunds: one step, both lines", refunds, shippedOrder(),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundRefund, line("SKU-A", 1)),
				storeRefund("r2", order.RefundRefund, line("SKU-A", 1))}},
			[]Step{refundStep(order.Line{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "LA"},
				order.Line{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "LC"})}, nil},
		{"a line the marketplace shows refunded already counts first", refunds, shippedOrder(mkRefund("9", "LA", "SKU-A", 1)),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundRefund, line("SKU-A", 2))}},
			[]Step{refundStep(order.Line{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "LC"})}, nil},
		{"every line refunded there already: nothing to send", refunds,
			shippedOrder(mkRefund("9", "LA", "SKU-A", 1), mkRefund("10", "LC", "SKU-A", 1)),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundRefund, line("SKU-A", 2))}},
			nil, nil},
		{"part of a line's quantity: explained, never sent", refunds, shippedOrder(),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundReturn, line("SKU-B", 1))}},
			nil, []string{"refund:SKU-B=1"}},
		{"a line refunded in part there: the rest is part of a line, explained", refunds, shippedOrder(mkRefund("9", "LB", "SKU-B", 1)),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundReturn, line("SKU-B", 2))}},
			nil, []string{"refund:SKU-B=2"}},
		{"refunds that state the whole quantity for less money (Mirakl's quantity is informative): explained", refunds,
			func() order.MarketplaceOrder {
				o := shippedOrder(mkRefund("9", "LA", "SKU-A", 1))
				o.Lines[0].RefundedInPart = true
				return o
			}(),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundReturn, order.Line{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "LA"})}},
			nil, []string{"refund:SKU-A=1"}},
		{"a whole line and part of another: the whole one sent, the part explained", refunds, shippedOrder(),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundReturn, line("SKU-A", 1), line("SKU-B", 1))}},
			[]Step{refundStep(order.Line{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "LA"})}, []string{"refund:SKU-B=1"}},
		{"a SKU the marketplace order does not hold: explained", refunds, shippedOrder(),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundReturn, line("SKU-Z", 1))}},
			nil, []string{"refund:SKU-Z=1"}},
		{"a refund of money only (no lines): explained", refunds, shippedOrder(),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundRefund)}},
			nil, []string{"refund:r1"}},
		{"the whole order refunded in the store: every line refunded", refunds, shippedOrder(),
			Want{Status: order.StatusRefunded, Refunds: []order.Refund{storeRefund("r1", order.RefundRefund, line("SKU-A", 2), line("SKU-B", 2))}},
			[]Step{refundStep(order.Line{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "LA"},
				order.Line{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "LC"},
				order.Line{SKU: "SKU-B", Quantity: 2, MarketplaceLineID: "LB"})}, nil},
		{"no refund call: explained per store refund", none, shippedOrder(),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{storeRefund("r1", order.RefundReturn, line("SKU-B", 2))}},
			nil, []string{"refund:r1"}},
		{"not shipped yet: neither sent nor explained", refunds, order.MarketplaceOrder{ID: "M1", Status: order.StatusAccepted,
			Lines: []order.MarketplaceLine{{ID: "LA", SKU: "SKU-A", Quantity: 1, Status: order.StatusAccepted}}},
			Want{Status: order.StatusAccepted, Refunds: []order.Refund{storeRefund("r1", order.RefundRefund, line("SKU-A", 1))}},
			nil, nil},
		{"partially shipped: the shipped line refunded, the other not a refund yet", refunds,
			order.MarketplaceOrder{ID: "M1", Status: order.StatusPartiallyShipped, Lines: []order.MarketplaceLine{
				{ID: "LA", SKU: "SKU-A", Quantity: 1, Status: order.StatusShipped},
				{ID: "LB", SKU: "SKU-B", Quantity: 1, Status: order.StatusAccepted}}},
			Want{Status: order.StatusPartiallyShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A")},
				Refunds: []order.Refund{storeRefund("r1", order.RefundReturn, line("SKU-A", 1), line("SKU-B", 1))}},
			[]Step{refundStep(order.Line{SKU: "SKU-A", Quantity: 1, MarketplaceLineID: "LA"})}, []string{"refund:SKU-B=1"}},
		{"an order ended on the marketplace: nothing", refunds, order.MarketplaceOrder{ID: "M1", Status: order.StatusCancelled,
			Lines: []order.MarketplaceLine{{ID: "LA", SKU: "SKU-A", Quantity: 1, Status: order.StatusCancelled}}},
			Want{Status: order.StatusRefunded, Refunds: []order.Refund{storeRefund("r1", order.RefundRefund, line("SKU-A", 1))}},
			nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, err := Plan(order.Mirakl, tt.caps, tt.remote, tt.want)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if !reflect.DeepEqual(steps, tt.steps) {
				t.Errorf("steps = %+v\nwant %+v", steps, tt.steps)
			}
			var keys []string
			for _, u := range Unsupported(order.Mirakl, tt.caps, tt.remote, tt.want) {
				keys = append(keys, u.Key)
				if u.Err.Code != syncerr.RefundUnsupported || u.Err.Details["marketplace"] != "Mirakl" || u.Err.Details["line"] == "" {
					t.Errorf("unsupported %+v: want refund_unsupported naming the marketplace and the line", u.Err)
				}
			}
			if !reflect.DeepEqual(keys, tt.unsupported) {
				t.Errorf("unsupported = %v, want %v", keys, tt.unsupported)
			}
			if len(tt.steps) == 0 {
				return
			}
			// Planning again on the order as it is once the refunds show:
			// nothing left to send (exactly once, by the plan alone).
			after := tt.remote
			for i, l := range tt.steps[0].Lines {
				after.Refunds = append(after.Refunds, mkRefund("new"+string(rune('0'+i)), l.MarketplaceLineID, l.SKU, l.Quantity))
			}
			again, err := Plan(order.Mirakl, tt.caps, after, tt.want)
			if err != nil || len(again) != 0 {
				t.Errorf("Plan after the refunds show = %+v, %v; want nothing", again, err)
			}
		})
	}
}
