package mirakl

import (
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/statetest"
)

func TestState(t *testing.T) {
	tests := []struct {
		name  string
		state string
		want  order.Status
		field string // set when the state is unknown
	}{
		{"mirakl staging", "STAGING", order.StatusPendingPayment, ""},
		{"mirakl waiting acceptance", "WAITING_ACCEPTANCE", order.StatusAwaitingAcceptance, ""},
		{"mirakl waiting debit", "WAITING_DEBIT", order.StatusAccepted, ""},
		{"mirakl waiting debit payment", "WAITING_DEBIT_PAYMENT", order.StatusAccepted, ""},
		{"mirakl shipping", "SHIPPING", order.StatusAccepted, ""},
		{"mirakl shipped", "SHIPPED", order.StatusShipped, ""},
		{"mirakl to collect", "TO_COLLECT", order.StatusShipped, ""},
		{"mirakl received", "RECEIVED", order.StatusDelivered, ""},
		{"mirakl closed", "CLOSED", order.StatusDelivered, ""},
		{"mirakl refused", "REFUSED", order.StatusRefused, ""},
		{"mirakl canceled", "CANCELED", order.StatusCancelled, ""},
		{"mirakl lower case", " shipping ", order.StatusAccepted, ""},
		{"mirakl new state", "INCIDENT_OPEN", order.StatusUnknown, `Mirakl order state "INCIDENT_OPEN"`},
		{"mirakl empty", "", order.StatusUnknown, `Mirakl order state ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := State(tt.state)
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

// TestStateTableStaysInLifecycle guards the table against a typo: every
// status it holds must be a lifecycle status.
func TestStateTableStaysInLifecycle(t *testing.T) {
	statetest.InLifecycle(t, states)
}

func FuzzState(f *testing.F) {
	for _, s := range []string{"SHIPPING", "processing", "wc-completed", "Shipped", "paid", "", " ", "\x00", strings.Repeat("A", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := State(s)
		statetest.Mapped(t, got, err)
	})
}
