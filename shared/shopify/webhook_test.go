package shopify_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/webhook"
	"github.com/ordersync/ordersync/shared/webhook/webhooktest"
)

func webhookTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseWebhookOrder(t *testing.T) {
	e, err := shopify.ParseWebhook("orders/updated", "evt-1", webhookTestdata(t, "shopify_order_2026-07.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := order.Event{
		Source:        order.Shopify,
		SourceEventID: "evt-1",
		Topic:         "orders/updated",
		OccurredAt:    time.Date(2008, 1, 10, 16, 0, 0, 0, time.UTC),
		Order:         order.Ref{StoreOrderID: "450789469", StoreOrderName: "#1001"},
		// partially_refunded, not fulfilled, not cancelled: still to ship.
		Status:       order.StatusAccepted,
		SourceStatus: "partially_refunded/unfulfilled",
		Lines: []order.Line{
			{SKU: "IPOD2008GREEN", Quantity: 1, StoreLineID: "466157049", Title: "IPod Nano - 8gb - green"},
			{SKU: "IPOD2008RED", Quantity: 1, StoreLineID: "518995019", Title: "IPod Nano - 8gb - red"},
			{SKU: "IPOD2008BLACK", Quantity: 1, StoreLineID: "703073504", Title: "IPod Nano - 8gb - black"},
		},
		ShippingAddress: &order.Address{
			Name: "Bob Norman", Line1: "Chestnut Street 92", City: "Louisville", PostalCode: "40202",
			Region: "KY", Country: "US", Phone: "+1(502)-459-2181",
		},
		// Its one fulfillment has status "failure": no parcel.
		// Its refund restocks both fulfilled-in-name-only lines
		// (legacy_restock, no parcel): they were cancelled before shipping.
		Refunds: []order.Refund{{ID: "509562969/cancel", Kind: order.RefundCancel,
			At: time.Date(2025, 7, 2, 16, 29, 59, 0, time.UTC),
			Lines: []order.Line{{SKU: "IPOD2008BLACK", Quantity: 1, StoreLineID: "703073504"},
				{SKU: "IPOD2008GREEN", Quantity: 1, StoreLineID: "466157049"}}}},
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("ParseWebhook:\n got %+v\nwant %+v", e, want)
	}
}

func TestParseWebhookFulfilledImportedOrder(t *testing.T) {
	e, err := shopify.ParseWebhook("orders/fulfilled", "evt-2", webhookTestdata(t, "shopify_order_fulfilled_derived.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Order, (order.Ref{StoreOrderID: "450789469", StoreOrderName: "#1001", MarketplaceOrderID: "BM-123456", ClaimedMarketplaceOrderID: "BM-123456"}); got != want {
		t.Errorf("Order = %+v, want %+v", got, want)
	}
	if e.Status != order.StatusShipped {
		t.Errorf("Status = %q, want %q", e.Status, order.StatusShipped)
	}
	want := []order.Parcel{{
		ID: "255858046",
		Tracking: order.Tracking{
			Number:  "1Z1234512345123456",
			Carrier: "USPS",
			URL:     "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=1Z1234512345123456",
		},
		Lines: []order.Line{{SKU: "IPOD2008GREEN", Quantity: 1, StoreLineID: "466157049", Title: "IPod Nano - 8gb - green"}},
	}}
	if !reflect.DeepEqual(e.Parcels, want) {
		t.Errorf("Parcels:\n got %+v\nwant %+v", e.Parcels, want)
	}
}

func TestParseWebhookOlderOrder(t *testing.T) {
	e, err := shopify.ParseWebhook("orders/create", "evt-3", webhookTestdata(t, "shopify_order_2008.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != order.StatusAccepted || e.SourceStatus != "authorized/unfulfilled" {
		t.Errorf("Status, SourceStatus = %q, %q; want accepted, authorized/unfulfilled", e.Status, e.SourceStatus)
	}
	if len(e.Lines) != 3 || e.ShippingAddress == nil || e.ShippingAddress.Region != "KY" {
		t.Errorf("Lines = %d, address = %+v; want 3 lines and an address in KY", len(e.Lines), e.ShippingAddress)
	}
	if len(e.Parcels) != 0 {
		t.Errorf("Parcels = %+v, want none (the fulfillment failed)", e.Parcels)
	}
}

func TestParseWebhookFulfillment(t *testing.T) {
	tests := []struct {
		file string
		want order.Event
	}{
		{"shopify_fulfillment_2026-07.json", order.Event{
			Source: order.Shopify, SourceEventID: "evt-4", Topic: "fulfillments/create",
			OccurredAt:   time.Date(2025, 7, 2, 16, 38, 43, 0, time.UTC),
			Order:        order.Ref{StoreOrderID: "450789469", StoreOrderName: "#1001"},
			SourceStatus: "success",
			Parcels: []order.Parcel{{
				ID: "1069019877",
				Tracking: order.Tracking{Number: "MS1562678",
					URL: "https://www.my-shipping-company.com?tracking_number=MS1562678"},
				Lines: []order.Line{{SKU: "crafty_shoes_red", Quantity: 1, StoreLineID: "1071823216", Title: "Crafty Shoes - Red - Small"}},
			}},
		}},
		{"shopify_fulfillment_2013.json", order.Event{
			Source: order.Shopify, SourceEventID: "evt-4", Topic: "fulfillments/create",
			OccurredAt:   time.Date(2013, 11, 1, 20, 6, 8, 0, time.UTC),
			Order:        order.Ref{StoreOrderID: "450789469"}, // no fulfillment name in this payload
			SourceStatus: "pending",
			Parcels: []order.Parcel{{
				ID:       "255858046",
				Tracking: order.Tracking{Number: "1Z2345", Carrier: "null-company", URL: "http://www.google.com/search?q=1Z2345"},
				Lines:    []order.Line{{SKU: "IPOD2008GREEN", Quantity: 1, StoreLineID: "466157049", Title: "IPod Nano - 8gb - green"}},
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e, err := shopify.ParseWebhook("fulfillments/create", "evt-4", webhookTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e, tt.want) {
				t.Fatalf("ParseWebhook:\n got %+v\nwant %+v", e, tt.want)
			}
		})
	}
}

func TestParseWebhookCases(t *testing.T) {
	tests := []struct {
		name, topic, body string
		wantCode          webhook.Code
		check             func(t *testing.T, e order.Event)
	}{
		{name: "cancelled order", topic: "orders/cancelled",
			body: `{"id":1,"name":"#1","financial_status":"refunded","cancelled_at":"2026-01-02T03:04:05Z","cancel_reason":"customer","updated_at":"2026-01-02T03:04:06Z"}`,
			check: func(t *testing.T, e order.Event) {
				if e.Status != order.StatusCancelled || e.CancelReason != "customer" || e.SourceStatus != "refunded/unfulfilled/cancelled" {
					t.Errorf("got status %q, reason %q, source %q", e.Status, e.CancelReason, e.SourceStatus)
				}
			}},
		{name: "unknown financial status keeps the event", topic: "orders/updated",
			body: `{"id":1,"financial_status":"brand_new_state"}`,
			check: func(t *testing.T, e order.Event) {
				if e.Status != order.StatusUnknown || e.SourceStatus != "brand_new_state/unfulfilled" {
					t.Errorf("got status %q, source %q", e.Status, e.SourceStatus)
				}
			}},
		{name: "id as a string and beyond float64", topic: "orders/create",
			body: `{"id":"9007199254740993","financial_status":"paid","test":true}`,
			check: func(t *testing.T, e order.Event) {
				if e.Order.StoreOrderID != "9007199254740993" || !e.Test {
					t.Errorf("got id %q, test %v", e.Order.StoreOrderID, e.Test)
				}
			}},
		{name: "big numeric id kept exactly", topic: "orders/create", body: `{"id":9007199254740993}`,
			check: func(t *testing.T, e order.Event) {
				if e.Order.StoreOrderID != "9007199254740993" {
					t.Errorf("got id %q", e.Order.StoreOrderID)
				}
			}},
		{name: "fulfillment without tracking is not an error", topic: "fulfillments/update",
			body: `{"id":5,"order_id":1,"status":"success","name":"#1.1","tracking_number":null,"tracking_numbers":[],"line_items":[{"id":9,"sku":"A","quantity":2}]}`,
			check: func(t *testing.T, e order.Event) {
				want := []order.Parcel{{ID: "5", Lines: []order.Line{{SKU: "A", Quantity: 2, StoreLineID: "9"}}}}
				if !reflect.DeepEqual(e.Parcels, want) || e.Order.StoreOrderName != "#1" {
					t.Errorf("got parcels %+v, name %q", e.Parcels, e.Order.StoreOrderName)
				}
			}},
		{name: "tracking from the lists", topic: "fulfillments/update",
			body: `{"id":5,"order_id":1,"status":"success","tracking_numbers":["N1","N2"],"tracking_urls":["U1"]}`,
			check: func(t *testing.T, e order.Event) {
				if got := e.Parcels[0].Tracking; got != (order.Tracking{Number: "N1", URL: "U1"}) {
					t.Errorf("got tracking %+v", got)
				}
			}},
		{name: "cancelled fulfillment has no parcel", topic: "fulfillments/update",
			body: `{"id":5,"order_id":1,"status":"cancelled","tracking_number":"N1"}`,
			check: func(t *testing.T, e order.Event) {
				if len(e.Parcels) != 0 || e.SourceStatus != "cancelled" {
					t.Errorf("got parcels %+v, source %q", e.Parcels, e.SourceStatus)
				}
			}},
		{name: "topic is case-insensitive", topic: "Orders/Create", body: `{"id":1}`},
		{name: "unsupported topic", topic: "products/create", body: `{"id":1}`, wantCode: webhook.CodeTopicUnsupported},
		{name: "empty body", topic: "orders/create", body: ``, wantCode: webhook.CodeMalformedJSON},
		{name: "not JSON", topic: "orders/create", body: `{"id":`, wantCode: webhook.CodeMalformedJSON},
		{name: "an array", topic: "orders/create", body: `[]`, wantCode: webhook.CodeMalformedJSON},
		{name: "missing id", topic: "orders/create", body: `{"name":"#1"}`, wantCode: webhook.CodeMissingField},
		{name: "id is an object", topic: "orders/create", body: `{"id":{}}`, wantCode: webhook.CodeInvalidField},
		{name: "fractional quantity", topic: "orders/create", body: `{"id":1,"line_items":[{"sku":"A","quantity":1.5}]}`, wantCode: webhook.CodeInvalidField},
		{name: "bad time", topic: "orders/create", body: `{"id":1,"updated_at":"yesterday"}`, wantCode: webhook.CodeInvalidField},
		{name: "fulfillment without order_id", topic: "fulfillments/create", body: `{"id":5}`, wantCode: webhook.CodeMissingField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := shopify.ParseWebhook(tt.topic, "evt", []byte(tt.body))
			if got := webhook.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code = %q (err %v), want %q", got, err, tt.wantCode)
			}
			if err == nil && tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func TestParseErrorsNameTheFieldNotTheValue(t *testing.T) {
	_, err := shopify.ParseWebhook("orders/create", "evt", []byte(`{"id":1,"line_items":[{"quantity":"SECRET-VALUE"}]}`))
	var werr *webhook.Error
	if !errors.As(err, &werr) || werr.Field != "line_items.quantity" {
		t.Fatalf("err = %v, want invalid_field line_items.quantity", err)
	}
	if s := err.Error(); strings.Contains(s, "SECRET") {
		t.Fatalf("error %q quotes the body", s)
	}
}

type webhookVectors struct {
	Vectors []struct {
		Name    string            `json:"name"`
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		RawBody string            `json:"raw_body"`
		Expect  string            `json:"expect"`
		Library struct {
			Reason string `json:"reason"`
		} `json:"library_result"`
	} `json:"vectors"`
}

// TestVerifyWebhookVectors runs Shopify's own library vectors. The
// missing_headers vectors are about headers the library requires besides
// the HMAC; the HMAC itself is valid in them, and the ingest handler's tests
// check what it does without each header.
func TestVerifyWebhookVectors(t *testing.T) {
	var vs webhookVectors
	if err := json.Unmarshal(webhookTestdata(t, "shopify_webhook_hmac_vectors.json"), &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vs.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			err := shopify.VerifyWebhook([]byte(v.RawBody), v.Headers["X-Shopify-Hmac-Sha256"], []string{v.Secret})
			want := v.Expect == "valid" || v.Library.Reason == "missing_headers"
			if got := err == nil; got != want {
				t.Fatalf("VerifyWebhook: err = %v, want valid = %v", err, want)
			}
			switch v.Library.Reason {
			case "missing_hmac":
				if got := webhook.CodeOf(err); got != webhook.CodeSignatureMissing {
					t.Errorf("code = %q, want %q", got, webhook.CodeSignatureMissing)
				}
			case "invalid_hmac", "missing_body":
				if got := webhook.CodeOf(err); got != webhook.CodeSignatureInvalid {
					t.Errorf("code = %q, want %q", got, webhook.CodeSignatureInvalid)
				}
			}
			if v.Expect == "valid" {
				if got := shopify.SignWebhook([]byte(v.RawBody), v.Secret); got != v.Headers["X-Shopify-Hmac-Sha256"] {
					t.Errorf("SignWebhook = %q, want %q", got, v.Headers["X-Shopify-Hmac-Sha256"])
				}
			}
		})
	}
}

func TestVerifyWebhookRotation(t *testing.T) {
	body := []byte(`{"foo": "bar"}`)
	const sig = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=" // test_secret_key, from the vectors
	tests := []struct {
		name    string
		secrets []string
		want    webhook.Code
	}{
		{"new secret first, old one signs", []string{"new_secret", "test_secret_key"}, ""},
		{"old secret first", []string{"test_secret_key", "new_secret"}, ""},
		{"neither", []string{"new_secret", "other"}, webhook.CodeSignatureInvalid},
		{"none", nil, webhook.CodeNoSecret},
		{"empty secrets are skipped", []string{"", ""}, webhook.CodeNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhook.CodeOf(shopify.VerifyWebhook(body, sig, tt.secrets)); got != tt.want {
				t.Fatalf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerifyWebhookMalformedSignatures(t *testing.T) {
	body := []byte(`{"foo": "bar"}`)
	good := "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
	for _, sig := range []string{
		"fake", good[:43], good + "=", good + "AAAA", strings.Repeat("A", 4096),
		strings.ToLower(good), "  ", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g", "!!!!" + good[4:],
	} {
		if err := shopify.VerifyWebhook(body, sig, []string{"test_secret_key"}); err == nil {
			t.Errorf("VerifyWebhook(%q) = nil, want an error", sig)
		}
	}
	// Surrounding whitespace is not part of a header value.
	if err := shopify.VerifyWebhook(body, " "+good+" ", []string{"test_secret_key"}); err != nil {
		t.Errorf("VerifyWebhook(padded) = %v, want nil", err)
	}
}

func FuzzParseWebhook(f *testing.F) {
	topics := []string{"orders/create", "orders/updated", "orders/cancelled", "orders/fulfilled", "fulfillments/create", "fulfillments/update"}
	i := 0
	webhooktest.SeedFiles(f, "shopify_order_*.json", func(b []byte) { f.Add(topics[i%4], b); i++ })
	webhooktest.SeedFiles(f, "shopify_fulfillment_*.json", func(b []byte) { f.Add(topics[4+i%2], b); i++ })
	f.Add("orders/create", []byte(`{"id":1,"line_items":[{"sku":null,"quantity":"2"}],"shipping_address":null}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		e, err := shopify.ParseWebhook(topic, "evt", body)
		webhooktest.CheckParsed(t, e, err, order.Shopify)
	})
}

func FuzzVerifyWebhook(f *testing.F) {
	webhooktest.FuzzBodyHMAC(f, "shopify_order_*.json", shopify.VerifyWebhook, shopify.SignWebhook)
}

// A note attribute is buyer-writable (cart attributes): it names a
// marketplace order as a claim only. source_identifier names one only with
// ordersync's source_name.
func TestParseWebhookLinksOnlyWhatTheAPISet(t *testing.T) {
	tests := []struct {
		name, extra       string
		wantMK, wantClaim string
	}{
		{"note attribute only", `"source_name": "web", "source_identifier": "cart-token", "note_attributes": [{"name": "ordersync_marketplace_order_id", "value": "BM-1"}]`, "", "BM-1"},
		{"imported by ordersync", `"source_name": "ordersync", "source_identifier": "BM-2"`, "BM-2", ""},
		{"another channel's identifier", `"source_name": "web", "source_identifier": "BM-3"`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"id": 1, "updated_at": "2026-11-30T10:00:00Z", "financial_status": "paid", ` + tt.extra + `}`
			e, err := shopify.ParseWebhook("orders/updated", "evt", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if e.Order.MarketplaceOrderID != tt.wantMK || e.Order.ClaimedMarketplaceOrderID != tt.wantClaim {
				t.Errorf("marketplace order %q, claimed %q; want %q, %q", e.Order.MarketplaceOrderID, e.Order.ClaimedMarketplaceOrderID, tt.wantMK, tt.wantClaim)
			}
		})
	}
}

func TestParseWebhookRefund(t *testing.T) {
	e, err := shopify.ParseWebhook("refunds/create", "evt-r", webhookTestdata(t, "shopify_refund_2026-07.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Order.StoreOrderID != "450789469" || e.Topic != "refunds/create" || e.Status != order.StatusUnknown {
		t.Errorf("event = %+v; want order 450789469, topic refunds/create, no status", e)
	}
	if len(e.Refunds) != 1 || e.Refunds[0].ID != "509562969/cancel" || len(e.Refunds[0].Lines) != 2 {
		t.Errorf("refunds = %+v; want the refund's two lines, cancelled", e.Refunds)
	}
}

// TestWebhookRefundKinds reads refunds/create bodies derived from the
// sample refund (shopify_refund_2026-07.json), one per restock type.
func TestWebhookRefundKinds(t *testing.T) {
	body := func(restock, fulfillment string) []byte {
		return []byte(`{"id":7,"order_id":450789469,"processed_at":"2025-07-02T11:29:59-05:00","refund_line_items":[` +
			`{"line_item_id":703073504,"quantity":1,"restock_type":"` + restock + `","line_item":{"id":703073504,"sku":"IPOD2008BLACK","fulfillment_status":` + fulfillment + `}}]}`)
	}
	tests := []struct {
		name, restock, fulfillment string
		want                       order.RefundKind
	}{
		{"cancel", "cancel", "null", order.RefundCancel},
		{"no restock, not fulfilled", "no_restock", "null", order.RefundCancel},
		{"no restock, fulfilled", "no_restock", `"fulfilled"`, order.RefundRefund},
		{"return", "return", `"fulfilled"`, order.RefundReturn},
		{"legacy restock, fulfilled", "legacy_restock", `"fulfilled"`, order.RefundReturn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := shopify.ParseWebhook("refunds/create", "evt", body(tt.restock, tt.fulfillment))
			if err != nil {
				t.Fatal(err)
			}
			want := []order.Refund{{ID: "7/" + string(tt.want), Kind: tt.want, At: time.Date(2025, 7, 2, 16, 29, 59, 0, time.UTC),
				Lines: []order.Line{{SKU: "IPOD2008BLACK", Quantity: 1, StoreLineID: "703073504"}}}}
			if !reflect.DeepEqual(e.Refunds, want) {
				t.Errorf("refunds = %+v, want %+v", e.Refunds, want)
			}
		})
	}
	if _, err := shopify.ParseWebhook("refunds/create", "evt", []byte(`{"id":7}`)); err == nil {
		t.Errorf("a refund without order_id: no error")
	}
}
