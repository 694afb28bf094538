package woocommerce_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
	"github.com/ordersync/ordersync/shared/webhook/webhooktest"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseWebhook(t *testing.T) {
	// The body of an order.* webhook is the REST v3 order.
	e, err := woocommerce.ParseWebhook("order.updated", "dlv", readTestdata(t, "retrieve_order_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := order.Event{
		Source:        order.WooCommerce,
		SourceEventID: "dlv:727:1490210888",
		Topic:         "order.updated",
		OccurredAt:    time.Date(2017, 3, 22, 19, 28, 8, 0, time.UTC), // date_modified_gmt
		Order:         order.Ref{StoreOrderID: "727", StoreOrderName: "#727"},
		Status:        order.StatusAccepted,
		SourceStatus:  "processing",
		Lines: []order.Line{
			{SKU: "", Quantity: 2, StoreLineID: "315", Title: "Woo Single #1"},
			{SKU: "Bar3", Quantity: 1, StoreLineID: "316", Title: "Ship Your Idea &ndash; Color: Black, Size: M Test"},
		},
		ShippingAddress: &order.Address{Name: "John Doe", Line1: "969 Market", City: "San Francisco",
			PostalCode: "94103", Region: "CA", Country: "US"},
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("ParseWebhook:\n got %+v\nwant %+v", e, want)
	}

	e, err = woocommerce.ParseWebhook("order.updated", "dlv", readTestdata(t, "woocommerce_order_727_imported_derived.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Order meta is a claim, never a link.
	if e.Order.ClaimedMarketplaceOrderID != "MK-000042-A" || e.Order.MarketplaceOrderID != "" || e.Status != order.StatusShipped {
		t.Errorf("imported order: ref %+v, status %q", e.Order, e.Status)
	}
}

func TestParseWebhookCases(t *testing.T) {
	tests := []struct {
		name, topic, body string
		wantCode          webhook.Code
		check             func(t *testing.T, e order.Event)
	}{
		{name: "custom status keeps the event", topic: "order.updated",
			body: `{"id":1,"status":"awaiting-pickup","date_modified_gmt":"2026-01-01T00:00:00"}`,
			check: func(t *testing.T, e order.Event) {
				if e.Status != order.StatusUnknown || e.SourceStatus != "awaiting-pickup" {
					t.Errorf("got %q, %q", e.Status, e.SourceStatus)
				}
			}},
		{name: "numeric meta value", topic: "order.created",
			body: `{"id":1,"status":"processing","date_modified_gmt":"2026-01-01T00:00:00","meta_data":[{"key":"ordersync_marketplace_order_id","value":12345},{"key":"other","value":{"a":[1]}}]}`,
			check: func(t *testing.T, e order.Event) {
				if e.Order.ClaimedMarketplaceOrderID != "12345" {
					t.Errorf("got %q", e.Order.ClaimedMarketplaceOrderID)
				}
			}},
		{name: "an order ordersync imported", topic: "order.updated",
			body: `{"id":1,"status":"processing","date_modified_gmt":"2026-01-01T00:00:00","meta_data":[{"key":"_ordersync_marketplace_order_id","value":"BM-1"}]}`,
			check: func(t *testing.T, e order.Event) {
				if e.Order.ClaimedMarketplaceOrderID != "BM-1" {
					t.Errorf("got %q, want BM-1", e.Order.ClaimedMarketplaceOrderID)
				}
			}},
		{name: "refunds, lines unknown", topic: "order.updated",
			// The docs' refunds shape (id, reason, total), as in _orders.md's order properties.
			body: `{"id":1,"status":"completed","date_modified_gmt":"2026-01-01T00:00:00","refunds":[{"id":726,"reason":"","total":"-10.00"}]}`,
			check: func(t *testing.T, e order.Event) {
				want := []order.Refund{{ID: "refund/726", Kind: order.RefundRefund, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
				if !reflect.DeepEqual(e.Refunds, want) {
					t.Errorf("refunds = %+v, want %+v", e.Refunds, want)
				}
			}},
		{name: "local date when gmt is missing", topic: "order.created",
			body: `{"id":1,"status":"processing","date_modified":"2026-01-01T00:00:00"}`},
		{name: "deleted", topic: "order.deleted", body: `{"id":1}`, wantCode: webhook.CodeTopicUnsupported},
		{name: "product topic", topic: "product.updated", body: `{"id":1}`, wantCode: webhook.CodeTopicUnsupported},
		{name: "no id", topic: "order.updated", body: `{"status":"processing","date_modified_gmt":"2026-01-01T00:00:00"}`, wantCode: webhook.CodeMissingField},
		{name: "no date", topic: "order.updated", body: `{"id":1,"status":"processing"}`, wantCode: webhook.CodeMissingField},
		{name: "not JSON", topic: "order.updated", body: `webhook_id=1`, wantCode: webhook.CodeMalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := woocommerce.ParseWebhook(tt.topic, "dlv", []byte(tt.body))
			if got := webhook.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code = %q (err %v), want %q", got, err, tt.wantCode)
			}
			if err == nil && tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func TestIsWebhookPing(t *testing.T) {
	tests := []struct {
		ct, body string
		want     bool
	}{
		{"application/x-www-form-urlencoded", "webhook_id=12", true},
		{"application/x-www-form-urlencoded; charset=UTF-8", "webhook_id=12", true},
		{"application/json", "webhook_id=12", false},
		{"application/x-www-form-urlencoded", "webhook_id=abc", false},
		{"application/x-www-form-urlencoded", "webhook_id=1&webhook_id=2", false},
		{"application/x-www-form-urlencoded", "webhook_id=1&other=2", false},
		{"application/x-www-form-urlencoded", "", false},
	}
	for _, tt := range tests {
		if got := woocommerce.IsWebhookPing(tt.ct, []byte(tt.body)); got != tt.want {
			t.Errorf("IsWebhookPing(%q, %q) = %v, want %v", tt.ct, tt.body, got, tt.want)
		}
	}
}

func TestVerifyWebhookVector(t *testing.T) {
	var vs struct {
		Vectors []struct {
			Name, Secret, Expect string
			RawBody              string `json:"raw_body"`
			Expected             string `json:"expected_signature"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(readTestdata(t, "woocommerce_webhook_signature_vector.json"), &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vs.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			if got := woocommerce.SignWebhook([]byte(v.RawBody), v.Secret); got != v.Expected {
				t.Fatalf("SignWebhook = %q, want %q", got, v.Expected)
			}
			// The vector's key is empty, which VerifyWebhook refuses to
			// trust (anyone can sign with it): it must not verify.
			if got := webhook.CodeOf(woocommerce.VerifyWebhook([]byte(v.RawBody), v.Expected, []string{v.Secret})); got != webhook.CodeNoSecret {
				t.Errorf("VerifyWebhook with the empty key: code = %q, want %q", got, webhook.CodeNoSecret)
			}
		})
	}
}

func TestVerifyWebhook(t *testing.T) {
	body := readTestdata(t, "retrieve_order_response.json")
	sig := woocommerce.SignWebhook(body, "wc-secret-2")
	tests := []struct {
		name    string
		body    []byte
		sig     string
		secrets []string
		want    webhook.Code
	}{
		{"valid", body, sig, []string{"wc-secret-2"}, ""},
		{"rotation", body, sig, []string{"wc-secret-1", "wc-secret-2"}, ""},
		{"wrong secret", body, sig, []string{"wc-secret-1"}, webhook.CodeSignatureInvalid},
		{"body changed", append([]byte(" "), body...), sig, []string{"wc-secret-2"}, webhook.CodeSignatureInvalid},
		{"missing", body, "", []string{"wc-secret-2"}, webhook.CodeSignatureMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhook.CodeOf(woocommerce.VerifyWebhook(tt.body, tt.sig, tt.secrets)); got != tt.want {
				t.Fatalf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseWebhook(f *testing.F) {
	webhooktest.SeedFiles(f, "*order*.json", func(b []byte) { f.Add("order.updated", b) })
	f.Add("order.created", []byte(`{"id":1,"date_modified_gmt":"2026-01-01T00:00:00","meta_data":[{"key":"ordersync_marketplace_order_id","value":[1]}]}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		e, err := woocommerce.ParseWebhook(topic, "dlv", body)
		webhooktest.CheckParsed(t, e, err, order.WooCommerce)
	})
}

func FuzzIsWebhookPing(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("webhook_id=12"))
	f.Add("application/json", []byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		if woocommerce.IsWebhookPing(ct, body) && !strings.Contains(string(body), "webhook_id") {
			t.Fatalf("a ping without webhook_id: %q", body)
		}
	})
}

func FuzzVerifyWebhook(f *testing.F) {
	webhooktest.FuzzBodyHMAC(f, "*order*.json", woocommerce.VerifyWebhook, woocommerce.SignWebhook)
}
