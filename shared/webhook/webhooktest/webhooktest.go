// Package webhooktest holds what the tests of every webhook parser and
// verifier check: the properties each one promises whatever it is given,
// and the golden payloads of a package's testdata as fuzz seeds. The
// platform-free parsers in webhook and the vendors' (shopify.ParseWebhook,
// …) use it alike.
package webhooktest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
)

// SeedFiles calls add with every file of the calling package's testdata
// matching pattern, and fails f when there is none.
func SeedFiles(f *testing.F, pattern string, add func(body []byte)) {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no seeds for %s (%v)", pattern, err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// CheckParsed fails t unless a parser's result is what every parser
// promises: a payload error or topic_unsupported, or an event from source
// that names an order and marshals.
func CheckParsed(t *testing.T, e order.Event, err error, source order.Platform) {
	t.Helper()
	if err != nil {
		if !webhook.IsPayloadError(err) && webhook.CodeOf(err) != webhook.CodeTopicUnsupported {
			t.Fatalf("error %v is neither a payload error nor topic_unsupported", err)
		}
		return
	}
	if e.Source != source {
		t.Fatalf("Source = %q, want %q", e.Source, source)
	}
	if e.Order.StoreOrderID == "" && e.Order.MarketplaceOrderID == "" {
		t.Fatalf("an event without an order reference: %+v", e)
	}
	if _, err := json.Marshal(e); err != nil {
		t.Fatalf("the event does not marshal: %v", err)
	}
}

// FuzzBodyHMAC fuzzes a verifier of the body-HMAC scheme (see
// webhook.VerifyBodyHMAC) and its signer, seeded with the testdata files
// matching seeds: a signature made with the secret verifies, and any
// signature that verifies is the one the secret makes.
func FuzzBodyHMAC(f *testing.F, seeds string, verify func([]byte, string, []string) error, sign func([]byte, string) string) {
	SeedFiles(f, seeds, func(b []byte) { f.Add(b, "secret", "") })
	f.Add([]byte(`{"foo": "bar"}`), "test_secret_key", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")
	f.Add([]byte("secret"), "", "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=")
	f.Fuzz(func(t *testing.T, body []byte, secret, sig string) {
		err := verify(body, sig, []string{secret})
		if err == nil && (secret == "" || strings.TrimSpace(sig) != sign(body, secret)) {
			t.Fatalf("verified a signature the secret does not make: %q", sig)
		}
		if err != nil && !webhook.IsSignatureError(err) {
			t.Fatalf("error %v is not a signature error", err)
		}
		if secret != "" {
			if err := verify(body, sign(body, secret), []string{"other" + secret, secret}); err != nil {
				t.Fatalf("own signature refused: %v", err)
			}
		}
	})
}
