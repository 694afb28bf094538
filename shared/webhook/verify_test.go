package webhook_test

import (
	"encoding/json"
	"os"
	"path/filepath"
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
