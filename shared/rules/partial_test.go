package rules

import (
	"reflect"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func cancelRefund(id string, skus ...string) order.Refund {
	r := order.Refund{ID: id, Kind: order.RefundCancel}
	for _, s := range skus {
		r.Lines = append(r.Lines, order.Line{SKU: s, Quantity: 1})
	}
	return r
}

func cancelLinesStep(skus ...string) Step {
	s := Step{Action: ActionCancelLines}
	for _, sku := range skus {
		s.Lines = append(s.Lines, order.Line{SKU: sku, Quantity: 1, MarketplaceLineID: "L" + sku[len("SKU-"):]})
	}
	return s
}

func TestPlanPartialCancel(t *testing.T) {
	refuseAwaiting := order.Capabilities{AcceptRequired: true, PerLine: true, CancelLines: true}
	refuseAny := refuseAwaiting
	refuseAny.CancelAcceptedLines = true
	noLineCancel := order.Capabilities{Cancel: true, AcceptRequired: true, PerLine: true}
	tests := []struct {
		name        string
		caps        order.Capabilities
		remote      order.MarketplaceOrder
		want        Want
		steps       []Step
		unsupported []syncerr.Code
	}{
		{"a line cancelled before acceptance is refused, the rest accepted", refuseAwaiting, bmOrder(t, 1, 1, 1),
			Want{Status: order.StatusAccepted, Refunds: []order.Refund{cancelRefund("r1", "SKU-B")}},
			[]Step{cancelLinesStep("SKU-B"), accept}, nil},
		{"an accepted line, refused where the marketplace allows it", refuseAny, bmOrder(t, 3, 2, 2),
			Want{Status: order.StatusPartiallyCancelled, Refunds: []order.Refund{cancelRefund("r1", "SKU-A")}},
			[]Step{cancelLinesStep("SKU-A")}, nil},
		{"an accepted line where only awaiting lines can be refused", refuseAwaiting, bmOrder(t, 3, 2, 2),
			Want{Status: order.StatusPartiallyCancelled, Refunds: []order.Refund{cancelRefund("r1", "SKU-A")}},
			nil, []syncerr.Code{syncerr.CancelUnsupported}},
		{"no line cancel: the rest still ships", noLineCancel, bmOrder(t, 3, 2, 2),
			Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-B")},
				Refunds: []order.Refund{cancelRefund("r1", "SKU-A")}},
			[]Step{shipStep("F1", ups, "SKU-B")}, []syncerr.Code{syncerr.CancelUnsupported}},
		{"cancelled there already: nothing to do", refuseAny, bmOrder(t, 3, 2, 4),
			Want{Status: order.StatusPartiallyCancelled, Refunds: []order.Refund{cancelRefund("r1", "SKU-B")}},
			nil, nil},
		{"shipped there already: not a cancel", refuseAny, bmOrder(t, 9, 3, 3),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{cancelRefund("r1", "SKU-B")}},
			nil, nil},
		{"the whole order cancelled: one cancel, no line steps", noLineCancel, bmOrder(t, 3, 2, 2),
			Want{Status: order.StatusCancelled, Refunds: []order.Refund{cancelRefund("r1", "SKU-B")}},
			[]Step{cancel}, nil},
		{"part of a line's quantity", refuseAny, order.MarketplaceOrder{ID: "M", Status: order.StatusAccepted,
			Lines: []order.MarketplaceLine{{ID: "LA", SKU: "SKU-A", Quantity: 3, Status: order.StatusAccepted}}},
			Want{Status: order.StatusAccepted, Refunds: []order.Refund{cancelRefund("r1", "SKU-A")}},
			nil, []syncerr.Code{syncerr.CancelUnsupported}},
		{"a refund after shipment is explained, never planned", refuseAny, bmOrder(t, 9, 3, 3),
			Want{Status: order.StatusShipped, Refunds: []order.Refund{{ID: "r2", Kind: order.RefundReturn,
				Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}}},
			nil, []syncerr.Code{syncerr.RefundUnsupported}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, err := Plan(order.BackMarket, tt.caps, tt.remote, tt.want)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if !reflect.DeepEqual(steps, tt.steps) {
				t.Errorf("steps = %+v\nwant %+v", steps, tt.steps)
			}
			var codes []syncerr.Code
			for _, u := range Unsupported(order.BackMarket, tt.caps, tt.remote, tt.want) {
				codes = append(codes, u.Err.Code)
				if u.Key == "" || u.Err.Details["marketplace"] != "Back Market" {
					t.Errorf("unsupported %+v: want a key and the marketplace named", u)
				}
			}
			if !reflect.DeepEqual(codes, tt.unsupported) {
				t.Errorf("unsupported = %v, want %v", codes, tt.unsupported)
			}
		})
	}
}

func TestPlanWholeOrderParcels(t *testing.T) {
	whole := order.Capabilities{Cancel: true, AcceptRequired: true, CarrierRequired: true}
	split := whole
	split.PerLine = true
	accepted := order.MarketplaceOrder{ID: "M1", Status: order.StatusAccepted, Lines: []order.MarketplaceLine{
		{ID: "LA", SKU: "SKU-A", Quantity: 1, Status: order.StatusAccepted},
		{ID: "LB", SKU: "SKU-B", Quantity: 1, Status: order.StatusAccepted}}}
	both := Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A"), parcel("F2", ups2, "SKU-B")}}
	tests := []struct {
		name   string
		caps   order.Capabilities
		want   Want
		steps  []Step
		others string
	}{
		{"whole order, every line in two parcels: one step, the first tracking", whole, both,
			[]Step{{Action: ActionShip, Parcel: order.Parcel{ID: "F1", Tracking: ups,
				Lines: append(shipStep("F1", ups, "SKU-A").Parcel.Lines, shipStep("F2", ups2, "SKU-B").Parcel.Lines...)}}}, "1Z2"},
		{"whole order, one line shipped so far: left as it is", whole,
			Want{Status: order.StatusPartiallyShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A")}},
			[]Step{shipStep("F1", ups, "SKU-A")}, ""},
		{"split parcels: a step per parcel, nothing unsent", split, both,
			[]Step{shipStep("F1", ups, "SKU-A"), shipStep("F2", ups2, "SKU-B")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, err := Plan(order.Mirakl, tt.caps, accepted, tt.want)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if !reflect.DeepEqual(steps, tt.steps) {
				t.Errorf("steps = %+v\nwant %+v", steps, tt.steps)
			}
			others := ""
			for _, u := range Unsupported(order.Mirakl, tt.caps, accepted, tt.want) {
				if u.Err.Code != syncerr.ParcelsUnsupported {
					t.Errorf("unsupported %s; want parcels_unsupported only", u.Err.Code)
				}
				others = u.Err.Details["others"]
				if got := u.Err.Details["tracking"]; got != ups.Number {
					t.Errorf("tracking detail = %q, want %q", got, ups.Number)
				}
			}
			if others != tt.others {
				t.Errorf("others = %q, want %q", others, tt.others)
			}
		})
	}
}
