package ingest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/emf"
	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/ingest/ingesttest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/webhook"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

const (
	shopSecret    = "shpss_current"
	shopSecretOld = "shpss_previous"
	wooSecret     = "wc_secret"
	stdSecret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	bcSecret      = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

// now is the fixed clock of every test.
var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type env struct {
	h       *ingest.Handler
	conns   *ingesttest.Connections
	secrets *ingesttest.Secrets
	dedup   *ingesttest.Deduper
	queue   *ingesttest.Queue
	logs    *bytes.Buffer
}

func newEnv(t testing.TB, cfg ingest.Config) *env {
	t.Helper()
	e := &env{
		conns: ingesttest.NewConnections(
			order.Connection{ID: "c-shop", Store: order.Endpoint{Platform: order.Shopify}, WebhookSecretRefs: []string{"shop/old", "shop/new"}},
			order.Connection{ID: "c-woo", Store: order.Endpoint{Platform: order.WooCommerce}, WebhookSecretRefs: []string{"woo"}},
			order.Connection{ID: "c-bc", Store: order.Endpoint{Platform: order.BigCommerce}, WebhookSecretRefs: []string{"bc"}},
			order.Connection{ID: "c-std", Store: order.Endpoint{Platform: order.Standard}, WebhookSecretRefs: []string{"std", "std/retired"}},
			order.Connection{ID: "c-nosecret", Store: order.Endpoint{Platform: order.Shopify}, WebhookSecretRefs: []string{"gone"}},
		),
		secrets: ingesttest.NewSecrets(map[string]string{
			"shop/old": shopSecretOld, "shop/new": shopSecret, "woo": wooSecret, "bc": bcSecret, "std": stdSecret,
		}),
		dedup: ingesttest.NewDeduper(),
		queue: &ingesttest.Queue{},
		logs:  &bytes.Buffer{},
	}
	e.dedup.Now = func() time.Time { return now }
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.h = ingest.New(cfg, e.conns, e.secrets, e.dedup, e.queue, log)
	return e
}

func (e *env) do(t testing.TB, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := e.h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	return resp
}

func readTestdata(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// webhookTestdata reads a golden webhook body from the testdata of the
// package that parses it: the platform the name starts with
// (shopify_order_2026-07.json is in ../shopify/testdata), or webhook for
// the Standard Webhooks payloads.
func webhookTestdata(t testing.TB, name string) []byte {
	pkg := "webhook"
	switch p, _, _ := strings.Cut(name, "_"); p {
	case "shopify", "woocommerce", "bigcommerce":
		pkg = p
	}
	return readTestdata(t, filepath.Join("..", pkg, "testdata"), name)
}

// request builds a webhook request on the envelope of a real API Gateway
// v2 event, replacing what a webhook route sets.
func request(t testing.TB, source, conn string, headers map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(readTestdata(t, "testdata", "aws_lambda_go_apigw-v2-request-lambda-authorizer.json"), &req); err != nil {
		t.Fatal(err)
	}
	req.RouteKey = "POST /webhooks/{source}/{connection}"
	req.RawPath = "/webhooks/" + source + "/" + conn
	req.RequestContext.HTTP.Method = http.MethodPost
	req.RequestContext.HTTP.Path = req.RawPath
	req.PathParameters = map[string]string{"source": source, "connection": conn}
	for k, v := range headers {
		req.Headers[k] = v
	}
	req.Body = string(body)
	return req
}

// idOf makes an id of a topic: orders/updated, orders-updated (an id has
// no '/').
func idOf(topic string) string { return strings.ReplaceAll(topic, "/", "-") }

func shopifyRequest(t testing.TB, topic string, body []byte, secret string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	return request(t, "shopify", "c-shop", map[string]string{
		"content-type":           "application/json",
		"x-shopify-topic":        topic,
		"x-shopify-hmac-sha256":  shopify.SignWebhook(body, secret),
		"x-shopify-shop-domain":  "jsmith.myshopify.com",
		"x-shopify-api-version":  "2026-07",
		"x-shopify-webhook-id":   "wh-" + idOf(topic),
		"x-shopify-event-id":     "evt-" + idOf(topic),
		"x-shopify-triggered-at": "2026-11-22T09:59:59.123Z",
	}, body)
}

func wooRequest(t testing.TB, body []byte, secret string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	return request(t, "woocommerce", "c-woo", map[string]string{
		"content-type":             "application/json",
		"x-wc-webhook-topic":       "order.updated",
		"x-wc-webhook-resource":    "order",
		"x-wc-webhook-event":       "updated",
		"x-wc-webhook-signature":   woocommerce.SignWebhook(body, secret),
		"x-wc-webhook-id":          "7",
		"x-wc-webhook-delivery-id": "d41d8cd98f00b204e9800998ecf8427e",
		"x-wc-webhook-source":      "https://example.com/",
	}, body)
}

func standardRequest(t testing.TB, source, conn, id string, ts time.Time, body []byte, secret string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	return request(t, source, conn, map[string]string{
		"content-type":      "application/json",
		"webhook-id":        id,
		"webhook-timestamp": strconv.FormatInt(ts.Unix(), 10),
		"webhook-signature": webhook.SignStandard(id, ts.Unix(), body, secret),
	}, body)
}

type errorBody struct {
	Code, Message, Field string
}

// decodeError returns the error of an error answer, failing unless the
// body is {"error": {"code", "message"}} with the catalogue's words.
func decodeError(t testing.TB, resp events.APIGatewayV2HTTPResponse) errorBody {
	t.Helper()
	var b struct{ Error *errorBody }
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatalf("body %q is not JSON: %v", resp.Body, err)
	}
	if b.Error == nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf(`body %q is not {"error": {"code", "message"}}`, resp.Body)
	}
	if strings.HasPrefix(b.Error.Message, http.StatusText(resp.StatusCode)) {
		t.Errorf("message %q is the status text: the catalogue has no words for %s", b.Error.Message, b.Error.Code)
	}
	return *b.Error
}

