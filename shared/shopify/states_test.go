package shopify

import (
	"maps"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/statetest"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name                   string
		financial, fulfillment string
		cancelled              bool
		want                   order.Status
		field                  string // set when a status is unknown
	}{
		{"pending payment", "pending", "", false, order.StatusPendingPayment, ""},
		{"authorized", "authorized", "", false, order.StatusAccepted, ""},
		{"paid", "paid", "", false, order.StatusAccepted, ""},
		{"paid null fulfillment", "paid", "null", false, order.StatusAccepted, ""},
		{"partially paid", "partially_paid", "", false, order.StatusPendingPayment, ""},
		{"partially refunded unfulfilled", "partially_refunded", "", false, order.StatusAccepted, ""},
		{"refunded unfulfilled", "refunded", "", false, order.StatusRefunded, ""},
		{"voided", "voided", "", false, order.StatusCancelled, ""},
		{"partially fulfilled", "paid", "partial", false, order.StatusPartiallyShipped, ""},
		{"fulfilled", "paid", "fulfilled", false, order.StatusShipped, ""},
		{"fulfilled then refunded stays shipped", "refunded", "fulfilled", false, order.StatusShipped, ""},
		{"restocked", "refunded", "restocked", false, order.StatusCancelled, ""},
		{"cancelled wins", "paid", "fulfilled", true, order.StatusCancelled, ""},
		{"graphql spellings", "PAID", "PARTIALLY_FULFILLED", false, order.StatusPartiallyShipped, ""},
		{"graphql on hold", "PAID", "ON_HOLD", false, order.StatusAccepted, ""},
		{"unknown financial status", "bartered", "", false, order.StatusUnknown, `Shopify financial status "bartered"`},
		{"empty financial status", "", "", false, order.StatusUnknown, `Shopify financial status ""`},
		{"unknown fulfillment status", "paid", "teleported", false, order.StatusUnknown, `Shopify fulfillment status "teleported"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Status(tt.financial, tt.fulfillment, tt.cancelled)
			if got != tt.want {
				t.Errorf("Status(%q, %q, %v) = %q, want %q", tt.financial, tt.fulfillment, tt.cancelled, got, tt.want)
			}
			if tt.field == "" {
				statetest.CheckErr(t, err, "", nil)
				return
			}
			statetest.CheckErr(t, err, syncerr.InvalidData, map[string]string{"field": tt.field, "platform": "shopify"})
		})
	}
}

// TestStateTablesStayInLifecycle guards the tables against a typo: every
// status they hold must be a lifecycle status (StatusUnknown is allowed in
// the fulfilment table, where it means "the financial status decides").
func TestStateTablesStayInLifecycle(t *testing.T) {
	statetest.InLifecycle(t, financialStatuses)
	decided := maps.Clone(fulfillmentStatuses)
	maps.DeleteFunc(decided, func(_ string, s order.Status) bool { return s == order.StatusUnknown })
	statetest.InLifecycle(t, decided)
}

func FuzzStatus(f *testing.F) {
	for _, s := range []string{"SHIPPING", "processing", "wc-completed", "Shipped", "paid", "", " ", "\x00", strings.Repeat("A", 300)} {
		f.Add(s, s, false)
	}
	f.Fuzz(func(t *testing.T, financial, fulfillment string, cancelled bool) {
		s, err := Status(financial, fulfillment, cancelled)
		statetest.Mapped(t, s, err)
	})
}
