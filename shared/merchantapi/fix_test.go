package merchantapi_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/testkit/queuetest"
)

// fixBody is the answer of a fix: the order's view, with the override.
type fixBody struct {
	orderBody
	Override *struct {
		Tracking *struct {
			ParcelID string    `json:"parcel_id"`
			Number   string    `json:"number"`
			Carrier  string    `json:"carrier"`
			URL      string    `json:"url"`
			At       time.Time `json:"at"`
		} `json:"tracking"`
		ShippingAddressAt time.Time `json:"shipping_address_at"`
	} `json:"override"`
}

// checkFixEvent checks ev re-syncs st as the resync route does, with the
// fix's topic.
func checkFixEvent(t *testing.T, ev order.Event, st order.State) {
	t.Helper()
	if ev.Topic != "merchant/fix" {
		t.Errorf("topic = %q, want merchant/fix", ev.Topic)
	}
	ev.Topic = "merchant/resync"
	checkResync(t, ev, st)
}

// A shipment the store sent without its tracking number (saveOrder's
// order, failed with shipping_data_missing) is filled in: the override is
// kept on the order beside the store's data, a re-sync is queued, and the
// answer is the order's view.
func TestFixTracking(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("acme", "7001")
	r := e.send(req{method: "POST", route: merchantapi.RouteOrderFix, conn: "acme", order: "7001", auth: "Bearer " + acmeKey,
		body: `{"tracking": {"number": " 6A123 ", "carrier": "Colissimo"}}`})
	if r.status != http.StatusAccepted {
		t.Fatalf("status = %d %s, want 202", r.status, r.body)
	}
	st, err := e.store.LoadOrder(context.Background(), "acme", "7001")
	if err != nil {
		t.Fatal(err)
	}
	want := &order.Override{Tracking: &order.TrackingOverride{ParcelID: "f1", Tracking: order.Tracking{Number: "6A123", Carrier: "Colissimo"},
		Replaced: order.Tracking{Carrier: "Colissimo"}, At: e.now}}
	if !reflect.DeepEqual(st.Override, want) {
		t.Errorf("override = %+v, want %+v", st.Override, want)
	}
	if st.Parcels[0].Tracking != (order.Tracking{Carrier: "Colissimo"}) {
		t.Errorf("the store's parcel became %+v; the override stands beside it", st.Parcels[0])
	}
	got := decode[fixBody](t, r)
	if got.Order != st.Ref || got.Sync.ErrorCode != "shipping_data_missing" || got.Override == nil || got.Override.Tracking == nil ||
		got.Override.Tracking.Number != "6A123" || got.Override.Tracking.ParcelID != "f1" || !got.Override.Tracking.At.Equal(e.now) {
		t.Errorf("answer = %s, want the order's view with the override", r.body)
	}
	evs := e.queued()
	if len(evs) != 1 {
		t.Fatalf("%d messages queued, want 1", len(evs))
	}
	checkFixEvent(t, evs[0], st)
	// What the sync then plans on.
	if p := rules.WithOverride(st).Parcels; p[0].Tracking.Number != "6A123" {
		t.Errorf("the sync would ship %+v", p)
	}
}

