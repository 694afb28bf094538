// Package marketplacetest holds what every marketplace connector's tests
// share: the conformance suite each connector runs against its platform's
// fake (RunConformance, as go-cloud's drivertest), and the fault switch
// and rate limiter the fakes embed.
package marketplacetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Harness is what a connector's test gives the suite.
type Harness struct {
	// Start starts a fresh fake for one test case (stopped with
	// t.Cleanup) and returns the connector pointed at it.
	Start func(t *testing.T) *Fixture
}

// Fixture is one fresh fake and the connector under test talking to it.
type Fixture struct {
	// Marketplace is the connector under test, with credentials the fake
	// accepts.
	Marketplace syncer.Marketplace
	// Unauthorized is the same connector with credentials the fake refuses.
	Unauthorized syncer.Marketplace
	// Seed stores an order in the fake and returns its marketplace id.
	Seed func(t *testing.T, o SeedOrder) string
	// SetFault makes the fake answer as f says; ClearFaults stops it.
	SetFault    func(f Fault)
	ClearFaults func()
	// Updates counts the state-changing requests (accept, ship, cancel
	// calls) the fake received, whatever it answered.
	Updates func() int
	// Requests counts every API request the fake received.
	Requests func() int
	// PageSize is how many orders one page of the fake's listing holds as
	// the connector asks for it; the suite seeds more than two pages.
	PageSize int
	// NoAcceptStep says the marketplace has no accept step: a paid order
	// is ready to ship as it arrives (Amazon's Unshipped). Seed then makes
	// such an order for StatusAwaitingAcceptance, which reads as
	// StatusAccepted, and Accept must be a no-op that makes no call; the
	// cases that fault or refuse an update use Ship instead.
	NoAcceptStep bool
	// TrackingNotRead says the marketplace's order reads do not return the
	// tracking a shipment sent (Amazon's Orders API v0): the ship cases
	// then check the lines shipped, not the tracking read back.
	TrackingNotRead bool
}

// SeedOrder describes an order for Fixture.Seed, in ordersync's terms.
type SeedOrder struct {
	// Status is StatusAwaitingAcceptance (paid, every line awaiting the
	// merchant) or StatusCancelled (every line cancelled); every harness
	// supports both.
	Status order.Status
	// SKUs are the order's lines, one each, quantity 1.
	SKUs []string
	// UpdatedAt is when the order last changed; zero means now.
	UpdatedAt time.Time
}

// The parcel every ship case sends.
var parcel = order.Parcel{ID: "F1", Tracking: order.Tracking{Number: "6A12345678901", Carrier: "Colissimo",
	URL: "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"}}

// RunConformance runs the suite every marketplace connector must pass.
// Each case starts a fresh fake through h.
func RunConformance(t *testing.T, h Harness) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, f *Fixture)
	}{
		{"Accept", testAccept},
		{"AcceptAcceptedIsNoop", testAcceptAcceptedIsNoop},
		{"AcceptWithStaleOrderIsNoop", testAcceptStale},
		{"Ship", testShip},
		{"ReshipSameTrackingIsNoop", testReshipSameTracking},
		{"ShipWithoutTrackingNumber", testShipWithoutTracking},
		{"ShipCancelledIsInvalidTransition", testShipCancelled},
		{"ShipBeforeAccept", testShipBeforeAccept},
		{"ShipInTwoParcels", testShipInTwoParcels},
		{"Cancel", testCancel},
		{"CancelLineAwaitingAcceptance", testCancelLineAwaiting},
		{"CancelLineAccepted", testCancelLineAccepted},
		{"CancelLineAgainIsNoop", testCancelLineAgain},
		{"RefundLineShipped", testRefundLineShipped},
		{"RateLimited", testRateLimited},
		{"RateLimitedUpdate", testRateLimitedUpdate},
		{"Unavailable", testUnavailable},
		{"SlowPastDeadline", testSlow},
		{"Unauthorized", testUnauthorized},
		{"UnknownOrder", testUnknownOrder},
		{"OrdersUpdatedSincePages", testPaging},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, h.Start(t))
		})
	}
}

