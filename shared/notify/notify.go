// Package notify writes and sends the emails a merchant receives when
// orders cannot be synced: one per order and problem, and, when a
// connection fails many orders within an hour, one digest for the rest
// (see README.md for both shapes). The words live in the *.tmpl files
// beside this one and in the error catalogue, not in Go.
package notify

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

//go:embed *.tmpl
var templates embed.FS

// The templates, read when the package loads (render.go).
var (
	emailText  = load("email.txt.tmpl", false)
	emailHTML  = load("email.html.tmpl", true)
	digestText = load("digest.txt.tmpl", false)
	digestHTML = load("digest.html.tmpl", true)
)

func load(name string, html bool) *page {
	b, err := templates.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return mustParse(name, string(b), html)
}

// Mailer sends one email with a text and an HTML part.
type Mailer interface {
	Send(ctx context.Context, to, subject, text, html string) error
}

// Email is one rendered email.
type Email struct {
	Subject, Text, HTML string
}

// Notifier emails merchants about sync failures.
type Notifier struct {
	mail    Mailer
	apiBase string
	// digests, when set, holds the failures past the first after of a
	// connection's hour for one digest instead of an email each.
	digests Digests
	after   int
	now     func() time.Time
}

var _ syncer.Notifier = (*Notifier)(nil)

// New returns a Notifier sending through mail, one email per notice.
func New(mail Mailer) *Notifier { return &Notifier{mail: mail, now: time.Now} }

// WithAPIBaseURL makes the emails name their actions as full URLs of the
// merchant API at base (e.g. https://abc.execute-api.eu-west-1.amazonaws.com);
// without it they show the routes alone.
func (nf *Notifier) WithAPIBaseURL(base string) *Notifier {
	nf.apiBase = strings.TrimRight(base, "/")
	return nf
}

// WithClock makes the Notifier read the time, which decides a notice's
// hour, from now.
func (nf *Notifier) WithClock(now func() time.Time) *Notifier {
	nf.now = now
	return nf
}

// Notify emails the connection's merchant about n, or, when n is past the
// first after failures of its connection's hour (WithDigest), holds it for
// that hour's digest. A connection-wide problem (an auth kind: the
// connection is paused) is always emailed at once. An error means the
// merchant was not told, nor will be by a digest: the caller forgets its
// email mark so that the order's next failure tries again.
func (nf *Notifier) Notify(ctx context.Context, n syncer.Notice) error {
	if n.Connection.MerchantEmail == "" {
		return fmt.Errorf("notify: connection %s has no merchant email", n.Connection.ID)
	}
	if nf.digests != nil && n.Explanation.Kind != syncerr.Auth {
		hour := nf.now().UTC().Truncate(time.Hour)
		count, err := nf.digests.Count(ctx, n.Connection.ID, hour)
		if err != nil {
			return fmt.Errorf("notify: count: %w", err)
		}
		if count > nf.after {
			if err := nf.digests.Hold(ctx, n.Connection.ID, hour, count, nf.entry(n)); err != nil {
				return fmt.Errorf("notify: hold for the digest: %w", err)
			}
			return nil
		}
	}
	e, err := nf.Render(n)
	if err != nil {
		return err
	}
	return nf.send(ctx, n.Connection.MerchantEmail, e)
}

// send sends e, trying again when SES refuses: SES throttles and has bad
// moments.
func (nf *Notifier) send(ctx context.Context, to string, e Email) error {
	for try := 1; ; try++ {
		err := nf.mail.Send(ctx, oneLine(to), e.Subject, e.Text, e.HTML)
		if err == nil || try == sendTries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try) * 100 * time.Millisecond):
		}
	}
}

// sendTries is how often one email is tried.
const sendTries = 3

// oneLine replaces the characters that would break a line (CR, LF, the
// other control characters, Unicode's line and paragraph separators) with
// spaces: order data never starts a header or ends the subject.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// Render returns n's email: its subject and text part from
// email.txt.tmpl, its HTML part from email.html.tmpl, which escapes
// every value (render.go).
func (nf *Notifier) Render(n syncer.Notice) (Email, error) {
	merchant := n.Connection.MerchantName
	if merchant == "" {
		merchant = "there"
	}
	f := fields{
		"Title": n.Explanation.Title, "Cause": n.Explanation.Cause, "Remedy": n.Explanation.Remedy, "Code": string(n.Explanation.Code),
		"OrderName": orderName(n), "StoreOrderID": orEmpty(n.State.Ref.StoreOrderID), "MarketplaceOrderID": orEmpty(n.State.Ref.MarketplaceOrderID),
		"Marketplace": n.Marketplace, "MerchantName": merchant, "Connection": n.Connection.ID,
		"Action": nf.action(n), "ErrorsURL": nf.errorsURL(n.Connection.ID),
	}
	for k, v := range f {
		f[k] = oneLine(v.(string))
	}
	f["Retried"], f["Attempts"] = n.Attempts > 1, n.Attempts
	f["Import"] = imported(n)
	return render(emailText, emailHTML, f)
}

// render executes a text and an HTML template over the same fields; the
// text's first line, "Subject: …", is the subject.
func render(text, html *page, f fields) (Email, error) {
	t, err := text.execute(f)
	if err != nil {
		return Email{}, fmt.Errorf("notify: render text: %w", err)
	}
	h, err := html.execute(f)
	if err != nil {
		return Email{}, fmt.Errorf("notify: render html: %w", err)
	}
	head, rest, _ := strings.Cut(t, "\n")
	return Email{Subject: strings.TrimPrefix(head, "Subject: "), Text: strings.TrimLeft(rest, "\n"), HTML: h}, nil
}

// action is the merchant API call that fixes n's failure, as "METHOD URL"
// with the order's ids filled in, or "" when the fix lies outside
// ordersync.
//
// A failed import's SKU is the marketplace's, not the store SKU the alias
// route takes (as the merchant API's errors list, actionOf): the route
// is filled from the catalogue again, its store SKU left to the merchant.
func (nf *Notifier) action(n syncer.Notice) string {
	a := n.Explanation.Action
	if a == nil {
		return ""
	}
	if imported(n) {
		if c := syncerr.Lookup(n.Explanation.Code).Action; c != nil {
			a = c
		}
	}
	f := a.Fill(map[string]string{"connection": n.Connection.ID, "marketplaceOrderId": n.State.Ref.MarketplaceOrderID})
	return f.Method + " " + nf.apiBase + strings.ReplaceAll(f.Route, "{sku}", "<store SKU>")
}

// imported reports whether n's failure came before ordersync made the
// order's store order: its import.
func imported(n syncer.Notice) bool {
	return n.State.Ref.StoreOrderID == "" && n.State.Ref.MarketplaceOrderID != ""
}

// errorsURL is the connection's errors list in the merchant API.
func (nf *Notifier) errorsURL(connection string) string {
	return nf.apiBase + syncerr.Action{Route: "/connections/{connection}/errors"}.Fill(map[string]string{"connection": connection}).Route
}

func orderName(n syncer.Notice) string { return orEmpty(n.State.Ref.Name()) }

func orEmpty(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