// An address fixed, then tracking: each fix replaces only what it
// carries.
func TestFixAddressThenTracking(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st := e.saveOrder("acme", "7002")
	st.ShippingAddress = &order.Address{Line1: "6 place des Vosges", Country: "FR"}
	st, err := e.store.SaveOrder(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	r := e.send(req{method: "POST", route: merchantapi.RouteOrderFix, conn: "acme", order: "7002", auth: "Bearer " + acmeKey,
		body: `{"shipping_address": {"name": "Victor Hugo", "line1": "6 place des Vosges", "city": "Paris", "postal_code": "75004", "country": "FR"}}`})
	if r.status != http.StatusAccepted {
		t.Fatalf("address: status = %d %s, want 202", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte("Vosges")) {
		t.Errorf("the answer carries the address: %s", r.body)
	}
	r = e.send(req{method: "POST", route: merchantapi.RouteOrderFix, conn: "acme", order: "7002", auth: "Bearer " + acmeKey,
		body: `{"tracking": {"parcel_id": "f1", "number": "6A1", "carrier": "Colissimo", "url": "https://colissimo.test/6A1"}}`})
	if r.status != http.StatusAccepted {
		t.Fatalf("tracking: status = %d %s, want 202", r.status, r.body)
	}
	got, _ := e.store.LoadOrder(ctx, "acme", "7002")
	o := got.Override
	if o == nil || o.ShippingAddress == nil || o.ShippingAddress.Address.City != "Paris" || !reflect.DeepEqual(o.ShippingAddress.Replaced, st.ShippingAddress) ||
		o.Tracking == nil || o.Tracking.Tracking.URL != "https://colissimo.test/6A1" {
		t.Errorf("override = %+v, want both the address (replacing the store's) and the tracking", o)
	}
	if n := len(e.queued()); n != 2 {
		t.Errorf("%d messages queued, want one per fix", n)
	}
}

// A failed import's address is fixed: the re-sync imports the order again.
func TestFixAFailedImportsAddress(t *testing.T) {
	e := newEnv(t)
	failed := order.State{Connection: "importer", Ref: order.Ref{MarketplaceOrderID: "n1"},
		Sync: order.SyncOutcome{Result: order.SyncHeld, ErrorCode: "address_missing", Attempts: 1, At: e.now}}
	if _, err := e.store.SaveOrder(context.Background(), failed); err != nil {
		t.Fatal(err)
	}
	r := e.send(req{method: "POST", route: merchantapi.RouteOrderFix, conn: "importer", order: "n1", auth: "Bearer importer-key",
		body: `{"shipping_address": {"line1": "1 Main St", "city": "Leeds", "postal_code": "LS1", "country": "GB"}}`})
	if r.status != http.StatusAccepted {
		t.Fatalf("status = %d %s, want 202", r.status, r.body)
	}
	evs := e.queued()
	if len(evs) != 1 || evs[0].Intent != order.IntentImport || evs[0].Topic != "merchant/fix" {
		t.Errorf("queued = %+v, want one import with the fix's topic", evs)
	}
}

func TestFixRefusalsStoreAndQueueNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.saveOrder("acme", "7001")
	two := e.saveOrder("acme", "7002")
	two.Parcels = append(two.Parcels, order.Parcel{ID: "f2", Lines: two.Lines})
	if _, err := e.store.SaveOrder(ctx, two); err != nil {
		t.Fatal(err)
	}
	good := `"tracking": {"number": "6A1", "carrier": "Colissimo"}`
	tests := []struct {
		name, order, body string
		status            int
		code, field       string
	}{
		{"not JSON", "7001", `tracking=6A1`, 400, "malformed_body", ""},
		{"not UTF-8", "7001", "{\"tracking\": {\"number\": \"6A\xff\", \"carrier\": \"Colissimo\"}}", 400, "malformed_body", ""},
		{"an unknown field", "7001", `{` + good + `, "note": "x"}`, 400, "malformed_body", ""},
		{"an unknown tracking field", "7001", `{"tracking": {"number": "6A1", "carrier": "Colissimo", "company": "x"}}`, 400, "malformed_body", ""},
		{"an unknown address field", "7001", `{"shipping_address": {"line1": "1 Main St", "city": "Leeds", "postal_code": "LS1", "country": "GB", "zip": "x"}}`, 400, "malformed_body", ""},
		{"something after the object", "7001", `{` + good + `} {}`, 400, "malformed_body", ""},
		{"an array", "7001", `[]`, 400, "malformed_body", ""},
		{"too big", "7001", `{"tracking": {"number": "` + strings.Repeat("9", merchantapi.MaxBodyBytes) + `", "carrier": "UPS"}}`, 413, "body_too_large", ""},
		{"nothing to fix", "7001", `{}`, 400, "invalid_fix", ""},
		{"both null", "7001", `{"tracking": null, "shipping_address": null}`, 400, "invalid_fix", ""},
		{"no tracking number", "7001", `{"tracking": {"carrier": "Colissimo"}}`, 400, "invalid_fix", "tracking.number"},
		{"a blank tracking number", "7001", `{"tracking": {"number": "  ", "carrier": "Colissimo"}}`, 400, "invalid_fix", "tracking.number"},
		{"no carrier", "7001", `{"tracking": {"number": "6A1"}}`, 400, "invalid_fix", "tracking.carrier"},
		{"a control character in the carrier", "7001", `{"tracking": {"number": "6A1", "carrier": "Coli\u0000ssimo"}}`, 400, "invalid_fix", "tracking.carrier"},
		{"a relative URL", "7001", `{"tracking": {"number": "6A1", "carrier": "Colissimo", "url": "/t/6A1"}}`, 400, "invalid_fix", "tracking.url"},
		{"a URL that is not http", "7001", `{"tracking": {"number": "6A1", "carrier": "Colissimo", "url": "javascript:alert(1)"}}`, 400, "invalid_fix", "tracking.url"},
		{"a parcel the order does not have", "7001", `{"tracking": {"parcel_id": "f9", "number": "6A1", "carrier": "Colissimo"}}`, 400, "invalid_fix", "tracking.parcel_id"},
		{"a parcel id no parcel can have", "7001", `{"tracking": {"parcel_id": "a#b", "number": "6A1", "carrier": "Colissimo"}}`, 400, "invalid_fix", "tracking.parcel_id"},
		{"no parcel named where there are two", "7002", `{` + good + `}`, 400, "invalid_fix", "tracking.parcel_id"},
		{"an address without its city", "7001", `{"shipping_address": {"line1": "1 Main St", "postal_code": "LS1", "country": "GB"}}`, 400, "invalid_fix", "shipping_address.city"},
		{"an address without its street line", "7001", `{"shipping_address": {"city": "Leeds", "postal_code": "LS1", "country": "GB"}}`, 400, "invalid_fix", "shipping_address.line1"},
		{"an address without its postal code", "7001", `{"shipping_address": {"line1": "1 Main St", "city": "Leeds", "country": "GB"}}`, 400, "invalid_fix", "shipping_address.postal_code"},
		{"an address without its country", "7001", `{"shipping_address": {"line1": "1 Main St", "city": "Leeds", "postal_code": "LS1"}}`, 400, "invalid_fix", "shipping_address.country"},
		{"good tracking, a bad address", "7001", `{` + good + `, "shipping_address": {"line1": "1 Main St"}}`, 400, "invalid_fix", "shipping_address.city"},
		{"an unknown order", "404404", `{` + good + `}`, 404, "order_not_found", ""},
		{"an order id no order can have", "a/b", `{` + good + `}`, 400, "invalid_id", "marketplaceOrderId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.store.LoadOrder(ctx, "acme", tt.order)
			r := e.send(req{method: "POST", route: merchantapi.RouteOrderFix, conn: "acme", order: tt.order, body: tt.body, auth: "Bearer " + acmeKey})
			code, field := r.errorField(t)
			if r.status != tt.status || code != tt.code || field != tt.field {
				t.Errorf("answer = %d %s, want %d %s field %q", r.status, r.body, tt.status, tt.code, tt.field)
			}
			if tt.field != "" && !strings.HasSuffix(r.errorMessage(t), ": "+tt.field) {
				t.Errorf("message %q does not name the field %s", r.errorMessage(t), tt.field)
			}
			if after, _ := e.store.LoadOrder(ctx, "acme", tt.order); after.Version != before.Version || after.Override != nil {
				t.Errorf("a refused fix was stored: v%d → v%d, override %+v", before.Version, after.Version, after.Override)
			}
			if n := len(e.queued()); n != 0 {
				t.Errorf("a refused fix queued %d events", n)
			}
		})
	}
}