func TestShopifyOrderAccepted(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	body := webhookTestdata(t, "shopify_order_fulfilled_derived.json")
	resp := e.do(t, shopifyRequest(t, "orders/fulfilled", body, shopSecret))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
	got := e.queue.Events()
	if len(got) != 1 {
		t.Fatalf("queued %d events, want 1", len(got))
	}
	ev := got[0]
	if ev.Connection != "c-shop" || ev.Source != order.Shopify || ev.SourceEventID != "evt-orders-fulfilled" || ev.Topic != "orders/fulfilled" {
		t.Errorf("event identity = %q %q %q %q", ev.Connection, ev.Source, ev.SourceEventID, ev.Topic)
	}
	if ev.Order.MarketplaceOrderID != "BM-123456" || ev.Order.StoreOrderID != "450789469" || ev.Status != order.StatusShipped {
		t.Errorf("event = %+v", ev)
	}
	if len(ev.Parcels) != 1 || ev.Parcels[0].Tracking.Number == "" {
		t.Errorf("parcels = %+v, want one with tracking", ev.Parcels)
	}
	if got := e.dedup.State(ingest.DedupKey(ev)); got != "confirmed" {
		t.Errorf("dedup state = %q, want confirmed", got)
	}
	if !strings.HasPrefix(ingest.DedupKey(ev), "c-shop/") {
		t.Errorf("dedup key %q is not prefixed by the connection", ingest.DedupKey(ev))
	}
	assertNoBodyInLogs(t, e)
	assertMetric(t, e, "webhook accepted", "webhook_accepted", "service=webhook")
}

// assertMetric reads the log line msg as CloudWatch reads an Embedded
// Metric Format document, and checks it counts one metric under dims.
func assertMetric(t *testing.T, e *env, msg, metric, dims string) {
	t.Helper()
	for _, line := range bytes.Split(e.logs.Bytes(), []byte("\n")) {
		var l struct{ Msg string }
		if json.Unmarshal(line, &l) != nil || l.Msg != msg {
			continue
		}
		ms, err := emf.Read(line)
		if err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		got := ms[metric]
		if got.Namespace != emf.Namespace || got.Value != 1 || len(got.Dimensions) != 1 || got.Dimensions[0] != dims {
			t.Errorf("%s = %+v, want 1 in %s under %s", metric, got, emf.Namespace, dims)
		}
		return
	}
	t.Errorf("no %q line in:\n%s", msg, e.logs.String())
}

