package shopify

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/ordersync/ordersync/shared/webhook"
)

// The webhook bodies are read in one pass over the bytes, straight into
// the fields ordersync reads (webhookOrder, webhookFulfillment,
// webhookRefund), validating the whole body as JSON on the way; each
// value goes through the same webhook.Text, Count and Stamp methods
// encoding/json would call, with the same bytes. Whatever that pass is not
// sure to read exactly as encoding/json does (a syntax error, a value of
// another type, a key given twice or matched only case-insensitively, an
// escaped key, nesting past maxDepth) it declines, and the body is read
// by webhook.Decode instead, which gives the answer and every refusal.
// So a body is read as before, only faster; decode_test.go holds that.

// decodeOrder reads an order webhook's body into o, as webhook.Decode does.
func decodeOrder(body []byte, o *webhookOrder) error {
	s := scan{b: body}
	if s.top(func() bool { return s.order(o) }) {
		return nil
	}
	*o = webhookOrder{}
	return webhook.Decode(body, o)
}

// decodeFulfillment reads a fulfillment webhook's body into f, as
// webhook.Decode does.
func decodeFulfillment(body []byte, f *webhookFulfillment) error {
	s := scan{b: body}
	if s.top(func() bool { return s.fulfillment(f) }) {
		return nil
	}
	*f = webhookFulfillment{}
	return webhook.Decode(body, f)
}

// decodeRefund reads a refund webhook's body into r, as webhook.Decode
// does.
func decodeRefund(body []byte, r *webhookRefund) error {
	s := scan{b: body}
	if s.top(func() bool { return s.refund(r) }) {
		return nil
	}
	*r = webhookRefund{}
	return webhook.Decode(body, r)
}

// maxDepth is how deep the fast pass nests; deeper bodies are left to
// encoding/json (whose own limit is 10000).
const maxDepth = 512

// scan reads JSON from b at i. Each method reports false when it declines.
type scan struct {
	b     []byte
	i     int
	depth int
}

