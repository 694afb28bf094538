package mirakl_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/mirakl/mirakltest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// or28Body is what the test reads of an OR28 request.
type or28Body struct {
	Refunds []struct {
		OrderLineID     string           `json:"order_line_id"`
		Quantity        int              `json:"quantity"`
		Amount          json.Number      `json:"amount"`
		ShippingAmount  json.Number      `json:"shipping_amount"`
		ReasonCode      string           `json:"reason_code"`
		CurrencyISOCode string           `json:"currency_iso_code"`
		Taxes           []mirakltest.Tax `json:"taxes"`
		ShippingTaxes   []mirakltest.Tax `json:"shipping_taxes"`
	} `json:"refunds"`
	OrderTaxMode string `json:"order_tax_mode"`
}

// shipped is accepted() shipped: lines A (2 at 7.82, shipping 7.90, TVA
// 20 %) and B (1 at 10.00), both SHIPPED.
func shipped() mirakltest.Order {
	o := accepted()
	o.OrderState = mirakltest.StateShipped
	for i := range o.OrderLines {
		o.OrderLines[i].OrderLineState = mirakltest.StateShipped
	}
	return o
}

func or28Calls(fake *mirakltest.Server) []mirakltest.Call {
	var out []mirakltest.Call
	for _, cl := range fake.Calls() {
		if cl.Operation == "OR28" {
			out = append(out, cl)
		}
	}
	return out
}

func TestRefundLines(t *testing.T) {
	lineA := []order.Line{{SKU: "A", Quantity: 2, MarketplaceLineID: "7-A-1"}}
	tests := []struct {
		name    string
		fake    mirakltest.Options
		opts    mirakl.Options
		seed    func(*mirakltest.Order)
		want    syncerr.Code
		or28    int // OR28 calls made
		refunds int // refunds line A shows after
	}{
		{name: "refunded with OR28, the amounts Mirakl gives, the connection's reason code",
			fake: mirakltest.Options{RefundReasons: []string{"17"}}, opts: mirakl.Options{RefundReasonCode: "17"}, or28: 1, refunds: 1},
		{name: "received, refunded with OR28",
			opts: mirakl.Options{RefundReasonCode: "17"},
			seed: func(o *mirakltest.Order) { o.OrderState, o.OrderLines[0].OrderLineState = "RECEIVED", "RECEIVED" },
			or28: 1, refunds: 1},
		{name: "no reason code on the connection: refund_unsupported, no call",
			want: syncerr.RefundUnsupported},
		{name: "no price on the line: refund_unsupported, no amount guessed",
			opts: mirakl.Options{RefundReasonCode: "17"},
			seed: func(o *mirakltest.Order) { o.OrderLines[0].ShippingPrice = nil },
			want: syncerr.RefundUnsupported},
		{name: "a line refunded in part already: refund_unsupported, no amount guessed",
			opts: mirakl.Options{RefundReasonCode: "17"},
			seed: func(o *mirakltest.Order) {
				o.OrderLines[0].Refunds = []mirakltest.Refund{{ID: "1100", Quantity: 1, Amount: 7.82, ReasonCode: "17"}}
			},
			want: syncerr.RefundUnsupported, refunds: 1},
		{name: "a line cancelled in part before it shipped: refund_unsupported",
			opts: mirakl.Options{RefundReasonCode: "17"},
			seed: func(o *mirakltest.Order) {
				o.OrderLines[0].Cancelations = []mirakltest.Cancelation{{ID: "c1", Quantity: 1, Amount: 7.82, ReasonCode: "34"}}
			},
			want: syncerr.RefundUnsupported},
		{name: "refunded whole already: nothing sent",
			opts: mirakl.Options{RefundReasonCode: "17"},
			seed: func(o *mirakltest.Order) {
				o.OrderLines[0].Refunds = []mirakltest.Refund{{ID: "1100", Quantity: 2, Amount: 15.64, ShippingAmount: 7.9, ReasonCode: "17"}}
			},
			refunds: 1},
		{name: "a reason code the operator does not list: refund_unsupported after the call",
			fake: mirakltest.Options{RefundReasons: []string{"19"}}, opts: mirakl.Options{RefundReasonCode: "17"},
			want: syncerr.RefundUnsupported, or28: 1},
		{name: "not shipped yet: invalid_transition, no call (a cancel, OR30)",
			opts: mirakl.Options{RefundReasonCode: "17"},
			seed: func(o *mirakltest.Order) {
				o.OrderState = mirakltest.StateShipping
				for i := range o.OrderLines {
					o.OrderLines[i].OrderLineState = mirakltest.StateShipping
				}
			},
			want: syncerr.InvalidTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := start(t, tt.fake, tt.opts)
			o := shipped()
			if tt.seed != nil {
				tt.seed(&o)
			}
			fake.Seed(o)
			ctx := context.Background()
			if got, want := c.Capabilities().RefundLines, tt.opts.RefundReasonCode != ""; got != want {
				t.Errorf("RefundLines = %v, want %v", got, want)
			}
			err := c.RefundLines(ctx, order.MarketplaceOrder{ID: "7-A"}, lineA)
			if got := syncerr.CodeOf(err); err != nil && got != tt.want || err == nil && tt.want != "" {
				t.Fatalf("RefundLines = %v; want %q", err, tt.want)
			}
			calls := or28Calls(fake)
			if len(calls) != tt.or28 {
				t.Fatalf("%d OR28 calls (%+v); want %d", len(calls), fake.Calls(), tt.or28)
			}
			got, _ := fake.Order("7-A")
			if n := len(got.OrderLines[0].Refunds); n != tt.refunds {
				t.Errorf("line A shows %d refunds; want %d", n, tt.refunds)
			}
			if n := len(got.OrderLines[1].Refunds); n != 0 {
				t.Errorf("line B shows %d refunds; want it untouched", n)
			}
			if tt.or28 == 0 || tt.want != "" {
				return
			}
			var body or28Body
			if err := json.Unmarshal([]byte(calls[0].Body), &body); err != nil {
				t.Fatal(err)
			}
			if len(body.Refunds) != 1 {
				t.Fatalf("OR28 body %s: want one refund", calls[0].Body)
			}
			r := body.Refunds[0]
			if r.OrderLineID != "7-A-1" || r.Quantity != 2 || r.Amount != "15.64" || r.ShippingAmount != "7.9" ||
				r.ReasonCode != "17" || r.CurrencyISOCode != "EUR" || body.OrderTaxMode != "TAX_EXCLUDED" {
				t.Errorf("OR28 body %s; want line 7-A-1, 2, 15.64, 7.9, reason 17, EUR, TAX_EXCLUDED", calls[0].Body)
			}
			if len(r.Taxes) != 1 || r.Taxes[0].Code != "TVA" || r.Taxes[0].Amount != 3.13 ||
				len(r.ShippingTaxes) != 1 || r.ShippingTaxes[0].Amount != 1.58 {
				t.Errorf("OR28 taxes %+v, shipping taxes %+v; want TVA 3.13 and 1.58", r.Taxes, r.ShippingTaxes)
			}
			// The refund shows on the order as Mirakl's, for the timeline.
			now, err := c.Order(ctx, "7-A")
			if err != nil || len(now.Refunds) != 1 || now.Refunds[0].Lines[0].MarketplaceLineID != "7-A-1" || now.Refunds[0].Lines[0].Quantity != 2 {
				t.Errorf("order after: %+v, %v; want one refund of 2 of line 7-A-1", now.Refunds, err)
			}
			// Again, as a retry whose answer was lost, with the order as
			// read before: the line shows refunded, no call.
			if err := c.RefundLines(ctx, order.MarketplaceOrder{ID: "7-A"}, lineA); err != nil {
				t.Errorf("RefundLines again = %v; want nil (refunded already)", err)
			}
			if n := len(or28Calls(fake)); n != 1 {
				t.Errorf("%d OR28 calls after the retry; want 1", n)
			}
		})
	}
}

