package order

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// appendEvent appends e's JSON as encoding/json writes it with HTML
// escaping off (field order, omitempty and omitzero as Event's tags say),
// without reflection: the webhook writes one event a delivery. It reports
// false for what it does not write itself (a string to escape, a time
// encoding/json would refuse), and marshalEvent then encodes e with
// encoding/json. message_test.go holds the two alike, for every field.
func appendEvent(b []byte, e Event) ([]byte, bool) {
	ok := true
	str := func(key, s string, omitEmpty bool) {
		if omitEmpty && s == "" {
			return
		}
		b = append(b, key...)
		b, ok = appendPlainString(b, s, ok)
	}
	b = append(b, '{')
	str(`"connection":`, e.Connection, false)
	str(`,"source":`, string(e.Source), false)
	str(`,"source_event_id":`, e.SourceEventID, false)
	str(`,"topic":`, e.Topic, true)
	b = append(b, `,"occurred_at":`...)
	b, ok = appendTime(b, e.OccurredAt, ok)
	b = append(b, `,"order":{`...)
	n := len(b)
	first := func(key string) string { // the key, with its comma unless it opens the object
		if len(b) == n {
			return key[1:]
		}
		return key
	}
	str(first(`,"store_order_id":`), e.Order.StoreOrderID, true)
	str(first(`,"store_order_name":`), e.Order.StoreOrderName, true)
	str(first(`,"marketplace_order_id":`), e.Order.MarketplaceOrderID, true)
	str(first(`,"claimed_marketplace_order_id":`), e.Order.ClaimedMarketplaceOrderID, true)
	b = append(b, '}')
	str(`,"status":`, string(e.Status), true)
	str(`,"source_status":`, e.SourceStatus, true)
	if len(e.Lines) > 0 {
		b = append(b, `,"lines":`...)
		b, ok = appendLines(b, e.Lines, ok)
	}
	if a := e.ShippingAddress; a != nil {
		b = append(b, `,"shipping_address":{`...)
		n = len(b)
		str(first(`,"name":`), a.Name, true)
		str(first(`,"company":`), a.Company, true)
		str(first(`,"line1":`), a.Line1, true)
		str(first(`,"line2":`), a.Line2, true)
		str(first(`,"city":`), a.City, true)
		str(first(`,"postal_code":`), a.PostalCode, true)
		str(first(`,"region":`), a.Region, true)
		str(first(`,"country":`), a.Country, true)
		str(first(`,"phone":`), a.Phone, true)
		b = append(b, '}')
	}
	if len(e.Parcels) > 0 {
		b = append(b, `,"parcels":[`...)
		for i, p := range e.Parcels {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			n = len(b)
			str(first(`,"id":`), p.ID, true)
			b = append(b, first(`,"tracking":{`)...)
			n = len(b)
			str(first(`,"number":`), p.Tracking.Number, true)
			str(first(`,"carrier":`), p.Tracking.Carrier, true)
			str(first(`,"url":`), p.Tracking.URL, true)
			b = append(b, '}')
			if len(p.Lines) > 0 {
				b = append(b, `,"lines":`...)
				b, ok = appendLines(b, p.Lines, ok)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	str(`,"cancel_reason":`, e.CancelReason, true)
	if len(e.Refunds) > 0 {
		b = append(b, `,"refunds":[`...)
		for i, r := range e.Refunds {
			if i > 0 {
				b = append(b, ',')
			}
			str(`{"id":`, r.ID, false)
			str(`,"kind":`, string(r.Kind), false)
			if !r.At.IsZero() {
				b = append(b, `,"at":`...)
				b, ok = appendTime(b, r.At, ok)
			}
			if len(r.Lines) > 0 {
				b = append(b, `,"lines":`...)
				b, ok = appendLines(b, r.Lines, ok)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if e.Test {
		b = append(b, `,"test":true`...)
	}
	if e.Fetch {
		b = append(b, `,"fetch":true`...)
	}
	str(`,"intent":`, string(e.Intent), true)
	return append(b, '}'), ok
}

func appendLines(b []byte, lines []Line, ok bool) ([]byte, bool) {
	b = append(b, '[')
	for i, l := range lines {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sku":`...)
		b, ok = appendPlainString(b, l.SKU, ok)
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, int64(l.Quantity), 10)
		for _, f := range [...]struct{ key, v string }{
			{`,"store_line_id":`, l.StoreLineID}, {`,"marketplace_line_id":`, l.MarketplaceLineID}, {`,"title":`, l.Title}} {
			if f.v != "" {
				b = append(b, f.key...)
				b, ok = appendPlainString(b, f.v, ok)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), ok
}

// appendPlainString appends s quoted, when encoding/json (HTML escaping
// off) writes it as it is: valid UTF-8 with no control character, quote,
// backslash, U+2028 or U+2029. Otherwise it reports false.
func appendPlainString(b []byte, s string, ok bool) ([]byte, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == '"' || c == '\\':
			return b, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && (!utf8.ValidString(s) || strings.Contains(s, "\u2028") || strings.Contains(s, "\u2029")) {
		return b, false
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), ok
}

// appendTime appends t as time.Time's MarshalJSON writes it, for the
// years it writes (0 to 9999) in a zone of whole minutes under 24 hours.
func appendTime(b []byte, t time.Time, ok bool) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	if _, off := t.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), ok
}
