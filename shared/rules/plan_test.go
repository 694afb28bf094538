package rules

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

var (
	backMarketCaps = order.Capabilities{AcceptRequired: true, TrackingURLRequired: true, PerLine: true}
	miraklCaps     = order.Capabilities{Cancel: true, AcceptRequired: true, CarrierRequired: true, PerLine: true}
	amazonCaps     = order.Capabilities{CarrierRequired: true}
	ups            = order.Tracking{Number: "1Z1", Carrier: "UPS", URL: "https://www.ups.com/track?tracknum=1Z1"}
	ups2           = order.Tracking{Number: "1Z2", Carrier: "UPS", URL: "https://www.ups.com/track?tracknum=1Z2"}
)

// The Back Market states these tests use, mapped as backmarket.OrderState
// and backmarket.LineState map them. They are copied, not imported: the
// backmarket package imports rules.
var (
	bmOrderStates = map[int]order.Status{
		0: order.StatusPendingPayment,
		1: order.StatusAwaitingAcceptance,
		3: order.StatusAccepted,
		8: order.StatusCancelled,
		9: order.StatusShipped,
	}
	bmLineStates = map[int]order.Status{
		0: order.StatusPendingPayment,
		1: order.StatusAwaitingAcceptance,
		2: order.StatusAccepted,
		3: order.StatusShipped,
		4: order.StatusCancelled,
	}
)

// bmOrder is a Back Market order in the given numeric state whose two lines
// (A and B) are in the given line states.
func bmOrder(t *testing.T, state, lineA, lineB int) order.MarketplaceOrder {
	t.Helper()
	status, ok := bmOrderStates[state]
	if !ok {
		t.Fatalf("no Back Market order state %d in bmOrderStates", state)
	}
	o := order.MarketplaceOrder{ID: "BM1", Status: status, State: strconv.Itoa(state)}
	for i, st := range []int{lineA, lineB} {
		s, ok := bmLineStates[st]
		if !ok {
			t.Fatalf("no Back Market line state %d in bmLineStates", st)
		}
		id := string(rune('A' + i))
		o.Lines = append(o.Lines, order.MarketplaceLine{ID: "L" + id, SKU: "SKU-" + id, Quantity: 1, Status: s, State: strconv.Itoa(st)})
	}
	return o
}

func parcel(id string, tr order.Tracking, skus ...string) order.Parcel {
	p := order.Parcel{ID: id, Tracking: tr}
	for _, s := range skus {
		p.Lines = append(p.Lines, order.Line{SKU: s, Quantity: 1})
	}
	return p
}

// shipStep is the step shipping the named lines (SKU-A is line LA).
func shipStep(id string, tr order.Tracking, skus ...string) Step {
	p := parcel(id, tr, skus...)
	for i := range p.Lines {
		p.Lines[i].MarketplaceLineID = "L" + p.Lines[i].SKU[len("SKU-"):]
	}
	return Step{Action: ActionShip, Parcel: p}
}

var (
	accept = Step{Action: ActionAccept}
	cancel = Step{Action: ActionCancel}
)