// assertNoBodyInLogs checks that nothing personal from the golden payloads
// reached the logs.
func assertNoBodyInLogs(t *testing.T, e *env) {
	t.Helper()
	for _, s := range []string{"Chestnut", "Norman", "bob.norman", "John", "969 Market", "SECRET-MARKER", shopSecret, wooSecret} {
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("logs contain %q:\n%s", s, e.logs.String())
		}
	}
}

func TestShopifyTopics(t *testing.T) {
	tests := []struct {
		topic, file string
		want        int
	}{
		{"orders/create", "shopify_order_2026-07.json", http.StatusAccepted},
		{"orders/updated", "shopify_order_2008.json", http.StatusAccepted},
		{"orders/cancelled", "shopify_order_2026-07.json", http.StatusAccepted},
		{"orders/fulfilled", "shopify_order_fulfilled_derived.json", http.StatusAccepted},
		{"fulfillments/create", "shopify_fulfillment_2026-07.json", http.StatusAccepted},
		{"fulfillments/update", "shopify_fulfillment_2013.json", http.StatusAccepted},
		{"products/create", "shopify_order_2026-07.json", http.StatusOK}, // ignored
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			e := newEnv(t, ingest.Config{})
			resp := e.do(t, shopifyRequest(t, tt.topic, webhookTestdata(t, tt.file), shopSecret))
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, resp.Body, tt.want)
			}
			wantQueued := 0
			if tt.want == http.StatusAccepted {
				wantQueued = 1
			}
			if got := len(e.queue.Events()); got != wantQueued {
				t.Fatalf("queued %d, want %d", got, wantQueued)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	shopBody := webhookTestdata(t, "shopify_order_2026-07.json")
	valid := func(t testing.TB) events.APIGatewayV2HTTPRequest {
		return shopifyRequest(t, "orders/updated", shopBody, shopSecret)
	}
	big := []byte(`{"id":1,"note":"` + strings.Repeat("x", 2048) + `"}`)
	tests := []struct {
		name     string
		cfg      ingest.Config
		req      func(t testing.TB) events.APIGatewayV2HTTPRequest
		want     int
		wantCode string
	}{
		{name: "GET", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.RequestContext.HTTP.Method = http.MethodGet
			return r
		}, want: http.StatusMethodNotAllowed, wantCode: "method_not_allowed"},
		{name: "unknown source", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.PathParameters["source"] = "magento"
			return r
		}, want: http.StatusNotFound, wantCode: "unknown_source"},
		{name: "no source", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.PathParameters = nil
			return r
		}, want: http.StatusNotFound, wantCode: "unknown_source"},
		{name: "unknown connection", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.PathParameters["connection"] = "c-nope"
			return r
		}, want: http.StatusNotFound, wantCode: "unknown_connection"},
		{name: "connection of another platform", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.PathParameters["connection"] = "c-woo"
			return r
		}, want: http.StatusNotFound, wantCode: "unknown_connection"},
		{name: "over the size limit", cfg: ingest.Config{MaxBodyBytes: 1024}, req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			return shopifyRequest(t, "orders/updated", big, shopSecret)
		}, want: http.StatusRequestEntityTooLarge, wantCode: "body_too_large"},
		{name: "over the size limit, base64", cfg: ingest.Config{MaxBodyBytes: 1024}, req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := shopifyRequest(t, "orders/updated", big, shopSecret)
			r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(big), true
			return r
		}, want: http.StatusRequestEntityTooLarge, wantCode: "body_too_large"},
		{name: "over the default 1 MiB", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			b := []byte(`{"id":1,"note":"` + strings.Repeat("x", 1<<20) + `"}`)
			return shopifyRequest(t, "orders/updated", b, shopSecret)
		}, want: http.StatusRequestEntityTooLarge, wantCode: "body_too_large"},
		{name: "not base64", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.Body, r.IsBase64Encoded = "{not base64}", true
			return r
		}, want: http.StatusBadRequest, wantCode: "malformed_body"},
		{name: "text/plain", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.Headers["content-type"] = "text/plain"
			return r
		}, want: http.StatusUnsupportedMediaType, wantCode: "unsupported_media_type"},
		{name: "no content type", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			delete(r.Headers, "content-type")
			return r
		}, want: http.StatusUnsupportedMediaType, wantCode: "unsupported_media_type"},
		{name: "form to shopify", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			return r
		}, want: http.StatusUnsupportedMediaType, wantCode: "unsupported_media_type"},
		{name: "missing signature", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			delete(r.Headers, "x-shopify-hmac-sha256")
			return r
		}, want: http.StatusUnauthorized, wantCode: "signature_missing"},
		{name: "wrong secret", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			return shopifyRequest(t, "orders/updated", shopBody, "someone_else")
		}, want: http.StatusUnauthorized, wantCode: "signature_invalid"},
		{name: "body altered after signing", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.Body = strings.Replace(r.Body, `"#1001"`, `"#1002"`, 1)
			return r
		}, want: http.StatusUnauthorized, wantCode: "signature_invalid"},
		{name: "signed over re-serialised JSON", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			var v any
			_ = json.Unmarshal(shopBody, &v)
			compact, _ := json.Marshal(v)
			r := shopifyRequest(t, "orders/updated", compact, shopSecret)
			r.Body = string(shopBody) // the same JSON, other bytes
			return r
		}, want: http.StatusUnauthorized, wantCode: "signature_invalid"},
		{name: "malformed JSON", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			return shopifyRequest(t, "orders/updated", []byte(`{"id": 1, SECRET-MARKER`), shopSecret)
		}, want: http.StatusBadRequest, wantCode: "malformed_json"},
		{name: "missing order id", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			return shopifyRequest(t, "orders/updated", []byte(`{"name":"#1001","email":"SECRET-MARKER"}`), shopSecret)
		}, want: http.StatusBadRequest, wantCode: "missing_field"},
		{name: "invalid field", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			return shopifyRequest(t, "orders/updated", []byte(`{"id":1,"line_items":[{"quantity":"SECRET-MARKER"}]}`), shopSecret)
		}, want: http.StatusBadRequest, wantCode: "invalid_field"},
		// Shopify's library vectors: missing_header_X-Shopify-Topic and
		// missing_header_X-Shopify-Webhook-Id (with no event id either).
		{name: "missing topic header", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			delete(r.Headers, "x-shopify-topic")
			return r
		}, want: http.StatusBadRequest, wantCode: "missing_header"},
		{name: "missing event and webhook id", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			delete(r.Headers, "x-shopify-event-id")
			r.Headers["x-shopify-webhook-id"] = ""
			return r
		}, want: http.StatusBadRequest, wantCode: "missing_header"},
		{name: "no usable secret", req: func(t testing.TB) events.APIGatewayV2HTTPRequest {
			r := valid(t)
			r.PathParameters["connection"] = "c-nosecret"
			return r
		}, want: http.StatusServiceUnavailable, wantCode: "secret_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			resp := e.do(t, tt.req(t))
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, resp.Body, tt.want)
			}
			if got := decodeError(t, resp).Code; got != tt.wantCode {
				t.Errorf("code = %q, want %q", got, tt.wantCode)
			}
			if resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("Content-Type = %q", resp.Headers["Content-Type"])
			}
			if n := len(e.queue.Events()); n != 0 {
				t.Errorf("queued %d events, want none", n)
			}
			if e.dedup.Len() != 0 || len(e.dedup.Released) != 0 {
				t.Errorf("the deduper was touched")
			}
			if strings.Contains(resp.Body, "SECRET-MARKER") {
				t.Errorf("the answer quotes the body: %s", resp.Body)
			}
			assertNoBodyInLogs(t, e)
			if resp.StatusCode < 500 {
				assertMetric(t, e, "webhook rejected", "webhook_rejected", "service=webhook,reason="+tt.wantCode)
			}
			if resp.StatusCode == http.StatusMethodNotAllowed && resp.Headers["Allow"] != http.MethodPost {
				t.Errorf("Allow = %q, want POST", resp.Headers["Allow"])
			}
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Headers["Retry-After"] == "" {
				t.Errorf("503 without Retry-After")
			}
		})
	}
}

