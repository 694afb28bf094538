// Package notify writes the email a merchant receives when an order cannot
// be synced. The words live in email.txt.tmpl and in the error catalogue,
// not in Go.
package notify

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/ordersync/ordersync/shared/syncer"
)

//go:embed email.txt.tmpl
var emailText string

var email = template.Must(template.New("email").Parse(emailText))

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, to, subject, text, html string) error
}

// Notifier emails merchants about sync failures.
type Notifier struct {
	mail Mailer
}

var _ syncer.Notifier = (*Notifier)(nil)

// New returns a Notifier sending through mail.
func New(mail Mailer) *Notifier { return &Notifier{mail: mail} }

// Notify emails the connection's merchant about n.
func (nf *Notifier) Notify(ctx context.Context, n syncer.Notice) error {
	if n.Connection.MerchantEmail == "" {
		return fmt.Errorf("notify: connection %s has no merchant email", n.Connection.ID)
	}
	subject, body, err := Render(n)
	if err != nil {
		return err
	}
	// SES throttles and has bad moments: try again before giving up (the
	// caller then forgets the email mark, so the next failure of the order
	// is told).
	for try := 1; ; try++ {
		err = nf.mail.Send(ctx, oneLine(n.Connection.MerchantEmail), subject, body, "")
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

// Render returns the subject and text body of n's email.
func Render(n syncer.Notice) (subject, body string, err error) {
	name := n.State.Ref.StoreOrderName
	if name == "" {
		name = n.State.Ref.StoreOrderID
	}
	if name == "" {
		name = n.State.Ref.MarketplaceOrderID
	}
	merchant := n.Connection.MerchantName
	if merchant == "" {
		merchant = "there"
	}
	var b bytes.Buffer
	fields := map[string]any{
		"Title": n.Explanation.Title, "Cause": n.Explanation.Cause, "Remedy": n.Explanation.Remedy, "Code": string(n.Explanation.Code),
		"OrderName": name, "StoreOrderID": orEmpty(n.State.Ref.StoreOrderID), "MarketplaceOrderID": orEmpty(n.State.Ref.MarketplaceOrderID),
		"Marketplace": n.Marketplace, "MerchantName": merchant, "Connection": n.Connection.ID,
	}
	for k, v := range fields {
		fields[k] = oneLine(v.(string))
	}
	fields["Retried"], fields["Attempts"] = n.Attempts > 1, n.Attempts
	err = email.Execute(&b, fields)
	if err != nil {
		return "", "", fmt.Errorf("notify: render: %w", err)
	}
	head, rest, _ := strings.Cut(b.String(), "\n")
	return strings.TrimPrefix(head, "Subject: "), strings.TrimLeft(rest, "\n"), nil
}

func orEmpty(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
