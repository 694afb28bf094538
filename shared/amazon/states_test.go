package amazon

import (
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/statetest"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name  string
		state string
		want  order.Status
		field string // set when the state is unknown
	}{
		{"amazon pending", "Pending", order.StatusPendingPayment, ""},
		{"amazon pending availability", "PendingAvailability", order.StatusPendingPayment, ""},
		{"amazon unshipped", "Unshipped", order.StatusAccepted, ""},
		{"amazon partially shipped", "PartiallyShipped", order.StatusPartiallyShipped, ""},
		{"amazon shipped", "Shipped", order.StatusShipped, ""},
		{"amazon invoice unconfirmed", "InvoiceUnconfirmed", order.StatusShipped, ""},
		{"amazon canceled", "Canceled", order.StatusCancelled, ""},
		{"amazon unfulfillable", "Unfulfillable", order.StatusCancelled, ""},
		{"amazon unknown", "Delivered", order.StatusUnknown, `Amazon order status "Delivered"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Status(tt.state)
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
	statetest.InLifecycle(t, statuses)
}

func FuzzStatus(f *testing.F) {
	for _, s := range []string{"SHIPPING", "processing", "wc-completed", "Shipped", "paid", "", " ", "\x00", strings.Repeat("A", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Status(s)
		statetest.Mapped(t, got, err)
	})
}