func TestShopifyMissingVersionAndDomainHeadersAreAccepted(t *testing.T) {
	// Shopify's library also refuses a delivery without X-Shopify-API-Version
	// or X-Shopify-Shop-Domain (vectors missing_header_*). ordersync reads
	// neither, and refusing an authentic event would lose it: it accepts.
	for _, h := range []string{"x-shopify-api-version", "x-shopify-shop-domain"} {
		t.Run(h, func(t *testing.T) {
			e := newEnv(t, ingest.Config{})
			r := shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret)
			delete(r.Headers, h)
			if resp := e.do(t, r); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
			}
		})
	}
}

func TestShopifyEventIDFallsBackToWebhookID(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	r := shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret)
	delete(r.Headers, "x-shopify-event-id")
	if resp := e.do(t, r); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
	if got := e.queue.Events()[0].SourceEventID; got != "wh-orders-updated" {
		t.Errorf("SourceEventID = %q, want the webhook id", got)
	}
}

func TestHeaderNamesAreCaseInsensitive(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	body := webhookTestdata(t, "shopify_order_2026-07.json")
	r := shopifyRequest(t, "orders/updated", body, shopSecret)
	mixed := map[string]string{}
	for k, v := range r.Headers {
		mixed[strings.ToUpper(k[:1])+k[1:]] = v // "X-shopify-topic", "Content-type"
	}
	mixed["X-Shopify-Hmac-SHA256"] = mixed["X-shopify-hmac-sha256"]
	delete(mixed, "X-shopify-hmac-sha256")
	r.Headers = mixed
	if resp := e.do(t, r); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
}

