package bigcommerce_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/fuzzhttp"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
)

func readSeed(f *testing.F, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func fuzzClient(f *testing.F, srv *fuzzhttp.Server) *bigcommerce.Client {
	c, err := bigcommerce.New(bigcommerce.Config{BaseURL: srv.URL, StoreHash: hash, AccessToken: token, Connection: "conn-b"}, srv.Client())
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// The four resources Order reads, in the order it reads them.
var resources = []string{"", "/products", "/shipping_addresses", "/shipments"}

// FuzzOrderAnswers serves any answers to the four calls of Order (the
// order, its products, shipping addresses and shipments: the docs'
// examples, see testdata/SOURCES.md), one of them with any status and
// rate-limit headers: a failure is classified (store_disconnected for
// refused credentials, rate_limited with a sane delay for a 429); Order
// only ever reads the order asked for; an event is one the sync can use,
// about that order.
func FuzzOrderAnswers(f *testing.F) {
	o, p, a, s := readSeed(f, "get_order_response.json"), readSeed(f, "get_order_products_response.json"),
		readSeed(f, "get_order_shipping_addresses_response.json"), readSeed(f, "get_order_shipments_response.json")
	f.Add(200, uint8(0), "", o, p, a, s)
	f.Add(204, uint8(3), "", o, p, a, s)
	f.Add(429, uint8(1), "4500", o, p, a, s)
	f.Add(429, uint8(2), "99999999999999999", o, p, a, s)
	f.Add(401, uint8(0), "", []byte(`[{"status":401,"message":"You are not authorized to perform this request."}]`), p, a, s)
	f.Add(404, uint8(0), "", []byte(`[{"status":404,"message":"The requested resource was not found."}]`), p, a, s)
	f.Add(200, uint8(0), "", []byte(`{"id":219,"status_id":11}`), p, a, s)
	f.Add(200, uint8(0), "", []byte(`{"status_id":11}`), p, a, s)
	f.Add(200, uint8(0), "", []byte(`{"id":218,"status_id":11,"date_modified":"Fri, 31 Dec 9999 23:59:59 -2359"}`), []byte(`[{"id":1,"sku":"A","quantity":-1}]`), []byte(`[]`), []byte(`[{"id":2,"items":[{"order_product_id":9,"quantity":1}]}]`))
	f.Add(200, uint8(0), "", []byte(`{"id":218,"status_id":11,"date_modified":"x","date_created":"Sat, 01 Jan 0000 00:00:00 +2359"}`), p, a, s)
	f.Add(200, uint8(0), "", []byte(`{"id":218,"status_id":99}`), []byte(``), []byte(`null`), []byte(`{}`))
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	base := "/stores/" + hash + "/v2/orders/218"
	f.Fuzz(func(t *testing.T, status int, which uint8, reset string, orderBody, products, addresses, shipments []byte) {
		bodies := [][]byte{orderBody, products, addresses, shipments}
		var stray []string
		faulted := false // whether the call with the fuzzed status was made
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			i := slices.Index(resources, strings.TrimPrefix(r.URL.Path, base))
			if i < 0 || !strings.HasPrefix(r.URL.Path, base) {
				stray = append(stray, r.URL.Path)
				return fuzzhttp.Answer{Status: http.StatusNotFound}
			}
			if i != int(which)%len(resources) {
				return fuzzhttp.Answer{Body: bodies[i]}
			}
			faulted = true
			h := http.Header{"X-Rate-Limit-Time-Reset-Ms": {reset}, "Retry-After": {reset}}
			return fuzzhttp.Answer{Status: status, Header: h, Body: bodies[i]}
		})
		ev, err := c.Order(context.Background(), "218")
		if len(stray) > 0 {
			t.Fatalf("Order(218) read %v", stray)
		}
		if err != nil {
			e := fuzzhttp.Classified(t, err, token)
			switch s := fuzzhttp.Status(status); {
			case !faulted:
			case (s == 401 || s == 403) && e.Code != syncerr.StoreDisconnected,
				s == 429 && e.Code != syncerr.RateLimited:
				t.Fatalf("http %d: code %s", s, e.Code)
			}
			return
		}
		if s := fuzzhttp.Status(status); s >= 400 && faulted {
			t.Fatalf("http %d answered an event", s)
		}
		storefronttest.CheckEvent(t, ev, order.BigCommerce, "conn-b")
		if ev.Order.StoreOrderID != "218" {
			t.Fatalf("Order(218) answered order %q", ev.Order.StoreOrderID)
		}
	})
}

