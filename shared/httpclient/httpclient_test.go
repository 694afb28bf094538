package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
		ok   bool
	}{
		{"seconds", "7", 7 * time.Second, true},
		{"fractional seconds", "2.0", 2 * time.Second, true},
		{"zero", "0", 0, true},
		{"http date", "Sun, 22 Nov 2026 10:00:30 GMT", 30 * time.Second, true},
		{"http date in the past", "Sun, 22 Nov 2026 09:00:00 GMT", 0, true},
		{"empty", "", 0, false},
		{"negative", "-3", 0, false},
		{"garbage", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzParseRetryAfter: whatever the header, the delay is zero when
// unreadable, and otherwise from zero to MaxRetryAfter, however it was
// written (seconds or a date).
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "2.5", "Sun, 22 Nov 2026 10:00:30 GMT", "", "1e300", "NaN",
		"1000000", "1000001", "Fri, 31 Dec 9999 23:59:59 GMT", "Monday, 01-Jan-00 00:00:00 GMT"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ParseRetryAfter(s, now); d < 0 || d > MaxRetryAfter || (!ok && d != 0) {
			t.Errorf("ParseRetryAfter(%q) = %v, %v", s, d, ok)
		}
	})
}

func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		want       syncerr.Code
		wantAfter  time.Duration
	}{
		{"ok", 200, "", "", 0},
		{"no content", 204, "", "", 0},
		{"rate limited seconds", 429, "12", syncerr.RateLimited, 12 * time.Second},
		{"rate limited date", 429, "Sun, 22 Nov 2026 10:01:00 GMT", syncerr.RateLimited, time.Minute},
		{"rate limited no header", 429, "", syncerr.RateLimited, 0},
		{"unauthorized", 401, "", syncerr.AuthExpired, 0},
		{"forbidden", 403, "", syncerr.AuthExpired, 0},
		{"not found", 404, "", syncerr.OrderNotFound, 0},
		{"unavailable", 503, "30", syncerr.MarketplaceUnavailable, 30 * time.Second},
		{"server error", 500, "", syncerr.MarketplaceUnavailable, 0},
		{"gateway timeout", 504, "", syncerr.MarketplaceUnavailable, 0},
		{"request timeout", 408, "", syncerr.MarketplaceUnavailable, 0},
		{"bad request", 400, "", syncerr.InvalidData, 0},
		{"unprocessable", 422, "", syncerr.InvalidData, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.retryAfter != "" {
				resp.Header.Set("Retry-After", tt.retryAfter)
			}
			e := Classify(resp, []byte(`{"message":"x"}`), now, "order", "42")
			if tt.want == "" {
				if e != nil {
					t.Fatalf("Classify(%d) = %v; want nil", tt.status, e)
				}
				return
			}
			if e == nil {
				t.Fatalf("Classify(%d) = nil; want %s", tt.status, tt.want)
			}
			if e.Code != tt.want || e.RetryAfter != tt.wantAfter {
				t.Errorf("Classify(%d) = %s after %v; want %s after %v", tt.status, e.Code, e.RetryAfter, tt.want, tt.wantAfter)
			}
			if got := e.Details["order"]; got != "42" {
				t.Errorf("order detail = %q; want 42", got)
			}
		})
	}
}

func TestDoDeadlineIsUnavailable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Do(New(Options{}), req, "order", "1")
	if got := syncerr.CodeOf(err); got != syncerr.MarketplaceUnavailable {
		t.Fatalf("code = %s; want %s (err %v)", got, syncerr.MarketplaceUnavailable, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v; want it to wrap context.DeadlineExceeded", err)
	}
}

func TestDoConnectionRefusedIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	_, err := Do(New(Options{}), req)
	if got := syncerr.CodeOf(err); got != syncerr.MarketplaceUnavailable {
		t.Fatalf("code = %s; want %s", got, syncerr.MarketplaceUnavailable)
	}
}

func TestNewDefaults(t *testing.T) {
	c := New(Options{})
	if c.Timeout != 15*time.Second {
		t.Errorf("Timeout = %v; want 15s", c.Timeout)
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport = %T; want *http.Transport", c.Transport)
	}
	if tr.MaxIdleConnsPerHost != 8 || tr.ResponseHeaderTimeout != 10*time.Second {
		t.Errorf("transport = %d idle/host, %v header timeout; want 8, 10s", tr.MaxIdleConnsPerHost, tr.ResponseHeaderTimeout)
	}
}

