package secrets_test

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
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/secrets"
)

// fakeSSM answers GetParameter and PutParameter in SSM's JSON 1.1
// protocol, as the real service does: a request whose SigV4 signature is
// not that of the credentials test/test for eu-west-1's ssm is refused
// (InvalidSignatureException), the value of a SecureString is given only
// with WithDecryption, and a name it lacks is a ParameterNotFound error.
// failures are answered, one per call, before anything else.
type fakeSSM struct {
	mu       sync.Mutex
	params   map[string]string
	calls    int
	down     bool
	failures []fakeFailure
	// PutParameter's record.
	types   map[string]string
	version int
}

type fakeFailure struct {
	status int
	body   string
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	body, _ := io.ReadAll(r.Body)
	if err := checkSignature(r, body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"__type":"InvalidSignatureException","message":%q}`, err.Error())
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"__type":"SerializationException","message":"%s %s as %s"}`, r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(f.failures) > 0 {
		fail := f.failures[0]
		f.failures = f.failures[1:]
		w.WriteHeader(fail.status)
		_, _ = w.Write([]byte(fail.body))
		return
	}
	if f.down {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"InternalServerError","message":"Internal failure"}`))
		return
	}
	if r.Header.Get("X-Amz-Target") == "AmazonSSM.PutParameter" {
		f.put(w, r)
		return
	}
	if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"UnknownOperationException"}`))
		return
	}
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := strictDecode(r.Body, &in); err != nil || in.Name == "" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"__type":"ValidationException","message":"body: %v"}`, err)
		return
	}
	v, ok := f.params[in.Name]
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ParameterNotFound","message":""}`))
		return
	}
	if !in.WithDecryption {
		v = "AQICAHh-encrypted-blob"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
		"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1}})
}

// put answers PutParameter as SSM does: a name that exists is replaced
// only with Overwrite (ParameterAlreadyExists otherwise), and the answer
// carries the new version, never the value. f.types records each
// parameter's type.
func (f *fakeSSM) put(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name, Value, Type string
		Overwrite         bool
	}
	if err := strictDecode(r.Body, &in); err != nil || in.Name == "" || in.Type == "" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"__type":"ValidationException","message":"body: %v"}`, err)
		return
	}
	if _, ok := f.params[in.Name]; ok && !in.Overwrite {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ParameterAlreadyExists","message":"The parameter already exists."}`))
		return
	}
	f.params[in.Name] = in.Value
	if f.types == nil {
		f.types = map[string]string{}
	}
	f.types[in.Name] = in.Type
	f.version++
	_ = json.NewEncoder(w).Encode(map[string]any{"Version": f.version, "Tier": "Standard"})
}

