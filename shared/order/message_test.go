package order_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// event is an order of n lines whose titles are title(i), with <, > and &
// in its other strings.
func event(n int, title func(i int) string) order.Event {
	e := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "evt-1", Topic: "orders/updated",
		OccurredAt: time.Date(2026, 11, 22, 9, 59, 0, 0, time.UTC),
		Order:      order.Ref{StoreOrderID: "450789469", StoreOrderName: "#1001", MarketplaceOrderID: "BM-1"},
		Status:     order.StatusAccepted, ShippingAddress: &order.Address{Name: "Bob <Bobby> & Co", Country: "FR"}}
	for i := range n {
		e.Lines = append(e.Lines, order.Line{SKU: fmt.Sprintf("SKU<%d>&", i), Quantity: 1, StoreLineID: fmt.Sprint(466157049 + i), Title: title(i)})
	}
	return e
}

func htmlTitle(i int) string {
	return strings.Repeat(fmt.Sprintf("<b>Bolts & nuts</b> M%d <x> ", i%10), 12)[:255]
}

func noise(seed uint64) func(int) string {
	r := rand.New(rand.NewPCG(seed, 1))
	return func(int) string {
		b := make([]byte, 255)
		for i := range b {
			b[i] = byte('(' + r.IntN(80))
		}
		return string(b)
	}
}

func TestEncodeMessage(t *testing.T) {
	tests := []struct {
		name       string
		event      order.Event
		wantPacked bool
	}{
		{"small", event(1, htmlTitle), false},
		{"500 lines of <, > and &: plain, as escaping would not be", event(500, htmlTitle), false},
		{"1000 lines: packed", event(1000, htmlTitle), true},
		{"one title of 6 MiB of U+FFFD: packed", event(1, func(int) string { return strings.Repeat("\uFFFD", 2<<20) }), true},
		{"U+FFFE and U+FFFF, which SQS refuses raw", event(1, func(int) string { return "a\uFFFEb\uFFFFc" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := order.EncodeMessage(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if len(body) > order.MaxMessageBodyBytes {
				t.Errorf("body of %d bytes, over %d", len(body), order.MaxMessageBodyBytes)
			}
			if packed := strings.HasPrefix(body, `{"encoding":"gzip","data":"`); packed != tt.wantPacked {
				t.Errorf("packed = %v, want %v (body %.80s…)", packed, tt.wantPacked, body)
			}
			for _, s := range []string{`\u003c`, `\u003e`, `\u0026`, "\uFFFE", "\uFFFF"} {
				if strings.Contains(body, s) {
					t.Errorf("body contains %q", s)
				}
			}
			got, err := order.DecodeMessage(body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.event) {
				t.Errorf("DecodeMessage(EncodeMessage(e)) is another event")
			}
		})
	}
}

func TestEncodeMessageTooLarge(t *testing.T) {
	e := event(1500, noise(1))
	body, err := order.EncodeMessage(e)
	if !errors.Is(err, order.ErrEventTooLarge) || body != "" {
		t.Fatalf("EncodeMessage = %d bytes, %v; want ErrEventTooLarge", len(body), err)
	}
}

// TestPackedMessageIsUnreadableToOldReaders: a reader that decodes bodies
// as plain events sees no connection in a packed one, and refuses it,
// rather than syncing an empty event.
func TestPackedMessageIsUnreadableToOldReaders(t *testing.T) {
	body, err := order.EncodeMessage(event(1000, htmlTitle))
	if err != nil {
		t.Fatal(err)
	}
	var e order.Event
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Connection != "" {
		t.Errorf("as a plain event: connection %q, err %v; want no connection", e.Connection, err)
	}
}

func TestDecodeMessage(t *testing.T) {
	want := event(2, htmlTitle)
	escaped, _ := json.Marshal(want) // as producers wrote it before EncodeMessage
	gz := func(b []byte) string {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		_, _ = w.Write(b)
		_ = w.Close()
		return base64.StdEncoding.EncodeToString(z.Bytes())
	}
	bomb := gz(bytes.Repeat([]byte(" "), 17<<20))
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{"HTML-escaped, as older producers wrote", string(escaped), false},
		{"packed by hand", `{"encoding":"gzip","data":"` + gz(escaped) + `"}`, false},
		{"not JSON", `{"connection":`, true},
		{"an unknown encoding", `{"encoding":"zstd","data":""}`, true},
		{"packed data that is not gzip", `{"encoding":"gzip","data":"bm90IGd6aXA="}`, true},
		{"packed data that is not an event", `{"encoding":"gzip","data":"` + gz([]byte("[1]")) + `"}`, true},
		{"packed data that inflates past any event", `{"encoding":"gzip","data":"` + bomb + `"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := order.DecodeMessage(tt.body)
			if tt.wantErr {
				if err == nil {
					t.Errorf("DecodeMessage = %+v, nil; want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("DecodeMessage = %+v, want %+v", got, want)
			}
		})
	}
}

// BenchmarkEncodeMessage measures the encoding of a large order, which
// the webhook does twice (its size check, then the enqueue).
func BenchmarkEncodeMessage(b *testing.B) {
	for _, n := range []int{500, 1000} {
		e := event(n, htmlTitle)
		b.Run(fmt.Sprint(n, " lines"), func(b *testing.B) {
			for b.Loop() {
				if _, err := order.EncodeMessage(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncodeMessageReusesNoBody: EncodeMessage keeps its buffers between
// calls; a body it returned is never written again, by the next call or a
// concurrent one.
func TestEncodeMessageReusesNoBody(t *testing.T) {
	events := []order.Event{event(1, htmlTitle), event(40, noise(1)), event(3, func(int) string { return "a\uFFFEb" })}
	want := make([]string, len(events))
	for i, e := range events {
		b, err := order.EncodeMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = strings.Clone(b)
	}
	done := make(chan []string)
	for range 4 {
		go func() {
			var got []string
			for range 50 {
				for _, e := range events {
					b, _ := order.EncodeMessage(e)
					got = append(got, b)
				}
			}
			done <- got
		}()
	}
	for range 4 {
		for i, b := range <-done {
			if b != want[i%len(events)] {
				t.Fatalf("body %d differs from the first encoding of its event:\n got %.80s\nwant %.80s", i, b, want[i%len(events)])
			}
		}
	}
}
