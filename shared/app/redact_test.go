package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
)

// TestTheLoggerRedactsPersonalData: whatever a path logs under a key that
// names personal data, or as a value holding a customer's data whole, the
// line holds none of it, and keeps the ids.
func TestTheLoggerRedactsPersonalData(t *testing.T) {
	addr := order.Address{Name: "Zephyrine Quatremains", Line1: "17 rue des Epinettes", Phone: "+33671829304"}
	tests := []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"keys", func(l *slog.Logger) {
			l.Info("m", "email", "zq@example.org", "Phone", "+33671829304", "name", "Zephyrine Quatremains", "line1", "17 rue des Epinettes")
		}},
		{"an address", func(l *slog.Logger) { l.Info("m", "to", addr) }},
		{"a pointer to an address", func(l *slog.Logger) { l.Info("m", "to", &addr) }},
		{"a state", func(l *slog.Logger) { l.Info("m", "state", order.State{ShippingAddress: &addr}) }},
		{"an event", func(l *slog.Logger) { l.Info("m", "event", order.Event{ShippingAddress: &addr}) }},
		{"in a group", func(l *slog.Logger) {
			l.Info("m", slog.Group("order", "shipping_address", addr, "email", "zq@example.org"))
		}},
		{"in With", func(l *slog.Logger) { l.With("customer", "Zephyrine Quatremains").Info("m") }},
		{"in With of a group", func(l *slog.Logger) { l.WithGroup("g").With("email", "zq@example.org").Info("m") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(newRedactor(slog.NewJSONHandler(&buf, nil)))
			tt.log(l.With("connection", "acme", "marketplace_order", "BM-1"))
			got := buf.String()
			for _, v := range []string{"Zephyrine", "Epinettes", "671829304", "zq@example.org"} {
				if strings.Contains(got, v) {
					t.Errorf("line holds %q: %s", v, got)
				}
			}
			if !strings.Contains(got, `"connection":"acme"`) || !strings.Contains(got, `"marketplace_order":"BM-1"`) {
				t.Errorf("line %s: want the ids kept", got)
			}
		})
	}
	t.Run("the rest untouched", func(t *testing.T) {
		var buf bytes.Buffer
		slog.New(newRedactor(slog.NewJSONHandler(&buf, nil))).Info("m", "err", errors.New("http 429"), "attempt", 2)
		if got := buf.String(); !strings.Contains(got, `"err":"http 429"`) || !strings.Contains(got, `"attempt":2`) {
			t.Errorf("line %s: want err and attempt as logged", got)
		}
	})
}

// TestTheLoggerHandsOnCleanRecords: a line with nothing to redact is
// written as the plain JSON handler writes it, and one line with one
// thing to redact still has the rest as logged.
func TestTheLoggerHandsOnCleanRecords(t *testing.T) {
	logBoth := func(log func(*slog.Logger)) (redacting, plain string) {
		var r, p bytes.Buffer
		opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}
		log(slog.New(newRedactor(slog.NewJSONHandler(&r, opts))))
		log(slog.New(slog.NewJSONHandler(&p, opts)))
		return r.String(), p.String()
	}
	clean := func(l *slog.Logger) {
		l.LogAttrs(context.Background(), slog.LevelInfo, "webhook accepted", slog.String("source", "shopify"),
			slog.String("connection", "acme"), slog.String("topic", "orders/updated"), slog.Int64("webhook_accepted", 1),
			slog.Any("err", errors.New("http 429")), slog.Any("ids", []string{"a", "b"}), slog.Bool("test", true))
	}
	if got, want := logBoth(clean); got != want {
		t.Errorf("clean line\n got %s\nwant %s", got, want)
	}
	got, _ := logBoth(func(l *slog.Logger) { l.Info("m", "connection", "acme", "email", "zq@example.org", "attempt", 2) })
	if want := `{"level":"INFO","msg":"m","connection":"acme","email":"[redacted]","attempt":2}` + "\n"; got != want {
		t.Errorf("line\n got %s\nwant %s", got, want)
	}
}