func wantCode(t *testing.T, what string, err error, want syncerr.Code) *syncerr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error; want %s", what, want)
	}
	e, ok := syncerr.As(err)
	if !ok {
		t.Fatalf("%s: got unclassified error %v; want %s", what, err, want)
	}
	if e.Code != want {
		t.Fatalf("%s: got %s (%v); want %s", what, e.Code, err, want)
	}
	return e
}

func mustOrder(t *testing.T, f *Fixture, id string) order.MarketplaceOrder {
	t.Helper()
	o, err := f.Marketplace.Order(context.Background(), id)
	if err != nil {
		t.Fatalf("Order(%s): %v", id, err)
	}
	return o
}

func seedAwaiting(t *testing.T, f *Fixture) (string, order.MarketplaceOrder) {
	t.Helper()
	id := f.Seed(t, SeedOrder{Status: order.StatusAwaitingAcceptance, SKUs: []string{"SKU-A", "SKU-B"}})
	o := mustOrder(t, f, id)
	want := order.StatusAwaitingAcceptance
	if f.NoAcceptStep {
		want = order.StatusAccepted
	}
	if o.Status != want {
		t.Fatalf("seeded order status = %q; want %q", o.Status, want)
	}
	if len(o.Lines) != 2 {
		t.Fatalf("seeded order has %d lines; want 2", len(o.Lines))
	}
	return id, o
}

func seedAccepted(t *testing.T, f *Fixture) (string, order.MarketplaceOrder) {
	t.Helper()
	id, o := seedAwaiting(t, f)
	if err := f.Marketplace.Accept(context.Background(), o); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	return id, mustOrder(t, f, id)
}

func accepted(s order.Status) bool {
	return rules.Rank(s) >= rules.Rank(order.StatusAccepted) && !rules.Terminal(s)
}

func testAccept(t *testing.T, f *Fixture) {
	id, o := seedAwaiting(t, f)
	before := f.Requests()
	if err := f.Marketplace.Accept(context.Background(), o); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	switch {
	case f.NoAcceptStep && f.Requests() != before:
		t.Errorf("Accept made %d calls; want none: the marketplace has no accept step", f.Requests()-before)
	case !f.NoAcceptStep && f.Updates() == 0:
		t.Errorf("Accept made no update call")
	}
	got := mustOrder(t, f, id)
	if got.Status != order.StatusAccepted {
		t.Errorf("status after Accept = %q; want %q", got.Status, order.StatusAccepted)
	}
	for _, l := range got.Lines {
		if !accepted(l.Status) {
			t.Errorf("line %s status after Accept = %q; want accepted", l.SKU, l.Status)
		}
	}
}

func testAcceptAcceptedIsNoop(t *testing.T, f *Fixture) {
	_, o := seedAccepted(t, f)
	before := f.Updates()
	if err := f.Marketplace.Accept(context.Background(), o); err != nil {
		t.Fatalf("Accept of an accepted order: %v; want nil", err)
	}
	if got := f.Updates(); got != before {
		t.Errorf("Accept of an accepted order made %d update calls; want 0", got-before)
	}
}

// testAcceptStale accepts again with the order as it was before the first
// accept, as a retry after a lost answer would.
func testAcceptStale(t *testing.T, f *Fixture) {
	id, stale := seedAwaiting(t, f)
	if err := f.Marketplace.Accept(context.Background(), stale); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if err := f.Marketplace.Accept(context.Background(), stale); err != nil {
		t.Fatalf("Accept again with the stale order: %v; want nil", err)
	}
	if got := mustOrder(t, f, id); got.Status != order.StatusAccepted {
		t.Errorf("status = %q; want %q", got.Status, order.StatusAccepted)
	}
}

