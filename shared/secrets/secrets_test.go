package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/secrets"
)

// fakeSSM answers GetParameter in SSM's JSON 1.1 protocol, as the real
// service does: the value of a SecureString only with WithDecryption, and
// a ParameterNotFound error for a name it lacks.
type fakeSSM struct {
	mu     sync.Mutex
	params map[string]string
	calls  int
	down   bool
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if f.down {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"InternalServerError","message":"Internal failure"}`))
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
	_ = json.NewDecoder(r.Body).Decode(&in)
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

func (f *fakeSSM) set(name, v string) { f.mu.Lock(); f.params[name] = v; f.mu.Unlock() }
func (f *fakeSSM) count() int         { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

func newParameters(t *testing.T, f *fakeSSM) *secrets.Parameters {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	api := ssm.NewFromConfig(aws.Config{Region: "eu-west-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *ssm.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return secrets.NewParameters(api, "/ordersync/")
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
