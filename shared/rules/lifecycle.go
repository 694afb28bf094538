package rules

import "github.com/ordersync/ordersync/shared/order"

// ranks orders the lifecycle. Forward steps rise one by one; the endings
// (cancelled, refused, refunded) share the top rank so nothing moves an
// order out of them, and none of them replaces another. Refunded is an
// ending too: a refund after delivery closes the order like a cancellation
// before shipping does. Anything not listed (StatusUnknown, a misspelt
// status) ranks 0, below every real status, so it never replaces one.
var ranks = map[order.Status]int{
	order.StatusPendingPayment:     1,
	order.StatusAwaitingAcceptance: 2,
	order.StatusAccepted:           3,
	order.StatusPartiallyCancelled: 4,
	order.StatusPartiallyShipped:   5,
	order.StatusShipped:            6,
	order.StatusDelivered:          7,
	order.StatusCancelled:          terminalRank,
	order.StatusRefused:            terminalRank,
	order.StatusRefunded:           terminalRank,
}

const terminalRank = 8

// Rank returns s's place in the lifecycle: 0 for StatusUnknown or any
// status the lifecycle does not define, 1 (pending payment) to 7
// (delivered) along the normal path, and 8 for the endings (cancelled,
// refused, refunded). A status only ever moves to a higher rank.
// Partially cancelled (some lines cancelled, the rest accepted) sits
// between accepted and partially shipped: the rest still ships.
func Rank(s order.Status) int { return ranks[s] }

// Known reports whether s is a status of the lifecycle (not StatusUnknown).
func Known(s order.Status) bool { return ranks[s] > 0 }

// Terminal reports whether s ends the lifecycle: cancelled, refused or
// refunded. Nothing moves an order out of a terminal status.
func Terminal(s order.Status) bool { return ranks[s] == terminalRank }

// Regresses reports whether moving from from to to would go backwards in
// the lifecycle: to ranks below from, or from is terminal and to is a
// different status. Moving to an unknown status always regresses.
func Regresses(from, to order.Status) bool {
	if from == to {
		return false
	}
	if Terminal(from) || !Known(to) {
		return true
	}
	return Rank(to) < Rank(from)
}

// shippedOrBeyond reports whether s says the goods have left (shipped or
// delivered), as opposed to partially shipped or not yet shipped.
func shippedOrBeyond(s order.Status) bool {
	return s == order.StatusShipped || s == order.StatusDelivered
}

// Rollup returns an order's status from the statuses of its lines, for
// marketplaces that track lines one by one (Back Market, Mirakl): the order
// is partially shipped while some lines have shipped and others, not
// cancelled, still wait; shipped once every remaining line has; otherwise
// it is as far as its least advanced live line, or partially cancelled
// when some lines ended and the live ones are all accepted. Cancelled,
// refused and refunded lines do not hold the order back; when every line has ended,
// the order takes their status (cancelled when they differ). No lines, or
// a line with an unknown status, gives StatusUnknown.
func Rollup(lines []order.Status) order.Status {
	var live []order.Status
	ending := order.StatusUnknown
	for _, s := range lines {
		switch {
		case !Known(s):
			return order.StatusUnknown
		case Terminal(s):
			if ending == order.StatusUnknown || ending == s {
				ending = s
			} else {
				ending = order.StatusCancelled
			}
		default:
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return ending
	}
	least, shipped, partial := live[0], 0, false
	for _, s := range live {
		if Rank(s) < Rank(least) {
			least = s
		}
		if shippedOrBeyond(s) {
			shipped++
		}
		partial = partial || s == order.StatusPartiallyShipped
	}
	switch {
	case shipped == len(live):
		return least // shipped, or delivered once every line is
	case shipped > 0 || partial:
		return order.StatusPartiallyShipped
	case ending != order.StatusUnknown && least == order.StatusAccepted:
		return order.StatusPartiallyCancelled
	default:
		return least
	}
}
