package syncer

import (
	"slices"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Partial cancellations, refunds and returns, and parcels a marketplace
// cannot take. Lines the store cancelled are cancelled on the marketplace
// by rules.Plan's steps where it can, and whole shipped lines it refunded
// or took back are refunded there (Mirakl's OR28); what it cannot
// (rules.Unsupported, or a refusal the connector answers with
// cancel_unsupported or refund_unsupported) is explained to the merchant
// once per change, and never holds the rest of the order: the sync that meets it makes its calls, then fails with
// the explanation (recorded, emailed, its key kept in State.Explained),
// and the next sync of the order passes it by. Refunds on either side are
// recorded on the order's timeline.

// refundEntries are the timeline entries of the store's refunds that next
// holds and before did not (by refund ID).
func (j *job) refundEntries(before, next order.State) []order.TimelineEntry {
	var out []order.TimelineEntry
	for _, r := range next.Refunds {
		if slices.ContainsFunc(before.Refunds, func(b order.Refund) bool { return b.ID == r.ID && b.Kind == r.Kind }) {
			continue
		}
		out = append(out, order.TimelineEntry{At: j.p.cfg.Now(), Kind: order.TimelineRefund,
			Source: j.event.Source, Step: string(r.Kind), EventID: r.ID, Detail: rules.DescribeLines(r.Lines)})
	}
	return out
}

// noteMarketplaceRefunds notes on the timeline the refunds remote shows
// that the order's state has not recorded yet (nor this job noted), and
// records them with the outcome. The sync notes them as read before its
// calls and after (a refund its own call made: Mirakl's OR28).
func (j *job) noteMarketplaceRefunds(remote order.MarketplaceOrder) {
	var ids []string
	for _, r := range remote.Refunds {
		if r.ID == "" || slices.Contains(j.state.MarketplaceRefunds, r.ID) || slices.Contains(ids, r.ID) || slices.Contains(j.notedRefunds, r.ID) {
			continue
		}
		ids = append(ids, r.ID)
		j.note(order.TimelineEntry{Kind: order.TimelineRefund, Source: j.conn.Marketplace.Platform,
			Step: string(r.Kind), EventID: r.ID, Detail: rules.DescribeLines(r.Lines)})
	}
	if len(ids) == 0 {
		return
	}
	j.notedRefunds = append(j.notedRefunds, ids...)
	j.extra = append(j.extra, func(s *order.State) {
		for _, id := range ids {
			if !slices.Contains(s.MarketplaceRefunds, id) {
				s.MarketplaceRefunds = append(s.MarketplaceRefunds, id)
			}
		}
	})
}

// unsent returns the explanation of what of want the marketplace cannot
// take and the merchant was not told of yet: the changes of the first
// code among them, in one error ("line" joining what each covers), their
// keys recorded with the outcome. nil when there is nothing new to tell.
func (j *job) unsent(mp Marketplace, remote order.MarketplaceOrder, want rules.Want) error {
	var first *syncerr.Error
	var keys, lines []string
	unsent := rules.Unsupported(j.conn.Marketplace.Platform, mp.Capabilities(), remote, want)
	if e, ok := syncerr.As(j.refusedCancel); ok {
		unsent = append([]rules.Unsent{{Key: "cancel-refused:" + rules.DescribeLines(cancelledLines(want)), Err: e}}, unsent...)
	}
	if e, ok := syncerr.As(j.refusedRefund); ok {
		lines := rules.DescribeLines(j.refusedLines)
		unsent = append([]rules.Unsent{{Key: "refund-refused:" + lines, Err: e.With("line", lines)}}, unsent...)
	}
	for _, u := range unsent {
		if slices.Contains(j.state.Explained, u.Key) || (first != nil && u.Err.Code != first.Code) {
			continue
		}
		if first == nil {
			first = u.Err
		}
		keys = append(keys, u.Key)
		if l := u.Err.Details["line"]; l != "" {
			lines = append(lines, l)
		}
	}
	if first == nil {
		return nil
	}
	j.extra = append(j.extra, func(s *order.State) {
		for _, k := range keys {
			if !slices.Contains(s.Explained, k) {
				s.Explained = append(s.Explained, k)
			}
		}
	})
	e := *first
	e.Details = map[string]string{}
	for k, v := range first.Details {
		e.Details[k] = v
	}
	if len(lines) > 1 {
		e.Details["line"] = joinLines(lines)
	}
	return &e
}

func joinLines(lines []string) string {
	out := lines[0]
	for _, l := range lines[1:] {
		out += ", " + l
	}
	return out
}

// cancelledLines are the lines the store's refunds cancel.
func cancelledLines(want rules.Want) []order.Line {
	var out []order.Line
	for _, r := range want.Refunds {
		if r.Kind == order.RefundCancel {
			out = append(out, r.Lines...)
		}
	}
	return out
}
