package webhook_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
)

// seedFiles adds every testdata file matching pattern to f's corpus through add.
func seedFiles(f *testing.F, pattern string, add func(body []byte)) {
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

// checkParsed is what every parser promises about its result.
func checkParsed(t *testing.T, e order.Event, err error, source order.Platform) {
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

func FuzzParseShopify(f *testing.F) {
	topics := []string{"orders/create", "orders/updated", "orders/cancelled", "orders/fulfilled", "fulfillments/create", "fulfillments/update"}
	i := 0
	seedFiles(f, "shopify_order_*.json", func(b []byte) { f.Add(topics[i%4], b); i++ })
	seedFiles(f, "shopify_fulfillment_*.json", func(b []byte) { f.Add(topics[4+i%2], b); i++ })
	f.Add("orders/create", []byte(`{"id":1,"line_items":[{"sku":null,"quantity":"2"}],"shipping_address":null}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		e, err := webhook.ParseShopify(topic, "evt", body)
		checkParsed(t, e, err, order.Shopify)
	})
}

func FuzzParseStandard(f *testing.F) {
	seedFiles(f, "standard_order_*.json", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := webhook.ParseStandard("msg", body)
		checkParsed(t, e, err, order.Standard)
	})
}

// fuzzBodyHMAC is the shared property of the Shopify and WooCommerce
// verifiers: a signature made with the secret verifies, and any signature
// that verifies is the one the secret makes.
func fuzzBodyHMAC(f *testing.F, verify func([]byte, string, []string) error, sign func([]byte, string) string) {
	seedFiles(f, "*_order_*.json", func(b []byte) { f.Add(b, "secret", "") })
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

func FuzzVerifyShopify(f *testing.F) { fuzzBodyHMAC(f, webhook.VerifyShopify, webhook.SignShopify) }

func FuzzVerifyStandard(f *testing.F) {
	for _, v := range loadStandardVectors(f) {
		f.Add(v.Headers["webhook-id"], v.Headers["webhook-timestamp"], v.Headers["webhook-signature"], []byte(v.Payload), v.Secret, v.VerifyAt)
	}
	seedFiles(f, "standard_order_*.json", func(b []byte) {
		f.Add("msg_1", "1561479335", "", b, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", int64(1561479335))
	})
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, secret string, at int64) {
		now := time.Unix(at, 0)
		err := webhook.VerifyStandard(body, webhook.StandardHeaders{ID: id, Timestamp: ts, Signature: sig}, []string{secret}, now, 0)
		if err != nil && !webhook.IsSignatureError(err) {
			t.Fatalf("error %v is not a signature error", err)
		}
		if err == nil {
			n, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil {
				t.Fatalf("verified with a timestamp that is not an integer: %q", ts)
			}
			if own := webhook.SignStandard(id, n, body, secret); own == "" || !strings.Contains(sig, own) {
				t.Fatalf("verified %q, which does not hold %q", sig, own)
			}
		}
		if id != "" && webhook.SignStandard(id, at, body, secret) != "" {
			own := webhook.SignStandard(id, at, body, secret)
			h := webhook.StandardHeaders{ID: id, Timestamp: strconv.FormatInt(at, 10), Signature: "v1,bad " + own}
			if err := webhook.VerifyStandard(body, h, []string{secret}, now, 0); err != nil {
				t.Fatalf("own signature refused: %v", err)
			}
		}
	})
}
