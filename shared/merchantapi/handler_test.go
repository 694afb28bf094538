package merchantapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
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

// The keys of the test connections, as their secrets hold them.
const (
	acmeKey     = "acme-key-5f2b9c0e6d1a4f87"
	acmeNextKey = "acme-key-next-77aa01c3"
	otherKey    = "other-key-0b1c2d3e"
)

// secretsFunc adapts a function to merchantapi.Secrets.
type secretsFunc func(ctx context.Context, name string) (string, error)

func (f secretsFunc) Secret(ctx context.Context, name string) (string, error) { return f(ctx, name) }

type env struct {
	t     *testing.T
	store *memstore.Store
	queue *queuetest.Queue
	now   time.Time
	logs  *bytes.Buffer
	h     *merchantapi.Handler
}

// newEnv builds an in-memory store and sync queue, and the connections:
//
//	acme      keys acme-api (and acme-api-next, a rotation); acme-api-old is gone
//	other     key other-api
//	quiet     key quiet-api, no errors
//	importer  key importer-api, imports marketplace orders
//	closed    no key: the API is off
//	gone      a key ref whose secret was deleted
//	flaky     a key ref whose secret cannot be read right now
func newEnv(t *testing.T) *env {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	e := &env{t: t, queue: &queuetest.Queue{}, now: now, logs: &bytes.Buffer{},
		store: memstore.New().WithClock(func() time.Time { return now })}
	for _, conn := range []order.Connection{
		{ID: "acme", APIKeyRefs: []string{"acme-api-old", "acme-api", "acme-api-next"}},
		{ID: "other", APIKeyRefs: []string{"other-api"}},
		{ID: "quiet", APIKeyRefs: []string{"quiet-api"}},
		{ID: "importer", APIKeyRefs: []string{"importer-api"}, ImportOrders: true},
		{ID: "closed"},
		{ID: "gone", APIKeyRefs: []string{"deleted-api"}},
		{ID: "flaky", APIKeyRefs: []string{"flaky-api"}},
	} {
		conn.MerchantName, conn.MerchantEmail = "Merchant "+conn.ID, conn.ID+"@merchant.test"
		conn.Store = order.Endpoint{Platform: order.Shopify}
		conn.Marketplace = order.Endpoint{Platform: order.BackMarket, CredentialRef: conn.ID + "-bm"}
		if err := e.store.PutConnection(context.Background(), conn); err != nil {
			t.Fatal(err)
		}
	}
	keys := secrets.Static{"acme-api": acmeKey, "acme-api-next": acmeNextKey, "other-api": otherKey,
		"quiet-api": "quiet-key", "importer-api": "importer-key"}
	sec := secretsFunc(func(ctx context.Context, name string) (string, error) {
		if name == "flaky-api" {
			return "", errors.New("ssm: throttled")
		}
		return keys.Secret(ctx, name)
	})
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.h = merchantapi.New(merchantapi.Config{Now: func() time.Time { return now }}, e.store, sec, e.queue, log)
	return e
}

// req is one request to the API.
type req struct {
	method, route string
	conn, order   string // path parameters
	job           string // the path's {job}
	query         map[string]string
	body          string
	base64        bool   // send the body base64-encoded, as API Gateway does for binary types
	asBase64      bool   // mark the body base64-encoded but send it as is
	auth          string // the Authorization header; empty sends none
}

type resp struct {
	status  int
	headers map[string]string
	body    []byte
}

// send builds the event API Gateway would and calls the handler. The route
// key is ANY, as template.yaml declares the routes.
func (e *env) send(r req) resp {
	e.t.Helper()
	params := map[string]string{}
	path := r.route
	for name, v := range map[string]string{"connection": r.conn, "marketplaceOrderId": r.order, "job": r.job} {
		if strings.Contains(r.route, "{"+name+"}") {
			params[name] = v
			path = strings.ReplaceAll(path, "{"+name+"}", v)
		}
	}
	headers := map[string]string{"content-type": "application/json", "user-agent": "curl/8"}
	if r.auth != "" {
		headers["authorization"] = r.auth
	}
	body := r.body
	if r.base64 {
		body = base64.StdEncoding.EncodeToString([]byte(r.body))
	}
	isBase64 := r.base64 || r.asBase64
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY " + r.route, RawPath: path, Headers: headers,
		QueryStringParameters: r.query, PathParameters: params, Body: body, IsBase64Encoded: isBase64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: "ANY " + r.route, RequestID: "req-1",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.method, Path: path}},
	}
	out, err := e.h.Handle(context.Background(), ev)
	if err != nil {
		e.t.Fatalf("Handle returned an error: %v", err)
	}
	if ct := out.Headers["Content-Type"]; ct != "application/json" {
		e.t.Errorf("%s %s: Content-Type %q, want application/json", r.method, path, ct)
	}
	if !json.Valid([]byte(out.Body)) {
		e.t.Errorf("%s %s: body is not JSON: %s", r.method, path, out.Body)
	}
	return resp{status: out.StatusCode, headers: out.Headers, body: []byte(out.Body)}
}