func testShip(t *testing.T, f *Fixture) {
	id, o := seedAccepted(t, f)
	if err := f.Marketplace.Ship(context.Background(), o, parcel); err != nil {
		t.Fatalf("Ship: %v", err)
	}
	got := mustOrder(t, f, id)
	if got.Status != order.StatusShipped {
		t.Errorf("status after Ship = %q; want %q", got.Status, order.StatusShipped)
	}
	if !f.TrackingNotRead && got.Tracking.Number != parcel.Tracking.Number {
		t.Errorf("tracking number after Ship = %q; want %q", got.Tracking.Number, parcel.Tracking.Number)
	}
	for _, l := range got.Lines {
		if l.Status != order.StatusShipped {
			t.Errorf("line %s status after Ship = %q; want %q", l.SKU, l.Status, order.StatusShipped)
		}
	}
}

func testReshipSameTracking(t *testing.T, f *Fixture) {
	id, o := seedAccepted(t, f)
	if err := f.Marketplace.Ship(context.Background(), o, parcel); err != nil {
		t.Fatalf("Ship: %v", err)
	}
	shipped := mustOrder(t, f, id)
	before := f.Updates()
	if err := f.Marketplace.Ship(context.Background(), shipped, parcel); err != nil {
		t.Fatalf("re-Ship with the same tracking: %v; want nil", err)
	}
	if got := f.Updates(); got != before {
		t.Errorf("re-Ship with the same tracking made %d update calls; want 0", got-before)
	}
}

func testShipWithoutTracking(t *testing.T, f *Fixture) {
	_, o := seedAccepted(t, f)
	before := f.Updates()
	err := f.Marketplace.Ship(context.Background(), o, order.Parcel{Tracking: order.Tracking{Carrier: "Colissimo"}})
	wantCode(t, "Ship without a tracking number", err, syncerr.ShippingDataMissing)
	if got := f.Updates(); got != before {
		t.Errorf("Ship without a tracking number made %d update calls; want 0", got-before)
	}
}

func testShipCancelled(t *testing.T, f *Fixture) {
	id := f.Seed(t, SeedOrder{Status: order.StatusCancelled, SKUs: []string{"SKU-A", "SKU-B"}})
	o := mustOrder(t, f, id)
	if o.Status != order.StatusCancelled {
		t.Fatalf("seeded order status = %q; want %q", o.Status, order.StatusCancelled)
	}
	err := f.Marketplace.Ship(context.Background(), o, parcel)
	wantCode(t, "Ship of a cancelled order", err, syncerr.InvalidTransition)
	if got := mustOrder(t, f, id); got.Status != order.StatusCancelled {
		t.Errorf("status = %q; want %q", got.Status, order.StatusCancelled)
	}
}

func testShipBeforeAccept(t *testing.T, f *Fixture) {
	if !f.Marketplace.Capabilities().AcceptRequired {
		t.Skip("the marketplace lets orders ship without acceptance")
	}
	id, o := seedAwaiting(t, f)
	err := f.Marketplace.Ship(context.Background(), o, parcel)
	wantCode(t, "Ship before Accept", err, syncerr.InvalidTransition)
	if got := mustOrder(t, f, id); got.Status != order.StatusAwaitingAcceptance {
		t.Errorf("status = %q; want %q", got.Status, order.StatusAwaitingAcceptance)
	}
}

func testCancel(t *testing.T, f *Fixture) {
	if !f.Marketplace.Capabilities().Cancel {
		id, o := seedAwaiting(t, f)
		before := f.Requests()
		e := wantCode(t, "Cancel", f.Marketplace.Cancel(context.Background(), o, "customer"), syncerr.CancelUnsupported)
		if got := f.Requests(); got != before {
			t.Errorf("Cancel made %d calls; want none", got-before)
		}
		if e.Details["order"] != id {
			t.Errorf("cancel_unsupported order detail = %q; want %q", e.Details["order"], id)
		}
		return
	}
	id, o := seedAccepted(t, f)
	if err := f.Marketplace.Cancel(context.Background(), o, "customer"); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if got := mustOrder(t, f, id); got.Status != order.StatusCancelled {
		t.Errorf("status after Cancel = %q; want %q", got.Status, order.StatusCancelled)
	}
}

