package ingest_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
)

// TestInvalidIDsAreRefused: an id that is not order.ValidID, in the URL,
// a header or the body, is answered 400 invalid_id naming where it was,
// and nothing is claimed or queued.
func TestInvalidIDsAreRefused(t *testing.T) {
	shopBody := webhookTestdata(t, "shopify_order_fulfilled_derived.json")
	wooBody := webhookTestdata(t, "woocommerce_order_727_imported_derived.json")
	bcBody := webhookTestdata(t, "bigcommerce_webhook_store_order_statusUpdated.json")
	stdBody := webhookTestdata(t, "standard_order_shipped.json")
	long := strings.Repeat("7", 4096)
	// Connections whose ids the store would take, registered so that the
	// refusal is not an unknown connection's.
	badConns := []string{"c-shop#BM-1", "../c-shop", `c\shop`, "c shop", "c-shop\x00", "c-shop\xff", "c-\u202eshop", strings.Repeat("c", order.MaxIDBytes+1)}
	shopWith := func(conn string) func(t testing.TB) events.APIGatewayV2HTTPRequest {
		return func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := shopifyRequest(t, "orders/updated", shopBody, shopSecret)
			r.PathParameters["connection"] = conn
			return r
		}
	}
	shopHeader := func(name, v string) func(t testing.TB) events.APIGatewayV2HTTPRequest {
		return func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := shopifyRequest(t, "orders/updated", shopBody, shopSecret)
			if name == "x-shopify-webhook-id" {
				delete(r.Headers, "x-shopify-event-id")
			}
			r.Headers[name] = v
			return r
		}
	}
	shopBodyWith := func(old, new string) func(t testing.TB) events.APIGatewayV2HTTPRequest {
		return func(t testing.TB) events.APIGatewayV2HTTPRequest {
			return shopifyRequest(t, "orders/updated", bytes.Replace(shopBody, []byte(old), []byte(new), 1), shopSecret)
		}
	}
	tests := []struct {
		name  string
		req   func(t testing.TB) events.APIGatewayV2HTTPRequest
		field string
	}{
		{"connection with '#', the store's key separator", shopWith(badConns[0]), "connection"},
		{"connection with '/'", shopWith(badConns[1]), "connection"},
		{"connection with '\\'", shopWith(badConns[2]), "connection"},
		{"connection with a space", shopWith(badConns[3]), "connection"},
		{"connection with a NUL", shopWith(badConns[4]), "connection"},
		{"connection not UTF-8", shopWith(badConns[5]), "connection"},
		{"connection with a right-to-left override", shopWith(badConns[6]), "connection"},
		{"connection over 256 bytes", shopWith(badConns[7]), "connection"},
		{"Shopify event id with '/'", shopHeader("x-shopify-event-id", "evt/1"), "x-shopify-event-id"},
		{"Shopify event id of 4 KiB", shopHeader("x-shopify-event-id", long), "x-shopify-event-id"},
		{"Shopify event id with a control character", shopHeader("x-shopify-event-id", "evt\x7f1"), "x-shopify-event-id"},
		{"Shopify event id with a zero-width space", shopHeader("x-shopify-event-id", "evt\u200b1"), "x-shopify-event-id"},
		{"Shopify webhook id standing in, with '#'", shopHeader("x-shopify-webhook-id", "wh#1"), "x-shopify-webhook-id"},
		{"store order id with '/'", shopBodyWith(`"id": 450789469,`, `"id": "450789469/1",`), "store_order_id"},
		{"store order id of 4 KiB", shopBodyWith(`"id": 450789469,`, `"id": `+long+`,`), "store_order_id"},
		{"marketplace order id with '#'", shopBodyWith(`"BM-123456"`, `"BM#123456"`), "marketplace_order_id"},
		{"marketplace order id not UTF-8", shopBodyWith(`"BM-123456"`, "\"BM-\xff\xfe\""), "marketplace_order_id"},
		{"WooCommerce delivery id with a newline", func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := wooRequest(t, wooBody, wooSecret)
			r.Headers["x-wc-webhook-delivery-id"] = "d41d8cd9\n8f00b204"
			return r
		}, "x-wc-webhook-delivery-id"},
		{"WooCommerce marketplace order id with '\\'", func(t testing.TB) events.APIGatewayV2HTTPRequest {
			return wooRequest(t, bytes.Replace(wooBody, []byte(`"MK-000042-A"`), []byte(`"MK\\\\000042-A"`), 1), wooSecret)
		}, "marketplace_order_id"},
		{"BigCommerce hash of 4 KiB", func(t testing.TB) events.APIGatewayV2HTTPRequest {
			b := bytes.Replace(bcBody, []byte("7ee67cd1cf2ca60bc1aa9e5fe957d2de373be4ca"), []byte(long), 1)
			return standardRequest(t, "bigcommerce", "c-bc", "bc-msg-1", now, b, bcSecret)
		}, "hash"},
		{"BigCommerce order id with a space", func(t testing.TB) events.APIGatewayV2HTTPRequest {
			b := bytes.Replace(bcBody, []byte(`"id": 250,`), []byte(`"id": "25 0",`), 1)
			return standardRequest(t, "bigcommerce", "c-bc", "bc-msg-1", now, b, bcSecret)
		}, "store_order_id"},
		{"Standard webhook-id with '/'", func(t testing.TB) events.APIGatewayV2HTTPRequest {
			return standardRequest(t, "standard", "c-std", "msg/1", now, stdBody, stdSecret)
		}, "webhook-id"},
		{"Standard store order id with '#'", func(t testing.TB) events.APIGatewayV2HTTPRequest {
			b := bytes.Replace(stdBody, []byte(`"SO-1001"`), []byte(`"SO#1001"`), 1)
			return standardRequest(t, "standard", "c-std", "msg_1", now, b, stdSecret)
		}, "store_order_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, ingest.Config{})
			for _, id := range badConns {
				e.conns.Put(order.Connection{ID: id, Store: order.Endpoint{Platform: order.Shopify}, WebhookSecretRefs: []string{"shop/new"}})
			}
			resp := e.do(t, tt.req(t))
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d (%.200s), want 400", resp.StatusCode, resp.Body)
			}
			b := decodeError(t, resp)
			if b.Code != "invalid_id" || b.Field != tt.field {
				t.Errorf("code %q, field %q; want invalid_id, %s", b.Code, b.Field, tt.field)
			}
			if n := len(e.queue.Events()); n != 0 || e.dedup.Len() != 0 || len(e.dedup.Released) != 0 {
				t.Errorf("queued %d, dedup keys %d, released %d: want nothing touched", n, e.dedup.Len(), len(e.dedup.Released))
			}
			if tt.field == "connection" && e.conns.Calls != 0 {
				t.Errorf("the connection was looked up %d times", e.conns.Calls)
			}
			if strings.Contains(e.logs.String(), "\u202e") || strings.Contains(e.logs.String(), long) {
				t.Errorf("the logs carry the id:\n%s", e.logs.String())
			}
		})
	}
}
