package backmarket_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/fuzzhttp"
	"github.com/ordersync/ordersync/shared/testkit/marketplacetest"
)

// docsPage is testdata/orders_list.json (see testdata/SOURCES.md), and
// docsOrder its first order, as GET /ws/orders/{id} answers one.
func docsPage(f *testing.F) (page, first []byte) {
	page, err := os.ReadFile("testdata/orders_list.json")
	if err != nil {
		f.Fatal(err)
	}
	var p struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(page, &p); err != nil || len(p.Results) == 0 {
		f.Fatalf("orders_list.json: %v", err)
	}
	return page, p.Results[0]
}

// errorBodies are Back Market error answers and edge cases.
var errorBodies = []struct {
	status int
	body   string
}{
	{400, `{"error":{"code":"invalid_state","message":"Order line 1 of Victor Hugo cannot go to state 3"}}`},
	{401, `{"detail":"Invalid token."}`},
	{403, `<html><title>403 Forbidden</title></html>`},
	{404, `{"detail":"Not found."}`},
	{429, `{"detail":"Request was throttled. Expected available in 7 seconds."}`},
	{503, ``},
	{200, `{"order_id":"5978","state":99}`},
	{200, `{"state":1}`},
	{200, `{"order_id":1,"state":1}`},
	{200, `{"order_id":5978,"state":1,"orderlines":[{"id":1,"state":-1}]}`},
	{200, `{"order_id":5978.5}`},
}

// wantCode is the code Back Market's client gives an error status s
// (not 400 or 422 on an update, which say whether the move is allowed).
func wantCode(s int, forbiddenIsRateLimit bool) syncerr.Code {
	switch {
	case s == 429, s == 403 && forbiddenIsRateLimit:
		return syncerr.RateLimited
	case s == 401, s == 403:
		return syncerr.AuthExpired
	case s == 404, s == 410:
		return syncerr.OrderNotFound
	case s == 408, s >= 500:
		return syncerr.MarketplaceUnavailable
	}
	return syncerr.InvalidData
}

// FuzzOrderAnswer serves any answer, with any status and Retry-After, to
// Order, through a client with the default options and one that takes 403
// for a rate limit: a failure is classified as httpclient.Classify's table
// (and the option) says and shows no token; an order is the one asked for,
// in lifecycle statuses.
func FuzzOrderAnswer(f *testing.F) {
	_, first := docsPage(f)
	f.Add(200, "", first)
	for _, e := range errorBodies {
		f.Add(e.status, "7", []byte(e.body))
	}
	srv := fuzzhttp.New(f)
	clients := map[bool]*backmarket.Client{
		false: backmarket.New(srv.Client(), backmarket.Options{BaseURL: srv.URL, Token: token}),
		true:  backmarket.New(srv.Client(), backmarket.Options{BaseURL: srv.URL, Token: token, Forbidden403IsRateLimit: true}),
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		srv.Answer(func(*http.Request) fuzzhttp.Answer {
			return fuzzhttp.Answer{Status: status, Header: http.Header{"Retry-After": {retryAfter}}, Body: body}
		})
		for forbiddenIsRateLimit, c := range clients {
			o, err := c.Order(context.Background(), "5978")
			s := fuzzhttp.Status(status)
			if err != nil {
				e := fuzzhttp.Classified(t, err, token)
				if want := wantCode(s, forbiddenIsRateLimit); s >= 400 && e.Code != want {
					t.Fatalf("http %d: code %s, want %s", s, e.Code, want)
				}
				continue
			}
			if s >= 400 {
				t.Fatalf("http %d answered an order", s)
			}
			marketplacetest.CheckOrder(t, "5978", o)
		}
	})
}

// FuzzListAnswer serves any first page to OrdersUpdatedSince (later pages
// are empty): a failure is classified; the orders listed each name an
// order, once, changed at or after since, oldest first.
func FuzzListAnswer(f *testing.F) {
	page, first := docsPage(f)
	f.Add(200, page)
	f.Add(200, []byte(`{"next":"?page=2","results":[`+string(first)+`]}`))
	f.Add(200, []byte(`{"results":[{"state":1},{"order_id":"","state":1},{"order_id":7,"date_modification":"2000-01-01 00:00:00"}]}`))
	f.Add(200, []byte(`{"results":[{"state":1},{"order_id":7,"state":3}]}`))
	for _, e := range errorBodies {
		f.Add(e.status, []byte(e.body))
	}
	srv := fuzzhttp.New(f)
	c := backmarket.New(srv.Client(), backmarket.Options{BaseURL: srv.URL, Token: token})
	since := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			if r.URL.Query().Get("page") != "1" {
				return fuzzhttp.Answer{Body: []byte(`{"next":null,"results":[]}`)}
			}
			return fuzzhttp.Answer{Status: status, Body: body}
		})
		orders, err := c.OrdersUpdatedSince(context.Background(), since)
		if err != nil {
			fuzzhttp.Classified(t, err, token)
			return
		}
		marketplacetest.CheckListed(t, since, orders)
	})
}

// FuzzAcceptAnswer serves any answer to Accept's line updates (POST
// /ws/orders/{id}), and any order to the read that checks whether a
// refused update is done already: a 400 or 422 is invalid_transition, or
// no error when the read shows the line accepted; any other failure is
// classified as httpclient.Classify's table says; a 2xx is no error.
func FuzzAcceptAnswer(f *testing.F) {
	_, first := docsPage(f)
	accepted := []byte(`{"order_id":5978,"state":3,"orderlines":[{"id":1,"state":2,"listing":"SKU-A"},{"id":2,"state":2,"listing":"SKU-B"}]}`)
	f.Add(200, []byte(`{}`), first)
	f.Add(400, []byte(errorBodies[0].body), first)
	f.Add(400, []byte(errorBodies[0].body), accepted)
	f.Add(422, []byte(``), []byte(`{"order_id":5978,"orderlines":[{"listing":"SKU-A","state":99}]}`))
	for _, e := range errorBodies[1:6] {
		f.Add(e.status, []byte(e.body), first)
	}
	srv := fuzzhttp.New(f)
	c := backmarket.New(srv.Client(), backmarket.Options{BaseURL: srv.URL, Token: token})
	o := order.MarketplaceOrder{ID: "5978", Status: order.StatusAwaitingAcceptance, State: "1", Lines: []order.MarketplaceLine{
		{ID: "1", SKU: "SKU-A", Quantity: 1, Status: order.StatusAwaitingAcceptance, State: "1"},
		{ID: "2", SKU: "SKU-B", Quantity: 1, Status: order.StatusAwaitingAcceptance, State: "1"},
	}}
	f.Fuzz(func(t *testing.T, status int, updateBody, current []byte) {
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			if r.Method == http.MethodGet {
				return fuzzhttp.Answer{Body: current}
			}
			return fuzzhttp.Answer{Status: status, Body: updateBody}
		})
		err := c.Accept(context.Background(), o)
		s := fuzzhttp.Status(status)
		switch {
		case s < 400:
			if err != nil {
				t.Fatalf("http %d: %v", s, err)
			}
		case s == 400 || s == 422:
			if err != nil && syncerr.CodeOf(fuzzhttp.Classified(t, err, token)) != syncerr.InvalidTransition {
				t.Fatalf("http %d: %v, want invalid_transition", s, err)
			}
		default:
			if e := fuzzhttp.Classified(t, err, token); e.Code != wantCode(s, false) {
				t.Fatalf("http %d: code %s, want %s", s, e.Code, wantCode(s, false))
			}
		}
	})
}
