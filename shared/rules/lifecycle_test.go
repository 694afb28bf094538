package rules

import (
	"testing"

	"github.com/ordersync/ordersync/shared/order"
)

func TestRegresses(t *testing.T) {
	tests := []struct {
		name     string
		from, to order.Status
		want     bool
	}{
		{"same status", order.StatusShipped, order.StatusShipped, false},
		{"forward", order.StatusAwaitingAcceptance, order.StatusAccepted, false},
		{"skip ahead", order.StatusPendingPayment, order.StatusShipped, false},
		{"accepted after shipped", order.StatusShipped, order.StatusAccepted, true},
		{"partial after shipped", order.StatusShipped, order.StatusPartiallyShipped, true},
		{"cancel before shipping", order.StatusAccepted, order.StatusCancelled, false},
		{"a line cancelled", order.StatusAccepted, order.StatusPartiallyCancelled, false},
		{"accepted after a line cancelled", order.StatusPartiallyCancelled, order.StatusAccepted, true},
		{"the rest shipped after a line cancelled", order.StatusPartiallyCancelled, order.StatusShipped, false},
		{"all cancelled after a line", order.StatusPartiallyCancelled, order.StatusCancelled, false},
		{"out of cancelled", order.StatusCancelled, order.StatusAccepted, true},
		{"cancelled to refunded", order.StatusCancelled, order.StatusRefunded, true},
		{"refused to cancelled", order.StatusRefused, order.StatusCancelled, true},
		{"to unknown", order.StatusAccepted, order.StatusUnknown, true},
		{"from unknown", order.StatusUnknown, order.StatusPendingPayment, false},
		{"to a misspelt status", order.StatusUnknown, order.Status("shiped"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Regresses(tt.from, tt.to); got != tt.want {
				t.Errorf("Regresses(%q, %q) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestRankOrdersTheLifecycle(t *testing.T) {
	path := []order.Status{order.StatusUnknown, order.StatusPendingPayment, order.StatusAwaitingAcceptance,
		order.StatusAccepted, order.StatusPartiallyCancelled, order.StatusPartiallyShipped, order.StatusShipped, order.StatusDelivered}
	for i := 1; i < len(path); i++ {
		if Rank(path[i]) <= Rank(path[i-1]) {
			t.Errorf("Rank(%q) = %d, not above Rank(%q) = %d", path[i], Rank(path[i]), path[i-1], Rank(path[i-1]))
		}
	}
	for _, s := range []order.Status{order.StatusCancelled, order.StatusRefused, order.StatusRefunded} {
		if !Terminal(s) || Rank(s) <= Rank(order.StatusDelivered) {
			t.Errorf("%q: Terminal = %v, Rank = %d; want terminal above delivered", s, Terminal(s), Rank(s))
		}
	}
}

func TestRollup(t *testing.T) {
	const (
		accepted  = order.StatusAccepted
		toAccept  = order.StatusAwaitingAcceptance
		shipped   = order.StatusShipped
		delivered = order.StatusDelivered
		cancelled = order.StatusCancelled
		refunded  = order.StatusRefunded
	)
	tests := []struct {
		name  string
		lines []order.Status
		want  order.Status
	}{
		{"no lines", nil, order.StatusUnknown},
		{"all to accept", []order.Status{toAccept, toAccept}, toAccept},
		{"least advanced line wins", []order.Status{toAccept, accepted}, toAccept},
		{"one of two shipped is partial", []order.Status{shipped, accepted}, order.StatusPartiallyShipped},
		{"every line shipped", []order.Status{shipped, shipped}, shipped},
		{"shipped and delivered", []order.Status{delivered, shipped}, shipped},
		{"all delivered", []order.Status{delivered, delivered}, delivered},
		{"cancelled line does not hold back", []order.Status{shipped, cancelled}, shipped},
		{"a line cancelled, the rest to ship", []order.Status{accepted, cancelled}, order.StatusPartiallyCancelled},
		{"a line cancelled, the rest to accept", []order.Status{toAccept, cancelled}, toAccept},
		{"a line cancelled, one shipped, one to ship", []order.Status{shipped, accepted, cancelled}, order.StatusPartiallyShipped},
		{"all cancelled", []order.Status{cancelled, cancelled}, cancelled},
		{"all ended differently", []order.Status{refunded, cancelled}, cancelled},
		{"all refunded", []order.Status{refunded}, refunded},
		{"unknown line", []order.Status{shipped, order.StatusUnknown}, order.StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Rollup(tt.lines); got != tt.want {
				t.Errorf("Rollup(%v) = %q, want %q", tt.lines, got, tt.want)
			}
		})
	}
}
