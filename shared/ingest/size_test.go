package ingest_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/testkit/memqueue"
)

// sqsMaxMessageBytes is SQS's limit on a message, body and attributes
// together: 256 KiB (what every queue accepts; see order.MaxMessageBytes).
const sqsMaxMessageBytes = 256 << 10

// bigShopifyOrder is an orders/updated body with one line per title: the
// fields ordersync reads, <, > and & in every string.
func bigShopifyOrder(t *testing.T, titles []string) []byte {
	t.Helper()
	type line struct {
		ID       int    `json:"id"`
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
		Title    string `json:"title"`
	}
	o := map[string]any{
		"id": 450789469, "name": "#1001", "financial_status": "paid", "fulfillment_status": nil,
		"created_at": "2026-11-22T09:00:00Z", "updated_at": "2026-11-22T09:59:00Z",
		"note_attributes":  []map[string]string{{"name": shopify.MarketplaceOrderAttribute, "value": "BM-1"}},
		"shipping_address": map[string]string{"name": "Bob <Bobby> & Co", "address1": "1 <Main> St & 2nd", "country_code": "FR"},
	}
	lines := make([]line, len(titles))
	for i, title := range titles {
		lines[i] = line{ID: 466157049 + i, SKU: fmt.Sprintf("SKU<%d>&", i), Quantity: 1 + i%3, Title: title}
	}
	o["line_items"] = lines
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(o); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

func titles(n int, title func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = title(i)
	}
	return out
}

// htmlTitle is 255 bytes (Shopify's longest title), one character in three
// <, > or &.
func htmlTitle(i int) string {
	return strings.Repeat(fmt.Sprintf("<b>Bolts & nuts</b> M%d <x> ", i%10), 12)[:255]
}

// TestLargeOrdersFitTheQueue: an order of hundreds of lines full of <, >
// and & is accepted, and what reaches the queue is within SQS's limit and
// reads back as the event the webhook carried; an event that cannot be
// made to fit is refused before its dedup key is claimed.
func TestLargeOrdersFitTheQueue(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 4))
	noise := func(int) string {
		b := make([]byte, 255)
		for i := range b {
			b[i] = byte('(' + r.IntN(80)) // printable, no '"' or '\\'
		}
		return string(b)
	}
	tests := []struct {
		name   string
		titles []string
		want   int
	}{
		{"500 lines full of <, > and &", titles(500, htmlTitle), http.StatusAccepted},
		{"1000 lines: over the limit even unescaped", titles(1000, htmlTitle), http.StatusAccepted},
		{"a title of 1 MiB less a little of <", []string{strings.Repeat("<", 1<<20-1024)}, http.StatusAccepted},
		{"1500 lines of noise: too large even compressed", titles(1500, noise), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, ingest.Config{})
			q := memqueue.New("sync", memqueue.Options{})
			h := ingest.New(ingest.Config{Now: func() time.Time { return now }}, e.conns, e.secrets, e.dedup, q, nil)
			body := bigShopifyOrder(t, tt.titles)
			if len(body) > ingest.DefaultMaxBodyBytes {
				t.Fatalf("the test's body is %d bytes, over the webhook's limit", len(body))
			}
			resp, err := h.Handle(t.Context(), shopifyRequest(t, "orders/updated", body, shopSecret))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (%.300s), want %d", resp.StatusCode, resp.Body, tt.want)
			}
			msgs := q.Messages()
			if tt.want != http.StatusAccepted {
				if got := decodeError(t, resp).Code; got != "event_too_large" {
					t.Errorf("code = %q, want event_too_large", got)
				}
				if len(msgs) != 0 || e.dedup.Len() != 0 || len(e.dedup.Released) != 0 {
					t.Errorf("queued %d, dedup keys %d, released %d: want nothing touched", len(msgs), e.dedup.Len(), len(e.dedup.Released))
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("queued %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			size := len(m.Body)
			for k, v := range m.Attributes {
				size += len(k) + len("String") + len(v)
			}
			if size > sqsMaxMessageBytes {
				t.Errorf("message of %d bytes, over SQS's %d", size, sqsMaxMessageBytes)
			}
			want, err := shopify.ParseWebhook("orders/updated", "evt-orders-updated", body)
			if err != nil {
				t.Fatal(err)
			}
			want.Connection = "c-shop"
			got, err := order.DecodeMessage(m.Body)
			if err != nil {
				t.Fatalf("body %.200s…: %v", m.Body, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the message reads back as another event:\n got %.300v\nwant %.300v", got, want)
			}
			if got := e.dedup.State(ingest.DedupKey(want)); got != "confirmed" {
				t.Errorf("dedup state = %q, want confirmed", got)
			}
		})
	}
}