// FuzzListAnswer serves any first page of orders to OrdersUpdatedSince
// (sub-resources and further pages empty): a failure is classified; the
// events are each one the sync can use, of a real BigCommerce order id,
// oldest first.
func FuzzListAnswer(f *testing.F) {
	f.Add(200, readSeed(f, "get_orders_response.json"))
	f.Add(200, readSeed(f, "get_order_response.json"))
	f.Add(204, []byte(nil))
	f.Add(500, []byte(`<html>`))
	f.Add(200, []byte(`[{"status_id":11},{"id":-3,"status_id":11}]`))
	f.Add(200, []byte(`[{"id":5,"status_id":11,"date_modified":"soon","date_created":"Wed, 10 Jan 2018 21:05:30 +0000"}]`))
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	list := "/stores/" + hash + "/v2/orders"
	since := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			if r.URL.Path == list && r.URL.Query().Get("page") == "1" {
				return fuzzhttp.Answer{Status: status, Body: body}
			}
			return fuzzhttp.Answer{Status: http.StatusNoContent}
		})
		evs, err := c.OrdersUpdatedSince(context.Background(), since)
		if err != nil {
			fuzzhttp.Classified(t, err, token)
			return
		}
		for _, ev := range evs {
			storefronttest.CheckEvent(t, ev, order.BigCommerce, "conn-b")
			if n, err := strconv.ParseInt(ev.Order.StoreOrderID, 10, 64); err != nil || n <= 0 {
				t.Fatalf("store order id %q is not a BigCommerce id", ev.Order.StoreOrderID)
			}
		}
		if !slices.IsSortedFunc(evs, func(a, b order.Event) int { return a.OccurredAt.Compare(b.OccurredAt) }) {
			t.Fatal("events are not oldest first")
		}
	})
}

// FuzzCreateOrderAnswers serves any answer to one of CreateOrder's calls
// (0: the search for an order already imported, 1: the variant by SKU, 2:
// the product by SKU, 3: the create), the others answering as an empty
// store with SKU-A a product: a failure is classified and shows no
// credential; a success is a BigCommerce order id, and never follows a
// refused create.
func FuzzCreateOrderAnswers(f *testing.F) {
	list := readSeed(f, "get_orders_response.json")
	for which := range 4 {
		f.Add(uint8(which), 200, list)
		f.Add(uint8(which), 204, []byte{})
		f.Add(uint8(which), 400, []byte(`[{"status":400,"message":"The field 'zip' is invalid."}]`))
		f.Add(uint8(which), 422, []byte(`{"status":422,"title":"x","errors":{"sku":"bad"}}`))
		f.Add(uint8(which), 429, []byte(`[{"status":429,"message":"Too Many Requests"}]`))
	}
	f.Add(uint8(0), 200, []byte(`[{"id":9,"external_source":"ordersync","external_order_id":"BM-77"}]`))
	f.Add(uint8(0), 200, []byte(`[{"id":0,"external_source":"ordersync","external_order_id":"BM-77"}]`))
	f.Add(uint8(1), 200, []byte(`{"data":[{"id":3,"product_id":5,"sku":"SKU-A"},{"id":4,"product_id":6,"sku":"SKU-A"}]}`))
	f.Add(uint8(3), 201, []byte(`{"id":0}`))
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	mo := order.MarketplaceOrder{ID: "BM-77", Lines: []order.MarketplaceLine{{ID: "1", SKU: "SKU-A", Quantity: 1}},
		ShippingAddress: &order.Address{Name: "Jane Doe", Line1: "1 Rue de Rivoli", City: "Paris", PostalCode: "75001", Country: "FR"},
		CreatedAt:       time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, which uint8, status int, body []byte) {
		which %= 4
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			call := uint8(0)
			switch {
			case r.Method == http.MethodPost:
				call = 3
			case strings.HasSuffix(r.URL.Path, "/catalog/variants"):
				call = 1
			case strings.HasSuffix(r.URL.Path, "/catalog/products"):
				call = 2
			}
			if call == which {
				return fuzzhttp.Answer{Status: status, Body: body}
			}
			switch call {
			case 1:
				return fuzzhttp.Answer{Body: []byte(`{"data":[],"meta":{}}`)}
			case 2:
				return fuzzhttp.Answer{Body: []byte(`{"data":[{"id":5,"sku":"SKU-A"}],"meta":{}}`)}
			case 3:
				return fuzzhttp.Answer{Status: 201, Body: []byte(`{"id":800,"status_id":11}`)}
			}
			return fuzzhttp.Answer{Status: 204}
		})
		id, _, err := c.CreateOrder(context.Background(), mo)
		if err != nil {
			fuzzhttp.Classified(t, err, token)
			return
		}
		if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 {
			t.Fatalf("CreateOrder = %q, not a BigCommerce order id", id)
		}
		if s := fuzzhttp.Status(status); which == 3 && s >= 400 {
			t.Fatalf("http %d to the create answered order %s", s, id)
		}
	})
}
