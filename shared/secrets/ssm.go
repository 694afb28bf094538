package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// SSM calls the two SSM Parameter Store operations ordersync uses,
// GetParameter and PutParameter, in SSM's JSON 1.1 protocol, signed with
// the SDK's own SigV4 signer and retried by the SDK's retryer, with the
// credentials, region and HTTP client of an aws.Config. It stands in for
// the SDK's SSM client, whose package init (its serializer schemas: 1.4
// MB allocated before main) and size were most of a function's cold
// start beyond the hello-world's (issue 14; make bench's binaries
// section). It is safe for concurrent use.
type SSM struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     aws.HTTPClient
	retryer  aws.Retryer
	signer   *v4.Signer
	now      func() time.Time
}

var (
	_ SSMAPI    = (*SSM)(nil)
	_ WriterAPI = (*SSM)(nil)
)

// NewSSM returns a client with cfg's region, credentials, HTTP client
// and retryer (the SDK's standard one, cfg.RetryMaxAttempts applied, when
// cfg has none), at cfg.BaseEndpoint when it is set and else at the
// region's public endpoint (no FIPS or dual-stack endpoints: ordersync
// uses neither).
func NewSSM(cfg aws.Config) *SSM {
	endpoint := cfg.BaseEndpoint
	if endpoint == nil || *endpoint == "" {
		domain := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			domain = "amazonaws.com.cn"
		}
		endpoint = aws.String("https://ssm." + cfg.Region + "." + domain)
	}
	var r aws.Retryer
	if cfg.Retryer != nil {
		r = cfg.Retryer()
	} else {
		r = retry.NewStandard()
	}
	if cfg.RetryMaxAttempts > 0 {
		r = retry.AddWithMaxAttempts(r, cfg.RetryMaxAttempts)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = awshttp.NewBuildableClient()
	}
	return &SSM{endpoint: strings.TrimSuffix(*endpoint, "/"), region: cfg.Region, creds: cfg.Credentials,
		http: hc, retryer: r, signer: v4.NewSigner(), now: time.Now}
}

// GetParameter returns the value of the parameter called name, decrypted
// when decrypt is set. It fails with an *SSMError (ErrorCode
// "ParameterNotFound" for a name SSM lacks). It is idempotent.
func (c *SSM) GetParameter(ctx context.Context, name string, decrypt bool) (string, error) {
	in := struct {
		Name           string
		WithDecryption bool
	}{name, decrypt}
	var out struct {
		Parameter *struct{ Value *string }
	}
	if err := c.call(ctx, "GetParameter", in, &out); err != nil {
		return "", err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", fmt.Errorf("ssm: GetParameter %q: answered without a parameter", name)
	}
	return *out.Parameter.Value, nil
}

// PutParameter stores value as the SecureString called name, replacing
// the value it had (Overwrite). It fails with an *SSMError, which never
// holds the value. It is idempotent.
func (c *SSM) PutParameter(ctx context.Context, name, value string) error {
	in := struct {
		Name, Value, Type string
		Overwrite         bool
	}{name, value, "SecureString", true}
	var out struct{ Version int64 }
	return c.call(ctx, "PutParameter", in, &out)
}

// SSMError is an error SSM answered with.
type SSMError struct {
	// Op is the operation: GetParameter, PutParameter.
	Op string
	// Code is SSM's error type: ParameterNotFound, ThrottlingException…
	Code string
	// Message is SSM's message (it names parameters, never values).
	Message string
	// Status is the HTTP status code.
	Status int
}

func (e *SSMError) Error() string {
	return fmt.Sprintf("ssm: %s: %s (HTTP %d): %s", e.Op, e.Code, e.Status, e.Message)
}

// ErrorCode returns Code, as the SDK's API errors do (aws/retry reads it).
func (e *SSMError) ErrorCode() string { return e.Code }

// HTTPStatusCode returns Status (aws/retry reads it).
func (e *SSMError) HTTPStatusCode() int { return e.Status }

// RetryableError reports whether the call may succeed if made again: SSM
// throttled it (the SDK's throttle codes) or failed on its side (5xx).
// Everything else (ParameterNotFound, AccessDenied, validation) is final.
func (e *SSMError) RetryableError() bool {
	if _, ok := retry.DefaultThrottleErrorCodes[e.Code]; ok {
		return true
	}
	if _, ok := retry.DefaultRetryableErrorCodes[e.Code]; ok {
		return true
	}
	return e.Status >= 500
}

// call makes the operation op with in as its JSON body and decodes the
// answer into out, retried as c.retryer says.
func (c *SSM) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("ssm: %s: %w", op, err)
	}
	release := func(error) error { return nil }
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, op, body, out)
		_ = release(err) // a retry that succeeded gives its quota back
		if err == nil || ctx.Err() != nil || attempt >= c.retryer.MaxAttempts() || !c.retryer.IsErrorRetryable(err) {
			return err
		}
		var terr error
		if release, terr = c.retryer.GetRetryToken(ctx, err); terr != nil {
			return err // the retry quota is spent: SSM is failing for everyone
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (c *SSM) once(ctx context.Context, op string, body []byte, out any) error {
	if c.creds == nil {
		return fmt.Errorf("ssm: %s: no credentials in the AWS config", op)
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("ssm: %s: credentials: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ssm: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM."+op)
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", c.region, c.now().UTC()); err != nil {
		return fmt.Errorf("ssm: %s: sign: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ssm: %s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("ssm: %s: read the answer: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(op, resp, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("ssm: %s: decode the answer: %w", op, err)
	}
	return nil
}

// decodeError reads an error answer of the JSON protocol: its type from
// the X-Amzn-ErrorType header or the body's __type (or code), either
// possibly "namespace#Type" or "Type:URL"; its message from message or
// Message.
func decodeError(op string, resp *http.Response, b []byte) error {
	var doc struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(b, &doc) // a body that is no JSON leaves only the status
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = doc.Type
	}
	if code == "" {
		code = doc.Code
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	msg := doc.Message
	if msg == "" {
		msg = doc.MessageU
	}
	return &SSMError{Op: op, Code: code, Message: msg, Status: resp.StatusCode}
}

// isNotFound reports whether err is SSM's ParameterNotFound.
func isNotFound(err error) bool {
	var e *SSMError
	return errors.As(err, &e) && e.Code == "ParameterNotFound"
}
