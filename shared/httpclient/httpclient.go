// Package httpclient builds the one tuned HTTP client every connector shares,
// and turns what an outside API answered (or failed to answer) into a
// classified *syncerr.Error. Connectors never retry: they classify, and the
// sync layer decides.
package httpclient

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/syncerr"
)

// Options tune New. Zero fields take the defaults in parentheses.
type Options struct {
	// Timeout bounds one whole call, body included (15s). A context
	// deadline that comes sooner (the Lambda's) wins.
	Timeout time.Duration
	// DialTimeout bounds opening a TCP connection (5s).
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake (5s).
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers once the
	// request is written (10s).
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost is how many kept-alive connections to one API
	// stay open between calls of a warm Lambda (8).
	MaxIdleConnsPerHost int
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 15*time.Second)
	def(&o.DialTimeout, 5*time.Second)
	def(&o.TLSHandshakeTimeout, 5*time.Second)
	def(&o.ResponseHeaderTimeout, 10*time.Second)
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 8
	}
	return o
}

// New returns an HTTP client for talking to marketplaces and stores, built
// once per cold start and shared. Every request should carry the caller's
// context (http.NewRequestWithContext) so the Lambda deadline applies; the
// client's own Timeout bounds calls made with no deadline. It never follows
// a redirect to another host with credentials: Go drops Authorization on
// cross-host redirects.
func New(opts Options) *http.Client {
	o := opts.withDefaults()
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       60 * time.Second,
	}
	return &http.Client{Transport: t, Timeout: o.Timeout}
}

// MaxBody is the most ReadBody reads of one response: enough for any page
// of orders, small enough that a misbehaving server cannot exhaust a Lambda.
const MaxBody = 16 << 20

// ReadBody reads and closes resp's body, up to MaxBody bytes. A failure
// mid-body is a transport failure: marketplace_unavailable.
func ReadBody(resp *http.Response, kv ...string) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return nil, Transport(err, kv...)
	}
	return b, nil
}

// Transport classifies an error from (*http.Client).Do or from reading a
// body: timeouts, a context deadline or cancellation, refused connections
// and every other transport failure are marketplace_unavailable, which the
// sync retries. kv are the error's details (as syncerr.E takes them). The
// error wraps err, so errors.Is(err, context.DeadlineExceeded) still works.
func Transport(err error, kv ...string) *syncerr.Error {
	if e, ok := syncerr.As(err); ok {
		return e
	}
	return syncerr.E(syncerr.MarketplaceUnavailable, kv...).Wrap(err)
}

// Classify returns the error an HTTP response stands for, or nil when its
// status is below 400. body is the response body already read (it goes
// into the wrapped error, truncated, never into the merchant's words); now
// is the clock that Retry-After dates are read against.
//
//	429                   rate_limited, RetryAfter from the Retry-After header
//	401, 403              auth_expired
//	404, 410              order_not_found
//	408, 5xx              marketplace_unavailable (5xx also honours Retry-After)
//	any other 4xx         invalid_data
//
// Connectors that know better for a status (a platform error code in the
// body, a 400 that means "wrong state") check before calling Classify.
func Classify(resp *http.Response, body []byte, now time.Time, kv ...string) *syncerr.Error {
	code := resp.StatusCode
	if code < 400 {
		return nil
	}
	var e *syncerr.Error
	switch {
	case code == http.StatusTooManyRequests:
		e = syncerr.E(syncerr.RateLimited, kv...)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		e = syncerr.E(syncerr.AuthExpired, kv...)
	case code == http.StatusNotFound || code == http.StatusGone:
		e = syncerr.E(syncerr.OrderNotFound, kv...)
	case code == http.StatusRequestTimeout || code >= 500:
		e = syncerr.E(syncerr.MarketplaceUnavailable, kv...)
	default:
		e = syncerr.E(syncerr.InvalidData, kv...)
	}
	if e.Code == syncerr.RateLimited || e.Code == syncerr.MarketplaceUnavailable {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			e = e.After(d)
		}
	}
	return e.Wrap(StatusError(resp, body))
}

// StatusError is the plain error behind a classified HTTP failure: the
// method, path, status and the platform's error code, for logs. It never
// includes request headers (credentials) nor the body's words (personal
// data).
func StatusError(resp *http.Response, body []byte) error {
	where := ""
	if resp.Request != nil && resp.Request.URL != nil {
		where = resp.Request.Method + " " + resp.Request.URL.Path + ": "
	}
	return &statusError{where: where, status: resp.StatusCode, code: errorCode(body)}
}

// statusError is StatusError's error. Its HTTPStatus lets the sync's
// timeline name the answer without reading the message.
type statusError struct {
	where  string
	status int
	code   string
}

func (e *statusError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("%shttp %d (%s)", e.where, e.status, e.code)
	}
	return fmt.Sprintf("%shttp %d", e.where, e.status)
}

// HTTPStatus is the status the platform answered.
func (e *statusError) HTTPStatus() int { return e.status }

// errorCode finds a platform's machine-readable error code in a JSON error
// body (Back Market's error.code, Mirakl's and WooCommerce's code, Shopify's
// extensions.code), and only that: error messages may quote a customer's
// name or address, and errors are logged.
func errorCode(body []byte) string {
	var b struct {
		Code  any `json:"code"`
		Error struct {
			Code any `json:"code"`
		} `json:"error"`
		Errors []struct {
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	code := fmt.Sprint(firstNonNil(b.Error.Code, b.Code))
	if code == "<nil>" && len(b.Errors) > 0 {
		code = b.Errors[0].Extensions.Code
	}
	if code == "<nil>" || !loggable(code) {
		return ""
	}
	return code
}

// loggable reports whether a platform's error code may go into a log: 1
// to 64 printable ASCII characters without spaces or '@' (names and email
// addresses have them, and a control character could forge a log line).
func loggable(code string) bool {
	if code == "" || len(code) > 64 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; c <= ' ' || c > '~' || c == '@' {
			return false
		}
	}
	return true
}

func firstNonNil(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// MaxRetryAfter is the longest delay a marketplace may ask for (about 11.6
// days); a longer one is absurd, and read as no delay at all.
const MaxRetryAfter = 1e6 * time.Second

// ParseRetryAfter reads a Retry-After value: delay-seconds (whole, or with
// a fraction as some APIs send, e.g. "2.0") or an HTTP date, which is
// measured from now (a date in the past means no wait). It reports false
// for an empty or unreadable value, and for a delay over MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if !(secs >= 0 && secs <= MaxRetryAfter.Seconds()) { // negative, NaN or absurd: unreadable
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > MaxRetryAfter: // a date years ahead is as absurd as a huge number
		return 0, false
	case d > 0:
		return d, true
	}
	return 0, true
}

// Do sends req with hc and classifies a transport failure; the response
// status is left to the caller (see Classify). The request must have been
// built with the caller's context.
func Do(hc *http.Client, req *http.Request, kv ...string) (*http.Response, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, Transport(err, kv...)
	}
	return resp, nil
}
