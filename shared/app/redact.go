package app

import (
	"context"
	"log/slog"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
)

// redacted is what a redacted value is logged as.
const redacted = "[redacted]"

// personalKeys are the attribute keys that name personal data, lower
// case: a value logged under one is redacted, whoever logged it.
var personalKeys = map[string]bool{
	"name": true, "first_name": true, "last_name": true, "customer": true, "customer_name": true,
	"email": true, "customer_email": true, "phone": true, "phone_number": true,
	"address": true, "shipping_address": true, "billing_address": true,
	"line1": true, "line2": true, "street": true, "address1": true, "address2": true,
}

// redactor is the second line of defence of the logs against personal
// data (the first: no code path logs any, as infra/localsystem's
// TestLogsCarryIDsAndNoPersonalData shows): it redacts the value of every
// attribute whose key names personal data, and every value that holds a
// customer's data whole (an address, an order's state or event).
type redactor struct{ h slog.Handler }

func newRedactor(h slog.Handler) slog.Handler { return redactor{h} }

func (r redactor) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r redactor) Handle(ctx context.Context, rec slog.Record) error {
	clean := true
	rec.Attrs(func(a slog.Attr) bool {
		clean = !touched(a)
		return clean
	})
	if clean {
		// Nothing to redact (the webhook's every line): handed on as it
		// is, not copied attribute by attribute.
		return r.h.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redact(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redactor) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = redact(a)
	}
	return redactor{r.h.WithAttrs(out)}
}

func (r redactor) WithGroup(name string) slog.Handler { return redactor{r.h.WithGroup(name)} }

func redact(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if personalKeys[strings.ToLower(a.Key)] {
		return slog.String(a.Key, redacted)
	}
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = redact(ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if holdsCustomer(v.Any()) {
			return slog.String(a.Key, redacted)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// touched reports whether redact may return another attribute than a: its
// key names personal data, or its value holds a customer's data whole, or
// may (a group, a value still to resolve).
func touched(a slog.Attr) bool {
	if personalKeys[strings.ToLower(a.Key)] {
		return true
	}
	switch a.Value.Kind() {
	case slog.KindGroup, slog.KindLogValuer:
		return true
	case slog.KindAny:
		return holdsCustomer(a.Value.Any())
	}
	return false
}

// holdsCustomer reports whether v is one of the values that hold a
// customer's data whole.
func holdsCustomer(v any) bool {
	switch v.(type) {
	case order.Address, *order.Address, order.State, *order.State, order.Event, *order.Event,
		order.Override, *order.Override, order.MarketplaceOrder, *order.MarketplaceOrder:
		return true
	}
	return false
}