func TestPlan(t *testing.T) {
	shippedA := func(tr order.Tracking) order.MarketplaceOrder {
		o := bmOrder(t, 3, 3, 2)
		o.Lines[0].Tracking = tr
		return o
	}
	tests := []struct {
		name     string
		platform order.Platform
		caps     order.Capabilities
		remote   order.MarketplaceOrder
		want     Want
		steps    []Step
		code     syncerr.Code
		details  map[string]string
	}{
		{name: "back market to accept: accept then ship", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 1, 1, 1),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A", "SKU-B")}},
			steps:  []Step{accept, shipStep("F1", ups, "SKU-A", "SKU-B")}},
		{name: "back market waiting for fulfilment: ship only", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A", "SKU-B")}},
			steps:  []Step{shipStep("F1", ups, "SKU-A", "SKU-B")}},
		{name: "back market fulfilled: no-op", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 9, 3, 3),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A", "SKU-B")}}},
		{name: "accept awaiting acceptance", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 1, 1, 1), want: Want{Status: order.StatusAccepted}, steps: []Step{accept}},
		{name: "accept already accepted is a no-op", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2), want: Want{Status: order.StatusAccepted}},
		{name: "stale accepted after shipped is a no-op", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 9, 3, 3), want: Want{Status: order.StatusAccepted}},
		{name: "stale partial after shipped is a no-op", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 9, 3, 3), want: Want{Status: order.StatusPartiallyShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A")}}},
		{name: "pending payment is never pushed", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 1, 1, 1), want: Want{Status: order.StatusPendingPayment}},
		{name: "unknown store status is a no-op", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 1, 1, 1), want: Want{Status: order.StatusUnknown}},
		{name: "invalid transition: accept cancelled", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 8, 4, 4), want: Want{Status: order.StatusAccepted},
			code: syncerr.InvalidTransition, details: map[string]string{"from": "cancelled", "to": "accepted", "marketplace": "Back Market"}},
		{name: "invalid transition: ship cancelled", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 8, 4, 4),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A")}},
			code:   syncerr.InvalidTransition, details: map[string]string{"from": "cancelled", "to": "shipped", "marketplace": "Back Market"}},
		{name: "invalid transition: ship before payment", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 0, 0, 0),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A")}},
			code:   syncerr.InvalidTransition, details: map[string]string{"from": "pending_payment", "to": "shipped"}},
		{name: "invalid transition: accept before payment", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 0, 0, 0), want: Want{Status: order.StatusAccepted},
			code: syncerr.InvalidTransition, details: map[string]string{"from": "pending_payment", "to": "accepted"}},
		{name: "invalid transition: ship a cancelled line", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 4),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A", "SKU-B")}},
			code:   syncerr.InvalidTransition, details: map[string]string{"from": "cancelled", "to": "shipped", "line": "LB", "sku": "SKU-B"}},
		{name: "ship without acceptance where none is required", platform: order.Amazon, caps: amazonCaps,
			remote: order.MarketplaceOrder{ID: "AMZ", Status: order.StatusAwaitingAcceptance,
				Lines: []order.MarketplaceLine{{ID: "LA", SKU: "SKU-A", Quantity: 1}}},
			want:  Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A")}},
			steps: []Step{shipStep("F1", ups, "SKU-A")}},
		{name: "mirakl waiting acceptance: accept then one ship step (OR23 and OR24 inside)", platform: order.Mirakl, caps: miraklCaps,
			remote: order.MarketplaceOrder{ID: "M1", Status: order.StatusAwaitingAcceptance, State: "WAITING_ACCEPTANCE",
				Lines: []order.MarketplaceLine{{ID: "LA", SKU: "SKU-A", Quantity: 1, Status: order.StatusAwaitingAcceptance}}},
			want:  Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", order.Tracking{Number: "1Z1", Carrier: "UPS"}, "SKU-A")}},
			steps: []Step{accept, shipStep("F1", order.Tracking{Number: "1Z1", Carrier: "UPS"}, "SKU-A")}},
		{name: "want delivered ships", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want:   Want{Status: order.StatusDelivered, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A", "SKU-B")}},
			steps:  []Step{shipStep("F1", ups, "SKU-A", "SKU-B")}},

		{name: "cancel", platform: order.Mirakl, caps: miraklCaps,
			remote: order.MarketplaceOrder{ID: "M1", Status: order.StatusAccepted}, want: Want{Status: order.StatusCancelled},
			steps: []Step{cancel}},
		{name: "cancel unsupported", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2), want: Want{Status: order.StatusCancelled},
			code: syncerr.CancelUnsupported, details: map[string]string{"marketplace": "Back Market"}},
		{name: "invalid transition: cancel shipped", platform: order.Mirakl, caps: miraklCaps,
			remote: order.MarketplaceOrder{ID: "M1", Status: order.StatusShipped}, want: Want{Status: order.StatusCancelled},
			code: syncerr.InvalidTransition, details: map[string]string{"from": "shipped", "to": "cancelled", "marketplace": "Mirakl"}},
		{name: "cancel already refused is a no-op", platform: order.Mirakl, caps: miraklCaps,
			remote: order.MarketplaceOrder{ID: "M1", Status: order.StatusRefused}, want: Want{Status: order.StatusCancelled}},
		{name: "refused in store cancels", platform: order.Mirakl, caps: miraklCaps,
			remote: order.MarketplaceOrder{ID: "M1", Status: order.StatusAwaitingAcceptance}, want: Want{Status: order.StatusRefused},
			steps: []Step{cancel}},
		{name: "refund before shipping cancels", platform: order.Mirakl, caps: miraklCaps,
			remote: order.MarketplaceOrder{ID: "M1", Status: order.StatusAccepted}, want: Want{Status: order.StatusRefunded},
			steps: []Step{cancel}},
		{name: "refund after shipping needs no call", platform: order.Mirakl, caps: miraklCaps,
			remote: order.MarketplaceOrder{ID: "M1", Status: order.StatusShipped}, want: Want{Status: order.StatusRefunded}},

		{name: "missing tracking number", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", order.Tracking{Carrier: "UPS"}, "SKU-A")}},
			code:   syncerr.ShippingDataMissing, details: map[string]string{"missing": "tracking number", "parcel": "F1", "marketplace": "Back Market"}},
		{name: "missing carrier", platform: order.Mirakl, caps: miraklCaps,
			remote: order.MarketplaceOrder{ID: "M1", Status: order.StatusAccepted, Lines: []order.MarketplaceLine{{ID: "LA", SKU: "SKU-A"}}},
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", order.Tracking{Number: "1Z1"}, "SKU-A")}},
			code:   syncerr.ShippingDataMissing, details: map[string]string{"missing": "carrier"}},
		{name: "missing tracking URL", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", order.Tracking{Number: "42", Carrier: "Local Courier"}, "SKU-A")}},
			code:   syncerr.ShippingDataMissing, details: map[string]string{"missing": "tracking URL"}},
		{name: "tracking URL derived from carrier", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", order.Tracking{Number: "1Z1", Carrier: "UPS"}, "SKU-A", "SKU-B")}},
			steps:  []Step{shipStep("F1", ups, "SKU-A", "SKU-B")}},
		{name: "no parcel at all", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2), want: Want{Status: order.StatusShipped},
			code: syncerr.ShippingDataMissing, details: map[string]string{"missing": "tracking number"}},
		{name: "parcel without lines", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2), want: Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups)}},
			code: syncerr.ShippingDataMissing, details: map[string]string{"missing": "lines"}},
		{name: "parcel without lines or tracking", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2), want: Want{Status: order.StatusShipped, Parcels: []order.Parcel{{ID: "F1"}}},
			code: syncerr.ShippingDataMissing, details: map[string]string{"missing": "tracking number, tracking URL and lines"}},
		{name: "a bad parcel stops every step", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 1, 1, 1),
			want: Want{Status: order.StatusShipped, Parcels: []order.Parcel{
				parcel("F1", ups, "SKU-A"), parcel("F2", order.Tracking{Carrier: "UPS"}, "SKU-B")}},
			code: syncerr.ShippingDataMissing, details: map[string]string{"missing": "tracking number", "parcel": "F2"}},
		{name: "sku mismatch", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-Z")}},
			code:   syncerr.SKUNotFound, details: map[string]string{"sku": "SKU-Z", "parcel": "F1"}},
		{name: "unknown marketplace line id", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want: Want{Status: order.StatusShipped, Parcels: []order.Parcel{{ID: "F1", Tracking: ups,
				Lines: []order.Line{{SKU: "SKU-A", MarketplaceLineID: "LX", Quantity: 1}}}}},
			code: syncerr.SKUNotFound, details: map[string]string{"sku": "SKU-A"}},

		{name: "partial shipment: first parcel", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want:   Want{Status: order.StatusPartiallyShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A")}},
			steps:  []Step{shipStep("F1", ups, "SKU-A")}},
		{name: "partial shipment: each parcel its own step", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 3, 2, 2),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A"), parcel("F2", ups2, "SKU-B")}},
			steps:  []Step{shipStep("F1", ups, "SKU-A"), shipStep("F2", ups2, "SKU-B")}},
		{name: "partial shipment: line shipped with same tracking is skipped", platform: order.BackMarket, caps: backMarketCaps,
			remote: shippedA(ups),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A"), parcel("F2", ups2, "SKU-B")}},
			steps:  []Step{shipStep("F2", ups2, "SKU-B")}},
		{name: "partial shipment: nothing left to ship", platform: order.BackMarket, caps: backMarketCaps,
			remote: shippedA(ups),
			want:   Want{Status: order.StatusPartiallyShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A")}}},
		{name: "partial shipment: a shipped line is never shipped twice", platform: order.BackMarket, caps: backMarketCaps,
			remote: shippedA(ups),
			want:   Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F9", ups2, "SKU-A", "SKU-B")}},
			steps:  []Step{shipStep("F9", ups2, "SKU-B")}},
		{name: "two lines with one sku go to different parcels", platform: order.BackMarket, caps: backMarketCaps,
			remote: order.MarketplaceOrder{ID: "BM2", Status: order.StatusAccepted, Lines: []order.MarketplaceLine{
				{ID: "L1", SKU: "SKU-X", Quantity: 1, Status: order.StatusAccepted},
				{ID: "L2", SKU: "SKU-X", Quantity: 1, Status: order.StatusAccepted}}},
			want: Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-X"), parcel("F2", ups2, "SKU-X")}},
			steps: []Step{
				{Action: ActionShip, Parcel: order.Parcel{ID: "F1", Tracking: ups, Lines: []order.Line{{SKU: "SKU-X", Quantity: 1, MarketplaceLineID: "L1"}}}},
				{Action: ActionShip, Parcel: order.Parcel{ID: "F2", Tracking: ups2, Lines: []order.Line{{SKU: "SKU-X", Quantity: 1, MarketplaceLineID: "L2"}}}}}},
		{name: "quantity and sku come from the marketplace line when missing", platform: order.Amazon, caps: amazonCaps,
			remote: order.MarketplaceOrder{ID: "AMZ", Status: order.StatusAccepted,
				Lines: []order.MarketplaceLine{{ID: "I1", SKU: "SKU-A", Quantity: 3}}},
			want: Want{Status: order.StatusShipped, Parcels: []order.Parcel{{ID: "F1", Tracking: ups,
				Lines: []order.Line{{MarketplaceLineID: "I1"}}}}},
			steps: []Step{{Action: ActionShip, Parcel: order.Parcel{ID: "F1", Tracking: ups,
				Lines: []order.Line{{SKU: "SKU-A", Quantity: 3, MarketplaceLineID: "I1"}}}}}},

		{name: "unknown platform state", platform: order.BackMarket, caps: backMarketCaps,
			remote: order.MarketplaceOrder{ID: "BM1", Status: order.StatusUnknown, State: "42"},
			want:   Want{Status: order.StatusAccepted},
			code:   syncerr.InvalidData, details: map[string]string{"field": `marketplace status "42"`}},
		{name: "wanted status outside the lifecycle", platform: order.BackMarket, caps: backMarketCaps,
			remote: bmOrder(t, 1, 1, 1), want: Want{Status: "shiped"},
			code: syncerr.InvalidData, details: map[string]string{"field": `wanted status "shiped"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.platform, tt.caps, tt.remote, tt.want)
			checkErr(t, err, tt.code, tt.details)
			if !reflect.DeepEqual(got, tt.steps) {
				t.Errorf("steps = %+v\nwant    %+v", got, tt.steps)
			}
		})
	}
}

// fakeBackMarket plays Back Market's side of a plan: it applies steps the
// way the marketplace would and reports the order's state.
type fakeBackMarket struct {
	state int   // order state
	lines []int // line states
}

func (f *fakeBackMarket) order(t *testing.T) order.MarketplaceOrder {
	o := bmOrder(t, f.state, f.lines[0], f.lines[1])
	return o
}

func (f *fakeBackMarket) do(t *testing.T, s Step) {
	switch s.Action {
	case ActionAccept:
		for i, st := range f.lines {
			if st == 1 {
				f.lines[i] = 2
			}
		}
		f.state = 3
	case ActionShip:
		for _, l := range s.Parcel.Lines {
			f.lines[l.MarketplaceLineID[1]-'A'] = 3
		}
		if f.lines[0] == 3 && f.lines[1] == 3 {
			f.state = 9
		}
	default:
		t.Fatalf("unexpected step %+v", s)
	}
}

// TestBackMarketHierarchy walks an order To accept → Waiting for
// fulfilment → Fulfilled, planning again after every call, as the sync
// does after a failure half way.
func TestBackMarketHierarchy(t *testing.T) {
	bm := &fakeBackMarket{state: 1, lines: []int{1, 1}}
	want := Want{Status: order.StatusShipped, Parcels: []order.Parcel{
		parcel("F1", order.Tracking{Number: "1Z1", Carrier: "UPS"}, "SKU-A"),
		parcel("F2", order.Tracking{Number: "1Z2", Carrier: "UPS"}, "SKU-B")}}
	states := []int{bm.state}
	for range 10 {
		steps, err := Plan(order.BackMarket, backMarketCaps, bm.order(t), want)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) == 0 {
			break
		}
		bm.do(t, steps[0]) // one call, then plan again
		if states[len(states)-1] != bm.state {
			states = append(states, bm.state)
		}
	}
	if got, want := states, []int{1, 3, 9}; !reflect.DeepEqual(got, want) {
		t.Errorf("order states = %v, want %v (to accept, waiting for fulfilment, fulfilled)", got, want)
	}
	if got := bm.lines; !reflect.DeepEqual(got, []int{3, 3}) {
		t.Errorf("line states = %v, want both shipped (3)", got)
	}
}

// TestPlanIsIdempotent plans, makes every step on a fake, and plans again:
// the second plan must be empty.
func TestPlanIsIdempotent(t *testing.T) {
	for _, start := range [][3]int{{1, 1, 1}, {3, 2, 2}, {3, 3, 2}, {9, 3, 3}} {
		t.Run(strconv.Itoa(start[0])+"/"+strconv.Itoa(start[1])+strconv.Itoa(start[2]), func(t *testing.T) {
			bm := &fakeBackMarket{state: start[0], lines: []int{start[1], start[2]}}
			want := Want{Status: order.StatusShipped, Parcels: []order.Parcel{parcel("F1", ups, "SKU-A"), parcel("F2", ups2, "SKU-B")}}
			steps, err := Plan(order.BackMarket, backMarketCaps, bm.order(t), want)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range steps {
				bm.do(t, s)
			}
			again, err := Plan(order.BackMarket, backMarketCaps, bm.order(t), want)
			if err != nil || again != nil {
				t.Errorf("second plan = %+v, %v; want nil, nil", again, err)
			}
		})
	}
}