// errorMessage returns the message of an error answer.
func (r resp) errorMessage(t *testing.T) string {
	t.Helper()
	return decode[struct {
		Error struct{ Message string } `json:"error"`
	}](t, r).Error.Message
}

// When the queue refuses, the answer is 503 and the override stays: it is
// valid, and the next re-sync or refresh uses it.
func TestFixKeptWhenTheQueueRefuses(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("acme", "7001")
	h := merchantapi.New(merchantapi.Config{}, e.store, secrets.Static{"acme-api": acmeKey}, &queuetest.Queue{Err: errors.New("sqs: throttled")}, nil)
	e.h = h
	r := e.send(req{method: "POST", route: merchantapi.RouteOrderFix, conn: "acme", order: "7001", auth: "Bearer " + acmeKey,
		body: `{"tracking": {"number": "6A1", "carrier": "Colissimo"}}`})
	if r.status != http.StatusServiceUnavailable || r.headers["Retry-After"] == "" || r.errorCode(t) != "unavailable" {
		t.Errorf("answer = %d %v %s, want 503 unavailable with Retry-After", r.status, r.headers, r.body)
	}
	st, _ := e.store.LoadOrder(context.Background(), "acme", "7001")
	if st.Override == nil || st.Override.Tracking == nil || st.Override.Tracking.Tracking.Number != "6A1" {
		t.Errorf("override = %+v, want it kept", st.Override)
	}
}

