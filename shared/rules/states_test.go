package rules

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestIntStates(t *testing.T) {
	tests := []struct {
		name  string
		fn    func(int) (order.Status, error)
		state int
		want  order.Status
		field string // set when the state is unknown
	}{
		{"back market order awaiting payment", BackMarketOrderState, 0, order.StatusPendingPayment, ""},
		{"back market order to accept", BackMarketOrderState, 1, order.StatusAwaitingAcceptance, ""},
		{"back market order waiting for fulfilment", BackMarketOrderState, 3, order.StatusAccepted, ""},
		{"back market order cancelled", BackMarketOrderState, 8, order.StatusCancelled, ""},
		{"back market order fulfilled", BackMarketOrderState, 9, order.StatusShipped, ""},
		{"back market order state 2 is unknown", BackMarketOrderState, 2, order.StatusUnknown, `Back Market order state "2"`},
		{"back market order negative state", BackMarketOrderState, -1, order.StatusUnknown, `Back Market order state "-1"`},
		{"back market line awaiting payment", BackMarketLineState, 0, order.StatusPendingPayment, ""},
		{"back market line to accept", BackMarketLineState, 1, order.StatusAwaitingAcceptance, ""},
		{"back market line accepted", BackMarketLineState, 2, order.StatusAccepted, ""},
		{"back market line shipped", BackMarketLineState, 3, order.StatusShipped, ""},
		{"back market line cancelled", BackMarketLineState, 4, order.StatusCancelled, ""},
		{"back market line refunded before shipping", BackMarketLineState, 5, order.StatusRefunded, ""},
		{"back market line refunded after shipping", BackMarketLineState, 6, order.StatusRefunded, ""},
		{"back market line unpaid", BackMarketLineState, 7, order.StatusPendingPayment, ""},
		{"back market line unknown", BackMarketLineState, 8, order.StatusUnknown, `Back Market order line state "8"`},
		{"bigcommerce incomplete", BigCommerceStatus, 0, order.StatusPendingPayment, ""},
		{"bigcommerce pending", BigCommerceStatus, 1, order.StatusPendingPayment, ""},
		{"bigcommerce shipped", BigCommerceStatus, 2, order.StatusShipped, ""},
		{"bigcommerce partially shipped", BigCommerceStatus, 3, order.StatusPartiallyShipped, ""},
		{"bigcommerce refunded", BigCommerceStatus, 4, order.StatusRefunded, ""},
		{"bigcommerce cancelled", BigCommerceStatus, 5, order.StatusCancelled, ""},
		{"bigcommerce declined", BigCommerceStatus, 6, order.StatusRefused, ""},
		{"bigcommerce awaiting payment", BigCommerceStatus, 7, order.StatusPendingPayment, ""},
		{"bigcommerce awaiting pickup", BigCommerceStatus, 8, order.StatusAccepted, ""},
		{"bigcommerce awaiting shipment", BigCommerceStatus, 9, order.StatusAccepted, ""},
		{"bigcommerce completed", BigCommerceStatus, 10, order.StatusDelivered, ""},
		{"bigcommerce awaiting fulfillment", BigCommerceStatus, 11, order.StatusAccepted, ""},
		{"bigcommerce manual verification", BigCommerceStatus, 12, order.StatusPendingPayment, ""},
		{"bigcommerce disputed", BigCommerceStatus, 13, order.StatusPendingPayment, ""},
		{"bigcommerce partially refunded", BigCommerceStatus, 14, order.StatusAccepted, ""},
		{"bigcommerce unknown", BigCommerceStatus, 15, order.StatusUnknown, `BigCommerce status_id "15"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn(tt.state)
			if got != tt.want {
				t.Errorf("status = %q, want %q", got, tt.want)
			}
			if tt.field == "" {
				checkErr(t, err, "", nil)
				return
			}
			checkErr(t, err, syncerr.InvalidData, map[string]string{"field": tt.field})
		})
	}
}

func TestStringStates(t *testing.T) {
	tests := []struct {
		name  string
		fn    func(string) (order.Status, error)
		state string
		want  order.Status
		field string // set when the state is unknown
	}{
		{"mirakl staging", MiraklState, "STAGING", order.StatusPendingPayment, ""},
		{"mirakl waiting acceptance", MiraklState, "WAITING_ACCEPTANCE", order.StatusAwaitingAcceptance, ""},
		{"mirakl waiting debit", MiraklState, "WAITING_DEBIT", order.StatusAccepted, ""},
		{"mirakl waiting debit payment", MiraklState, "WAITING_DEBIT_PAYMENT", order.StatusAccepted, ""},
		{"mirakl shipping", MiraklState, "SHIPPING", order.StatusAccepted, ""},
		{"mirakl shipped", MiraklState, "SHIPPED", order.StatusShipped, ""},
		{"mirakl to collect", MiraklState, "TO_COLLECT", order.StatusShipped, ""},
		{"mirakl received", MiraklState, "RECEIVED", order.StatusDelivered, ""},
		{"mirakl closed", MiraklState, "CLOSED", order.StatusDelivered, ""},
		{"mirakl refused", MiraklState, "REFUSED", order.StatusRefused, ""},
		{"mirakl canceled", MiraklState, "CANCELED", order.StatusCancelled, ""},
		{"mirakl lower case", MiraklState, " shipping ", order.StatusAccepted, ""},
		{"mirakl new state", MiraklState, "INCIDENT_OPEN", order.StatusUnknown, `Mirakl order state "INCIDENT_OPEN"`},
		{"mirakl empty", MiraklState, "", order.StatusUnknown, `Mirakl order state ""`},
		{"woocommerce pending", WooCommerceStatus, "pending", order.StatusPendingPayment, ""},
		{"woocommerce processing", WooCommerceStatus, "processing", order.StatusAccepted, ""},
		{"woocommerce stored prefix", WooCommerceStatus, "wc-processing", order.StatusAccepted, ""},
		{"woocommerce on hold", WooCommerceStatus, "on-hold", order.StatusPendingPayment, ""},
		{"woocommerce completed", WooCommerceStatus, "completed", order.StatusShipped, ""},
		{"woocommerce cancelled", WooCommerceStatus, "cancelled", order.StatusCancelled, ""},
		{"woocommerce refunded", WooCommerceStatus, "refunded", order.StatusRefunded, ""},
		{"woocommerce failed", WooCommerceStatus, "failed", order.StatusPendingPayment, ""},
		{"woocommerce checkout draft", WooCommerceStatus, "checkout-draft", order.StatusPendingPayment, ""},
		{"woocommerce custom status", WooCommerceStatus, "awaiting-pickup", order.StatusUnknown, `WooCommerce order status "awaiting-pickup"`},
		{"amazon pending", AmazonStatus, "Pending", order.StatusPendingPayment, ""},
		{"amazon pending availability", AmazonStatus, "PendingAvailability", order.StatusPendingPayment, ""},
		{"amazon unshipped", AmazonStatus, "Unshipped", order.StatusAccepted, ""},
		{"amazon partially shipped", AmazonStatus, "PartiallyShipped", order.StatusPartiallyShipped, ""},
		{"amazon shipped", AmazonStatus, "Shipped", order.StatusShipped, ""},
		{"amazon invoice unconfirmed", AmazonStatus, "InvoiceUnconfirmed", order.StatusShipped, ""},
		{"amazon canceled", AmazonStatus, "Canceled", order.StatusCancelled, ""},
		{"amazon unfulfillable", AmazonStatus, "Unfulfillable", order.StatusCancelled, ""},
		{"amazon unknown", AmazonStatus, "Delivered", order.StatusUnknown, `Amazon order status "Delivered"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn(tt.state)
			if got != tt.want {
				t.Errorf("status = %q, want %q", got, tt.want)
			}
			if tt.field == "" {
				checkErr(t, err, "", nil)
				return
			}
			checkErr(t, err, syncerr.InvalidData, map[string]string{"field": tt.field})
		})
	}
}

