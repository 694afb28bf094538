package rules

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func TestApply(t *testing.T) {
	addr := &order.Address{Line1: "1 Main St", City: "Leeds", PostalCode: "LS1", Country: "GB"}
	base := order.State{Connection: "c1", Ref: order.Ref{MarketplaceOrderID: "BM1"},
		StoreStatus: order.StatusAccepted, StoreUpdatedAt: at(10),
		Parcels: []order.Parcel{{ID: "F1", Tracking: order.Tracking{Number: "N1"}, Lines: []order.Line{{SKU: "A", Quantity: 1}}}},
		Version: 7, Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "x"},
		MarketplaceStatus: order.StatusAwaitingAcceptance}
	with := func(f func(*order.State)) order.State {
		s := base
		s.Parcels = append([]order.Parcel(nil), base.Parcels...)
		f(&s)
		return s
	}
	tests := []struct {
		name    string
		s       order.State
		e       order.Event
		want    order.State
		changed bool
	}{
		{"first event fills an empty state", order.State{},
			order.Event{Connection: "c1", OccurredAt: at(1), Status: order.StatusAccepted,
				Order:           order.Ref{StoreOrderID: "9", StoreOrderName: "#9", MarketplaceOrderID: "BM1"},
				Lines:           []order.Line{{SKU: "A", Quantity: 1}},
				ShippingAddress: addr, Test: true},
			order.State{Connection: "c1", Ref: order.Ref{StoreOrderID: "9", StoreOrderName: "#9", MarketplaceOrderID: "BM1"},
				StoreStatus: order.StatusAccepted, StoreUpdatedAt: at(1), Lines: []order.Line{{SKU: "A", Quantity: 1}},
				ShippingAddress: addr, Test: true},
			true},
		{"status moves forward", base, order.Event{OccurredAt: at(11), Status: order.StatusShipped},
			with(func(s *order.State) { s.StoreStatus, s.StoreUpdatedAt = order.StatusShipped, at(11) }), true},
		{"older event is stale for status", base, order.Event{OccurredAt: at(9), Status: order.StatusShipped},
			base, false},
		{"newer accepted after shipped does not regress", with(func(s *order.State) { s.StoreStatus = order.StatusShipped }),
			order.Event{OccurredAt: at(11), Status: order.StatusAccepted},
			with(func(s *order.State) { s.StoreStatus, s.StoreUpdatedAt = order.StatusShipped, at(11) }), true},
		{"cancelled is terminal", with(func(s *order.State) { s.StoreStatus = order.StatusCancelled }),
			order.Event{OccurredAt: at(12), Status: order.StatusShipped},
			with(func(s *order.State) { s.StoreStatus, s.StoreUpdatedAt = order.StatusCancelled, at(12) }), true},
		{"refused is terminal", with(func(s *order.State) { s.StoreStatus = order.StatusRefused }),
			order.Event{OccurredAt: at(12), Status: order.StatusCancelled},
			with(func(s *order.State) { s.StoreStatus, s.StoreUpdatedAt = order.StatusRefused, at(12) }), true},
		{"simultaneous events: the more advanced status wins", base, order.Event{OccurredAt: at(10), Status: order.StatusShipped},
			with(func(s *order.State) { s.StoreStatus = order.StatusShipped }), true},
		{"event without status keeps it", base, order.Event{OccurredAt: at(11), CancelReason: "customer"},
			with(func(s *order.State) { s.StoreUpdatedAt, s.CancelReason = at(11), "customer" }), true},
		{"newer event adds tracking to a parcel", base,
			order.Event{OccurredAt: at(11), Parcels: []order.Parcel{{ID: "F1", Tracking: order.Tracking{Carrier: "UPS", URL: "https://u"}}}},
			with(func(s *order.State) {
				s.StoreUpdatedAt, s.StoreStatus = at(11), order.StatusPartiallyShipped
				s.Parcels = []order.Parcel{{ID: "F1", Tracking: order.Tracking{Number: "N1", Carrier: "UPS", URL: "https://u"},
					Lines: []order.Line{{SKU: "A", Quantity: 1}}}}
			}), true},
		{"newer event corrects a tracking number", base,
			order.Event{OccurredAt: at(11), Parcels: []order.Parcel{{ID: "F1", Tracking: order.Tracking{Number: "N2"}}}},
			with(func(s *order.State) {
				s.StoreUpdatedAt, s.StoreStatus = at(11), order.StatusPartiallyShipped
				s.Parcels = []order.Parcel{{ID: "F1", Tracking: order.Tracking{Number: "N2"}, Lines: []order.Line{{SKU: "A", Quantity: 1}}}}
			}), true},
		{"older event only fills gaps in a parcel", base,
			order.Event{OccurredAt: at(5), Parcels: []order.Parcel{{ID: "F1", Tracking: order.Tracking{Number: "OLD", Carrier: "UPS"}}}},
			with(func(s *order.State) {
				s.Parcels = []order.Parcel{{ID: "F1", Tracking: order.Tracking{Number: "N1", Carrier: "UPS"}, Lines: []order.Line{{SKU: "A", Quantity: 1}}}}
			}), true},
		{"a new parcel id is added", base,
			order.Event{OccurredAt: at(5), Parcels: []order.Parcel{{ID: "F2", Tracking: order.Tracking{Number: "N2"}}}},
			with(func(s *order.State) {
				s.Parcels = append(s.Parcels, order.Parcel{ID: "F2", Tracking: order.Tracking{Number: "N2"}})
			}), true},
		{"parcels without id are replaced by a newer set", with(func(s *order.State) {
			s.Parcels = append(s.Parcels, order.Parcel{Lines: []order.Line{{SKU: "B"}}})
		}),
			order.Event{OccurredAt: at(11), Parcels: []order.Parcel{{Tracking: order.Tracking{Number: "N9"}, Lines: []order.Line{{SKU: "B"}}}}},
			with(func(s *order.State) {
				s.StoreUpdatedAt, s.StoreStatus = at(11), order.StatusPartiallyShipped
				s.Parcels = append(s.Parcels, order.Parcel{Tracking: order.Tracking{Number: "N9"}, Lines: []order.Line{{SKU: "B"}}})
			}), true},
		{"older lines do not replace newer ones", with(func(s *order.State) { s.Lines = []order.Line{{SKU: "A", Quantity: 2}} }),
			order.Event{OccurredAt: at(9), Lines: []order.Line{{SKU: "A", Quantity: 1}}},
			with(func(s *order.State) { s.Lines = []order.Line{{SKU: "A", Quantity: 2}} }), false},
		{"test flag stays set", with(func(s *order.State) { s.Test = true }), order.Event{OccurredAt: at(9)},
			with(func(s *order.State) { s.Test = true }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := deepCopy(tt.s)
			got, changed := Apply(tt.s, tt.e)
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("state = %+v\nwant    %+v", got, tt.want)
			}
			if !reflect.DeepEqual(tt.s, before) {
				t.Errorf("Apply modified its input: %+v, was %+v", tt.s, before)
			}
			if got.Version != tt.s.Version || !reflect.DeepEqual(got.Sync, tt.s.Sync) || got.MarketplaceStatus != tt.s.MarketplaceStatus {
				t.Errorf("Apply touched Version, Sync or the marketplace status: %+v", got)
			}
			if again, changed := Apply(got, tt.e); changed || !reflect.DeepEqual(again, got) {
				t.Errorf("applying the event twice changed the state: %+v", again)
			}
		})
	}
}

