package refresh

import (
	"fmt"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// The steps of the refresh's timeline entries (order.TimelineRefresh),
// written with the state writes the refresh makes anyway.
const (
	StepManualChange = "manual-change"
	StepEditApplied  = "edit-applied"
	StepEditRefused  = "edit-refused"
	StepRequeued     = "requeued"
)

// mark adds the refresh's entry for step to st, about to be saved.
func (u *run) mark(st *order.State, step string, e order.TimelineEntry) {
	e.At, e.Kind, e.Source, e.Step = u.at, order.TimelineRefresh, Source, step
	st.AddTimeline(e)
}

// manualDetail says what changed by hand: statuses and the marketplace's
// own state word, nothing of the buyer.
func manualDetail(m order.ManualChange) string {
	d := fmt.Sprintf("%s → %s", orNone(m.From), orNone(m.To))
	if m.State != "" {
		d += fmt.Sprintf(" (state %s)", m.State)
	}
	return d
}

// editDetail names what an edit touched, never its contents (an address
// is personal).
func editDetail(e rules.Edit) string {
	switch {
	case e.Address != nil && e.Lines != nil:
		return "address and lines"
	case e.Address != nil:
		return "address"
	}
	return "lines"
}

func orNone(s order.Status) string {
	if s == "" {
		return "unknown"
	}
	return string(s)
}