func TestContentTypeWithCharset(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	r := shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret)
	r.Headers["content-type"] = "Application/JSON; charset=utf-8"
	if resp := e.do(t, r); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
}

func TestBase64Body(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	body := webhookTestdata(t, "shopify_order_2026-07.json")
	r := shopifyRequest(t, "orders/updated", body, shopSecret) // signed over the raw bytes
	r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	if resp := e.do(t, r); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
	if got := e.queue.Events()[0].Order.StoreOrderID; got != "450789469" {
		t.Errorf("StoreOrderID = %q", got)
	}
}

func TestSecretRotation(t *testing.T) {
	body := webhookTestdata(t, "shopify_order_2026-07.json")
	for _, secret := range []string{shopSecretOld, shopSecret} {
		t.Run(secret, func(t *testing.T) {
			e := newEnv(t, ingest.Config{})
			if resp := e.do(t, shopifyRequest(t, "orders/updated", body, secret)); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
			}
		})
	}
	t.Run("retired secret ref is skipped", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		// c-std lists "std/retired", which no longer exists.
		b := webhookTestdata(t, "standard_order_shipped.json")
		if resp := e.do(t, standardRequest(t, "standard", "c-std", "msg_1", now, b, stdSecret)); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
		}
	})
}

func TestDuplicateDelivery(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	req := shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret)
	if resp := e.do(t, req); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first: status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
	resp := e.do(t, req)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "duplicate") {
		t.Fatalf("redelivery: status = %d (%s), want 200 duplicate", resp.StatusCode, resp.Body)
	}
	if n := len(e.queue.Events()); n != 1 {
		t.Fatalf("queued %d events, want 1", n)
	}
	// The same event id under another topic is another event.
	other := shopifyRequest(t, "orders/fulfilled", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret)
	other.Headers["x-shopify-event-id"] = req.Headers["x-shopify-event-id"]
	if resp := e.do(t, other); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("other topic: status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
}

func TestInFlightDelivery(t *testing.T) {
	e := newEnv(t, ingest.Config{RetryAfter: 30 * time.Second})
	req := shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret)
	key := "c-shop/shopify/orders/updated/evt-orders-updated"
	// Another delivery of the same event holds a claim it has not confirmed.
	if res, _ := e.dedup.Claim(context.Background(), key, time.Hour); res != ingest.Claimed {
		t.Fatalf("setup claim = %v", res)
	}
	resp := e.do(t, req)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d (%s), want 503", resp.StatusCode, resp.Body)
	}
	if got := resp.Headers["Retry-After"]; got != "30" {
		t.Errorf("Retry-After = %q, want 30", got)
	}
	if decodeError(t, resp).Code != "in_flight" || len(e.queue.Events()) != 0 {
		t.Errorf("body %s, queued %d", resp.Body, len(e.queue.Events()))
	}
	// The other delivery fails and releases: the retry goes through.
	if err := e.dedup.Release(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if resp := e.do(t, req); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
}

