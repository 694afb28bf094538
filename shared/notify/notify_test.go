package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
			"did not retry", "Error code:    shipping_data_missing", "store id 450789469", "Back Market id 7001",
			"  POST https://api.test/connections/acme/orders/7001/fix\n", "GET https://api.test/connections/acme/errors"}},
		{"after retries", 3, []string{"retried 3 times"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(nil).WithAPIBaseURL("https://api.test/").Render(notice(tt.attempts))
			subject, body := e.Subject, e.Text
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
			if strings.Contains(body, "ask support") {
				t.Errorf("body still sends the merchant to support for a re-sync:\n%s", body)
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
	e, err := New(nil).Render(n)
	if err != nil {
		t.Fatal(err)
	}
	subject, body := e.Subject, e.Text
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

// The HTML part escapes every value from the order and the failure: a
// store order name or a cause with markup reads as text.
func TestHTMLEscapesOrderData(t *testing.T) {
	n := notice(1)
	n.State.Ref.StoreOrderName = `#1001<script>alert("x")</script>`
	n.Explanation.Cause = `Cause with <b>bold</b> & "quotes" 'single'`
	n.Connection.MerchantName = `<img src=x onerror=alert(1)>`
	e, err := New(nil).WithAPIBaseURL("https://api.test").Render(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>bold", "<img", `"quotes"`, "'single'"} {
		if strings.Contains(e.HTML, bad) {
			t.Errorf("HTML holds %q unescaped:\n%s", bad, e.HTML)
		}
	}
	for _, want := range []string{"#1001&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&lt;b&gt;bold&lt;/b&gt; &amp; &#34;quotes&#34; &#39;single&#39;",
		"<code>POST https://api.test/connections/acme/orders/7001/fix</code>", "Add the tracking number"} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, e.HTML)
		}
	}
	// The subject is text, not HTML: readable as the merchant typed it.
	if want := `[ordersync] Shipping data missing – order #1001<script>alert("x")</script>`; e.Subject != want {
		t.Errorf("subject = %q, want %q", e.Subject, want)
	}
}

func TestActionLine(t *testing.T) {
	tests := []struct {
		name string
		err  error
		base string
		want string // in the text part; "" for none
	}{
		{"resync", syncerr.E(syncerr.InvalidTransition, "order", "#1001"), "https://api.test",
			"POST https://api.test/connections/acme/orders/7001/resync"},
		{"alias with the sku escaped", syncerr.E(syncerr.SKUNotFound, "order", "#1001", "sku", "AB 1/2"), "https://api.test",
			"PUT https://api.test/connections/acme/aliases/AB%201%2F2"},
		{"credentials", syncerr.E(syncerr.AuthExpired), "https://api.test",
			"PUT https://api.test/connections/acme/credentials/marketplace"},
		{"no base url: the route alone", syncerr.E(syncerr.InvalidTransition, "order", "#1001"), "",
			"POST /connections/acme/orders/7001/resync"},
		{"fix outside ordersync", syncerr.E(syncerr.CancelUnsupported, "order", "#1001"), "https://api.test", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := notice(1)
			n.Explanation = syncerr.Explain(tt.err)
			e, err := New(nil).WithAPIBaseURL(tt.base).Render(n)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if !strings.Contains(e.Text, "outside ordersync") || strings.Contains(e.Text, "merchant API") {
					t.Errorf("text names an action for a fix outside ordersync:\n%s", e.Text)
				}
				return
			}
			for part, body := range map[string]string{"text": e.Text, "html": e.HTML} {
				if !strings.Contains(body, tt.want) {
					t.Errorf("%s part lacks %q:\n%s", part, tt.want, body)
				}
			}
		})
	}
}

// TestAFailedImportsEmailSaysSoAndLeavesTheStoreSKUToTheMerchant: an
// order that failed before ordersync made its store order is an import,
// and its unknown SKU is the marketplace's. A black-box try read "could
// not sync order 10002 to Back Market" and an alias action with the
// marketplace's SKU where the route takes the store's: followed, it
// stored the alias backwards.
func TestAFailedImportsEmailSaysSoAndLeavesTheStoreSKUToTheMerchant(t *testing.T) {
	n := notice(1)
	n.State.Ref = order.Ref{MarketplaceOrderID: "7001"}
	n.Explanation = syncerr.Explain(syncerr.E(syncerr.SKUNotFound, "order", "7001", "sku", "AMZ-PIX"))
	e, err := New(nil).WithAPIBaseURL("https://api.test").Render(n)
	if err != nil {
		t.Fatal(err)
	}
	for part, body := range map[string]string{"text": e.Text, "html": e.HTML} {
		for _, want := range []string{"could not import order", "from Back Market into your store",
			"PUT https://api.test/connections/acme/aliases/&lt;store SKU&gt;"} {
			if part == "text" {
				want = strings.NewReplacer("&lt;", "<", "&gt;", ">").Replace(want)
			}
			if !strings.Contains(body, want) {
				t.Errorf("%s part lacks %q:\n%s", part, want, body)
			}
		}
		for _, unwanted := range []string{"aliases/AMZ-PIX", "could not sync", "store id unknown", "when your store reports"} {
			if strings.Contains(body, unwanted) {
				t.Errorf("%s part has %q:\n%s", part, unwanted, body)
			}
		}
	}
}

func TestTheTemplatesAreFiles(t *testing.T) {
	for _, name := range []string{"email.txt.tmpl", "email.html.tmpl", "digest.txt.tmpl", "digest.html.tmpl"} {
		if _, err := templates.ReadFile(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// digestsFunc is a Digests whose Count and Hold are functions; the rest
// is not used by Notify.
type digestsFunc struct {
	Digests
	count func() (int, error)
	hold  func() error
}

func (d digestsFunc) Count(context.Context, string, time.Time) (int, error) { return d.count() }
func (d digestsFunc) Hold(context.Context, string, time.Time, int, DigestEntry) error {
	return d.hold()
}

// When the failure cannot be counted or held for the digest, Notify says
// so: the sync then forgets the email mark and the order's next failure
// tries again, rather than the merchant never hearing of it.
func TestNotifyReportsWhatTheDigestCouldNotKeep(t *testing.T) {
	sent := 0
	mail := mailFunc(func(context.Context, string, string, string, string) error { sent++; return nil })
	tests := []struct {
		name     string
		d        digestsFunc
		wantErr  bool
		wantSent int
	}{
		{"under the threshold: emailed", digestsFunc{count: func() (int, error) { return 2, nil }}, false, 1},
		{"count fails", digestsFunc{count: func() (int, error) { return 0, errors.New("dynamodb down") }}, true, 0},
		{"past the threshold: held", digestsFunc{count: func() (int, error) { return 3, nil }, hold: func() error { return nil }}, false, 0},
		{"hold fails", digestsFunc{count: func() (int, error) { return 3, nil }, hold: func() error { return errors.New("dynamodb down") }}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent = 0
			err := New(mail).WithDigest(tt.d, 2).Notify(context.Background(), notice(1))
			if (err != nil) != tt.wantErr || sent != tt.wantSent {
				t.Errorf("Notify = %v with %d sent; want error %v, %d sent", err, sent, tt.wantErr, tt.wantSent)
			}
		})
	}
}
