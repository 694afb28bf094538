package secrets_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/secrets"
)

// retrying is cfg with the SDK's standard retryer, 3 attempts and no
// backoff (the delays are the retryer's business, not this test's).
func retrying(cfg aws.Config) aws.Config {
	cfg.RetryMaxAttempts = 0
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	}
	return cfg
}

func TestSSMAnswersAndErrors(t *testing.T) {
	const name = "/ordersync/bm/acme"
	for _, tc := range []struct {
		name      string
		secretKey string
		failures  []fakeFailure
		down      bool
		stored    bool
		wantValue string
		wantCode  string // the SSMError's, "" for none
		notFound  bool   // errors.Is order.ErrNotFound through Parameters (which keeps no SSMError then)
		wantCalls int
	}{
		{name: "answered", stored: true, wantValue: "s3cr3t", wantCalls: 1},
		{name: "parameter not found is final", notFound: true, wantCalls: 1},
		{name: "namespaced error type", stored: true, notFound: true, wantCalls: 1,
			failures: []fakeFailure{{400, `{"__type":"com.amazonaws.ssm#ParameterNotFound","message":""}`}}},
		{name: "throttled, then answered", stored: true, wantValue: "s3cr3t", wantCalls: 3,
			failures: []fakeFailure{{400, `{"__type":"ThrottlingException","message":"Rate exceeded"}`}, {400, `{"__type":"ThrottlingException","message":"Rate exceeded"}`}}},
		{name: "failing service retried until the attempts run out", stored: true, down: true, wantCode: "InternalServerError", wantCalls: 3},
		{name: "access denied is final", stored: true, wantCode: "AccessDeniedException", wantCalls: 1,
			failures: []fakeFailure{{400, `{"__type":"AccessDeniedException","Message":"not authorized to perform ssm:GetParameter"}`}}},
		{name: "a wrong signature is refused", secretKey: "wrong", stored: true, wantCode: "InvalidSignatureException", wantCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSSM{params: map[string]string{}, failures: tc.failures, down: tc.down}
			if tc.stored {
				f.params[name] = "s3cr3t"
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			key := tc.secretKey
			if key == "" {
				key = "test"
			}
			p := secrets.NewParameters(secrets.NewSSM(retrying(testConfig(srv.URL, key))), "/ordersync/")
			got, err := p.Secret(context.Background(), "bm/acme")
			if got != tc.wantValue {
				t.Errorf("Secret = %q, want %q", got, tc.wantValue)
			}
			var se *secrets.SSMError
			switch {
			case tc.wantCode == "" && !tc.notFound && err != nil:
				t.Errorf("Secret: %v, want no error", err)
			case tc.wantCode != "" && !errors.As(err, &se):
				t.Errorf("Secret: %v, want an SSMError %s", err, tc.wantCode)
			case tc.wantCode != "" && se.Code != tc.wantCode:
				t.Errorf("SSMError code %q, want %q (%v)", se.Code, tc.wantCode, err)
			}
			if errors.Is(err, order.ErrNotFound) != tc.notFound {
				t.Errorf("errors.Is(%v, order.ErrNotFound) = %v, want %v", err, !tc.notFound, tc.notFound)
			}
			if f.count() != tc.wantCalls {
				t.Errorf("SSM calls = %d, want %d", f.count(), tc.wantCalls)
			}
		})
	}
}

func TestSSMErrorRetryable(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
		want   bool
	}{
		{"ThrottlingException", 400, true},
		{"TooManyRequestsException", 429, true},
		{"InternalServerError", 500, true},
		{"ServiceUnavailable", 503, true},
		{"ParameterNotFound", 400, false},
		{"AccessDeniedException", 400, false},
		{"ValidationException", 400, false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			e := &secrets.SSMError{Op: "GetParameter", Code: tc.code, Status: tc.status}
			if got := e.RetryableError(); got != tc.want {
				t.Errorf("RetryableError() = %v, want %v", got, tc.want)
			}
			if got := retry.NewStandard().IsErrorRetryable(e); got != tc.want {
				t.Errorf("the SDK's standard retryer says retryable = %v, want %v", got, tc.want)
			}
		})
	}
}

// hostRecorder is an HTTP client that records the host it was asked for
// and fails.
type hostRecorder struct{ host string }

func (h *hostRecorder) Do(r *http.Request) (*http.Response, error) {
	h.host = r.URL.Host
	return nil, errors.New("no network in this test")
}

func TestSSMEndpoint(t *testing.T) {
	for _, tc := range []struct{ region, base, want string }{
		{"eu-west-1", "", "ssm.eu-west-1.amazonaws.com"},
		{"cn-north-1", "", "ssm.cn-north-1.amazonaws.com.cn"},
		{"eu-west-1", "http://127.0.0.1:4566/", "127.0.0.1:4566"},
	} {
		t.Run(tc.region+tc.base, func(t *testing.T) {
			rec := &hostRecorder{}
			cfg := testConfig(tc.base, "test")
			cfg.Region, cfg.HTTPClient = tc.region, rec
			if tc.base == "" {
				cfg.BaseEndpoint = nil
			}
			_, err := secrets.NewSSM(cfg).GetParameter(context.Background(), "/x", true)
			if err == nil || !strings.Contains(err.Error(), "no network") {
				t.Errorf("GetParameter: %v, want the HTTP client's error", err)
			}
			if rec.host != tc.want {
				t.Errorf("host %q, want %q", rec.host, tc.want)
			}
		})
	}
}