// deepCopy copies a state's slices and pointers, to detect Apply writing
// through them.
func deepCopy(s order.State) order.State {
	c := s
	c.Lines = append([]order.Line(nil), s.Lines...)
	c.Parcels = nil
	for _, p := range s.Parcels {
		p.Lines = append([]order.Line(nil), p.Lines...)
		c.Parcels = append(c.Parcels, p)
	}
	if s.Lines == nil {
		c.Lines = nil
	}
	if s.ShippingAddress != nil {
		a := *s.ShippingAddress
		c.ShippingAddress = &a
	}
	return c
}

// randomEvent draws an event from a small space, so that timestamps tie,
// parcel IDs collide and statuses race.
func randomEvent(r *rand.Rand, i int) order.Event {
	statuses := []order.Status{order.StatusUnknown, order.StatusPendingPayment, order.StatusAwaitingAcceptance,
		order.StatusAccepted, order.StatusPartiallyShipped, order.StatusShipped, order.StatusDelivered,
		order.StatusCancelled, order.StatusRefused, order.StatusRefunded}
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	e := order.Event{
		Connection:    "c1",
		SourceEventID: "ev" + strconv.Itoa(i),
		OccurredAt:    at(r.IntN(6)),
		Status:        statuses[r.IntN(len(statuses))],
		Order:         order.Ref{StoreOrderID: pick("", "1"), MarketplaceOrderID: pick("", "BM1")},
		CancelReason:  pick("", "", "customer", "fraud"),
		Test:          r.IntN(10) == 0,
	}
	if r.IntN(3) == 0 {
		e.Lines = []order.Line{{SKU: pick("A", "B"), Quantity: 1 + r.IntN(2)}}
	}
	if r.IntN(3) == 0 {
		e.ShippingAddress = &order.Address{Line1: pick("1 Main St", "2 High St"), City: "Leeds", Country: "GB"}
	}
	for range r.IntN(3) {
		e.Parcels = append(e.Parcels, order.Parcel{
			ID: pick("", "F1", "F2"),
			Tracking: order.Tracking{Number: pick("", "N1", "N2"), Carrier: pick("", "UPS", "DHL Express"),
				URL: pick("", "https://t/1")},
			Lines: []order.Line{{SKU: pick("A", "B"), Quantity: 1}}[:r.IntN(2)],
		})
	}
	if r.IntN(3) == 0 {
		e.Refunds = []order.Refund{{ID: pick("R1", "R2"), Kind: order.RefundKind(pick("cancel", "return")),
			Lines: []order.Line{{SKU: pick("A", "B"), Quantity: 1 + r.IntN(2)}}}}
	}
	return e
}

