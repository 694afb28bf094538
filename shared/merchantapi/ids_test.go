package merchantapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// errorField returns the code and field of an error answer.
func (r resp) errorField(t *testing.T) (code, field string) {
	t.Helper()
	var b struct {
		Error struct{ Code, Field string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return b.Error.Code, b.Error.Field
}

// badIDs are ids order.ValidID refuses, by what is wrong with them.
var badIDs = map[string]string{
	"a '#', the store's key separator": "acme#m",
	"a '/'":                            "acme/..",
	"a '\\'":                           `acme\m`,
	"a space":                          "ac me",
	"a NUL":                            "acme\x00",
	"not UTF-8":                        "acme\xff",
	"a right-to-left override":         "ac\u202eme",
	"over 256 bytes":                   strings.Repeat("a", order.MaxIDBytes+1),
}

// TestInvalidConnectionIDs: a connection id that is not order.ValidID is
// answered 400 invalid_id on every route, once the caller sent a key, and
// the connection is not looked up: each of these ids names a connection
// in the store here, with a key the caller holds.
func TestInvalidConnectionIDs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, id := range badIDs {
		if err := e.store.PutConnection(ctx, order.Connection{ID: id, APIKeyRefs: []string{"acme-api"}}); err != nil {
			t.Fatal(err)
		}
	}
	routes := []req{
		{method: "GET", route: merchantapi.RouteErrors},
		{method: "GET", route: merchantapi.RouteOrder, order: "m1"},
		{method: "POST", route: merchantapi.RouteResync, body: `{"orders":["m1"]}`},
		{method: "POST", route: merchantapi.RouteOrderResync, order: "m1"},
		{method: "POST", route: merchantapi.RouteOrderFix, order: "m1", body: `{"tracking":{"number":"1","carrier":"UPS"}}`},
	}
	for name, id := range badIDs {
		for _, rt := range routes {
			t.Run(name+" "+rt.method+" "+rt.route, func(t *testing.T) {
				rt.conn, rt.auth = id, "Bearer "+acmeKey
				r := e.send(rt)
				if code, field := r.errorField(t); r.status != http.StatusBadRequest || code != "invalid_id" || field != "connection" {
					t.Errorf("got %d %s, want 400 invalid_id connection", r.status, r.body)
				}
				if n := len(e.queued()); n != 0 {
					t.Errorf("%d messages queued, want none", n)
				}
			})
		}
	}
	t.Run("a '#' would read another connection's order", func(t *testing.T) {
		// acme's order "m#1" is stored under the key of connection
		// "acme#m"'s order "1".
		if _, err := e.store.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "m#1"}}); err != nil {
			t.Fatal(err)
		}
		r := e.send(req{method: "GET", route: merchantapi.RouteOrder, conn: "acme#m", order: "1", auth: "Bearer " + acmeKey})
		if code, _ := r.errorField(t); r.status != http.StatusBadRequest || code != "invalid_id" {
			t.Errorf("got %d %s, want 400 invalid_id", r.status, r.body)
		}
	})
	t.Run("no key: 401 first", func(t *testing.T) {
		r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme#m"})
		if r.status != http.StatusUnauthorized {
			t.Errorf("got %d %s, want 401", r.status, r.body)
		}
	})
	if strings.Contains(e.logs.String(), "\u202e") || strings.Contains(e.logs.String(), badIDs["over 256 bytes"]) {
		t.Errorf("the logs carry a refused id:\n%s", e.logs.String())
	}
}

// TestInvalidOrderIDs: a marketplace order id in the path that is not
// order.ValidID is answered 400 invalid_id, not looked up, nothing
// queued; one that is valid but unknown is 404.
func TestInvalidOrderIDs(t *testing.T) {
	e := newEnv(t)
	for name, id := range badIDs {
		for _, route := range []string{merchantapi.RouteOrder, merchantapi.RouteOrderResync} {
			method := map[string]string{merchantapi.RouteOrder: "GET", merchantapi.RouteOrderResync: "POST"}[route]
			t.Run(name+" "+method+" "+route, func(t *testing.T) {
				r := e.send(req{method: method, route: route, conn: "acme", order: id, auth: "Bearer " + acmeKey})
				if code, field := r.errorField(t); r.status != http.StatusBadRequest || code != "invalid_id" || field != "marketplaceOrderId" {
					t.Errorf("got %d %s, want 400 invalid_id marketplaceOrderId", r.status, r.body)
				}
				if n := len(e.queued()); n != 0 {
					t.Errorf("%d messages queued, want none", n)
				}
			})
		}
	}
	t.Run("256 bytes, unknown", func(t *testing.T) {
		r := e.send(req{method: "GET", route: merchantapi.RouteOrder, conn: "acme", order: strings.Repeat("9", order.MaxIDBytes), auth: "Bearer " + acmeKey})
		if r.status != http.StatusNotFound || r.errorCode(t) != "order_not_found" {
			t.Errorf("got %d %s, want 404 order_not_found", r.status, r.body)
		}
	})
}

// TestInvalidResyncIDs: a re-sync list naming an id that is not
// order.ValidID is refused whole, 400 invalid_orders, nothing queued.
func TestInvalidResyncIDs(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("acme", "m1")
	for name, id := range badIDs {
		t.Run(name, func(t *testing.T) {
			body := `{"orders":["m1",` + string(must(json.Marshal(id))) + `]}`
			if name == "not UTF-8" {
				body = "{\"orders\":[\"m1\",\"acme\xff\"]}" // raw: Marshal would write U+FFFD
			}
			r := e.send(req{method: "POST", route: merchantapi.RouteResync, conn: "acme", auth: "Bearer " + acmeKey, body: body})
			want := "invalid_orders"
			if name == "not UTF-8" {
				want = "malformed_body" // not JSON: JSON is UTF-8
			}
			if r.status != http.StatusBadRequest || r.errorCode(t) != want {
				t.Errorf("got %d %s, want 400 %s", r.status, r.body, want)
			}
			if n := len(e.queued()); n != 0 {
				t.Errorf("%d messages queued, want none", n)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
