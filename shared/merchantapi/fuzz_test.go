package merchantapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/testkit/queuetest"
)

// fuzzAPI is the merchant API over an in-memory store holding connection
// acme (key fuzzKey), 30 of its errors (one every 5 hours back from now)
// and its orders 261671 to 261675.
type fuzzAPI struct {
	h     *merchantapi.Handler
	queue *queuetest.Queue
	now   time.Time
}

const fuzzKey = "acme-fuzz-key-3c9d"

// storedOrders are the marketplace order ids fuzzAPI holds.
var storedOrders = []string{"261671", "261672", "261673", "261674", "261675"}

func newFuzzAPI(f *testing.F) *fuzzAPI {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	store := memstore.New().WithClock(func() time.Time { return now })
	conn := order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test", APIKeyRefs: []string{"acme-api"},
		Store: order.Endpoint{Platform: order.Shopify}, Marketplace: order.Endpoint{Platform: order.BackMarket}}
	if err := store.PutConnection(ctx, conn); err != nil {
		f.Fatal(err)
	}
	for i := range 30 {
		r := order.ErrorRecord{Connection: "acme", MarketplaceOrderID: fmt.Sprint(261600 + i), Code: "shipping_data_missing",
			Kind: "permanent", Title: "Shipping data missing", Cause: "c", Remedy: "r", Attempts: 1, At: now.Add(-time.Duration(i) * 5 * time.Hour)}
		if err := store.RecordError(ctx, r); err != nil {
			f.Fatal(err)
		}
	}
	for _, id := range storedOrders {
		st := order.State{Connection: "acme", Ref: order.Ref{StoreOrderID: "s-" + id, MarketplaceOrderID: id},
			StoreStatus: order.StatusShipped, MarketplaceStatus: order.StatusAccepted,
			Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "shipping_data_missing", Attempts: 1, At: now}}
		if _, err := store.SaveOrder(ctx, st); err != nil {
			f.Fatal(err)
		}
	}
	q := &queuetest.Queue{}
	h := merchantapi.New(merchantapi.Config{Now: func() time.Time { return now }}, store, secrets.Static{"acme-api": fuzzKey}, q, nil)
	return &fuzzAPI{h: h, queue: q, now: now}
}

// call sends one request as API Gateway would and returns the answer and
// the events it queued; it fails t unless the answer is JSON, and an error
// answer is {"error": {"code", "message"}} with nothing queued.
func (a *fuzzAPI) call(t *testing.T, method, route string, params, query map[string]string, body string, isBase64 bool) (events.APIGatewayV2HTTPResponse, []order.Event) {
	t.Helper()
	params["connection"] = "acme"
	resp, err := a.h.Handle(context.Background(), events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY " + route, Headers: map[string]string{"authorization": "Bearer " + fuzzKey},
		QueryStringParameters: query, PathParameters: params, Body: body, IsBase64Encoded: isBase64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method}},
	})
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	queued, err := a.queue.Take()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid([]byte(resp.Body)) {
		t.Fatalf("%d: body is not JSON: %s", resp.StatusCode, resp.Body)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error *struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%d: body %s is not an error", resp.StatusCode, resp.Body)
		}
		if len(queued) > 0 {
			t.Fatalf("%d, yet %d events queued", resp.StatusCode, len(queued))
		}
	}
	return resp, queued
}

// wholeIn reports whether s is a whole number (sign allowed) from 1 to max.
func wholeIn(s string, max int64) (int64, bool) {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 1 || n.Cmp(big.NewInt(max)) > 0 {
		return 0, false
	}
	return n.Int64(), true
}

// FuzzErrorsQuery sends any limit and days to GET errors: it answers 200
// exactly when each is absent or a whole number in its range (1 to 100, 1
// to 7), else 400 invalid_parameter; a 200 lists the newest errors of the
// days asked, as many as the limit allows.
func FuzzErrorsQuery(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"20", "7"}, {"1", "1"}, {"100", "3"}, {"0", "8"}, {"101", "7"}, {"+5", "07"},
		{"-1", ""}, {"5.0", ""}, {" 5", ""}, {"9223372036854775808", ""}, {"", "1e1"}, {"٣", ""}, {"20,30", ""}} {
		f.Add(s[0], s[1])
	}
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, limit, days string) {
		resp, _ := a.call(t, "GET", merchantapi.RouteErrors, map[string]string{}, map[string]string{"limit": limit, "days": days}, "", false)
		wantLimit, okLimit := int64(merchantapi.DefaultLimit), true
		if limit != "" {
			wantLimit, okLimit = wholeIn(limit, merchantapi.MaxLimit)
		}
		wantDays, okDays := int64(merchantapi.MaxDays), true
		if days != "" {
			wantDays, okDays = wholeIn(days, merchantapi.MaxDays)
		}
		if !okLimit || !okDays {
			if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"invalid_parameter"`) {
				t.Fatalf("limit %q days %q: %d %s, want 400 invalid_parameter", limit, days, resp.StatusCode, resp.Body)
			}
			return
		}
		if resp.StatusCode != 200 {
			t.Fatalf("limit %q days %q: %d %s, want 200", limit, days, resp.StatusCode, resp.Body)
		}
		var got struct {
			Since  time.Time `json:"since"`
			Limit  int64     `json:"limit"`
			Errors []struct {
				At time.Time `json:"at"`
			} `json:"errors"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
			t.Fatal(err)
		}
		since := a.now.Add(-time.Duration(wantDays) * 24 * time.Hour)
		inWindow := int64(0)
		for i := range 30 { // the stored errors, one every 5 hours
			if !a.now.Add(-time.Duration(i) * 5 * time.Hour).Before(since) {
				inWindow++
			}
		}
		if got.Limit != wantLimit || !got.Since.Equal(since) || int64(len(got.Errors)) != min(wantLimit, inWindow) {
			t.Fatalf("limit %q days %q: limit %d since %v, %d errors; want %d, %v, %d",
				limit, days, got.Limit, got.Since, len(got.Errors), wantLimit, since, min(wantLimit, inWindow))
		}
		if !slices.IsSortedFunc(got.Errors, func(x, y struct {
			At time.Time `json:"at"`
		}) int {
			return y.At.Compare(x.At)
		}) {
			t.Fatal("errors are not newest first")
		}
	})
}

