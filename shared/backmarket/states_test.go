package backmarket

import (
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/statetest"
)

func TestStates(t *testing.T) {
	tests := []struct {
		name  string
		fn    func(int) (order.Status, error)
		state int
		want  order.Status
		field string // set when the state is unknown
	}{
		{"back market order awaiting payment", OrderState, 0, order.StatusPendingPayment, ""},
		{"back market order to accept", OrderState, 1, order.StatusAwaitingAcceptance, ""},
		{"back market order waiting for fulfilment", OrderState, 3, order.StatusAccepted, ""},
		{"back market order cancelled", OrderState, 8, order.StatusCancelled, ""},
		{"back market order fulfilled", OrderState, 9, order.StatusShipped, ""},
		{"back market order state 2 is unknown", OrderState, 2, order.StatusUnknown, `Back Market order state "2"`},
		{"back market order negative state", OrderState, -1, order.StatusUnknown, `Back Market order state "-1"`},
		{"back market line awaiting payment", LineState, 0, order.StatusPendingPayment, ""},
		{"back market line to accept", LineState, 1, order.StatusAwaitingAcceptance, ""},
		{"back market line accepted", LineState, 2, order.StatusAccepted, ""},
		{"back market line shipped", LineState, 3, order.StatusShipped, ""},
		{"back market line cancelled", LineState, 4, order.StatusCancelled, ""},
		{"back market line refunded before shipping", LineState, 5, order.StatusRefunded, ""},
		{"back market line refunded after shipping", LineState, 6, order.StatusRefunded, ""},
		{"back market line unpaid", LineState, 7, order.StatusPendingPayment, ""},
		{"back market line unknown", LineState, 8, order.StatusUnknown, `Back Market order line state "8"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn(tt.state)
			if got != tt.want {
				t.Errorf("status = %q, want %q", got, tt.want)
			}
			if tt.field == "" {
				statetest.CheckErr(t, err, "", nil)
				return
			}
			statetest.CheckErr(t, err, syncerr.InvalidData, map[string]string{"field": tt.field})
		})
	}
}

// TestStateTablesStayInLifecycle guards the tables against a typo: every
// status they hold must be a lifecycle status.
func TestStateTablesStayInLifecycle(t *testing.T) {
	statetest.InLifecycle(t, orderStates)
	statetest.InLifecycle(t, lineStates)
}

func FuzzStates(f *testing.F) {
	for _, n := range []int{-1, 0, 1, 3, 9, 14, 1 << 40} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int) {
		s, err := OrderState(n)
		statetest.Mapped(t, s, err)
		s, err = LineState(n)
		statetest.Mapped(t, s, err)
	})
}