func applyAll(s order.State, events []order.Event) order.State {
	for _, e := range events {
		s, _ = Apply(s, e)
	}
	return s
}

// TestApplyProperties checks, over many random event sequences, that no
// sequence regresses the status, that any event applied a second time
// changes nothing, and that redelivered duplicates, wherever and in
// whatever order they land, leave the same state as one delivery each.
func TestApplyProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 2026))
	const runs = 3000
	for run := range runs {
		n := 1 + r.IntN(8)
		events := make([]order.Event, n)
		for i := range events {
			events[i] = randomEvent(r, i)
		}

		s := order.State{Version: 3, Sync: order.SyncOutcome{Result: order.SyncSynced}}
		for i, e := range events {
			next, changed := Apply(s, e)
			if Regresses(s.StoreStatus, next.StoreStatus) && s.StoreStatus != order.StatusUnknown {
				t.Fatalf("run %d event %d: status regressed %q -> %q", run, i, s.StoreStatus, next.StoreStatus)
			}
			if next.StoreUpdatedAt.Before(s.StoreUpdatedAt) {
				t.Fatalf("run %d event %d: StoreUpdatedAt went back", run, i)
			}
			if changed != !reflect.DeepEqual(s, next) {
				t.Fatalf("run %d event %d: changed = %v, but states equal = %v", run, i, changed, reflect.DeepEqual(s, next))
			}
			if next.Version != 3 || next.Sync.Result != order.SyncSynced {
				t.Fatalf("run %d event %d: Version or Sync touched", run, i)
			}
			again, changed := Apply(next, e)
			if changed || !reflect.DeepEqual(again, next) {
				t.Fatalf("run %d event %d: applying %+v twice changed\n%+v\nto %+v", run, i, e, next, again)
			}
			s = next
		}
		once := s

		// Redeliver a random selection of events, each at a random point
		// after its first delivery, in random order among themselves.
		delivered := append([]order.Event(nil), events...)
		for range 1 + r.IntN(2*n) {
			i := r.IntN(n)
			first := slices.IndexFunc(delivered, func(e order.Event) bool { return e.SourceEventID == events[i].SourceEventID })
			pos := first + 1 + r.IntN(len(delivered)-first)
			delivered = append(delivered[:pos], append([]order.Event{events[i]}, delivered[pos:]...)...)
		}
		got := applyAll(order.State{Version: 3, Sync: order.SyncOutcome{Result: order.SyncSynced}}, delivered)
		if !reflect.DeepEqual(got, once) {
			t.Fatalf("run %d: duplicates changed the outcome\nonce: %+v\ndup:  %+v", run, once, got)
		}
	}
}