func testRateLimited(t *testing.T, f *Fixture) {
	id, _ := seedAwaiting(t, f)
	f.SetFault(Fault{Status: 429, RetryAfter: "7", Count: 1})
	_, err := f.Marketplace.Order(context.Background(), id)
	e := wantCode(t, "Order while rate limited", err, syncerr.RateLimited)
	if e.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %v; want 7s", e.RetryAfter)
	}
	if _, err := f.Marketplace.Order(context.Background(), id); err != nil {
		t.Errorf("Order once the one-request fault is used up: %v", err)
	}
}

func testRateLimitedUpdate(t *testing.T, f *Fixture) {
	id, o := seedAwaiting(t, f)
	f.SetFault(Fault{Status: 429, RetryAfter: "3", Methods: "POST,PUT"})
	what, err := "Accept while rate limited", f.Marketplace.Accept(context.Background(), o)
	if f.NoAcceptStep {
		what, err = "Ship while rate limited", f.Marketplace.Ship(context.Background(), o, parcel)
	}
	e := wantCode(t, what, err, syncerr.RateLimited)
	if e.RetryAfter != 3*time.Second {
		t.Errorf("RetryAfter = %v; want 3s", e.RetryAfter)
	}
	f.ClearFaults()
	if got := mustOrder(t, f, id); got.Status != o.Status {
		t.Errorf("status = %q; want %q", got.Status, o.Status)
	}
}

func testUnavailable(t *testing.T, f *Fixture) {
	id, _ := seedAwaiting(t, f)
	f.SetFault(Fault{Status: 503})
	_, err := f.Marketplace.Order(context.Background(), id)
	wantCode(t, "Order while unavailable", err, syncerr.MarketplaceUnavailable)
	_, err = f.Marketplace.OrdersUpdatedSince(context.Background(), time.Now().Add(-time.Hour))
	wantCode(t, "OrdersUpdatedSince while unavailable", err, syncerr.MarketplaceUnavailable)
}