func TestStatusErrorKeepsTheCodeNotTheWords(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.com/ws/orders/42", nil)
	for _, tc := range []struct{ body, want string }{
		{`{"error":{"code":"invalid_address","message":"Victor Hugo, 6 place des Vosges is not deliverable"}}`, "POST /ws/orders/42: http 400 (invalid_address)"},
		{`{"code":"ORDER_INVALID_STATE","message":"order of jane@example.com"}`, "POST /ws/orders/42: http 400 (ORDER_INVALID_STATE)"},
		{`{"errors":[{"message":"Address for Ada Lovelace","extensions":{"code":"THROTTLED"}}]}`, "POST /ws/orders/42: http 400 (THROTTLED)"},
		{`<html>Victor Hugo</html>`, "POST /ws/orders/42: http 400"},
		{`{"code":"see jane@example.com"}`, "POST /ws/orders/42: http 400"},
	} {
		err := StatusError(&http.Response{StatusCode: 400, Request: req}, []byte(tc.body))
		if err.Error() != tc.want {
			t.Errorf("StatusError(%s) = %q, want %q", tc.body, err, tc.want)
		}
	}
}

// FuzzClassify feeds any status, Retry-After and body to Classify: a status
// below 400 is no error; any other is the code the table of Classify's
// comment gives, with a delay only for rate_limited and marketplace_unavailable, and a
// wrapped cause that names the platform's code only when the body has one
// that is safe to log (StatusError), never the body's words.
func FuzzClassify(f *testing.F) {
	for _, s := range []struct {
		status     int
		retryAfter string
		body       string
	}{
		{200, "", `{}`},
		{429, "12", `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}`},
		{503, "Sun, 22 Nov 2026 10:01:00 GMT", `<html>unavailable</html>`},
		{400, "", `{"error":{"code":"invalid_address","message":"Victor Hugo, 6 place des Vosges"}}`},
		{400, "", `{"code":"ORDER_INVALID_STATE","message":"order of jane@example.com"}`},
		{404, "", `{"code":404}`},
		{422, "", `{"code":{"a":1}}`},
		{410, "", `{"code":"a\tb"}`},
		{401, "", `{"code":"\u00e9t\u00e9"}`},
		{500, "1e7", `{"error":{"code":null},"code":"x"}`},
	} {
		f.Add(s.status, s.retryAfter, []byte(s.body))
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.com/ws/orders/42", nil)
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retryAfter}}, Request: req}
		e := Classify(resp, body, now, "order", "42")
		if status < 400 {
			if e != nil {
				t.Fatalf("Classify(%d) = %v, want nil", status, e)
			}
			return
		}
		var want syncerr.Code
		switch {
		case status == 429:
			want = syncerr.RateLimited
		case status == 401 || status == 403:
			want = syncerr.AuthExpired
		case status == 404 || status == 410:
			want = syncerr.OrderNotFound
		case status == 408 || status >= 500:
			want = syncerr.MarketplaceUnavailable
		default:
			want = syncerr.InvalidData
		}
		if e == nil || e.Code != want || e.Details["order"] != "42" {
			t.Fatalf("Classify(%d) = %v, want %s with order=42", status, e, want)
		}
		honours := want == syncerr.RateLimited || want == syncerr.MarketplaceUnavailable
		if e.RetryAfter < 0 || e.RetryAfter > MaxRetryAfter || (!honours && e.RetryAfter != 0) {
			t.Fatalf("Classify(%d, Retry-After %q) waits %v", status, retryAfter, e.RetryAfter)
		}
		prefix := fmt.Sprintf("POST /ws/orders/42: http %d", status)
		cause := errors.Unwrap(e)
		if cause == nil {
			t.Fatal("no cause wrapped")
		}
		got := cause.Error()
		rest, ok := strings.CutPrefix(got, prefix)
		if !ok {
			t.Fatalf("cause %q does not start with %q", got, prefix)
		}
		if rest == "" {
			return
		}
		code, ok := strings.CutPrefix(rest, " (")
		code, ok2 := strings.CutSuffix(code, ")")
		if !ok || !ok2 || !loggableCode(code) {
			t.Fatalf("cause %q: %q is not a loggable platform code", got, rest)
		}
	})
}

// loggableCode is what a platform error code must be to go into a log: 1
// to 64 printable ASCII characters, without spaces or '@' (names and
// addresses have them).
func loggableCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '@' {
			return false
		}
	}
	return true
}
