package webhook_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/webhook"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type shopifyVectors struct {
	Vectors []struct {
		Name    string            `json:"name"`
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		RawBody string            `json:"raw_body"`
		Expect  string            `json:"expect"`
		Library struct {
			Reason string `json:"reason"`
		} `json:"library_result"`
	} `json:"vectors"`
}

// TestVerifyShopifyVectors runs Shopify's own library vectors. The
// missing_headers vectors are about headers the library requires besides
// the HMAC; the HMAC itself is valid in them, and the ingest handler's tests
// check what it does without each header.
func TestVerifyShopifyVectors(t *testing.T) {
	var vs shopifyVectors
	if err := json.Unmarshal(readTestdata(t, "shopify_webhook_hmac_vectors.json"), &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vs.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			err := webhook.VerifyShopify([]byte(v.RawBody), v.Headers["X-Shopify-Hmac-Sha256"], []string{v.Secret})
			want := v.Expect == "valid" || v.Library.Reason == "missing_headers"
			if got := err == nil; got != want {
				t.Fatalf("VerifyShopify: err = %v, want valid = %v", err, want)
			}
			switch v.Library.Reason {
			case "missing_hmac":
				if got := webhook.CodeOf(err); got != webhook.CodeSignatureMissing {
					t.Errorf("code = %q, want %q", got, webhook.CodeSignatureMissing)
				}
			case "invalid_hmac", "missing_body":
				if got := webhook.CodeOf(err); got != webhook.CodeSignatureInvalid {
					t.Errorf("code = %q, want %q", got, webhook.CodeSignatureInvalid)
				}
			}
			if v.Expect == "valid" {
				if got := webhook.SignShopify([]byte(v.RawBody), v.Secret); got != v.Headers["X-Shopify-Hmac-Sha256"] {
					t.Errorf("SignShopify = %q, want %q", got, v.Headers["X-Shopify-Hmac-Sha256"])
				}
			}
		})
	}
}

