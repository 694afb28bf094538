package merchantapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/testkit/queuetest"
)

// FuzzFixBody sends any body to POST fix for an order with one parcel
// lacking its tracking number. A refusal (400, 413) stores and queues
// nothing; a 202 stores an override whose tracking passes
// rules.CheckTracking and whose address passes rules.CheckAddress, and
// queues exactly one re-sync with the fix's topic.
func FuzzFixBody(f *testing.F) {
	for _, s := range []string{
		`{"tracking": {"number": "6A1", "carrier": "Colissimo"}}`,
		`{"tracking": {"parcel_id": "f1", "number": "6A1", "carrier": "UPS", "url": "https://ups.test/6A1"}}`,
		`{"tracking": {"parcel_id": "f2", "number": "6A1", "carrier": "UPS"}}`,
		`{"tracking": {"number": "6A1", "carrier": "UPS", "url": "ftp://x"}}`,
		`{"shipping_address": {"line1": "1 Main St", "city": "Leeds", "postal_code": "LS1", "country": "GB"}}`,
		`{"shipping_address": {"line1": "1 Main St", "city": "Doha", "country": "QA"}}`,
		`{"shipping_address": {"line1": "1 Main St"}}`,
		`{"tracking": null}`, `{}`, `[]`, `null`, "\xff", "",
		`{"tracking": {"number": "6A1", "carrier": "UPS"}, "tracking": {"number": ""}}`,
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	store := memstore.New().WithClock(func() time.Time { return now })
	conn := order.Connection{ID: "acme", APIKeyRefs: []string{"acme-api"}, Store: order.Endpoint{Platform: order.Shopify},
		Marketplace: order.Endpoint{Platform: order.BackMarket}}
	if err := store.PutConnection(ctx, conn); err != nil {
		f.Fatal(err)
	}
	st := order.State{Connection: "acme", Ref: order.Ref{StoreOrderID: "s1", MarketplaceOrderID: "261673"}, StoreStatus: order.StatusShipped,
		Lines:   []order.Line{{SKU: "A", Quantity: 1}},
		Parcels: []order.Parcel{{ID: "f1", Tracking: order.Tracking{Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "A", Quantity: 1}}}},
		Sync:    order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "shipping_data_missing", Attempts: 1, At: now}}
	if _, err := store.SaveOrder(ctx, st); err != nil {
		f.Fatal(err)
	}
	q := &queuetest.Queue{}
	h := merchantapi.New(merchantapi.Config{Now: func() time.Time { return now }}, store, secrets.Static{"acme-api": fuzzKey}, q, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		before, err := store.LoadOrder(ctx, "acme", "261673")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := h.Handle(ctx, events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "ANY " + merchantapi.RouteOrderFix, Headers: map[string]string{"authorization": "Bearer " + fuzzKey},
			PathParameters: map[string]string{"connection": "acme", "marketplaceOrderId": "261673"}, Body: string(body),
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		queued, err := q.Take()
		if err != nil {
			t.Fatal(err)
		}
		after, err := store.LoadOrder(ctx, "acme", "261673")
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid([]byte(resp.Body)) {
			t.Fatalf("%d: body is not JSON: %s", resp.StatusCode, resp.Body)
		}
		switch resp.StatusCode {
		case 400, 413:
			if !strings.Contains(resp.Body, `"error"`) || len(queued) != 0 || after.Version != before.Version {
				t.Fatalf("%d %s: %d queued, v%d → v%d; want nothing queued or stored", resp.StatusCode, resp.Body, len(queued), before.Version, after.Version)
			}
			return
		case 202:
		default:
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if after.Version != before.Version+1 || after.Override == nil {
			t.Fatalf("202, yet v%d → v%d with override %+v", before.Version, after.Version, after.Override)
		}
		if tr := after.Override.Tracking; tr != nil {
			if err := rules.CheckTracking(tr.Tracking); err != nil || tr.ParcelID != "f1" {
				t.Fatalf("202 for body %q, yet the stored tracking %+v fails: %v", body, tr, err)
			}
		}
		if a := after.Override.ShippingAddress; a != nil {
			if err := rules.CheckAddress(&a.Address); err != nil {
				t.Fatalf("202 for body %q, yet the stored address %+v fails: %v", body, a.Address, err)
			}
		}
		if len(queued) != 1 || queued[0].Topic != "merchant/fix" || queued[0].Order.MarketplaceOrderID != "261673" {
			t.Fatalf("queued %+v, want one re-sync of 261673 with topic merchant/fix", queued)
		}
	})
}