func TestEnqueueFailureReleasesTheClaim(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	e.queue.Err = errors.New("sqs: service unavailable")
	req := shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret)
	resp := e.do(t, req)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] == "" {
		t.Fatalf("status = %d (%s), Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Body, resp.Headers["Retry-After"])
	}
	key := "c-shop/shopify/orders/updated/evt-orders-updated"
	if got := e.dedup.State(key); got != "" || e.dedup.Released[key] != 1 {
		t.Fatalf("dedup state = %q, released %d times; want released once", got, e.dedup.Released[key])
	}
	// Shopify retries once SQS is back: not a duplicate.
	e.queue.Err = nil
	if resp := e.do(t, req); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: status = %d (%s), want 202", resp.StatusCode, resp.Body)
	}
	if n := len(e.queue.Events()); n != 1 {
		t.Fatalf("queued %d, want 1", n)
	}
}

func TestEnqueueFailureWithCancelledContextStillReleases(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	e.queue.Err = context.DeadlineExceeded
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	resp, err := e.h.Handle(ctx, shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret))
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, err %v; want 503", resp.StatusCode, err)
	}
	if n := e.dedup.Released["c-shop/shopify/orders/updated/evt-orders-updated"]; n != 1 {
		t.Fatalf("released %d times, want 1", n)
	}
}

func TestConfirmFailureStillAccepts(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	e.dedup.ConfirmErr = errors.New("dynamodb: throttled")
	resp := e.do(t, shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret))
	if resp.StatusCode != http.StatusAccepted || len(e.queue.Events()) != 1 {
		t.Fatalf("status = %d (%s), queued %d; want 202 and 1", resp.StatusCode, resp.Body, len(e.queue.Events()))
	}
	if !strings.Contains(e.logs.String(), "dedup confirm failed") {
		t.Errorf("the confirm failure was not logged")
	}
}

func TestTransientDependencyFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
	}{
		{"connection store down", func(e *env) { e.conns.Err = errors.New("dynamodb: timeout") }},
		{"secrets store down", func(e *env) { e.secrets.Err = errors.New("secretsmanager: timeout") }},
		{"dedup claim fails", func(e *env) { e.dedup.ClaimErr = errors.New("dynamodb: throttled") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, ingest.Config{})
			tt.setup(e)
			resp := e.do(t, shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret))
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] == "" {
				t.Fatalf("status = %d (%s); want 503 with Retry-After", resp.StatusCode, resp.Body)
			}
			if len(e.queue.Events()) != 0 {
				t.Fatalf("queued an event")
			}
		})
	}
}

func TestWooCommerce(t *testing.T) {
	body := webhookTestdata(t, "woocommerce_order_727_imported_derived.json")
	t.Run("order accepted", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		resp := e.do(t, wooRequest(t, body, wooSecret))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
		}
		ev := e.queue.Events()[0]
		if ev.Order.StoreOrderID != "727" || ev.Order.ClaimedMarketplaceOrderID != "MK-000042-A" || ev.Status != order.StatusShipped {
			t.Errorf("event = %+v", ev)
		}
		if want := "d41d8cd98f00b204e9800998ecf8427e:727:1490210888"; ev.SourceEventID != want {
			t.Errorf("SourceEventID = %q, want %q", ev.SourceEventID, want)
		}
		if resp := e.do(t, wooRequest(t, body, wooSecret)); resp.StatusCode != http.StatusOK {
			t.Errorf("redelivery: status = %d, want 200", resp.StatusCode)
		}
		assertNoBodyInLogs(t, e)
	})
	t.Run("same delivery id, another order", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		other := bytes.Replace(body, []byte(`"id": 727`), []byte(`"id": 728`), 1)
		for _, b := range [][]byte{body, other} {
			if resp := e.do(t, wooRequest(t, b, wooSecret)); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
			}
		}
	})
	t.Run("creation ping", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		r := request(t, "woocommerce", "c-woo", map[string]string{"content-type": "application/x-www-form-urlencoded"}, []byte("webhook_id=7"))
		resp := e.do(t, r)
		if resp.StatusCode != http.StatusOK || len(e.queue.Events()) != 0 {
			t.Fatalf("status = %d (%s), queued %d; want 200 and nothing", resp.StatusCode, resp.Body, len(e.queue.Events()))
		}
	})
	t.Run("other form body", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		r := request(t, "woocommerce", "c-woo", map[string]string{"content-type": "application/x-www-form-urlencoded"}, []byte("webhook_id=7&x=1"))
		if resp := e.do(t, r); resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("status = %d, want 415", resp.StatusCode)
		}
	})
	t.Run("ping to an unknown connection", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		r := request(t, "woocommerce", "c-nope", map[string]string{"content-type": "application/x-www-form-urlencoded"}, []byte("webhook_id=7"))
		if resp := e.do(t, r); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", resp.StatusCode)
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		if resp := e.do(t, wooRequest(t, body, "nope")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", resp.StatusCode)
		}
	})
	t.Run("missing delivery id", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		r := wooRequest(t, body, wooSecret)
		delete(r.Headers, "x-wc-webhook-delivery-id")
		if resp := e.do(t, r); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", resp.StatusCode)
		}
	})
}

