package mirakl_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/mirakl/mirakltest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// or30Body is what the test reads of an OR30 request.
type or30Body struct {
	Cancelations []struct {
		OrderLineID     string           `json:"order_line_id"`
		Quantity        int              `json:"quantity"`
		Amount          json.Number      `json:"amount"`
		ShippingAmount  json.Number      `json:"shipping_amount"`
		ReasonCode      string           `json:"reason_code"`
		CurrencyISOCode string           `json:"currency_iso_code"`
		Taxes           []mirakltest.Tax `json:"taxes"`
		ShippingTaxes   []mirakltest.Tax `json:"shipping_taxes"`
	} `json:"cancelations"`
	OrderTaxMode string `json:"order_tax_mode"`
}

// accepted is an order in SHIPPING (accepted, debited) of lines A (2 at
// 7.82, shipping 7.90, TVA 20 %) and B (1 at 10.00).
func accepted() mirakltest.Order {
	o := mirakltest.AwaitingAcceptance("7-A", "A", "B")
	o.OrderState, o.CurrencyISOCode, o.OrderTaxMode = mirakltest.StateShipping, "EUR", "TAX_EXCLUDED"
	o.OrderLines[0].Quantity = 2
	o.OrderLines[0] = o.OrderLines[0].Priced(7.82, 7.90, 20)
	o.OrderLines[1] = o.OrderLines[1].Priced(10, 0, 0)
	for i := range o.OrderLines {
		o.OrderLines[i].OrderLineState = mirakltest.StateShipping
	}
	return o
}

