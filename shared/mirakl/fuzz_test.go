package mirakl_test

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/fuzzhttp"
	"github.com/ordersync/ordersync/shared/testkit/marketplacetest"
)

// docsAnswers are OR11 answers made of the connector fixtures (see
// testdata/SOURCES.md): the list as it is, and each single order as the
// one-order page Order gets.
func docsAnswers(f *testing.F) [][]byte {
	list, err := os.ReadFile("testdata/or11_orders_list_with_refunds.json")
	if err != nil {
		f.Fatal(err)
	}
	out := [][]byte{list}
	for _, name := range []string{"order_received.json", "order_with_taxes_can_cancel.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, []byte(`{"orders":[`+string(b)+`],"total_count":1}`))
	}
	return out
}

// errorBodies are Mirakl error answers (the classic API's shape is
// UNCONFIRMED: the code may be anywhere) and edge cases.
var errorBodies = []struct {
	status int
	body   string
}{
	{400, `{"message":"ORDER_INVALID_STATE: the order of Jane Doe is not WAITING_ACCEPTANCE","status":400}`},
	{400, `{"errors":[{"code":"ORDER_LINE_NOT_FOUND","field":"order_lines[0].id"}]}`},
	{404, `{"message":"ORDER_NOT_FOUND","status":404}`},
	{400, `{"message":"XORDER_INVALID_STATE"}`},
	{400, `{"message":"ORDER_NOT_FOUND_IN_SHOP 12, see ORDER_NOT_FOUND"}`},
	{401, `{"message":"Unauthorized","status":401}`},
	{429, `{"message":"Too many requests"}`},
	{500, `<html>`},
	{200, `{"orders":[{"order_id":"1234561-A","order_state":"SOMETHING_NEW"}],"total_count":1}`},
	{200, `{"orders":[{"order_id":"other","order_state":"SHIPPING"}],"total_count":1}`},
	{200, `{"orders":[{"order_state":"SHIPPING"},{"order_id":"","order_state":"SHIPPING"}],"total_count":2}`},
}

// codePatterns match each Mirakl error code the connector knows, as a
// word of its own, longest first (as the connector looks for them).
var codePatterns = func() []struct {
	re   *regexp.Regexp
	code syncerr.Code
} {
	var out []struct {
		re   *regexp.Regexp
		code syncerr.Code
	}
	keys := slices.SortedFunc(maps.Keys(mirakl.ErrorCodes), func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	for _, k := range keys {
		out = append(out, struct {
			re   *regexp.Regexp
			code syncerr.Code
		}{regexp.MustCompile(`(^|[^A-Z0-9_])` + k + `($|[^A-Z0-9_])`), mirakl.ErrorCodes[k]})
	}
	return out
}()

// wantCode is the code the connector gives an error status s with body:
// for a 4xx other than 401, 403 and 429, a Mirakl error code found in the
// body as a word of its own decides; otherwise the status does, as
// httpclient.Classify's table says.
func wantCode(s int, body []byte) syncerr.Code {
	if s < 500 && s != 401 && s != 403 && s != 429 {
		text := strings.ToUpper(string(body))
		for _, p := range codePatterns {
			if p.re.MatchString(text) {
				return p.code
			}
		}
	}
	switch {
	case s == 429:
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

func fuzzClient(srv *fuzzhttp.Server) *mirakl.Client {
	return mirakl.New(srv.Client(), mirakl.Options{BaseURL: srv.URL, APIKey: key, ShopID: "2001"})
}

// FuzzOrderAnswer serves any answer, with any status and Retry-After, to
// Order (OR11 by order_ids): a failure is classified as wantCode says and
// shows no key; an order is the one asked for, in lifecycle statuses.
func FuzzOrderAnswer(f *testing.F) {
	for _, b := range docsAnswers(f) {
		f.Add(200, "", b)
	}
	for _, e := range errorBodies {
		f.Add(e.status, "3", []byte(e.body))
	}
	srv := fuzzhttp.New(f)
	c := fuzzClient(srv)
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		srv.Answer(func(*http.Request) fuzzhttp.Answer {
			return fuzzhttp.Answer{Status: status, Header: http.Header{"Retry-After": {retryAfter}}, Body: body}
		})
		o, err := c.Order(context.Background(), "1234561-A")
		s := fuzzhttp.Status(status)
		if err != nil {
			e := fuzzhttp.Classified(t, err, key)
			if want := wantCode(s, body); s >= 400 && e.Code != want {
				t.Fatalf("http %d %q: code %s, want %s", s, body, e.Code, want)
			}
			return
		}
		if s >= 400 {
			t.Fatalf("http %d answered an order", s)
		}
		marketplacetest.CheckOrder(t, "1234561-A", o)
	})
}

// FuzzListAnswer serves any first page to OrdersUpdatedSince (later pages
// are empty): a failure is classified; the orders listed each name an
// order, once, changed at or after since, oldest first.
func FuzzListAnswer(f *testing.F) {
	for _, b := range docsAnswers(f) {
		f.Add(200, b)
	}
	for _, e := range errorBodies {
		f.Add(e.status, []byte(e.body))
	}
	srv := fuzzhttp.New(f)
	c := fuzzClient(srv)
	since := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			if r.URL.Query().Get("offset") != "0" {
				return fuzzhttp.Answer{Body: []byte(`{"orders":[],"total_count":0}`)}
			}
			return fuzzhttp.Answer{Status: status, Body: body}
		})
		orders, err := c.OrdersUpdatedSince(context.Background(), since)
		if err != nil {
			fuzzhttp.Classified(t, err, key)
			return
		}
		marketplacetest.CheckListed(t, since, orders)
	})
}

