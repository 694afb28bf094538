package bigcommerce

import (
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/statetest"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name  string
		state int
		want  order.Status
		field string // set when the state is unknown
	}{
		{"bigcommerce incomplete", 0, order.StatusPendingPayment, ""},
		{"bigcommerce pending", 1, order.StatusPendingPayment, ""},
		{"bigcommerce shipped", 2, order.StatusShipped, ""},
		{"bigcommerce partially shipped", 3, order.StatusPartiallyShipped, ""},
		{"bigcommerce refunded", 4, order.StatusRefunded, ""},
		{"bigcommerce cancelled", 5, order.StatusCancelled, ""},
		{"bigcommerce declined", 6, order.StatusRefused, ""},
		{"bigcommerce awaiting payment", 7, order.StatusPendingPayment, ""},
		{"bigcommerce awaiting pickup", 8, order.StatusAccepted, ""},
		{"bigcommerce awaiting shipment", 9, order.StatusAccepted, ""},
		{"bigcommerce completed", 10, order.StatusDelivered, ""},
		{"bigcommerce awaiting fulfillment", 11, order.StatusAccepted, ""},
		{"bigcommerce manual verification", 12, order.StatusPendingPayment, ""},
		{"bigcommerce disputed", 13, order.StatusPendingPayment, ""},
		{"bigcommerce partially refunded", 14, order.StatusAccepted, ""},
		{"bigcommerce unknown", 15, order.StatusUnknown, `BigCommerce status_id "15"`},
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
	for _, n := range []int{-1, 0, 1, 3, 9, 14, 1 << 40} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int) {
		s, err := Status(n)
		statetest.Mapped(t, s, err)
	})
}