// TestRefundLinesRateLimited: Mirakl's 429 on OR28 is rate_limited with
// its Retry-After, nothing refunded; the retry refunds once.
func TestRefundLinesRateLimited(t *testing.T) {
	fake, c, _ := start(t, mirakltest.Options{}, mirakl.Options{RefundReasonCode: "17"})
	fake.Seed(shipped())
	fake.SetFault(mirakltest.Fault{Status: 429, RetryAfter: "7", Count: 1, Methods: "PUT"})
	ctx := context.Background()
	lineB := []order.Line{{SKU: "B", Quantity: 1}}
	err := c.RefundLines(ctx, order.MarketplaceOrder{ID: "7-A"}, lineB)
	if got := syncerr.CodeOf(err); got != syncerr.RateLimited || syncerr.RetryAfterOf(err) != 7*time.Second {
		t.Fatalf("RefundLines = %v (retry after %v); want rate_limited after 7s", err, syncerr.RetryAfterOf(err))
	}
	if err := c.RefundLines(ctx, order.MarketplaceOrder{ID: "7-A"}, lineB); err != nil {
		t.Fatalf("RefundLines after the pause = %v", err)
	}
	got, _ := fake.Order("7-A")
	if n := len(got.OrderLines[1].Refunds); n != 1 {
		t.Errorf("line B shows %d refunds; want 1", n)
	}
}

// TestRefundLinesPublishedOrder: on the order of Mirakl's own fixture
// (testdata/or11_orders_list_with_refunds.json, shipped since), a line
// refunded in part before (by quantity, or by amount where the quantity
// says whole) is never refunded again with guessed amounts.
func TestRefundLinesPublishedOrder(t *testing.T) {
	b, err := os.ReadFile("testdata/or11_orders_list_with_refunds.json")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Orders []mirakltest.Order `json:"orders"`
	}
	if err := json.Unmarshal(b, &page); err != nil || len(page.Orders) != 1 {
		t.Fatalf("fixture: %v", err)
	}
	o := page.Orders[0]
	o.OrderState = mirakltest.StateShipped
	for i := range o.OrderLines {
		o.OrderLines[i].OrderLineState = mirakltest.StateShipped
	}
	fake, c, _ := start(t, mirakltest.Options{}, mirakl.Options{RefundReasonCode: "17"})
	fake.Seed(o)
	for _, l := range []order.Line{
		{SKU: "24-MB01", Quantity: 4, MarketplaceLineID: "95"},        // 1 of 4 refunded
		{SKU: "MH01-XL-Orange", Quantity: 1, MarketplaceLineID: "96"}, // refunded "1" for 20.00 of 89.00
	} {
		err = c.RefundLines(context.Background(), order.MarketplaceOrder{ID: o.OrderID}, []order.Line{l})
		if syncerr.CodeOf(err) != syncerr.RefundUnsupported || len(or28Calls(fake)) != 0 {
			t.Errorf("RefundLines of line %s = %v, %d OR28 calls; want refund_unsupported, none", l.MarketplaceLineID, err, len(or28Calls(fake)))
		}
	}
}
