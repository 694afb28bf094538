package shopify

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/webhook"
)

// webhookBodies are the webhook payloads of testdata: the fast pass must
// read each of them itself, not decline it.
var webhookBodies = []struct {
	file string
	kind string // order, fulfillment or refund
}{
	{"testdata/shopify_order_2008.json", "order"},
	{"testdata/shopify_order_2026-07.json", "order"},
	{"testdata/shopify_order_fulfilled_derived.json", "order"},
	{"testdata/shopify_fulfillment_2013.json", "fulfillment"},
	{"testdata/shopify_fulfillment_2026-07.json", "fulfillment"},
	{"testdata/shopify_refund_2026-07.json", "refund"},
}

// decodedAlike decodes body as kind both ways, the handler's (decodeOrder
// and its kin) and webhook.Decode's, and fails t unless both read the same
// value and return the same error.
func decodedAlike(t *testing.T, kind string, body []byte) {
	t.Helper()
	var got, want any
	var gotErr, wantErr error
	switch kind {
	case "order":
		var g, w webhookOrder
		gotErr, wantErr = decodeOrder(body, &g), webhook.Decode(body, &w)
		got, want = g, w
	case "fulfillment":
		var g, w webhookFulfillment
		gotErr, wantErr = decodeFulfillment(body, &g), webhook.Decode(body, &w)
		got, want = g, w
	case "refund":
		var g, w webhookRefund
		gotErr, wantErr = decodeRefund(body, &g), webhook.Decode(body, &w)
		got, want = g, w
	}
	if !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("%s %.120q: error %v, webhook.Decode's %v", kind, body, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s %.120q:\n got %+v\nwant %+v (webhook.Decode)", kind, body, got, want)
	}
}

// fastReads reports whether the one-pass read takes body as kind itself.
func fastReads(kind string, body []byte) bool {
	s := scan{b: body}
	switch kind {
	case "order":
		var o webhookOrder
		return s.top(func() bool { return s.order(&o) })
	case "fulfillment":
		var f webhookFulfillment
		return s.top(func() bool { return s.fulfillment(&f) })
	}
	var r webhookRefund
	return s.top(func() bool { return s.refund(&r) })
}

func TestDecodeReadsTestdataInOnePass(t *testing.T) {
	for _, w := range webhookBodies {
		body, err := os.ReadFile(w.file)
		if err != nil {
			t.Fatal(err)
		}
		if !fastReads(w.kind, body) {
			t.Errorf("%s: the one-pass read declined it", w.file)
		}
		decodedAlike(t, w.kind, body)
	}
}

