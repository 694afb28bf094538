package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

type mailFunc func(ctx context.Context, to, subject, text, html string) error

func (f mailFunc) Send(ctx context.Context, to, subject, text, html string) error {
	return f(ctx, to, subject, text, html)
}

func notice(attempts int) syncer.Notice {
	err := syncerr.E(syncerr.ShippingDataMissing, "order", "#1001", "marketplace", "Back Market", "missing", "tracking number")
	return syncer.Notice{
		Connection:  order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test"},
		State:       order.State{Ref: order.Ref{StoreOrderID: "450789469", StoreOrderName: "#1001", MarketplaceOrderID: "7001"}},
		Explanation: syncerr.Explain(err), Marketplace: "Back Market", Attempts: attempts,
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name     string
		attempts int
		want     []string
	}{
		{"permanent", 1, []string{"Hello Acme", "order #1001", "missing its tracking number", "Add the tracking number",
			"did not retry", "Error code:    shipping_data_missing", "store id 450789469", "Back Market id 7001"}},
		{"after retries", 3, []string{"retried 3 times"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, body, err := Render(notice(tt.attempts))
			if err != nil {
				t.Fatal(err)
			}
			if want := "[ordersync] Shipping data missing – order #1001"; subject != want {
				t.Errorf("subject = %q, want %q", subject, want)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, "(unknown") {
				t.Errorf("body has an unfilled placeholder:\n%s", body)
			}
		})
	}
}

func TestNotify(t *testing.T) {
	var to, subject string
	n := New(mailFunc(func(_ context.Context, t, s, _, _ string) error { to, subject = t, s; return nil }))
	if err := n.Notify(context.Background(), notice(1)); err != nil {
		t.Fatal(err)
	}
	if to != "ops@acme.test" || !strings.Contains(subject, "#1001") {
		t.Errorf("sent to %q subject %q", to, subject)
	}
	noMail := notice(1)
	noMail.Connection.MerchantEmail = ""
	if err := n.Notify(context.Background(), noMail); err == nil {
		t.Error("a connection with no merchant email must be an error, not a silent drop")
	}
}