func TestCancelAcceptedLines(t *testing.T) {
	lineA := []order.Line{{SKU: "A", Quantity: 2, MarketplaceLineID: "7-A-1"}}
	tests := []struct {
		name   string
		fake   mirakltest.Options
		opts   mirakl.Options
		seed   func(*mirakltest.Order)
		want   syncerr.Code
		or30   int    // OR30 calls made
		stateA string // line A's state after
	}{
		{name: "cancelled with OR30, the amounts Mirakl gives, the connection's reason code",
			fake: mirakltest.Options{PartialCancelation: true, CancelReasons: []string{"34"}},
			opts: mirakl.Options{CancelReasonCode: "34"}, or30: 1, stateA: mirakltest.StateCanceled},
		{name: "awaiting the debit, cancelled with OR30",
			fake: mirakltest.Options{PartialCancelation: true}, opts: mirakl.Options{CancelReasonCode: "34"},
			seed: func(o *mirakltest.Order) {
				o.OrderState = mirakltest.StateWaitingDebitPay
				for i := range o.OrderLines {
					o.OrderLines[i].OrderLineState = mirakltest.StateWaitingDebitPay
				}
			}, or30: 1, stateA: mirakltest.StateCanceled},
		{name: "no reason code on the connection: cancel_unsupported, no call",
			fake: mirakltest.Options{PartialCancelation: true},
			want: syncerr.CancelUnsupported, stateA: mirakltest.StateShipping},
		{name: "no price on the line: cancel_unsupported, no amount guessed",
			fake: mirakltest.Options{PartialCancelation: true}, opts: mirakl.Options{CancelReasonCode: "34"},
			seed: func(o *mirakltest.Order) { o.OrderLines[0].Price = nil },
			want: syncerr.CancelUnsupported, stateA: mirakltest.StateShipping},
		{name: "a line cancelled in part already: cancel_unsupported, no amount guessed",
			fake: mirakltest.Options{PartialCancelation: true}, opts: mirakl.Options{CancelReasonCode: "34"},
			seed: func(o *mirakltest.Order) {
				o.OrderLines[0].Cancelations = []mirakltest.Cancelation{{ID: "c1", Quantity: 1, Amount: 7.82, ReasonCode: "34"}}
			},
			want: syncerr.CancelUnsupported, stateA: mirakltest.StateShipping},
		{name: "partial cancelation not enabled by Mirakl: cancel_unsupported after the call",
			opts: mirakl.Options{CancelReasonCode: "34"},
			want: syncerr.CancelUnsupported, or30: 1, stateA: mirakltest.StateShipping},
		{name: "a reason code the operator does not know: cancel_unsupported after the call",
			fake: mirakltest.Options{PartialCancelation: true, CancelReasons: []string{"12"}},
			opts: mirakl.Options{CancelReasonCode: "34"},
			want: syncerr.CancelUnsupported, or30: 1, stateA: mirakltest.StateShipping},
		{name: "shipped already: invalid_transition, no call",
			fake: mirakltest.Options{PartialCancelation: true}, opts: mirakl.Options{CancelReasonCode: "34"},
			seed: func(o *mirakltest.Order) {
				o.OrderState = mirakltest.StateShipped
				for i := range o.OrderLines {
					o.OrderLines[i].OrderLineState = mirakltest.StateShipped
				}
			},
			want: syncerr.InvalidTransition, stateA: mirakltest.StateShipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := start(t, tt.fake, tt.opts)
			o := accepted()
			if tt.seed != nil {
				tt.seed(&o)
			}
			fake.Seed(o)
			ctx := context.Background()
			if got, want := c.Capabilities().CancelAcceptedLines, tt.opts.CancelReasonCode != ""; got != want {
				t.Errorf("CancelAcceptedLines = %v, want %v", got, want)
			}
			err := c.CancelLines(ctx, order.MarketplaceOrder{ID: "7-A"}, lineA, "customer")
			if got := syncerr.CodeOf(err); err != nil && got != tt.want || err == nil && tt.want != "" {
				t.Fatalf("CancelLines = %v; want %q", err, tt.want)
			}
			var calls []mirakltest.Call
			for _, cl := range fake.Calls() {
				if cl.Operation == "OR30" {
					calls = append(calls, cl)
				}
			}
			if len(calls) != tt.or30 {
				t.Fatalf("%d OR30 calls (%+v); want %d", len(calls), fake.Calls(), tt.or30)
			}
			got, _ := fake.Order("7-A")
			if s := got.OrderLines[0].OrderLineState; s != tt.stateA {
				t.Errorf("line A is %s; want %s", s, tt.stateA)
			}
			if s := got.OrderLines[1].OrderLineState; s != o.OrderLines[1].OrderLineState {
				t.Errorf("line B is %s; want it untouched (%s)", s, o.OrderLines[1].OrderLineState)
			}
			if tt.or30 == 0 || tt.want != "" {
				return
			}
			var body or30Body
			if err := json.Unmarshal([]byte(calls[0].Body), &body); err != nil {
				t.Fatal(err)
			}
			if len(body.Cancelations) != 1 {
				t.Fatalf("OR30 body %s: want one cancelation", calls[0].Body)
			}
			cn := body.Cancelations[0]
			if cn.OrderLineID != "7-A-1" || cn.Quantity != 2 || cn.Amount != "15.64" || cn.ShippingAmount != "7.9" ||
				cn.ReasonCode != "34" || cn.CurrencyISOCode != "EUR" || body.OrderTaxMode != "TAX_EXCLUDED" {
				t.Errorf("OR30 body %s; want line 7-A-1, 2, 15.64, 7.9, reason 34, EUR, TAX_EXCLUDED", calls[0].Body)
			}
			if len(cn.Taxes) != 1 || cn.Taxes[0].Code != "TVA" || cn.Taxes[0].Amount != 3.13 ||
				len(cn.ShippingTaxes) != 1 || cn.ShippingTaxes[0].Amount != 1.58 {
				t.Errorf("OR30 taxes %+v, shipping taxes %+v; want TVA 3.13 and 1.58", cn.Taxes, cn.ShippingTaxes)
			}
			// Again, as a retry whose answer was lost: the line ended, no call.
			if err := c.CancelLines(ctx, order.MarketplaceOrder{ID: "7-A"}, lineA, "customer"); err != nil {
				t.Errorf("CancelLines again = %v; want nil (cancelled already)", err)
			}
			if n := len(fake.Calls()); n != len(calls) {
				t.Errorf("%d calls after the retry; want %d", n, len(calls))
			}
		})
	}
}

// TestCancelAcceptedLinesRetried: an OR30 whose answer was lost, retried
// with the order as read before it, sends nothing: the fresh read OR30's
// amounts come from shows the line ended.
func TestCancelAcceptedLinesRetried(t *testing.T) {
	fake, c, _ := start(t, mirakltest.Options{PartialCancelation: true}, mirakl.Options{CancelReasonCode: "34"})
	o := accepted()
	fake.Seed(o)
	ctx := context.Background()
	stale, err := c.Order(ctx, "7-A") // what the sync read before the lost answer
	if err != nil {
		t.Fatal(err)
	}
	lineA := []order.Line{{SKU: "A", Quantity: 2, MarketplaceLineID: "7-A-1"}}
	if err := c.CancelLines(ctx, stale, lineA, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelLines(ctx, stale, lineA, ""); err != nil {
		t.Errorf("CancelLines with the state read before = %v; want nil", err)
	}
	n := 0
	for _, cl := range fake.Calls() {
		if cl.Operation == "OR30" && cl.Status < 300 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d OR30 calls answered yes; want 1", n)
	}
}