// top reads the whole body as one value, by value, with only white space
// around it.
func (s *scan) top(value func() bool) bool {
	s.ws()
	if !value() {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

func (s *scan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte past white space, 0 at the end.
func (s *scan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// skip reads one value of any kind.
func (s *scan) skip() bool {
	switch c := s.peek(); {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{':
		return s.object(func([]byte, bool) bool { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.num()
	}
	return false
}

// raw reads one value of any kind and returns its bytes.
func (s *scan) raw() ([]byte, bool) {
	s.ws()
	start := s.i
	if !s.skip() {
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *scan) lit(word string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// num reads a number as JSON spells one.
func (s *scan) num() bool {
	b, i := s.b, s.i
	digits := func() int {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	s.i = i
	return true
}

// str reads a string literal, reporting whether it holds an escape.
func (s *scan) str() (escaped, ok bool) {
	b := s.b
	i := s.i + 1
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return escaped, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return escaped, false
				}
				for _, h := range b[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return escaped, false
					}
				}
				i += 6
			default:
				return escaped, false
			}
		case c < 0x20:
			return escaped, false
		default:
			i++
		}
	}
	return escaped, false
}

// object reads an object, calling member with each key (its bytes
// between the quotes, and whether they hold an escape) with the scan at
// the member's value.
func (s *scan) object(member func(key []byte, escaped bool) bool) bool {
	if s.peek() != '{' || s.depth >= maxDepth {
		return false
	}
	s.depth++
	s.i++
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		start := s.i
		escaped, ok := s.str()
		if !ok {
			return false
		}
		key := s.b[start+1 : s.i-1]
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.ws()
		if !member(key, escaped) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// array reads an array, calling elem with the scan at each element.
func (s *scan) array(elem func() bool) bool {
	if s.peek() != '[' || s.depth >= maxDepth {
		return false
	}
	s.depth++
	s.i++
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// fields reads an object into a struct whose JSON names are names:
// field(i) reads the value of names[i]. Other keys' values are skipped; a
// key that matches one of names only case-insensitively, or is escaped or
// not ASCII, or a name given twice, is declined (encoding/json's rules for
// those are left to it).
func (s *scan) fields(names []string, field func(i int) bool) bool {
	var seen uint64
	return s.object(func(key []byte, escaped bool) bool {
		if escaped {
			return false
		}
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return false
			}
		}
		for i, name := range names {
			if string(key) == name {
				if seen&(1<<i) != 0 {
					return false
				}
				seen |= 1 << i
				return field(i)
			}
		}
		for _, name := range names {
			if len(key) == len(name) && strings.EqualFold(string(key), name) {
				return false
			}
		}
		return s.skip()
	})
}

// text reads a webhook.Text: a string, number, boolean or null.
func (s *scan) text(t *webhook.Text) bool {
	if c := s.peek(); c == '{' || c == '[' {
		return false
	}
	raw, ok := s.raw()
	return ok && t.UnmarshalJSON(raw) == nil
}

// count reads a webhook.Count.
func (s *scan) count(n *webhook.Count) bool {
	if c := s.peek(); c == '{' || c == '[' {
		return false
	}
	raw, ok := s.raw()
	return ok && n.UnmarshalJSON(raw) == nil
}

// stamp reads a webhook.Stamp.
func (s *scan) stamp(t *webhook.Stamp) bool {
	if c := s.peek(); c == '{' || c == '[' {
		return false
	}
	raw, ok := s.raw()
	return ok && t.UnmarshalJSON(raw) == nil
}

// plain reads a Go string field: a string, or null (which leaves it as it
// is, as encoding/json does).
func (s *scan) plain(p *string) bool {
	switch s.peek() {
	case 'n':
		return s.lit("null")
	case '"':
	default:
		return false
	}
	start := s.i
	escaped, ok := s.str()
	if !ok {
		return false
	}
	raw := s.b[start:s.i]
	if in := raw[1 : len(raw)-1]; !escaped && utf8.Valid(in) {
		*p = string(in)
		return true
	}
	return json.Unmarshal(raw, p) == nil // escapes, or bytes to replace: encoding/json's own way
}

// boolPtr reads a *bool: true, false, or null (nil).
func (s *scan) boolPtr(p **bool) bool {
	switch s.peek() {
	case 'n':
		*p = nil
		return s.lit("null")
	case 't':
		v := true
		*p = &v
		return s.lit("true")
	case 'f':
		v := false
		*p = &v
		return s.lit("false")
	}
	return false
}

// sliceOf reads a slice: null (nil) or an array, each element by elem;
// an empty array is an empty slice, not nil, as encoding/json makes it.
func sliceOf[T any](s *scan, p *[]T, elem func(*T) bool) bool {
	switch s.peek() {
	case 'n':
		*p = nil
		return s.lit("null")
	case '[':
	default:
		return false
	}
	out := []T{}
	ok := s.array(func() bool {
		var e T
		if !elem(&e) {
			return false
		}
		out = append(out, e)
		return true
	})
	if ok {
		*p = out
	}
	return ok
}

var webhookOrderFields = []string{"id", "name", "created_at", "updated_at", "cancelled_at", "cancel_reason",
	"financial_status", "fulfillment_status", "test", "note_attributes", "source_name", "source_identifier",
	"line_items", "shipping_address", "fulfillments", "refunds"}

func (s *scan) order(o *webhookOrder) bool {
	return s.fields(webhookOrderFields, func(i int) bool {
		switch i {
		case 0:
			return s.text(&o.ID)
		case 1:
			return s.plain(&o.Name)
		case 2:
			return s.stamp(&o.CreatedAt)
		case 3:
			return s.stamp(&o.UpdatedAt)
		case 4:
			return s.stamp(&o.CancelledAt)
		case 5:
			return s.text(&o.CancelReason)
		case 6:
			return s.text(&o.FinancialStatus)
		case 7:
			return s.text(&o.FulfillmentStatus)
		case 8:
			return s.boolPtr(&o.Test)
		case 9:
			return sliceOf(s, &o.NoteAttributes, s.attribute)
		case 10:
			return s.text(&o.SourceName)
		case 11:
			return s.text(&o.SourceIdentifier)
		case 12:
			return sliceOf(s, &o.LineItems, s.lineItem)
		case 13:
			switch s.peek() {
			case 'n':
				o.ShippingAddress = nil
				return s.lit("null")
			case '{':
				o.ShippingAddress = new(webhookAddress)
				return s.address(o.ShippingAddress)
			}
			return false
		case 14:
			return sliceOf(s, &o.Fulfillments, s.fulfillment)
		case 15:
			return sliceOf(s, &o.Refunds, s.refund)
		}
		return false
	})
}

var webhookAttributeFields = []string{"name", "value"}

func (s *scan) attribute(a *webhookAttribute) bool {
	return s.fields(webhookAttributeFields, func(i int) bool {
		if i == 0 {
			return s.text(&a.Name)
		}
		return s.text(&a.Value)
	})
}

var webhookLineItemFields = []string{"id", "sku", "quantity", "name", "title"}

func (s *scan) lineItem(li *webhookLineItem) bool {
	return s.fields(webhookLineItemFields, func(i int) bool {
		switch i {
		case 0:
			return s.text(&li.ID)
		case 1:
			return s.text(&li.SKU)
		case 2:
			return s.count(&li.Quantity)
		case 3:
			return s.text(&li.Name)
		}
		return s.text(&li.Title)
	})
}

var webhookAddressFields = []string{"name", "first_name", "last_name", "company", "address1", "address2",
	"city", "zip", "province", "province_code", "country_code", "phone"}

func (s *scan) address(a *webhookAddress) bool {
	// Every field is text: the one at webhookAddressFields[i] is texts[i].
	texts := [...]*webhook.Text{&a.Name, &a.FirstName, &a.LastName, &a.Company, &a.Address1, &a.Address2,
		&a.City, &a.Zip, &a.Province, &a.ProvinceCode, &a.CountryCode, &a.Phone}
	return s.fields(webhookAddressFields, func(i int) bool { return s.text(texts[i]) })
}

var webhookFulfillmentFields = []string{"id", "order_id", "name", "status", "created_at", "updated_at",
	"tracking_company", "tracking_number", "tracking_numbers", "tracking_url", "tracking_urls", "line_items"}

func (s *scan) fulfillment(f *webhookFulfillment) bool {
	return s.fields(webhookFulfillmentFields, func(i int) bool {
		switch i {
		case 0:
			return s.text(&f.ID)
		case 1:
			return s.text(&f.OrderID)
		case 2:
			return s.text(&f.Name)
		case 3:
			return s.text(&f.Status)
		case 4:
			return s.stamp(&f.CreatedAt)
		case 5:
			return s.stamp(&f.UpdatedAt)
		case 6:
			return s.text(&f.TrackingCompany)
		case 7:
			return s.text(&f.TrackingNumber)
		case 8:
			return sliceOf(s, &f.TrackingNumbers, s.text)
		case 9:
			return s.text(&f.TrackingURL)
		case 10:
			return sliceOf(s, &f.TrackingURLs, s.text)
		}
		return sliceOf(s, &f.LineItems, s.lineItem)
	})
}

var webhookRefundFields = []string{"id", "order_id", "created_at", "processed_at", "refund_line_items"}

func (s *scan) refund(r *webhookRefund) bool {
	return s.fields(webhookRefundFields, func(i int) bool {
		switch i {
		case 0:
			return s.text(&r.ID)
		case 1:
			return s.text(&r.OrderID)
		case 2:
			return s.stamp(&r.CreatedAt)
		case 3:
			return s.stamp(&r.ProcessedAt)
		}
		return sliceOf(s, &r.RefundLineItems, s.refundLineItem)
	})
}

var webhookRefundLineItemFields = []string{"line_item_id", "quantity", "restock_type", "line_item"}

var webhookRefundedItemFields = []string{"id", "sku", "fulfillment_status"}

func (s *scan) refundLineItem(li *webhookRefundLineItem) bool {
	return s.fields(webhookRefundLineItemFields, func(i int) bool {
		switch i {
		case 0:
			return s.text(&li.LineItemID)
		case 1:
			return s.count(&li.Quantity)
		case 2:
			return s.text(&li.RestockType)
		}
		if s.peek() == 'n' {
			return s.lit("null") // a struct: null leaves it as it is
		}
		item := &li.LineItem
		return s.fields(webhookRefundedItemFields, func(i int) bool {
			switch i {
			case 0:
				return s.text(&item.ID)
			case 1:
				return s.text(&item.SKU)
			}
			return s.text(&item.FulfillmentStatus)
		})
	})
}