// testSlow gives the connector a deadline far shorter than the fake's
// delay: the outcome does not depend on timing, only on the deadline
// passing first.
func testSlow(t *testing.T, f *Fixture) {
	id, _ := seedAwaiting(t, f)
	f.SetFault(Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := f.Marketplace.Order(ctx, id)
	wantCode(t, "Order past the deadline", err, syncerr.MarketplaceUnavailable)
}

func testUnauthorized(t *testing.T, f *Fixture) {
	id, o := seedAwaiting(t, f)
	_, err := f.Unauthorized.Order(context.Background(), id)
	wantCode(t, "Order with a refused key", err, syncerr.AuthExpired)
	if f.NoAcceptStep {
		wantCode(t, "Ship with a refused key", f.Unauthorized.Ship(context.Background(), o, parcel), syncerr.AuthExpired)
		return
	}
	wantCode(t, "Accept with a refused key", f.Unauthorized.Accept(context.Background(), o), syncerr.AuthExpired)
}

func testUnknownOrder(t *testing.T, f *Fixture) {
	const id = "404404404"
	_, err := f.Marketplace.Order(context.Background(), id)
	e := wantCode(t, "Order of an unknown order", err, syncerr.OrderNotFound)
	if e.Details["order"] != id {
		t.Errorf("order detail = %q; want %q", e.Details["order"], id)
	}
}

func testPaging(t *testing.T, f *Fixture) {
	size := max(f.PageSize, 1)
	since := time.Now().UTC().Truncate(time.Second).Add(-24 * time.Hour)
	old := f.Seed(t, SeedOrder{Status: order.StatusAwaitingAcceptance, SKUs: []string{"OLD"},
		UpdatedAt: since.Add(-2 * time.Hour)})
	var want []string
	n := 2*size + 1
	for i := range n {
		// Seeded newest first, so that a connector must sort.
		at := since.Add(time.Duration(n-i) * time.Minute)
		want = append(want, f.Seed(t, SeedOrder{Status: order.StatusAwaitingAcceptance,
			SKUs: []string{"SKU-A", "SKU-B"}, UpdatedAt: at}))
	}
	slices.Reverse(want)

	got, err := f.Marketplace.OrdersUpdatedSince(context.Background(), since)
	if err != nil {
		t.Fatalf("OrdersUpdatedSince: %v", err)
	}
	var ids []string
	for i, o := range got {
		ids = append(ids, o.ID)
		if o.ID == old {
			t.Errorf("OrdersUpdatedSince listed order %s, updated before since", old)
		}
		if i > 0 && o.UpdatedAt.Before(got[i-1].UpdatedAt) {
			t.Errorf("orders not oldest first: %s (%v) after %s (%v)", o.ID, o.UpdatedAt, got[i-1].ID, got[i-1].UpdatedAt)
		}
		if len(o.Lines) != 2 {
			t.Errorf("order %s has %d lines; want 2", o.ID, len(o.Lines))
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("OrdersUpdatedSince ids = %v; want %v", ids, want)
	}
}

// lineCanceller is the connector's line cancel, or a skip when it has none
// (its line cancels are explained as cancel_unsupported by the sync).
func lineCanceller(t *testing.T, f *Fixture) syncer.LineCanceller {
	t.Helper()
	lc, ok := f.Marketplace.(syncer.LineCanceller)
	caps := f.Marketplace.Capabilities()
	switch {
	case !ok && (caps.CancelLines || caps.CancelAcceptedLines):
		t.Fatalf("Capabilities say lines can be cancelled, but %T has no CancelLines", f.Marketplace)
	case !ok:
		t.Skip("the marketplace cancels no single line: the sync explains it (cancel_unsupported)")
	}
	return lc
}

func lineOf(t *testing.T, o order.MarketplaceOrder, sku string) order.MarketplaceLine {
	t.Helper()
	i := slices.IndexFunc(o.Lines, func(l order.MarketplaceLine) bool { return l.SKU == sku })
	if i < 0 {
		t.Fatalf("order %s has no line %s", o.ID, sku)
	}
	return o.Lines[i]
}

// testCancelLineAwaiting cancels one line of an order awaiting acceptance:
// that line ends, the other still awaits the merchant, and accepting the
// order then leaves it partially cancelled.
func testCancelLineAwaiting(t *testing.T, f *Fixture) {
	lc := lineCanceller(t, f)
	id, o := seedAwaiting(t, f)
	err := lc.CancelLines(context.Background(), o, []order.Line{{SKU: "SKU-B", Quantity: 1}}, "customer")
	if !f.Marketplace.Capabilities().CancelLines {
		wantCode(t, "CancelLines of a line awaiting acceptance", err, syncerr.CancelUnsupported)
		return
	}
	if err != nil {
		t.Fatalf("CancelLines: %v", err)
	}
	got := mustOrder(t, f, id)
	if s := lineOf(t, got, "SKU-B").Status; !rules.Terminal(s) {
		t.Errorf("cancelled line status = %q; want an ending", s)
	}
	// The other line still awaits the merchant, or was accepted by the
	// same call (Mirakl's OR21 decides every line at once).
	if s := lineOf(t, got, "SKU-A").Status; s != order.StatusAwaitingAcceptance && s != order.StatusAccepted {
		t.Errorf("other line status = %q; want awaiting acceptance or accepted", s)
	}
	if err := f.Marketplace.Accept(context.Background(), got); err != nil {
		t.Fatalf("Accept after a line cancel: %v", err)
	}
	if got := mustOrder(t, f, id); got.Status != order.StatusPartiallyCancelled {
		t.Errorf("status after Accept = %q; want %q", got.Status, order.StatusPartiallyCancelled)
	}
}

// testCancelLineAccepted cancels one line of an accepted order where the
// connector says it can; where it says it cannot, the answer is
// cancel_unsupported without a call.
func testCancelLineAccepted(t *testing.T, f *Fixture) {
	lc := lineCanceller(t, f)
	id, o := seedAccepted(t, f)
	before := f.Updates()
	err := lc.CancelLines(context.Background(), o, []order.Line{{SKU: "SKU-A", Quantity: 1}}, "customer")
	if !f.Marketplace.Capabilities().CancelAcceptedLines {
		wantCode(t, "CancelLines of an accepted line", err, syncerr.CancelUnsupported)
		if got := f.Updates(); got != before {
			t.Errorf("an unsupported line cancel made %d update calls; want 0", got-before)
		}
		if s := lineOf(t, mustOrder(t, f, id), "SKU-A").Status; s != order.StatusAccepted {
			t.Errorf("line status = %q; want %q", s, order.StatusAccepted)
		}
		return
	}
	if err != nil {
		t.Fatalf("CancelLines: %v", err)
	}
	got := mustOrder(t, f, id)
	if got.Status != order.StatusPartiallyCancelled {
		t.Errorf("status = %q; want %q", got.Status, order.StatusPartiallyCancelled)
	}
	if err := f.Marketplace.Ship(context.Background(), got, order.Parcel{ID: "F1", Tracking: parcel.Tracking,
		Lines: []order.Line{{SKU: "SKU-B", Quantity: 1}}}); err != nil {
		t.Fatalf("Ship of the rest: %v", err)
	}
	if got := mustOrder(t, f, id); got.Status != order.StatusShipped {
		t.Errorf("status after shipping the rest = %q; want %q", got.Status, order.StatusShipped)
	}
}

func testCancelLineAgain(t *testing.T, f *Fixture) {
	lc := lineCanceller(t, f)
	if !f.Marketplace.Capabilities().CancelLines {
		t.Skip("no line awaiting acceptance can be cancelled")
	}
	id, stale := seedAwaiting(t, f)
	lines := []order.Line{{SKU: "SKU-B", Quantity: 1}}
	if err := lc.CancelLines(context.Background(), stale, lines, "customer"); err != nil {
		t.Fatalf("CancelLines: %v", err)
	}
	fresh := mustOrder(t, f, id)
	before := f.Updates()
	if err := lc.CancelLines(context.Background(), fresh, lines, "customer"); err != nil {
		t.Fatalf("CancelLines again: %v; want nil", err)
	}
	if got := f.Updates(); got != before {
		t.Errorf("CancelLines of a cancelled line made %d update calls; want 0", got-before)
	}
	if err := lc.CancelLines(context.Background(), stale, lines, "customer"); err != nil {
		t.Errorf("CancelLines again with the stale order: %v; want nil", err)
	}
}

// lineRefunder is the connector's line refund, or a skip when it has none
// (its refunds after shipment are explained as refund_unsupported by the
// sync).
func lineRefunder(t *testing.T, f *Fixture) syncer.LineRefunder {
	t.Helper()
	lr, ok := f.Marketplace.(syncer.LineRefunder)
	switch {
	case !ok && f.Marketplace.Capabilities().RefundLines:
		t.Fatalf("Capabilities say lines can be refunded, but %T has no RefundLines", f.Marketplace)
	case !ok:
		t.Skip("the marketplace refunds no line: the sync explains it (refund_unsupported)")
	}
	return lr
}

// testRefundLineShipped refunds one whole line of a shipped order where
// the connector says it can: the order then shows the line refunded (its
// Refunds, by marketplace line), as rules.Plan reads it (nothing left to
// plan for the same store refund), the other line not, and the same
// refund again, with the order as read before, makes no call. Where it
// says it cannot, the answer is refund_unsupported without a call.
func testRefundLineShipped(t *testing.T, f *Fixture) {
	lr := lineRefunder(t, f)
	id, o := seedAccepted(t, f)
	if err := f.Marketplace.Ship(context.Background(), o, parcel); err != nil {
		t.Fatalf("Ship: %v", err)
	}
	stale := mustOrder(t, f, id)
	lines := []order.Line{{SKU: "SKU-A", Quantity: 1}}
	before := f.Updates()
	err := lr.RefundLines(context.Background(), stale, lines)
	if !f.Marketplace.Capabilities().RefundLines {
		wantCode(t, "RefundLines without the capability", err, syncerr.RefundUnsupported)
		if got := f.Updates(); got != before {
			t.Errorf("an unsupported line refund made %d update calls; want 0", got-before)
		}
		return
	}
	if err != nil {
		t.Fatalf("RefundLines: %v", err)
	}
	got := mustOrder(t, f, id)
	refunded := func(lineID string) bool {
		return slices.ContainsFunc(got.Refunds, func(r order.Refund) bool {
			return slices.ContainsFunc(r.Lines, func(l order.Line) bool { return l.MarketplaceLineID == lineID })
		})
	}
	if !refunded(lineOf(t, got, "SKU-A").ID) || refunded(lineOf(t, got, "SKU-B").ID) {
		t.Errorf("refunds after RefundLines of SKU-A = %+v; want SKU-A's line refunded, SKU-B's not", got.Refunds)
	}
	want := rules.Want{Status: order.StatusShipped, Refunds: []order.Refund{{ID: "R1", Kind: order.RefundReturn, Lines: lines}}}
	if steps, err := rules.Plan(order.Mirakl, f.Marketplace.Capabilities(), got, want); err != nil || len(steps) != 0 {
		t.Errorf("Plan of the same store refund on the order as read after = %+v, %v; want nothing left", steps, err)
	}
	before = f.Updates()
	if err := lr.RefundLines(context.Background(), stale, lines); err != nil {
		t.Errorf("RefundLines again with the order as read before: %v; want nil", err)
	}
	if n := f.Updates() - before; n != 0 {
		t.Errorf("RefundLines of a refunded line made %d update calls; want 0", n)
	}
}

// testShipInTwoParcels ships an order's two lines in two parcels, each
// with its tracking, where the marketplace ships per line (PerLine):
// partially shipped after the first, shipped after the second, and the
// first parcel sent again makes no call where the marketplace keeps each
// line's tracking.
func testShipInTwoParcels(t *testing.T, f *Fixture) {
	if !f.Marketplace.Capabilities().PerLine {
		t.Skip("the marketplace ships whole orders: the sync sends one tracking number (parcels_unsupported)")
	}
	id, o := seedAccepted(t, f)
	first := order.Parcel{ID: "F1", Tracking: parcel.Tracking, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}
	second := order.Parcel{ID: "F2", Tracking: order.Tracking{Number: "6A99999999999", Carrier: "Colissimo",
		URL: "https://www.laposte.fr/outils/suivre-vos-envois?code=6A99999999999"}, Lines: []order.Line{{SKU: "SKU-B", Quantity: 1}}}
	if err := f.Marketplace.Ship(context.Background(), o, first); err != nil {
		t.Fatalf("Ship of the first parcel: %v", err)
	}
	got := mustOrder(t, f, id)
	if got.Status != order.StatusPartiallyShipped {
		t.Errorf("status after the first parcel = %q; want %q", got.Status, order.StatusPartiallyShipped)
	}
	if s := lineOf(t, got, "SKU-B").Status; s != order.StatusAccepted {
		t.Errorf("line of the second parcel after the first = %q; want %q", s, order.StatusAccepted)
	}
	if err := f.Marketplace.Ship(context.Background(), got, second); err != nil {
		t.Fatalf("Ship of the second parcel: %v", err)
	}
	got = mustOrder(t, f, id)
	if got.Status != order.StatusShipped {
		t.Errorf("status after both parcels = %q; want %q", got.Status, order.StatusShipped)
	}
	if !rules.SameTrackingNumber(lineOf(t, got, "SKU-A").Tracking.Number, first.Tracking.Number) {
		// Back Market keeps one tracking number per order: the line no
		// longer shows its parcel's, so the connector cannot tell a
		// resend (the sync never resends a shipped line: rules.Plan).
		return
	}
	before := f.Updates()
	if err := f.Marketplace.Ship(context.Background(), got, first); err != nil {
		t.Fatalf("Ship of the first parcel again: %v; want nil", err)
	}
	if n := f.Updates() - before; n != 0 {
		t.Errorf("the first parcel sent again made %d update calls; want 0", n)
	}
}