// errorCode returns the code of an error answer, failing if the body does
// not have the error shape.
func (r resp) errorCode(t *testing.T) string {
	t.Helper()
	var b struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error == nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("body %s is not {\"error\": {\"code\", \"message\"}}", r.body)
	}
	return b.Error.Code
}

func decode[T any](t *testing.T, r resp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// queued takes every message off the sync queue. (That SQS messages carry
// the event id as an attribute is sqsqueue's to test.)
func (e *env) queued() []order.Event {
	e.t.Helper()
	out, err := e.queue.Take()
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// queueLength is how many messages wait on the sync queue.
func (e *env) queueLength() string {
	e.t.Helper()
	return fmt.Sprint(e.queue.Len())
}

// saveOrder stores an order of a connection that last failed to sync.
func (e *env) saveOrder(conn, mkID string) order.State {
	e.t.Helper()
	st := order.State{Connection: conn, Ref: order.Ref{StoreOrderID: "s-" + mkID, StoreOrderName: "#" + mkID, MarketplaceOrderID: mkID},
		StoreStatus: order.StatusShipped, StoreUpdatedAt: e.now.Add(-time.Hour), MarketplaceStatus: order.StatusAccepted, MarketplaceState: "3",
		Lines:           []order.Line{{SKU: "IPH12-64-BLK", Quantity: 1, StoreLineID: "l1"}},
		ShippingAddress: &order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"},
		Parcels:         []order.Parcel{{ID: "f1", Tracking: order.Tracking{Carrier: "Colissimo"}, Lines: []order.Line{{SKU: "IPH12-64-BLK", Quantity: 1}}}},
		Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "shipping_data_missing", Message: "the shipment is missing its tracking number",
			Attempts: 1, At: e.now.Add(-30 * time.Minute), FirstFailedAt: e.now.Add(-30 * time.Minute)}}
	saved, err := e.store.SaveOrder(context.Background(), st)
	if err != nil {
		e.t.Fatal(err)
	}
	return saved
}

type errorItem struct {
	Order    order.Ref `json:"order"`
	Code     string    `json:"code"`
	Kind     string    `json:"kind"`
	Title    string    `json:"title"`
	Cause    string    `json:"cause"`
	Remedy   string    `json:"remedy"`
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
}

type errorsBody struct {
	Connection string      `json:"connection"`
	Since      time.Time   `json:"since"`
	Limit      int         `json:"limit"`
	Errors     []errorItem `json:"errors"`
}

func TestListErrorsNewestFirstWithinTheWeek(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// 25 errors every 6 h back from now (all within the week), one of
	// another connection, one 8 days old (expired, not deleted yet).
	for i := range 25 {
		r := order.ErrorRecord{Connection: "acme", MarketplaceOrderID: fmt.Sprintf("m%d", i), StoreOrderID: fmt.Sprintf("s%d", i),
			StoreOrderName: fmt.Sprintf("#%d", 1000+i), Code: "shipping_data_missing", Kind: "permanent", Title: "Shipping data missing",
			Cause: fmt.Sprintf("Order #%d was not marked shipped", 1000+i), Remedy: "Add the tracking number", Attempts: 1 + i%3,
			At: e.now.Add(-time.Duration(i) * 6 * time.Hour)}
		if err := e.store.RecordError(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []order.ErrorRecord{
		{Connection: "other", MarketplaceOrderID: "x1", Code: "sku_not_found", At: e.now},
		{Connection: "acme", MarketplaceOrderID: "old", Code: "sku_not_found", At: e.now.Add(-8 * 24 * time.Hour)},
	} {
		if err := e.store.RecordError(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		query     map[string]string
		wantFirst int // index of the newest error listed
		wantN     int
		wantLimit int
		wantDays  int
	}{
		{"defaults: the last 20 of the week", nil, 0, 20, 20, 7},
		{"the last 5", map[string]string{"limit": "5"}, 0, 5, 5, 7},
		{"up to 100: all 25 of the week", map[string]string{"limit": "100", "days": "7"}, 0, 25, 100, 7},
		{"the past 2 days: 0, 6, …, 48 h", map[string]string{"days": "2"}, 0, 9, 20, 2},
		{"the past day, at most 3", map[string]string{"days": "1", "limit": "3"}, 0, 3, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", query: tt.query, auth: "Bearer " + acmeKey})
			if r.status != http.StatusOK {
				t.Fatalf("status = %d %s, want 200", r.status, r.body)
			}
			got := decode[errorsBody](t, r)
			if len(got.Errors) != tt.wantN {
				t.Fatalf("got %d errors, want %d", len(got.Errors), tt.wantN)
			}
			if got.Connection != "acme" || got.Limit != tt.wantLimit || !got.Since.Equal(e.now.Add(-time.Duration(tt.wantDays)*24*time.Hour)) {
				t.Errorf("connection, limit, since = %q, %d, %v; want acme, %d, %d days ago", got.Connection, got.Limit, got.Since, tt.wantLimit, tt.wantDays)
			}
			for i, it := range got.Errors {
				want := fmt.Sprintf("m%d", tt.wantFirst+i)
				if it.Order.MarketplaceOrderID != want {
					t.Errorf("error %d is order %s, want %s (newest first)", i, it.Order.MarketplaceOrderID, want)
				}
				if i > 0 && !it.At.Before(got.Errors[i-1].At) {
					t.Errorf("error %d at %v is not older than the one before, %v", i, it.At, got.Errors[i-1].At)
				}
			}
			first := got.Errors[0]
			want := errorItem{Order: order.Ref{StoreOrderID: "s0", StoreOrderName: "#1000", MarketplaceOrderID: "m0"},
				Code: "shipping_data_missing", Kind: "permanent", Title: "Shipping data missing", Cause: "Order #1000 was not marked shipped",
				Remedy: "Add the tracking number", Attempts: 1, At: e.now}
			if fmt.Sprint(first) != fmt.Sprint(want) {
				t.Errorf("first error = %+v, want %+v", first, want)
			}
		})
	}

	t.Run("no errors is an empty list", func(t *testing.T) {
		r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "quiet", auth: "Bearer quiet-key"})
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"errors":[]`)) {
			t.Errorf("got %d %s, want 200 with \"errors\":[]", r.status, r.body)
		}
	})

	for _, q := range []map[string]string{
		{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"limit": "5,6"}, {"limit": "-1"},
		{"days": "0"}, {"days": "8"}, {"days": "30"}, {"days": "1.5"},
	} {
		t.Run(fmt.Sprintf("refuses %v", q), func(t *testing.T) {
			r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", query: q, auth: "Bearer " + acmeKey})
			if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_parameter" {
				t.Errorf("got %d %s, want 400 invalid_parameter", r.status, r.body)
			}
		})
	}
}

type orderBody struct {
	Connection        string         `json:"connection"`
	Order             order.Ref      `json:"order"`
	StoreStatus       order.Status   `json:"store_status"`
	StoreUpdatedAt    time.Time      `json:"store_updated_at"`
	MarketplaceStatus order.Status   `json:"marketplace_status"`
	MarketplaceState  string         `json:"marketplace_state"`
	Lines             []order.Line   `json:"lines"`
	Parcels           []order.Parcel `json:"parcels"`
	Sync              struct {
		Result        order.SyncResult `json:"result"`
		ErrorCode     string           `json:"error_code"`
		Kind          string           `json:"kind"`
		Message       string           `json:"message"`
		Attempts      int              `json:"attempts"`
		At            time.Time        `json:"at"`
		FirstFailedAt time.Time        `json:"first_failed_at"`
		Since         time.Time        `json:"since"`
	} `json:"sync"`
}

func TestShowOrder(t *testing.T) {
	e := newEnv(t)
	saved := e.saveOrder("acme", "261673")
	r := e.send(req{method: "GET", route: merchantapi.RouteOrder, conn: "acme", order: "261673", auth: "Bearer " + acmeKey})
	if r.status != http.StatusOK {
		t.Fatalf("status = %d %s, want 200", r.status, r.body)
	}
	got := decode[orderBody](t, r)
	if got.Connection != "acme" || got.Order != saved.Ref || got.StoreStatus != order.StatusShipped || !got.StoreUpdatedAt.Equal(saved.StoreUpdatedAt) ||
		got.MarketplaceStatus != order.StatusAccepted || got.MarketplaceState != "3" {
		t.Errorf("order = %+v, want the stored %+v", got, saved)
	}
	if fmt.Sprint(got.Lines, got.Parcels) != fmt.Sprint(saved.Lines, saved.Parcels) {
		t.Errorf("lines, parcels = %+v %+v; want %+v %+v", got.Lines, got.Parcels, saved.Lines, saved.Parcels)
	}
	s := got.Sync
	if s.Result != order.SyncFailed || s.ErrorCode != "shipping_data_missing" || s.Kind != "permanent" || s.Message != saved.Sync.Message ||
		s.Attempts != 1 || !s.At.Equal(saved.Sync.At) || !s.FirstFailedAt.Equal(saved.Sync.FirstFailedAt) {
		t.Errorf("sync = %+v, want the stored outcome %+v with its kind", s, saved.Sync)
	}
	// Since is the listing's time (merchantapi.ListedAt): a state saved
	// without one is listed by its last sync's.
	if !s.Since.Equal(merchantapi.ListedAt(saved)) || s.Since.IsZero() {
		t.Errorf("sync.since = %v, want the listing's time %v", s.Since, merchantapi.ListedAt(saved))
	}
	if bytes.Contains(r.body, []byte("Victor")) || bytes.Contains(r.body, []byte("Vosges")) {
		t.Errorf("the answer carries the shipping address: %s", r.body)
	}

	for _, tt := range []struct{ name, conn, id string }{
		{"unknown order", "acme", "999999"},
		{"another connection's order", "other", "261673"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			auth := "Bearer " + acmeKey
			if tt.conn == "other" {
				auth = "Bearer " + otherKey
			}
			r := e.send(req{method: "GET", route: merchantapi.RouteOrder, conn: tt.conn, order: tt.id, auth: auth})
			if r.status != http.StatusNotFound || r.errorCode(t) != "order_not_found" {
				t.Errorf("got %d %s, want 404 order_not_found", r.status, r.body)
			}
		})
	}
}

var eventID = regexp.MustCompile(`^resync-[0-9a-f]{32}$`)

// checkResync checks ev re-syncs the stored order st and changes nothing
// in it.
func checkResync(t *testing.T, ev order.Event, st order.State) {
	t.Helper()
	if ev.Connection != st.Connection || ev.Source != "resync" || !eventID.MatchString(ev.SourceEventID) ||
		!ev.OccurredAt.IsZero() || ev.Order != st.Ref || ev.Intent != order.IntentUpdate {
		t.Errorf("event = %+v; want connection %s, source resync, id resync-<hex>, zero occurred_at, order %+v", ev, st.Connection, st.Ref)
	}
	if ev.Status != "" || len(ev.Lines) != 0 || len(ev.Parcels) != 0 || ev.ShippingAddress != nil || ev.CancelReason != "" || ev.Fetch {
		t.Errorf("event = %+v carries a change; a re-sync carries none", ev)
	}
	// What the sync does first: fold the event into the stored state.
	if _, changed := rules.Apply(st, ev); changed {
		t.Errorf("rules.Apply(stored, re-sync event) changed the state; the sync must plan from the stored state as it is")
	}
}

func TestResyncOneOrder(t *testing.T) {
	e := newEnv(t)
	st := e.saveOrder("acme", "261673")
	r := e.send(req{method: "POST", route: merchantapi.RouteOrderResync, conn: "acme", order: "261673", auth: "Bearer " + acmeKey})
	if r.status != http.StatusAccepted || string(r.body) != `{"queued":["261673"],"not_found":[]}` {
		t.Fatalf("got %d %s, want 202 with the order queued", r.status, r.body)
	}
	evs := e.queued()
	if len(evs) != 1 {
		t.Fatalf("%d messages on the sync queue, want 1", len(evs))
	}
	checkResync(t, evs[0], st)

	r = e.send(req{method: "POST", route: merchantapi.RouteOrderResync, conn: "acme", order: "404404", auth: "Bearer " + acmeKey})
	if r.status != http.StatusNotFound || r.errorCode(t) != "order_not_found" {
		t.Errorf("unknown order: got %d %s, want 404 order_not_found", r.status, r.body)
	}
	if n := e.queueLength(); n != "0" {
		t.Errorf("unknown order: %s messages queued, want none", n)
	}
}

func TestResyncManyOrders(t *testing.T) {
	e := newEnv(t)
	stored := map[string]order.State{}
	for _, id := range []string{"m1", "m2", "m3"} {
		stored[id] = e.saveOrder("acme", id)
	}
	for _, b64 := range []bool{false, true} {
		t.Run(fmt.Sprintf("base64 %v", b64), func(t *testing.T) {
			r := e.send(req{method: "POST", route: merchantapi.RouteResync, conn: "acme", base64: b64, auth: "Bearer " + acmeKey,
				body: `{"orders": ["m2", "x9", "m1", "m2", "m3", "x8", "x9"]}`})
			if r.status != http.StatusAccepted {
				t.Fatalf("status = %d %s, want 202", r.status, r.body)
			}
			got := decode[struct {
				Queued   []string `json:"queued"`
				NotFound []string `json:"not_found"`
			}](t, r)
			if !slices.Equal(got.Queued, []string{"m2", "m1", "m3"}) || !slices.Equal(got.NotFound, []string{"x9", "x8"}) {
				t.Errorf("got queued %v, not found %v; want [m2 m1 m3] and [x9 x8], duplicates dropped, in the order asked", got.Queued, got.NotFound)
			}
			evs := e.queued()
			if len(evs) != 3 {
				t.Fatalf("%d messages on the sync queue, want 3", len(evs))
			}
			ids := map[string]bool{}
			for _, ev := range evs {
				st, ok := stored[ev.Order.MarketplaceOrderID]
				if !ok {
					t.Errorf("queued order %q was not asked for", ev.Order.MarketplaceOrderID)
					continue
				}
				checkResync(t, ev, st)
				ids[ev.SourceEventID] = true
			}
			if len(ids) != 3 {
				t.Errorf("event ids %v, want 3 different ones", ids)
			}
		})
	}

	t.Run("none known", func(t *testing.T) {
		r := e.send(req{method: "POST", route: merchantapi.RouteResync, conn: "acme", auth: "Bearer " + acmeKey, body: `{"orders":["x1","x2"]}`})
		if r.status != http.StatusNotFound || r.errorCode(t) != "order_not_found" {
			t.Errorf("got %d %s, want 404 order_not_found", r.status, r.body)
		}
		if n := e.queueLength(); n != "0" {
			t.Errorf("%s messages queued, want none", n)
		}
	})

	t.Run("100 different ids, each twice", func(t *testing.T) {
		ids := []string{"m1"}
		for i := range 99 {
			ids = append(ids, fmt.Sprintf("n%d", i))
		}
		b, _ := json.Marshal(map[string][]string{"orders": append(ids, ids...)})
		r := e.send(req{method: "POST", route: merchantapi.RouteResync, conn: "acme", auth: "Bearer " + acmeKey, body: string(b)})
		if r.status != http.StatusAccepted || !bytes.Contains(r.body, []byte(`"queued":["m1"]`)) {
			t.Errorf("got %d %s, want 202 with m1 queued", r.status, r.body)
		}
		if evs := e.queued(); len(evs) != 1 {
			t.Errorf("%d messages queued, want 1", len(evs))
		}
	})
}

func TestResyncRefusesBadBodiesAndQueuesNothing(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("acme", "m1")
	var ids []string
	for i := range 101 {
		ids = append(ids, fmt.Sprintf("m%d", i))
	}
	tooMany, _ := json.Marshal(map[string][]string{"orders": ids})
	tests := []struct {
		name, body       string
		base64, asBase64 bool
		status           int
		code             string
	}{
		{"empty", "", false, false, 400, "malformed_body"},
		{"not JSON", "orders=m1", false, false, 400, "malformed_body"},
		{"an array", `["m1"]`, false, false, 400, "malformed_body"},
		{"orders not a list", `{"orders":"m1"}`, false, false, 400, "malformed_body"},
		{"an id not a string", `{"orders":["m1",1]}`, false, false, 400, "malformed_body"},
		{"an unknown field", `{"orders":["m1"],"force":true}`, false, false, 400, "malformed_body"},
		{"two objects", `{"orders":["m1"]} {"orders":["m1"]}`, false, false, 400, "malformed_body"},
		{"not base64", "{{{", false, true, 400, "malformed_body"},
		{"no orders field", `{}`, false, false, 400, "invalid_orders"},
		{"null orders", `{"orders":null}`, false, false, 400, "invalid_orders"},
		{"no ids", `{"orders":[]}`, false, false, 400, "invalid_orders"},
		{"an empty id", `{"orders":["m1",""]}`, false, false, 400, "invalid_orders"},
		{"an id with the key separator", `{"orders":["m1","a#b"]}`, false, false, 400, "invalid_orders"},
		{"an id with a space", `{"orders":["m1","m 2"]}`, false, false, 400, "invalid_orders"},
		{"an id too long", `{"orders":["m1","` + strings.Repeat("9", order.MaxIDBytes+1) + `"]}`, false, false, 400, "invalid_orders"},
		{"101 ids", string(tooMany), false, false, 400, "invalid_orders"},
		{"too large", `{"orders":["m1"]}` + strings.Repeat(" ", merchantapi.MaxBodyBytes), false, false, 413, "body_too_large"},
		{"too large in base64", strings.Repeat(" ", merchantapi.MaxBodyBytes+1), true, false, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(req{method: "POST", route: merchantapi.RouteResync, conn: "acme", auth: "Bearer " + acmeKey,
				body: tt.body, base64: tt.base64, asBase64: tt.asBase64})
			if r.status != tt.status || r.errorCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	if n := e.queueLength(); n != "0" {
		t.Errorf("%s messages queued after refused requests, want none", n)
	}
}

func TestResyncOfAFailedImportImportsAgain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The import failed before the store order was made: the order is
	// known by its marketplace id only.
	failed := order.State{Connection: "importer", Ref: order.Ref{MarketplaceOrderID: "n1"},
		Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "sku_not_found", Attempts: 1, At: e.now}}
	if _, err := e.store.SaveOrder(ctx, failed); err != nil {
		t.Fatal(err)
	}
	imported := e.saveOrder("importer", "n2")
	r := e.send(req{method: "POST", route: merchantapi.RouteResync, conn: "importer", auth: "Bearer importer-key", body: `{"orders":["n1","n2"]}`})
	if r.status != http.StatusAccepted {
		t.Fatalf("got %d %s, want 202", r.status, r.body)
	}
	for _, ev := range e.queued() {
		switch ev.Order.MarketplaceOrderID {
		case "n1":
			if ev.Intent != order.IntentImport || ev.Source != merchantapi.Source {
				t.Errorf("failed import: event %+v, want the import intent", ev)
			}
		case "n2":
			checkResync(t, ev, imported)
		}
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("acme", "m1")
	const body = `{"orders":["m1","secret-body-marker"]}`
	tests := []struct {
		name, conn, auth string
		status           int
		code             string
		challenge        bool // WWW-Authenticate expected
	}{
		{"no Authorization header", "acme", "", 401, "unauthorized", true},
		{"another scheme", "acme", "Basic " + acmeKey, 401, "unauthorized", true},
		{"Bearer without a key", "acme", "Bearer ", 401, "unauthorized", true},
		{"a wrong key", "acme", "Bearer not-the-key", 401, "unauthorized", true},
		{"the key with a suffix", "acme", "Bearer " + acmeKey + "x", 401, "unauthorized", true},
		{"another connection's key", "acme", "Bearer " + otherKey, 401, "unauthorized", true},
		{"unknown connection, no key", "nobody", "", 401, "unauthorized", true},
		{"unknown connection", "nobody", "Bearer " + acmeKey, 404, "unknown_connection", false},
		{"a connection id longer than any", strings.Repeat("c", 3000), "Bearer " + acmeKey, 400, "invalid_id", false},
		{"a connection without a key", "closed", "Bearer " + acmeKey, 403, "api_disabled", false},
		{"a connection whose key was deleted", "gone", "Bearer " + acmeKey, 403, "api_disabled", false},
		{"the key store failing", "flaky", "Bearer " + acmeKey, 503, "unavailable", false},
		{"the key", "acme", "Bearer " + acmeKey, 202, "", false},
		{"the scheme in lower case", "acme", "bearer " + acmeKey, 202, "", false},
		{"the next key of a rotation", "acme", "Bearer " + acmeNextKey, 202, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(req{method: "POST", route: merchantapi.RouteResync, conn: tt.conn, auth: tt.auth, body: body})
			if r.status != tt.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.status)
			}
			n := len(e.queued())
			if tt.code == "" {
				if n != 1 {
					t.Errorf("%d messages queued, want 1", n)
				}
				return
			}
			if got := r.errorCode(t); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
			if n != 0 {
				t.Errorf("%d messages queued by a refused request, want none", n)
			}
			if got := r.headers["WWW-Authenticate"]; (got != "") != tt.challenge || tt.challenge && !strings.HasPrefix(got, "Bearer ") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge: %v", got, tt.challenge)
			}
			if tt.status == 503 && r.headers["Retry-After"] == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
	logs := e.logs.String()
	for _, secret := range []string{acmeKey, acmeNextKey, otherKey, "secret-body-marker", "Bearer"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "connection=acme") || !strings.Contains(logs, "status=401") {
		t.Errorf("the logs lack the requests' connection and status:\n%s", logs)
	}
}

func TestRoutesAndMethods(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, route string
		status        int
		code, allow   string
	}{
		{"POST", merchantapi.RouteErrors, 405, "method_not_allowed", "GET"},
		{"DELETE", merchantapi.RouteOrder, 405, "method_not_allowed", "GET"},
		{"GET", merchantapi.RouteResync, 405, "method_not_allowed", "POST"},
		{"PUT", merchantapi.RouteOrderResync, 405, "method_not_allowed", "POST"},
		{"GET", "/connections/{connection}/things", 404, "unknown_route", ""},
		// Orders by sync state, and jobs.
		{"POST", merchantapi.RouteOrders, 405, "method_not_allowed", "GET"},
		{"DELETE", merchantapi.RouteJobs, 405, "method_not_allowed", "GET, POST"},
		{"POST", merchantapi.RouteJob, 405, "method_not_allowed", "GET"},
		{"GET", merchantapi.RouteOrderFix, 405, "method_not_allowed", "POST"},
		{"GET", "$default", 404, "unknown_route", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.route, func(t *testing.T) {
			// No key: routing and methods are checked first.
			r := e.send(req{method: tt.method, route: tt.route, conn: "acme", order: "m1"})
			if r.status != tt.status || r.errorCode(t) != tt.code || r.headers["Allow"] != tt.allow {
				t.Errorf("got %d %s Allow %q, want %d %s Allow %q", r.status, r.body, r.headers["Allow"], tt.status, tt.code, tt.allow)
			}
		})
	}
}

func TestOutagesAnswer503AndQueueNothing(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("acme", "m1")
	keys := secrets.Static{"acme-api": acmeKey}
	t.Run("the queue refuses", func(t *testing.T) {
		h := merchantapi.New(merchantapi.Config{}, e.store, keys, &queuetest.Queue{Err: errors.New("sqs: no such queue")}, nil)
		out, _ := h.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: "ANY " + merchantapi.RouteOrderResync,
			PathParameters: map[string]string{"connection": "acme", "marketplaceOrderId": "m1"},
			Headers:        map[string]string{"authorization": "Bearer " + acmeKey},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}})
		if out.StatusCode != 503 || out.Headers["Retry-After"] == "" || !strings.Contains(out.Body, `"unavailable"`) {
			t.Errorf("got %d %v %s, want 503 unavailable with Retry-After", out.StatusCode, out.Headers, out.Body)
		}
	})
	t.Run("the store fails", func(t *testing.T) {
		store := failingStore{errors.New("dynamodb: no such table")}
		h := merchantapi.New(merchantapi.Config{}, store, keys, e.queue, nil)
		out, _ := h.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: "ANY " + merchantapi.RouteErrors,
			PathParameters: map[string]string{"connection": "acme"},
			Headers:        map[string]string{"authorization": "Bearer " + acmeKey},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}})
		if out.StatusCode != 503 || out.Headers["Retry-After"] == "" {
			t.Errorf("got %d %v %s, want 503 with Retry-After", out.StatusCode, out.Headers, out.Body)
		}
	})
	if n := e.queueLength(); n != "0" {
		t.Errorf("%s messages queued, want none", n)
	}
}
