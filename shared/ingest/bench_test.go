package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/ingest/ingesttest"
	"github.com/ordersync/ordersync/shared/order"
)

// Function-field doubles: the benchmark measures the handler, not a fake's
// map growing with every iteration.
type dedupFuncs struct {
	claim func(ctx context.Context, key string, ttl time.Duration) (ingest.ClaimResult, error)
}

func (d dedupFuncs) Claim(ctx context.Context, key string, ttl time.Duration) (ingest.ClaimResult, error) {
	return d.claim(ctx, key, ttl)
}
func (dedupFuncs) Confirm(context.Context, string, order.Event) error { return nil }
func (dedupFuncs) Release(context.Context, string) error              { return nil }

type queueFunc func(ctx context.Context, e order.Event) error

func (f queueFunc) Enqueue(ctx context.Context, e order.Event) error { return f(ctx, e) }

// shopifyOrderOfSize builds a compact Shopify order body of at least n
// bytes from the 2026-07 golden order: its main order-level fields and
// shipping address, whole line items (about 1.3 KB each, as the REST
// reference shows them) while they fit, then trimmed ones (about 150 B).
func shopifyOrderOfSize(b *testing.B, n int) []byte {
	b.Helper()
	var full map[string]any
	if err := json.Unmarshal(webhookTestdata(b, "shopify_order_2026-07.json"), &full); err != nil {
		b.Fatal(err)
	}
	o := map[string]any{}
	for _, k := range []string{"id", "name", "email", "created_at", "updated_at", "cancelled_at", "cancel_reason",
		"currency", "financial_status", "fulfillment_status", "test", "total_price", "note_attributes", "shipping_address"} {
		o[k] = full[k]
	}
	item := full["line_items"].([]any)[0].(map[string]any)
	small := map[string]any{}
	for _, k := range []string{"id", "sku", "quantity", "name", "title", "price", "variant_id", "product_id"} {
		small[k] = item[k]
	}
	size := func(lines []any) []byte {
		o["line_items"] = lines
		body, err := json.Marshal(o)
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	clone := func(m map[string]any, i int) map[string]any {
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		c["id"] = 466157049 + i
		c["sku"] = "SKU-" + strconv.Itoa(i)
		return c
	}
	lines := []any{small}
	// Whole line items while they fit, then trimmed ones to the size.
	for i := 1; len(size(append(lines, clone(item, i)))) <= n; i++ {
		lines = append(lines, clone(item, i))
	}
	for i := len(lines); ; i++ {
		if body := size(lines); len(body) >= n {
			return body
		}
		lines = append(lines, clone(small, i))
	}
}

func BenchmarkHandleShopifyOrder(b *testing.B) {
	for _, size := range []int{1 << 10, 5 << 10, 50 << 10} {
		body := shopifyOrderOfSize(b, size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			conns := ingesttest.NewConnections(order.Connection{ID: "c-shop",
				Store: order.Endpoint{Platform: order.Shopify}, WebhookSecretRefs: []string{"shop/old", "shop/new"}})
			secrets := ingesttest.NewSecrets(map[string]string{"shop/old": shopSecretOld, "shop/new": shopSecret})
			queued := 0
			h := ingest.New(ingest.Config{Now: func() time.Time { return now }}, conns, secrets,
				dedupFuncs{claim: func(context.Context, string, time.Duration) (ingest.ClaimResult, error) { return ingest.Claimed, nil }},
				queueFunc(func(context.Context, order.Event) error { queued++; return nil }),
				slog.New(slog.DiscardHandler))
			req := shopifyRequest(b, "orders/updated", body, shopSecret)
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				resp, _ := h.Handle(ctx, req)
				if resp.StatusCode != http.StatusAccepted {
					b.Fatalf("status = %d (%s)", resp.StatusCode, resp.Body)
				}
			}
			b.StopTimer()
			if queued == 0 {
				b.Fatal("nothing queued")
			}
			b.ReportMetric(float64(len(body)), "body_bytes")
		})
	}
}

// onlyEnqueue hides a queue's EnqueueEncoded: the queue encodes each event
// again, as the SQS adapter did before the handler handed its message on.
type onlyEnqueue struct{ q ingest.Queue }

func (o onlyEnqueue) Enqueue(ctx context.Context, e order.Event) error { return o.q.Enqueue(ctx, e) }

// BenchmarkEncodeOnce: the webhook as deployed (no deduper), its queue
// given the handler's message ("handed on") or encoding the event again
// ("encoded again"), side by side.
func BenchmarkEncodeOnce(b *testing.B) {
	for _, size := range []int{1 << 10, 5 << 10, 50 << 10} {
		body := shopifyOrderOfSize(b, size)
		for _, how := range []string{"encoded again", "handed on"} {
			b.Run(fmt.Sprintf("%dKB/%s", size>>10, how), func(b *testing.B) {
				conns := ingesttest.NewConnections(order.Connection{ID: "c-shop",
					Store: order.Endpoint{Platform: order.Shopify}, WebhookSecretRefs: []string{"shop/new"}})
				secrets := ingesttest.NewSecrets(map[string]string{"shop/new": shopSecret})
				eq := &ingesttest.EncodingQueue{}
				var q ingest.Queue = eq
				if how == "encoded again" {
					q = onlyEnqueue{eq}
				}
				h := ingest.New(ingest.Config{Now: func() time.Time { return now }}, conns, secrets, nil, q, slog.New(slog.DiscardHandler))
				req := shopifyRequest(b, "orders/updated", body, shopSecret)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if resp, _ := h.Handle(ctx, req); resp.StatusCode != http.StatusAccepted {
						b.Fatalf("status = %d (%s)", resp.StatusCode, resp.Body)
					}
				}
				if n, _ := eq.Sent(); n == 0 {
					b.Fatal("nothing queued")
				}
			})
		}
	}
}