// TestApplyParcelMeansShipped: a fulfillment webhook carries parcels but no
// order status; it must still move the order on to shipping.
func TestApplyParcelMeansShipped(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := order.State{StoreStatus: order.StatusAccepted, StoreUpdatedAt: at}
	e := order.Event{OccurredAt: at.Add(time.Minute), Parcels: []order.Parcel{{ID: "f1", Tracking: order.Tracking{Number: "1Z"}, Lines: []order.Line{{SKU: "A", Quantity: 1}}}}}
	got, changed := Apply(s, e)
	if !changed || got.StoreStatus != order.StatusPartiallyShipped {
		t.Errorf("status = %q (changed %v), want partially_shipped", got.StoreStatus, changed)
	}
	shipped := order.State{StoreStatus: order.StatusShipped, StoreUpdatedAt: at}
	if got, _ := Apply(shipped, e); got.StoreStatus != order.StatusShipped {
		t.Errorf("a later parcel regressed shipped to %q", got.StoreStatus)
	}
}

func TestApplyRefunds(t *testing.T) {
	cancelA := order.Refund{ID: "R1", Kind: order.RefundCancel, Lines: []order.Line{{SKU: "A", Quantity: 1}}}
	cancelA2 := order.Refund{ID: "R1", Kind: order.RefundCancel, Lines: []order.Line{{SKU: "A", Quantity: 2}}}
	ret := order.Refund{ID: "R2", Kind: order.RefundReturn, Lines: []order.Line{{SKU: "B", Quantity: 1}}}
	accepted := order.State{StoreStatus: order.StatusAccepted, StoreUpdatedAt: at(10)}
	shipped := order.State{StoreStatus: order.StatusShipped, StoreUpdatedAt: at(10)}
	tests := []struct {
		name        string
		s           order.State
		e           order.Event
		wantRefunds []order.Refund
		wantStatus  order.Status
	}{
		{"a line cancelled is kept; the status stays the store's", accepted,
			order.Event{OccurredAt: at(11), Status: order.StatusAccepted, Refunds: []order.Refund{cancelA}},
			[]order.Refund{cancelA}, order.StatusAccepted},
		{"a newer picture of the same refund replaces it", with(accepted, cancelA),
			order.Event{OccurredAt: at(11), Refunds: []order.Refund{cancelA2}}, []order.Refund{cancelA2}, order.StatusAccepted},
		{"an older picture only adds what is new", with(accepted, cancelA2),
			order.Event{OccurredAt: at(9), Refunds: []order.Refund{cancelA, ret}}, []order.Refund{cancelA2, ret}, order.StatusAccepted},
		{"a return after shipment keeps the order shipped", shipped,
			order.Event{OccurredAt: at(11), Status: order.StatusShipped, Refunds: []order.Refund{ret}},
			[]order.Refund{ret}, order.StatusShipped},
		{"a refund without an id is dropped", accepted,
			order.Event{OccurredAt: at(11), Refunds: []order.Refund{{Kind: order.RefundRefund}}}, nil, order.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := Apply(tt.s, tt.e)
			if !reflect.DeepEqual(got.Refunds, tt.wantRefunds) {
				t.Errorf("refunds = %+v, want %+v", got.Refunds, tt.wantRefunds)
			}
			if got.StoreStatus != tt.wantStatus {
				t.Errorf("status = %q, want %q", got.StoreStatus, tt.wantStatus)
			}
			if again, changed := Apply(got, tt.e); changed || !reflect.DeepEqual(again, got) {
				t.Errorf("applying the event again changed the state")
			}
		})
	}
}

func with(s order.State, refunds ...order.Refund) order.State {
	s.Refunds = refunds
	return s
}

func TestStoreStatusOf(t *testing.T) {
	cancelA := order.Refund{ID: "R1", Kind: order.RefundCancel, Lines: []order.Line{{SKU: "A", Quantity: 1}}}
	ret := order.Refund{ID: "R2", Kind: order.RefundReturn, Lines: []order.Line{{SKU: "A", Quantity: 1}}}
	tests := []struct {
		name string
		s    order.State
		want order.Status
	}{
		{"accepted, a line cancelled", with(order.State{StoreStatus: order.StatusAccepted}, cancelA), order.StatusPartiallyCancelled},
		{"accepted, nothing cancelled", order.State{StoreStatus: order.StatusAccepted}, order.StatusAccepted},
		{"shipped, a line cancelled before", with(order.State{StoreStatus: order.StatusShipped}, cancelA), order.StatusShipped},
		{"accepted, a return only", with(order.State{StoreStatus: order.StatusAccepted}, ret), order.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StoreStatusOf(tt.s); got != tt.want {
				t.Errorf("StoreStatusOf = %q, want %q", got, tt.want)
			}
		})
	}
}
