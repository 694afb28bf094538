package woocommerce_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/fuzzhttp"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

// seedAnswers adds the docs' payloads (see testdata/SOURCES.md) as 200
// answers, WordPress error bodies with their statuses, and edge cases.
func seedAnswers(f *testing.F, add func(status int, body []byte)) {
	for _, name := range []string{"retrieve_order_response.json", "list_orders_response.json", "woocommerce_order_727_imported_derived.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		add(200, b)
	}
	for _, s := range []struct {
		status int
		body   string
	}{
		{401, `{"code":"woocommerce_rest_authentication_error","message":"Invalid signature","data":{"status":401}}`},
		{404, `{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}`},
		{404, `{"code":"woocommerce_rest_shop_order_invalid_id","message":"Invalid ID.","data":{"status":404}}`},
		{500, `<html><body>Error establishing a database connection</body></html>`},
		{200, `{}`},
		{200, `null`},
		{200, `[]`},
		{200, `{"status":"processing"}`},
		{200, `{"id":727,"status":"wc-processing","date_modified_gmt":"9999-12-31T23:59:59"}`},
		{200, `{"id":727,"status":"completed","meta_data":[{"key":"_wc_shipment_tracking_items","value":"x"},{"key":"ordersync_marketplace_order_id","value":7}]}`},
		{200, `[{"id":-1,"status":"pending"},{"id":1,"status":"on-hold","date_created_gmt":""}]`},
	} {
		add(s.status, []byte(s.body))
	}
}

func fuzzClient(f *testing.F, srv *fuzzhttp.Server) *woocommerce.Client {
	c, err := woocommerce.New(woocommerce.Config{SiteURL: srv.URL, ConsumerKey: key, ConsumerSecret: secret, Connection: "conn-w"}, srv.Client())
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// FuzzOrderAnswer serves any answer to Order: a failure is classified
// (store_disconnected for refused credentials, order_not_found or
// store_disconnected for a 404) and shows no credential; an event is one
// the sync can use, about the order asked for.
func FuzzOrderAnswer(f *testing.F) {
	seedAnswers(f, func(status int, body []byte) { f.Add(status, body) })
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		srv.Answer(func(*http.Request) fuzzhttp.Answer { return fuzzhttp.Answer{Status: status, Body: body} })
		ev, err := c.Order(context.Background(), "727")
		if err != nil {
			e := fuzzhttp.Classified(t, err, key, secret)
			switch s := fuzzhttp.Status(status); {
			case (s == 401 || s == 403) && e.Code != syncerr.StoreDisconnected,
				s == 404 && e.Code != syncerr.StoreDisconnected && e.Code != syncerr.OrderNotFound:
				t.Fatalf("http %d: code %s", s, e.Code)
			}
			return
		}
		if s := fuzzhttp.Status(status); s >= 400 {
			t.Fatalf("http %d answered an event", s)
		}
		storefronttest.CheckEvent(t, ev, order.WooCommerce, "conn-w")
		if ev.Order.StoreOrderID != "727" {
			t.Fatalf("Order(727) answered order %q", ev.Order.StoreOrderID)
		}
	})
}