func TestBigCommerce(t *testing.T) {
	body := webhookTestdata(t, "bigcommerce_webhook_store_order_statusUpdated.json")
	t.Run("status update accepted", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		resp := e.do(t, standardRequest(t, "bigcommerce", "c-bc", "bc-msg-1", now, body, bcSecret))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
		}
		ev := e.queue.Events()[0]
		if ev.Order.StoreOrderID != "250" || ev.SourceEventID != "7ee67cd1cf2ca60bc1aa9e5fe957d2de373be4ca" || ev.Status != order.StatusAccepted {
			t.Errorf("event = %+v", ev)
		}
		// A redelivery is signed afresh (new message id, new timestamp) but
		// repeats the hash.
		if resp := e.do(t, standardRequest(t, "bigcommerce", "c-bc", "bc-msg-2", now.Add(time.Minute), body, bcSecret)); resp.StatusCode != http.StatusOK {
			t.Fatalf("redelivery: status = %d (%s), want 200", resp.StatusCode, resp.Body)
		}
	})
	t.Run("stale timestamp", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		resp := e.do(t, standardRequest(t, "bigcommerce", "c-bc", "bc-msg-1", now.Add(-6*time.Minute), body, bcSecret))
		if resp.StatusCode != http.StatusUnauthorized || decodeError(t, resp).Code != "timestamp_stale" {
			t.Fatalf("status = %d (%s), want 401 timestamp_stale", resp.StatusCode, resp.Body)
		}
	})
	t.Run("configured header names", func(t *testing.T) {
		e := newEnv(t, ingest.Config{BigCommerceHeaders: ingest.StandardHeaderNames{
			ID: "X-BC-Webhook-Id", Timestamp: "X-BC-Webhook-Timestamp", Signature: "X-BC-Webhook-Signature"}})
		r := standardRequest(t, "bigcommerce", "c-bc", "bc-msg-1", now, body, bcSecret)
		for _, h := range []string{"id", "timestamp", "signature"} {
			r.Headers["x-bc-webhook-"+h] = r.Headers["webhook-"+h]
			delete(r.Headers, "webhook-"+h)
		}
		if resp := e.do(t, r); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
		}
	})
}

func TestStandard(t *testing.T) {
	body := webhookTestdata(t, "standard_order_shipped.json")
	t.Run("accepted", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		resp := e.do(t, standardRequest(t, "standard", "c-std", "msg_1", now, body, stdSecret))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status = %d (%s), want 202", resp.StatusCode, resp.Body)
		}
		ev := e.queue.Events()[0]
		if ev.SourceEventID != "msg_1" || ev.Status != order.StatusShipped || len(ev.Parcels) != 1 {
			t.Errorf("event = %+v", ev)
		}
	})
	t.Run("stale timestamp", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		resp := e.do(t, standardRequest(t, "standard", "c-std", "msg_1", now.Add(5*time.Minute+time.Second), body, stdSecret))
		if resp.StatusCode != http.StatusUnauthorized || decodeError(t, resp).Code != "timestamp_stale" {
			t.Fatalf("status = %d (%s), want 401 timestamp_stale", resp.StatusCode, resp.Body)
		}
	})
	t.Run("missing field", func(t *testing.T) {
		e := newEnv(t, ingest.Config{})
		resp := e.do(t, standardRequest(t, "standard", "c-std", "msg_1", now, []byte(`{"type":"order.shipped"}`), stdSecret))
		if b := decodeError(t, resp); resp.StatusCode != http.StatusBadRequest || b.Code != "missing_field" || b.Field != "data" {
			t.Fatalf("status = %d (%s), want 400 missing_field data", resp.StatusCode, resp.Body)
		}
	})
}