func TestVerifyShopifyRotation(t *testing.T) {
	body := []byte(`{"foo": "bar"}`)
	const sig = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=" // test_secret_key, from the vectors
	tests := []struct {
		name    string
		secrets []string
		want    webhook.Code
	}{
		{"new secret first, old one signs", []string{"new_secret", "test_secret_key"}, ""},
		{"old secret first", []string{"test_secret_key", "new_secret"}, ""},
		{"neither", []string{"new_secret", "other"}, webhook.CodeSignatureInvalid},
		{"none", nil, webhook.CodeNoSecret},
		{"empty secrets are skipped", []string{"", ""}, webhook.CodeNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhook.CodeOf(webhook.VerifyShopify(body, sig, tt.secrets)); got != tt.want {
				t.Fatalf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerifyShopifyMalformedSignatures(t *testing.T) {
	body := []byte(`{"foo": "bar"}`)
	good := "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
	for _, sig := range []string{
		"fake", good[:43], good + "=", good + "AAAA", strings.Repeat("A", 4096),
		strings.ToLower(good), "  ", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g", "!!!!" + good[4:],
	} {
		if err := webhook.VerifyShopify(body, sig, []string{"test_secret_key"}); err == nil {
			t.Errorf("VerifyShopify(%q) = nil, want an error", sig)
		}
	}
	// Surrounding whitespace is not part of a header value.
	if err := webhook.VerifyShopify(body, " "+good+" ", []string{"test_secret_key"}); err != nil {
		t.Errorf("VerifyShopify(padded) = %v, want nil", err)
	}
}

type standardVector struct {
	Name             string            `json:"name"`
	Secret           string            `json:"secret"`
	Headers          map[string]string `json:"headers"`
	Payload          string            `json:"payload"`
	VerifyAt         int64             `json:"verify_at_unix"`
	ToleranceSeconds int64             `json:"tolerance_seconds"`
	Expect           string            `json:"expect"`
	Reason           string            `json:"reason"`
}

func loadStandardVectors(t testing.TB) []standardVector {
	t.Helper()
	var vs struct {
		Vectors []standardVector `json:"vectors"`
	}
	if err := json.Unmarshal(readTestdata(t, "standard_webhooks_vectors.json"), &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return vs.Vectors
}

func TestVerifyStandardVectors(t *testing.T) {
	valid, invalid := 0, 0
	for _, v := range loadStandardVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			h := webhook.StandardHeaders{
				ID:        v.Headers["webhook-id"],
				Timestamp: v.Headers["webhook-timestamp"],
				Signature: v.Headers["webhook-signature"],
			}
			err := webhook.VerifyStandard([]byte(v.Payload), h, []string{v.Secret},
				time.Unix(v.VerifyAt, 0), time.Duration(v.ToleranceSeconds)*time.Second)
			if got, want := err == nil, v.Expect == "valid"; got != want {
				t.Fatalf("VerifyStandard: err = %v, want valid = %v (%s)", err, want, v.Reason)
			}
			if err != nil && !webhook.IsSignatureError(err) {
				t.Errorf("err = %v, want a signature error", err)
			}
		})
		if v.Expect == "valid" {
			valid++
		} else {
			invalid++
		}
	}
	if valid != 4 || invalid != 10 {
		t.Errorf("ran %d valid and %d must-fail vectors, want 4 and 10", valid, invalid)
	}
}

func TestVerifyStandardCodes(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	const id, ts = "msg_p5jXN8AQM9LWM0D4loKWxJek", int64(1614265330)
	sig := webhook.SignStandard(id, ts, body, secret)
	if sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("SignStandard = %q, want the published signature", sig)
	}
	at := time.Unix(ts, 0)
	h := webhook.StandardHeaders{ID: id, Timestamp: "1614265330", Signature: sig}
	tests := []struct {
		name    string
		h       webhook.StandardHeaders
		secrets []string
		now     time.Time
		want    webhook.Code
	}{
		{"valid", h, []string{secret}, at, ""},
		{"exactly 5 minutes old", h, []string{secret}, at.Add(5 * time.Minute), ""},
		{"5 minutes and 1 s old", h, []string{secret}, at.Add(5*time.Minute + time.Second), webhook.CodeTimestampStale},
		{"5 minutes and 1 s ahead", h, []string{secret}, at.Add(-5*time.Minute - time.Second), webhook.CodeTimestampStale},
		{"rotation: second secret signs", h, []string{"whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", secret}, at, ""},
		{"secret not base64 is skipped", h, []string{"whsec_!!!", secret}, at, ""},
		{"only unusable secrets", h, []string{"whsec_!!!", ""}, at, webhook.CodeNoSecret},
		{"missing id", webhook.StandardHeaders{Timestamp: h.Timestamp, Signature: sig}, []string{secret}, at, webhook.CodeSignatureMissing},
		{"missing timestamp", webhook.StandardHeaders{ID: id, Signature: sig}, []string{secret}, at, webhook.CodeSignatureMissing},
		{"missing signature", webhook.StandardHeaders{ID: id, Timestamp: h.Timestamp}, []string{secret}, at, webhook.CodeSignatureMissing},
		{"huge timestamp", webhook.StandardHeaders{ID: id, Timestamp: "9223372036854775807", Signature: sig}, []string{secret}, at, webhook.CodeTimestampStale},
		{"timestamp in ms", webhook.StandardHeaders{ID: id, Timestamp: "1614265330000", Signature: sig}, []string{secret}, at, webhook.CodeTimestampStale},
		{"other id", webhook.StandardHeaders{ID: id + "x", Timestamp: h.Timestamp, Signature: sig}, []string{secret}, at, webhook.CodeSignatureInvalid},
		{"v1a only", webhook.StandardHeaders{ID: id, Timestamp: h.Timestamp, Signature: "v1a," + sig[3:]}, []string{secret}, at, webhook.CodeSignatureInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhook.CodeOf(webhook.VerifyStandard(body, tt.h, tt.secrets, tt.now, 0)); got != tt.want {
				t.Fatalf("code = %q, want %q", got, tt.want)
			}
		})
	}
}