func (f *fakeSSM) set(name, v string) { f.mu.Lock(); f.params[name] = v; f.mu.Unlock() }
func (f *fakeSSM) count() int         { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// strictDecode decodes the JSON of r into v, refusing fields v lacks, as
// SSM refuses them.
func strictDecode(r io.Reader, v any) error {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// checkSignature recomputes r's SigV4 signature with the test
// credentials, over the headers r says it signed and the body received,
// and compares it with r's.
func checkSignature(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	date := r.Header.Get("X-Amz-Date")
	const scheme = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, scheme) || date == "" {
		return fmt.Errorf("no SigV4 Authorization and X-Amz-Date")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, scheme), ", ") {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	at, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %v", date, err)
	}
	if want := "test/" + at.Format("20060102") + "/eu-west-1/ssm/aws4_request"; fields["Credential"] != want {
		return fmt.Errorf("credential scope %q, want %q", fields["Credential"], want)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, h := range []string{"content-type", "host", "x-amz-date", "x-amz-target"} {
		if !slices.Contains(signed, h) {
			return fmt.Errorf("signed headers %v lack %s", signed, h)
		}
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "ssm", "eu-west-1", at); err != nil {
		return err
	}
	if got := again.Header.Get("Authorization"); got != auth {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

// testConfig is an AWS config for an SSM at url, with no retries.
func testConfig(url, secretKey string) aws.Config {
	return aws.Config{Region: "eu-west-1", RetryMaxAttempts: 1, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", secretKey, "")}
}

func newParameters(t *testing.T, f *fakeSSM) *secrets.Parameters {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return secrets.NewParameters(secrets.NewSSM(testConfig(srv.URL, "test")), "/ordersync/")
}

func TestParametersReadDecryptedAndCache(t *testing.T) {
	f := &fakeSSM{params: map[string]string{"/ordersync/bm/acme": "s3cr3t"}}
	p := newParameters(t, f)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	ctx := context.Background()
	for range 3 {
		if v, err := p.Secret(ctx, "bm/acme"); err != nil || v != "s3cr3t" {
			t.Fatalf("Secret = %q, %v; want the decrypted value", v, err)
		}
	}
	if f.count() != 1 {
		t.Errorf("SSM calls = %d, want 1: the value is cached", f.count())
	}
	// The merchant reconnects with a new token: read again after the TTL.
	f.set("/ordersync/bm/acme", "n3w")
	now = now.Add(4 * time.Minute)
	if v, _ := p.Secret(ctx, "bm/acme"); v != "s3cr3t" {
		t.Errorf("within the TTL: %q, want the cached value", v)
	}
	now = now.Add(2 * time.Minute)
	if v, _ := p.Secret(ctx, "bm/acme"); v != "n3w" {
		t.Errorf("after the TTL: %q, want the new value", v)
	}
}

func TestParametersErrors(t *testing.T) {
	f := &fakeSSM{params: map[string]string{}}
	p := newParameters(t, f)
	_, err := p.Secret(context.Background(), "gone")
	if !errors.Is(err, order.ErrNotFound) {
		t.Errorf("missing parameter: %v, want order.ErrNotFound", err)
	}
	f.down = true
	_, err = p.Secret(context.Background(), "gone")
	if err == nil || errors.Is(err, order.ErrNotFound) {
		t.Errorf("SSM down: %v, want an error that is not ErrNotFound (the credential may still be fine)", err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "secrets.json")
	if err := os.WriteFile(good, []byte(`{"bm/acme":"s3cr3t"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := secrets.LoadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Secret(context.Background(), "bm/acme"); err != nil || v != "s3cr3t" {
		t.Errorf("Secret = %q, %v", v, err)
	}
	if _, err := s.Secret(context.Background(), "other"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("unknown name: %v, want order.ErrNotFound", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"bm/acme":"s3cr3t",}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.LoadFile(bad); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("malformed file: %v, want an error naming no secret", err)
	}
	if _, err := secrets.LoadFile(filepath.Join(dir, "none.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestParametersPutParameter(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		existing bool
	}{
		{"new parameter", false},
		{"overwrites the expired credential", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSSM{params: map[string]string{}}
			if tc.existing {
				f.params["/ordersync/connections/acme/marketplace"] = "expired"
			}
			p := newParameters(t, f)
			p.Now = func() time.Time { return now }
			if tc.existing {
				if _, err := p.Secret(ctx, "connections/acme/marketplace"); err != nil {
					t.Fatal(err) // cached now
				}
			}
			if err := p.PutParameter(ctx, "connections/acme/marketplace", "n3w-token"); err != nil {
				t.Fatalf("PutParameter: %v", err)
			}
			f.mu.Lock()
			got, typ := f.params["/ordersync/connections/acme/marketplace"], f.types["/ordersync/connections/acme/marketplace"]
			f.mu.Unlock()
			if got != "n3w-token" || typ != "SecureString" {
				t.Errorf("SSM holds %q as %q, want %q as SecureString", got, typ, "n3w-token")
			}
			calls := f.count()
			if v, err := p.Secret(ctx, "connections/acme/marketplace"); err != nil || v != "n3w-token" {
				t.Errorf("Secret after PutParameter = %q, %v; want the new value within the TTL", v, err)
			}
			if f.count() != calls {
				t.Errorf("Secret after PutParameter asked SSM: the written value is cached")
			}
		})
	}
	t.Run("SSM down", func(t *testing.T) {
		f := &fakeSSM{params: map[string]string{}, down: true}
		p := newParameters(t, f)
		err := p.PutParameter(ctx, "connections/acme/store", "s3cr3t-value")
		if err == nil || strings.Contains(err.Error(), "s3cr3t-value") {
			t.Errorf("PutParameter = %v, want an error naming no value", err)
		}
	})
}

func TestFilePutParameter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "secrets.json")
	f := secrets.NewFile(path)
	if _, err := f.Secret(ctx, "a"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("no file yet: %v, want order.ErrNotFound", err)
	}
	if err := f.PutParameter(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.PutParameter(ctx, "b", "2"); err != nil {
		t.Fatal(err)
	}
	if err := f.PutParameter(ctx, "a", "3"); err != nil {
		t.Fatal(err)
	}
	// Another function of the local system, with its own File.
	other := secrets.NewFile(path)
	for name, want := range map[string]string{"a": "3", "b": "2"} {
		if got, err := other.Secret(ctx, name); err != nil || got != want {
			t.Errorf("Secret(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
}
