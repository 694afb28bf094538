// Package sesmail sends ordersync's emails through Amazon SES (v2 API).
package sesmail

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
)

// API is the part of the SES v2 client the mailer uses.
type API interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Mailer sends from one verified address.
type Mailer struct {
	api  API
	from string
}

// New returns a Mailer sending from the address from.
func New(api API, from string) *Mailer { return &Mailer{api: api, from: from} }

// Send sends one message with a text and an HTML body.
func (m *Mailer) Send(ctx context.Context, to, subject, text, html string) error {
	body := &types.Body{Text: &types.Content{Data: aws.String(text), Charset: aws.String("UTF-8")}}
	if html != "" {
		body.Html = &types.Content{Data: aws.String(html), Charset: aws.String("UTF-8")}
	}
	_, err := m.api.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body:    body,
		}},
	})
	if err != nil {
		// SES's messages quote the recipient's address; keep its error
		// code only, since errors are logged.
		var api smithy.APIError
		if errors.As(err, &api) {
			return fmt.Errorf("sesmail: send: %s", api.ErrorCode())
		}
		return fmt.Errorf("sesmail: send: %w", err)
	}
	return nil
}
