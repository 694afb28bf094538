package notify

import (
	"context"
	"errors"
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

// Before, a line break in order data ended the subject early and put the
// rest at the top of the body, where a mail client reads headers.
func TestOrderDataCannotBreakTheSubject(t *testing.T) {
	n := notice(1)
	n.State.Ref.StoreOrderName = "#1001\r\nBcc: thief@example.com"
	n.Connection.MerchantName = "Acme\nReply-To: thief@example.com"
	subject, body, err := Render(n)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(subject, "\r\n") || !strings.Contains(subject, "Bcc: thief@example.com") {
		t.Errorf("subject = %q, want the whole name on one line", subject)
	}
	first, _, _ := strings.Cut(body, "\n")
	if strings.HasPrefix(first, "Bcc") || strings.Contains(body, "\nBcc:") || strings.Contains(body, "\nReply-To:") {
		t.Errorf("body begins %q and holds a header-like line: %q", first, body)
	}
}

// An SES refusal is tried again before the email is given up.
func TestAFailedSendIsTriedAgain(t *testing.T) {
	tries := 0
	nf := New(mailFunc(func(context.Context, string, string, string, string) error {
		tries++
		if tries < 3 {
			return errors.New("sesmail: send: Throttling")
		}
		return nil
	}))
	if err := nf.Notify(context.Background(), notice(1)); err != nil || tries != 3 {
		t.Errorf("Notify = %v after %d tries, want sent on the third", err, tries)
	}
}