func TestShopifyStatus(t *testing.T) {
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
			got, err := ShopifyStatus(tt.financial, tt.fulfillment, tt.cancelled)
			if got != tt.want {
				t.Errorf("ShopifyStatus(%q, %q, %v) = %q, want %q", tt.financial, tt.fulfillment, tt.cancelled, got, tt.want)
			}
			if tt.field == "" {
				checkErr(t, err, "", nil)
				return
			}
			checkErr(t, err, syncerr.InvalidData, map[string]string{"field": tt.field, "platform": "shopify"})
		})
	}
}

// TestStateTablesStayInLifecycle guards the tables against a typo: every
// status they hold must be a lifecycle status.
func TestStateTablesStayInLifecycle(t *testing.T) {
	check := func(name string, s order.Status) {
		if !Known(s) {
			t.Errorf("%s maps to %q, not a lifecycle status", name, s)
		}
	}
	for _, m := range []map[int]order.Status{backMarketOrderStates, backMarketLineStates, bigCommerceStatuses} {
		for k, s := range m {
			check(strconv.Itoa(k), s)
		}
	}
	for _, m := range []map[string]order.Status{miraklStates, shopifyFinancial, wooCommerceStatuses, amazonStatuses} {
		for k, s := range m {
			check(k, s)
		}
	}
	for k, s := range shopifyFulfillment {
		if s != order.StatusUnknown {
			check(k, s)
		}
	}
}

// checkMapped is what every state map promises: a lifecycle status and no
// error, or StatusUnknown and invalid_data.
func checkMapped(t *testing.T, s order.Status, err error) {
	t.Helper()
	switch {
	case err == nil && !Known(s):
		t.Fatalf("status %q with no error", s)
	case err != nil && s != order.StatusUnknown:
		t.Fatalf("status %q with error %v", s, err)
	case err != nil && syncerr.CodeOf(err) != syncerr.InvalidData:
		t.Fatalf("code = %s, want invalid_data", syncerr.CodeOf(err))
	}
}

func FuzzStringStates(f *testing.F) {
	for _, s := range []string{"SHIPPING", "processing", "wc-completed", "Shipped", "paid", "", " ", "\x00", strings.Repeat("A", 300)} {
		f.Add(s, s, false)
	}
	f.Fuzz(func(t *testing.T, a, b string, cancelled bool) {
		s, err := MiraklState(a)
		checkMapped(t, s, err)
		s, err = WooCommerceStatus(a)
		checkMapped(t, s, err)
		s, err = AmazonStatus(a)
		checkMapped(t, s, err)
		s, err = ShopifyStatus(a, b, cancelled)
		checkMapped(t, s, err)
	})
}

func FuzzIntStates(f *testing.F) {
	for _, n := range []int{-1, 0, 1, 3, 9, 14, 1 << 40} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int) {
		s, err := BackMarketOrderState(n)
		checkMapped(t, s, err)
		s, err = BackMarketLineState(n)
		checkMapped(t, s, err)
		s, err = BigCommerceStatus(n)
		checkMapped(t, s, err)
	})
}