// FuzzListAnswer serves any first page (and its X-WP-TotalPages) to
// OrdersUpdatedSince, then empty pages: a failure is classified; the events
// are each one the sync can use, changed at or after since, oldest first,
// and the listing stops at the first empty page.
func FuzzListAnswer(f *testing.F) {
	seedAnswers(f, func(status int, body []byte) { f.Add(status, "1", body) })
	f.Add(200, "1000000", []byte(`[{"id":5,"status":"processing","date_modified_gmt":"2026-01-01T00:00:00"}]`))
	f.Add(200, "-1", []byte(`[]`))
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	since := time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, totalPages string, body []byte) {
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			if r.URL.Query().Get("page") != "1" {
				return fuzzhttp.Answer{Body: []byte(`[]`)}
			}
			return fuzzhttp.Answer{Status: status, Header: http.Header{"X-Wp-Totalpages": {totalPages}}, Body: body}
		})
		evs, err := c.OrdersUpdatedSince(context.Background(), since)
		if n := srv.Calls(); n > 2 {
			t.Fatalf("%d pages asked after an empty one", n)
		}
		if err != nil {
			fuzzhttp.Classified(t, err, key, secret)
			return
		}
		for _, ev := range evs {
			storefronttest.CheckEvent(t, ev, order.WooCommerce, "conn-w")
			if n, err := strconv.ParseInt(ev.Order.StoreOrderID, 10, 64); err != nil || n <= 0 {
				t.Fatalf("store order id %q is not a WooCommerce id", ev.Order.StoreOrderID)
			}
			if ev.OccurredAt.Before(since) {
				t.Fatalf("order %s changed at %v, before %v", ev.Order.StoreOrderID, ev.OccurredAt, since)
			}
		}
		if !slices.IsSortedFunc(evs, func(a, b order.Event) int { return a.OccurredAt.Compare(b.OccurredAt) }) {
			t.Fatal("events are not oldest first")
		}
	})
}

// FuzzCreateOrderAnswers serves any answer to one of CreateOrder's calls
// (0: the search for an order already imported, 1: the product by SKU, 2:
// the create), the others answering normally: a failure is classified and
// shows no credential; a success is a WooCommerce order id, and never
// follows a refused create.
func FuzzCreateOrderAnswers(f *testing.F) {
	seedAnswers(f, func(status int, body []byte) {
		for which := range 3 {
			f.Add(uint8(which), status, body)
		}
	})
	f.Add(uint8(0), 200, []byte(`[{"id":9,"created_via":"rest-api","meta_data":[{"key":"_ordersync_marketplace_order_id","value":"BM-77"}]}]`))
	f.Add(uint8(0), 200, []byte(`[{"id":0,"created_via":"rest-api","meta_data":[{"key":"_ordersync_marketplace_order_id","value":"BM-77"}]}]`))
	f.Add(uint8(1), 200, []byte(`[{"id":5,"sku":"SKU-A"},{"id":6,"sku":"SKU-A"}]`))
	f.Add(uint8(1), 200, []byte(`[{"id":5,"parent_id":4,"sku":"SKU-A","type":"variation"}]`))
	f.Add(uint8(2), 400, []byte(`{"code":"rest_invalid_param","message":"Invalid parameter(s): line_items","data":{"status":400,"params":{"line_items":"x"}}}`))
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	mo := order.MarketplaceOrder{ID: "BM-77", Lines: []order.MarketplaceLine{{ID: "1", SKU: "SKU-A", Quantity: 1}},
		ShippingAddress: &order.Address{Name: "Jane Doe", Line1: "1 Rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"},
		CreatedAt:       time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, which uint8, status int, body []byte) {
		which %= 3
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			call := uint8(0)
			switch {
			case r.Method == http.MethodPost:
				call = 2
			case strings.HasSuffix(r.URL.Path, "/products"):
				call = 1
			}
			if call == which {
				return fuzzhttp.Answer{Status: status, Body: body}
			}
			switch call {
			case 1:
				return fuzzhttp.Answer{Body: []byte(`[{"id":5,"parent_id":0,"sku":"SKU-A","type":"simple"}]`)}
			case 2:
				return fuzzhttp.Answer{Status: 201, Body: []byte(`{"id":800,"status":"processing"}`)}
			}
			return fuzzhttp.Answer{Body: []byte(`[]`)}
		})
		id, _, err := c.CreateOrder(context.Background(), mo)
		if err != nil {
			fuzzhttp.Classified(t, err, key, secret)
			return
		}
		if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 {
			t.Fatalf("CreateOrder = %q, not a WooCommerce order id", id)
		}
		if s := fuzzhttp.Status(status); which == 2 && s >= 400 {
			t.Fatalf("http %d to the create answered order %s", s, id)
		}
	})
}
