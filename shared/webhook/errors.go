// Package webhook holds what reading a webhook needs whatever platform sent
// it: the refusal codes (Error, Code) the ingest handler maps to HTTP
// answers, the two signature schemes (a body HMAC, which Shopify and
// WooCommerce use, and Standard Webhooks, which BigCommerce and generic
// senders use), JSON decoding that tolerates platforms' loose types (Text,
// Count, Stamp) and never quotes a body in an error, and ordersync's own
// Standard Webhooks payload (ParseStandard). Each platform's parser lives
// with its vendor (shopify.ParseWebhook, woocommerce.ParseWebhook,
// bigcommerce.ParseWebhook) and builds on these. Everything here is a pure
// function over bytes and header values: no AWS, no I/O, no clock (the
// caller passes now).
package webhook

import (
	"errors"
	"fmt"
)

// Code says why a delivery was refused, in words safe to return to the
// sender: it never carries anything read from the body.
type Code string

// Codes a verifier or parser returns. The ingest handler maps each to an
// HTTP status.
const (
	// Signature problems (HTTP 401).
	CodeSignatureMissing Code = "signature_missing"
	CodeSignatureInvalid Code = "signature_invalid"
	CodeTimestampInvalid Code = "timestamp_invalid"
	CodeTimestampStale   Code = "timestamp_stale"
	CodeNoSecret         Code = "no_secret" // the connection has no usable secret

	// Payload problems (HTTP 400).
	CodeMalformedJSON Code = "malformed_json"
	CodeMissingField  Code = "missing_field"
	CodeInvalidField  Code = "invalid_field"
	CodeMissingHeader Code = "missing_header"

	// A well-formed delivery ordersync has no use for (HTTP 200, ignored).
	CodeTopicUnsupported Code = "topic_unsupported"
)

// Error is a refused delivery. Field names the header or JSON field at
// fault, when there is one; neither it nor Error() ever quotes a value from
// the request, so both may be logged and returned to the sender.
type Error struct {
	Code  Code
	Field string
}

// Error returns "webhook: <code>[: <field>]".
func (e *Error) Error() string {
	if e.Field == "" {
		return "webhook: " + string(e.Code)
	}
	return fmt.Sprintf("webhook: %s: %s", e.Code, e.Field)
}

// Is reports whether target is an *Error with the same Code, so callers can
// write errors.Is(err, &webhook.Error{Code: webhook.CodeSignatureInvalid}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Field == "" || t.Field == e.Field)
}

// CodeOf returns the Code of err, or "" when err is nil or not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsSignatureError reports whether err means the delivery could not be
// authenticated (missing or wrong signature, bad or stale timestamp).
func IsSignatureError(err error) bool {
	switch CodeOf(err) {
	case CodeSignatureMissing, CodeSignatureInvalid, CodeTimestampInvalid, CodeTimestampStale, CodeNoSecret:
		return true
	}
	return false
}

// IsPayloadError reports whether err means the delivery was authentic but
// malformed: bad JSON, or a required field or header missing or invalid.
func IsPayloadError(err error) bool {
	switch CodeOf(err) {
	case CodeMalformedJSON, CodeMissingField, CodeInvalidField, CodeMissingHeader:
		return true
	}
	return false
}

// E returns the *Error for code, naming the header or JSON field at fault
// (field may be ""). Parsers and verifiers build every refusal with it.
func E(code Code, field string) *Error { return &Error{Code: code, Field: field} }