// FuzzAcceptAnswer serves any answer to OR21 (accept), and any order to
// the read that checks whether a refusal is done already: a 2xx is no
// error; a refusal is classified as wantCode says, and an
// invalid_transition names the move refused, unless the read shows the
// order accepted (no error).
func FuzzAcceptAnswer(f *testing.F) {
	docs := docsAnswers(f)
	waiting := []byte(`{"orders":[{"order_id":"1234561-A","order_state":"WAITING_ACCEPTANCE","order_lines":[{"order_line_id":"1234561-A-1","order_line_state":"WAITING_ACCEPTANCE"}]}],"total_count":1}`)
	f.Add(204, []byte(``), waiting)
	f.Add(400, []byte(errorBodies[0].body), waiting)
	f.Add(400, []byte(errorBodies[0].body), docs[0]) // SHIPPING: accepted meanwhile
	for _, e := range errorBodies[1:8] {
		f.Add(e.status, []byte(e.body), waiting)
	}
	srv := fuzzhttp.New(f)
	c := fuzzClient(srv)
	o := order.MarketplaceOrder{ID: "1234561-A", Status: order.StatusAwaitingAcceptance, State: "WAITING_ACCEPTANCE",
		Lines: []order.MarketplaceLine{{ID: "1234561-A-1", SKU: "SKU-A", Quantity: 1, Status: order.StatusAwaitingAcceptance, State: "WAITING_ACCEPTANCE"}}}
	f.Fuzz(func(t *testing.T, status int, body, current []byte) {
		var settled bool
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			if r.Method == http.MethodGet {
				settled = acceptedIn(current, o.ID)
				return fuzzhttp.Answer{Body: current}
			}
			return fuzzhttp.Answer{Status: status, Body: body}
		})
		err := c.Accept(context.Background(), o)
		s := fuzzhttp.Status(status)
		if s < 400 {
			if err != nil {
				t.Fatalf("http %d: %v", s, err)
			}
			return
		}
		want := wantCode(s, body)
		if err == nil {
			if want != syncerr.InvalidTransition || !settled {
				t.Fatalf("http %d %q: no error", s, body)
			}
			return
		}
		e := fuzzhttp.Classified(t, err, key)
		if e.Code != want {
			t.Fatalf("http %d %q: code %s, want %s", s, body, e.Code, want)
		}
		if want == syncerr.InvalidTransition && (e.Details["from"] != string(order.StatusAwaitingAcceptance) || e.Details["to"] != string(order.StatusAccepted)) {
			t.Fatalf("invalid_transition without the move refused: %v", e.Details)
		}
	})
}

// acceptedIn reports whether an OR11 answer shows order id past
// acceptance (and not ended): what a refused accept needs, at least, to
// count as done.
func acceptedIn(page []byte, id string) bool {
	var p struct {
		Orders []struct {
			OrderID    string `json:"order_id"`
			OrderState string `json:"order_state"`
		} `json:"orders"`
	}
	if json.Unmarshal(page, &p) != nil {
		return false
	}
	for _, o := range p.Orders {
		if o.OrderID == id {
			s, err := mirakl.State(o.OrderState)
			return err == nil && rules.Rank(s) >= rules.Rank(order.StatusAccepted) && !rules.Terminal(s)
		}
	}
	return false
}