// FuzzOrderPath sends any marketplace order id in the path of GET
// orders/{id} and POST orders/{id}/resync: only an order the store holds
// is shown (200, itself) or re-synced (202, one event for it queued);
// any other id is 404 order_not_found (400 invalid_id when it breaks the
// id rule), with nothing queued.
func FuzzOrderPath(f *testing.F) {
	for _, s := range []string{"261673", "261673 ", "261673/", "a#b", "", "%32%36", "\x00", strings.Repeat("9", 200), "ORDER#acme#261673"} {
		f.Add(s)
	}
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, id string) {
		stored := slices.Contains(storedOrders, id)
		resp, _ := a.call(t, "GET", merchantapi.RouteOrder, map[string]string{"marketplaceOrderId": id}, nil, "", false)
		switch {
		case stored && resp.StatusCode == 200:
			var v struct {
				Order order.Ref `json:"order"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || v.Order.MarketplaceOrderID != id {
				t.Fatalf("GET %q answered %s", id, resp.Body)
			}
		case !stored && resp.StatusCode == 404 && strings.Contains(resp.Body, `"order_not_found"`):
		case !order.ValidID(id) && resp.StatusCode == 400 && strings.Contains(resp.Body, `"invalid_id"`):
		default:
			t.Fatalf("GET %q: %d %s", id, resp.StatusCode, resp.Body)
		}
		resp, queued := a.call(t, "POST", merchantapi.RouteOrderResync, map[string]string{"marketplaceOrderId": id}, nil, "", false)
		switch {
		case stored && resp.StatusCode == 202:
			if len(queued) != 1 || queued[0].Order.MarketplaceOrderID != id || queued[0].Connection != "acme" || queued[0].Source != merchantapi.Source {
				t.Fatalf("resync %q queued %+v", id, queued)
			}
		case !stored && (resp.StatusCode == 404 || (!order.ValidID(id) && resp.StatusCode == 400)):
		default:
			t.Fatalf("resync %q: %d %s", id, resp.StatusCode, resp.Body)
		}
	})
}

// FuzzResyncBody sends any body, plain or base64-encoded, to POST resync:
// 202 queues one event for each stored order the body names, names every
// other one not_found, each once, in the body's order; any refusal (400,
// 404 when none is stored, 413) queues nothing.
func FuzzResyncBody(f *testing.F) {
	for _, s := range []string{`{"orders":["261673"]}`, `{"orders":["261673","x","261673","261671"]}`, `{"orders":["x"]}`,
		`{"orders":[]}`, `{"orders":["a b"]}`, `{"orders":["261673"],"orders":["261674"]}`, `{"Orders":["261673"]}`, "\xff", ""} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Add([]byte(`{"orders":["`+strings.Repeat("1", merchantapi.MaxBodyBytes)+`"]}`), true)
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte, encode bool) {
		sent := string(body)
		if encode {
			sent = base64.StdEncoding.EncodeToString(body)
		}
		resp, queued := a.call(t, "POST", merchantapi.RouteResync, map[string]string{}, nil, sent, encode)
		switch resp.StatusCode {
		case 400, 404, 413:
			return
		case 202:
		default:
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if len(body) > merchantapi.MaxBodyBytes {
			t.Fatalf("a %d-byte body accepted", len(body))
		}
		var in struct {
			Orders []string `json:"orders"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("202 for a body that is not the JSON asked for: %v", err)
		}
		var asked []string
		for _, id := range in.Orders {
			if !slices.Contains(asked, id) {
				asked = append(asked, id)
			}
		}
		var got struct {
			Queued   []string `json:"queued"`
			NotFound []string `json:"not_found"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
			t.Fatal(err)
		}
		var wantQueued, wantNotFound []string
		for _, id := range asked {
			if slices.Contains(storedOrders, id) {
				wantQueued = append(wantQueued, id)
			} else {
				wantNotFound = append(wantNotFound, id)
			}
		}
		if !slices.Equal(got.Queued, wantQueued) || !slices.Equal(got.NotFound, wantNotFound) || len(wantQueued) == 0 {
			t.Fatalf("body %q: queued %q not found %q; want %q, %q", body, got.Queued, got.NotFound, wantQueued, wantNotFound)
		}
		var ids []string
		for _, e := range queued {
			ids = append(ids, e.Order.MarketplaceOrderID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, slices.Sorted(slices.Values(wantQueued))) {
			t.Fatalf("events queued for %q, want %q", ids, wantQueued)
		}
	})
}
