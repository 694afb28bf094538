package bigcommerce_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
	"github.com/ordersync/ordersync/shared/webhook/webhooktest"
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
	at := time.Unix(1561479335, 0).UTC()
	tests := []struct {
		file string
		want order.Event
	}{
		{"bigcommerce_webhook_store_order_statusUpdated.json", order.Event{
			Source: order.BigCommerce, Fetch: true, SourceEventID: "7ee67cd1cf2ca60bc1aa9e5fe957d2de373be4ca",
			Topic: "store/order/statusUpdated", OccurredAt: at,
			Order:  order.Ref{StoreOrderID: "250", StoreOrderName: "#250"},
			Status: order.StatusAccepted, SourceStatus: "11", // Awaiting Fulfillment
		}},
		{"bigcommerce_webhook_store_order_created.json", order.Event{
			Source: order.BigCommerce, Fetch: true, SourceEventID: "dd70c0976e06b67aaf671e73f49dcb79230ebf9d",
			Topic: "store/order/created", OccurredAt: at,
			Order: order.Ref{StoreOrderID: "250", StoreOrderName: "#250"},
		}},
		{"bigcommerce_webhook_store_order_updated.json", order.Event{
			Source: order.BigCommerce, Fetch: true, SourceEventID: "dd70c0976e06b67aaf671e73f49dcb79230ebf9d",
			Topic: "store/order/updated", OccurredAt: at,
			Order: order.Ref{StoreOrderID: "250", StoreOrderName: "#250"},
		}},
		{"bigcommerce_webhook_store_shipment_created.json", order.Event{
			Source: order.BigCommerce, Fetch: true, SourceEventID: "8b98021cb0faa7e3a58a0e4182d3696a4bdd24ab",
			Topic: "store/shipment/created", OccurredAt: time.Unix(1561482857, 0).UTC(),
			Order: order.Ref{StoreOrderID: "251", StoreOrderName: "#251"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e, err := bigcommerce.ParseWebhook(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e, tt.want) {
				t.Fatalf("ParseWebhook:\n got %+v\nwant %+v", e, tt.want)
			}
		})
	}
}

func TestParseWebhookCases(t *testing.T) {
	tests := []struct {
		name, body string
		wantCode   webhook.Code
	}{
		{"unknown status id keeps the event", `{"scope":"store/order/statusUpdated","data":{"type":"order","id":1,"status":{"new_status_id":99}},"hash":"h"}`, ""},
		{"archived", `{"scope":"store/order/archived","data":{"type":"order","id":1},"hash":"h"}`, webhook.CodeTopicUnsupported},
		{"product", `{"scope":"store/product/updated","data":{"type":"product","id":1},"hash":"h"}`, webhook.CodeTopicUnsupported},
		{"no scope", `{"data":{"type":"order","id":1},"hash":"h"}`, webhook.CodeMissingField},
		{"no hash", `{"scope":"store/order/created","data":{"type":"order","id":1}}`, webhook.CodeMissingField},
		{"no order id", `{"scope":"store/order/created","data":{"type":"order"},"hash":"h"}`, webhook.CodeMissingField},
		{"shipment without orderId", `{"scope":"store/shipment/created","data":{"type":"shipment","id":3},"hash":"h"}`, webhook.CodeMissingField},
		{"created_at as text", `{"scope":"store/order/created","data":{"id":1},"hash":"h","created_at":"soon"}`, webhook.CodeInvalidField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bigcommerce.ParseWebhook([]byte(tt.body))
			if got := webhook.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code = %q (err %v), want %q", got, err, tt.wantCode)
			}
		})
	}
}

func FuzzParseWebhook(f *testing.F) {
	webhooktest.SeedFiles(f, "bigcommerce_webhook_*.json", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := bigcommerce.ParseWebhook(body)
		webhooktest.CheckParsed(t, e, err, order.BigCommerce)
		if err == nil && e.SourceEventID == "" {
			t.Fatal("no SourceEventID")
		}
	})
}