// racingStore writes the order once behind the fix's back, between its
// read and its write, as a sync worker would.
type racingStore struct {
	*memstore.Store
	raced bool
}

func (s *racingStore) SaveOrder(ctx context.Context, st order.State) (order.State, error) {
	if !s.raced {
		s.raced = true
		cur, err := s.Store.LoadOrder(ctx, st.Connection, st.Ref.MarketplaceOrderID)
		if err != nil {
			return st, err
		}
		cur.Sync.Attempts = 7
		if _, err := s.Store.SaveOrder(ctx, cur); err != nil {
			return st, err
		}
	}
	return s.Store.SaveOrder(ctx, st)
}

// A fix that loses the race to another writer reads the order again and
// fixes the newer state: neither write is lost.
func TestFixRetriesOnAConflict(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("acme", "7001")
	store := &racingStore{Store: e.store}
	e.h = merchantapi.New(merchantapi.Config{}, store, secrets.Static{"acme-api": acmeKey}, e.queue, nil)
	r := e.send(req{method: "POST", route: merchantapi.RouteOrderFix, conn: "acme", order: "7001", auth: "Bearer " + acmeKey,
		body: `{"tracking": {"number": "6A1", "carrier": "Colissimo"}}`})
	if r.status != http.StatusAccepted {
		t.Fatalf("answer = %d %s, want 202", r.status, r.body)
	}
	st, _ := e.store.LoadOrder(context.Background(), "acme", "7001")
	if !store.raced || st.Sync.Attempts != 7 || st.Override == nil || st.Version != 3 {
		t.Errorf("state = v%d attempts %d override %+v; want v3 with both writes", st.Version, st.Sync.Attempts, st.Override)
	}
	if n := len(e.queued()); n != 1 {
		t.Errorf("%d messages queued, want 1", n)
	}
}

// The fix route, like the others, opens only its own connection.
func TestFixAnotherConnectionsOrder(t *testing.T) {
	e := newEnv(t)
	e.saveOrder("other", "7001")
	r := e.send(req{method: "POST", route: merchantapi.RouteOrderFix, conn: "other", order: "7001", auth: "Bearer " + acmeKey,
		body: `{"tracking": {"number": "6A1", "carrier": "Colissimo"}}`})
	if r.status != http.StatusUnauthorized {
		t.Errorf("answer = %d %s, want 401", r.status, r.body)
	}
	if st, _ := e.store.LoadOrder(context.Background(), "other", "7001"); st.Override != nil {
		t.Errorf("another connection's key fixed the order: %+v", st.Override)
	}
}