// decodeCases are bodies at the edges of encoding/json's rules: each is
// read as webhook.Decode reads it, whether the one-pass read takes it
// (want true) or leaves it to webhook.Decode.
var decodeCases = []struct {
	name, kind, body string
	fast             bool
}{
	{"minimal", "order", `{"id":1}`, true},
	{"white space around and inside", "order", " \t\n{ \"id\" : 1 , \"name\" : \"#1\" }\r\n", true},
	{"unknown members of every kind", "order", `{"id":1,"x":{"a":[1,2.5e-3,-0,true,false,null,"s",{"b":{}}],"c":[]},"y":"\u00e9\"\\"}`, true},
	{"nulls", "order", `{"id":"1","name":null,"test":null,"line_items":null,"shipping_address":null,"cancelled_at":null,"note_attributes":null}`, true},
	{"empty arrays are empty slices", "order", `{"id":1,"line_items":[],"fulfillments":[],"refunds":[],"note_attributes":[]}`, true},
	{"test false", "order", `{"id":1,"test":false}`, true},
	{"test true", "order", `{"id":1,"test":true}`, true},
	{"quantity as text and as a float", "order", `{"id":1,"line_items":[{"id":1,"quantity":"2"},{"id":2,"quantity":3.0}]}`, true},
	{"escapes in a name", "order", `{"id":1,"name":"#1\u0030\/\n"}`, true},
	{"invalid UTF-8 in a name", "order", "{\"id\":1,\"name\":\"\xff#1\"}", true},
	{"invalid UTF-8 in a text", "order", "{\"id\":1,\"cancel_reason\":\"\xffx\"}", true},
	{"stamps", "order", `{"id":1,"created_at":"2026-07-01T10:00:00-04:00","updated_at":1750000000,"cancelled_at":""}`, true},
	{"line item, address, fulfillment and refund", "order", `{"id":1,"line_items":[{"id":5,"sku":" A ","quantity":1,"name":"n","title":"t"}],` +
		`"shipping_address":{"first_name":"B","country_code":"us","zip":10001},` +
		`"fulfillments":[{"id":9,"status":"success","tracking_numbers":["1Z",null],"line_items":[{"id":5,"quantity":1}]}],` +
		`"refunds":[{"id":7,"refund_line_items":[{"line_item_id":5,"quantity":1,"restock_type":"return","line_item":{"id":5,"sku":"A"}},{"line_item":null}]}]}`, true},

	// Left to webhook.Decode, which reads them its own way or refuses them.
	{"a key twice", "order", `{"id":1,"id":2}`, false},
	{"a shipping address twice", "order", `{"id":1,"shipping_address":{"city":"A"},"shipping_address":{"zip":"1"}}`, false},
	{"a key in capitals", "order", `{"ID":1}`, false},
	{"a key escaped", "order", `{"\u0069d":1}`, false},
	{"a key not ASCII", "order", "{\"id\":1,\"pr\u00e9nom\":\"x\"}", false},
	{"a Kelvin sign in a key", "order", "{\"id\":1,\"\u212aey\":1}", false},
	{"a null line item", "order", `{"id":1,"line_items":[null]}`, false},
	{"line items not an array", "order", `{"id":1,"line_items":{}}`, false},
	{"a text that is an object", "order", `{"id":{"a":1}}`, false},
	{"a name that is a number", "order", `{"id":1,"name":1001}`, false},
	{"test as a string", "order", `{"id":1,"test":"true"}`, false},
	{"quantity not an integer", "order", `{"id":1,"line_items":[{"quantity":1.5}]}`, false},
	{"a bad stamp", "order", `{"id":1,"created_at":"noon"}`, false},
	{"trailing data", "order", `{"id":1} x`, false},
	{"two values", "order", `{"id":1}{}`, false},
	{"not an object", "order", `[{"id":1}]`, false},
	{"empty", "order", ``, false},
	{"blank", "order", " \n", false},
	{"unterminated", "order", `{"id":1`, false},
	{"a trailing comma", "order", `{"id":1,}`, false},
	{"a leading zero", "order", `{"id":01}`, false},
	{"a bare minus", "order", `{"x":-}`, false},
	{"a bad escape", "order", `{"x":"\q"}`, false},
	{"a short unicode escape", "order", `{"x":"\u12"}`, false},
	{"a control character", "order", "{\"x\":\"a\tb\"}", false},
	{"a misspelt literal", "order", `{"x":nul}`, false},
	{"deep nesting", "order", `{"x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, false},
	{"too deep for encoding/json", "order", `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, false},
	{"fulfillment, tracking lists", "fulfillment", `{"id":1,"order_id":2,"name":"#1001.1","tracking_urls":["u"],"tracking_numbers":[]}`, true},
	{"fulfillment, tracking numbers not a list", "fulfillment", `{"id":1,"order_id":2,"tracking_numbers":"1Z"}`, false},
	{"refund", "refund", `{"id":1,"order_id":2,"processed_at":"2026-07-01T10:00:00Z","refund_line_items":[{"quantity":"1","line_item":{"fulfillment_status":null}}]}`, true},
	{"refund, a line item that is a list", "refund", `{"id":1,"order_id":2,"refund_line_items":[{"line_item":[]}]}`, false},
}

func TestDecodeAsWebhookDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := fastReads(tc.kind, []byte(tc.body)); got != tc.fast {
				t.Errorf("read in one pass: %v, want %v", got, tc.fast)
			}
			decodedAlike(t, tc.kind, []byte(tc.body))
		})
	}
}

// FuzzDecode: whatever the body, the handler's read of it is
// webhook.Decode's, value and error.
func FuzzDecode(f *testing.F) {
	for _, w := range webhookBodies {
		body, err := os.ReadFile(w.file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, tc := range decodeCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, kind := range []string{"order", "fulfillment", "refund"} {
			decodedAlike(t, kind, body)
		}
	})
}

// TestTheOnePassReadsEveryField: each struct's keys, as the one pass reads
// them, are its fields' json names in order, so a field added to a webhook
// struct without its place in the pass fails here rather than being
// skipped, unread, by the pass.
func TestTheOnePassReadsEveryField(t *testing.T) {
	var refundLine webhookRefundLineItem
	for _, tc := range []struct {
		of    any
		names []string
	}{
		{webhookOrder{}, webhookOrderFields},
		{webhookAttribute{}, webhookAttributeFields},
		{webhookLineItem{}, webhookLineItemFields},
		{webhookAddress{}, webhookAddressFields},
		{webhookFulfillment{}, webhookFulfillmentFields},
		{webhookRefund{}, webhookRefundFields},
		{refundLine, webhookRefundLineItemFields},
		{refundLine.LineItem, webhookRefundedItemFields},
	} {
		typ := reflect.TypeOf(tc.of)
		var tags []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			tags = append(tags, name)
		}
		if !slices.Equal(tags, tc.names) {
			t.Errorf("%v: the one pass reads %v, the struct's fields are %v", typ, tc.names, tags)
		}
	}
}
