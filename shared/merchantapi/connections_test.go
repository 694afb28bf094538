package merchantapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/webhook"
)

const provisioningKey = "osp_provisioning-key-3f9a1c7e"

// Credentials of the right forms.
const (
	shopifyToken = "shpat_0123456789abcdef0123456789abcdef"
	wooKey       = "ck_0123456789abcdef0123:cs_fedcba9876543210fedc"
	bmToken      = "YmFja21hcmtldC10b2tlbi0xMjM0NTY3OA=="
)

// secretStore is the secrets the connection routes write, with a switch
// that fails every write.
type secretStore struct {
	mu     sync.Mutex
	values map[string]string
	down   bool
}

func (s *secretStore) PutParameter(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("ssm: throttled")
	}
	s.values[name] = value
	return nil
}

func (s *secretStore) Secret(_ context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[name]
	if !ok {
		return "", order.ErrNotFound
	}
	return v, nil
}

func (s *secretStore) len() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.values) }

// refreshes records the refresh jobs asked for.
type refreshes struct {
	jobs   []refresh.Job
	delays []time.Duration
}

func (r *refreshes) RefreshSoon(_ context.Context, j refresh.Job, after time.Duration) error {
	r.jobs, r.delays = append(r.jobs, j), append(r.delays, after)
	return nil
}

// connEnv is the API with its connection routes on: the secrets the
// handler reads are the ones it writes, plus the test connections' keys.
type connEnv struct {
	*env
	secrets *secretStore
	refresh *refreshes
}

const recheckAfter = 330 * time.Second

func newConnEnv(t *testing.T) *connEnv {
	e := newEnv(t)
	sec := &secretStore{values: map[string]string{"provisioning": provisioningKey, "acme-api": acmeKey, "other-api": otherKey}}
	ce := &connEnv{env: e, secrets: sec, refresh: &refreshes{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.h = merchantapi.New(merchantapi.Config{Now: func() time.Time { return e.now }}, e.store, sec, e.queue, log)
	e.h.WithConnections(merchantapi.Connections{Secrets: sec, Refresh: ce.refresh, ProvisioningKeyRef: "provisioning", RecheckAfter: recheckAfter})
	return ce
}

// do sends one request with the path parameters given, as API Gateway
// would (route key ANY).
func (e *connEnv) do(method, route string, params map[string]string, body, key string) resp {
	e.t.Helper()
	path := route
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	headers := map[string]string{"content-type": "application/json"}
	if key != "" {
		headers["authorization"] = "Bearer " + key
	}
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "ANY " + route, RawPath: path, Headers: headers,
		PathParameters: params, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: "ANY " + route, RequestID: "req-1",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}}
	out, err := e.h.Handle(context.Background(), ev)
	if err != nil {
		e.t.Fatalf("Handle: %v", err)
	}
	if !json.Valid([]byte(out.Body)) {
		e.t.Errorf("%s %s: body is not JSON: %s", method, path, out.Body)
	}
	return resp{status: out.StatusCode, headers: out.Headers, body: []byte(out.Body)}
}

func conn(id string) map[string]string { return map[string]string{"connection": id} }

type created struct {
	Connection struct {
		ID            string `json:"id"`
		MerchantName  string `json:"merchant_name"`
		MerchantEmail string `json:"merchant_email"`
		Store         struct {
			Platform      string `json:"platform"`
			BaseURL       string `json:"base_url"`
			CredentialSet bool   `json:"credential_set"`
		} `json:"store"`
		Marketplace struct {
			Platform      string `json:"platform"`
			CredentialSet bool   `json:"credential_set"`
		} `json:"marketplace"`
		ImportOrders bool `json:"import_orders"`
		Health       struct {
			Status         string    `json:"status"`
			Reason         string    `json:"reason"`
			Since          time.Time `json:"since"`
			RecentFailures int       `json:"recent_failures"`
		} `json:"health"`
	} `json:"connection"`
	APIKey              string    `json:"api_key"`
	WebhookSecret       string    `json:"webhook_secret"`
	OldSecretValidUntil time.Time `json:"old_secret_valid_until"`
	ResyncAt            time.Time `json:"resync_at"`
}

const newShop = `{"id": "shop-1", "merchant_name": "Shop One", "merchant_email": "ops@shop1.test",
	"store": {"platform": "shopify", "base_url": "https://shop1.myshopify.com", "account": "shop1.myshopify.com"},
	"marketplace": {"platform": "backmarket", "base_url": "https://www.backmarket.fr"},
	"import_orders": true, "credentials": {"shopify": "` + shopifyToken + `", "backmarket": "` + bmToken + `"}}`

func TestCreateConnection(t *testing.T) {
	e := newConnEnv(t)
	r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, newShop, provisioningKey)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", r.status, r.body)
	}
	got := decode[created](t, r)
	c := got.Connection
	if c.ID != "shop-1" || c.MerchantEmail != "ops@shop1.test" || !c.ImportOrders || !c.Store.CredentialSet || !c.Marketplace.CredentialSet || c.Health.Status != "active" {
		t.Errorf("connection %+v, want shop-1, imports on, both credentials set, active", c)
	}
	if !strings.HasPrefix(got.APIKey, "osk_") || !strings.HasPrefix(got.WebhookSecret, "whsec_") {
		t.Errorf("api_key %q, webhook_secret %q: want both, once", got.APIKey, got.WebhookSecret)
	}
	for _, secret := range []string{shopifyToken, bmToken, "connections/"} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("the answer holds %q: credentials and secret names are never answered", secret)
		}
	}
	stored, err := e.store.Connection(context.Background(), "shop-1")
	if err != nil {
		t.Fatal(err)
	}
	item, _ := json.Marshal(stored)
	for _, v := range []string{shopifyToken, bmToken, got.APIKey, got.WebhookSecret} {
		if strings.Contains(string(item), v) {
			t.Errorf("the stored connection holds a secret value: %s", item)
		}
	}
	for ref, want := range map[string]string{stored.Store.CredentialRef: shopifyToken, stored.Marketplace.CredentialRef: bmToken,
		stored.APIKeyRefs[0]: got.APIKey, stored.WebhookSecretRefs[0]: got.WebhookSecret} {
		if v, _ := e.secrets.Secret(context.Background(), ref); v != want || !strings.HasPrefix(ref, "connections/shop-1/") {
			t.Errorf("secret %q = %q, want %q under connections/shop-1/", ref, v, want)
		}
	}
	// The new key opens the new connection, and only it.
	if r := e.do(http.MethodGet, merchantapi.RouteConnection, conn("shop-1"), "", got.APIKey); r.status != http.StatusOK {
		t.Errorf("GET with the new key: %d, want 200", r.status)
	}
	if r := e.do(http.MethodGet, merchantapi.RouteConnection, conn("acme"), "", got.APIKey); r.status != http.StatusUnauthorized {
		t.Errorf("GET acme with shop-1's key: %d, want 401", r.status)
	}
	// Again: the id is taken.
	n := e.secrets.len()
	if r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, newShop, provisioningKey); r.status != http.StatusConflict || r.errorCode(t) != "connection_exists" {
		t.Errorf("second create: %d %s, want 409 connection_exists", r.status, r.body)
	}
	if e.secrets.len() != n {
		t.Errorf("a refused create wrote %d secrets", e.secrets.len()-n)
	}
}

func TestCreateConnectionGeneratesAnID(t *testing.T) {
	e := newConnEnv(t)
	body := `{"merchant_name": "Woo", "merchant_email": "a@woo.test", "store": {"platform": "woocommerce", "base_url": "https://woo.test"},
		"marketplace": {"platform": "mirakl", "base_url": "https://mirakl.test", "account": "2042"}}`
	r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, body, provisioningKey)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	got := decode[created](t, r)
	if !strings.HasPrefix(got.Connection.ID, "conn-") || !order.ValidID(got.Connection.ID) || got.Connection.Store.CredentialSet {
		t.Errorf("connection %+v: want a generated id and no store credential", got.Connection)
	}
}

func TestCreateConnectionSplitParcels(t *testing.T) {
	e := newConnEnv(t)
	body := `{"id": "mk-1", "merchant_name": "Woo", "merchant_email": "a@woo.test", "store": {"platform": "woocommerce", "base_url": "https://woo.test"},
		"marketplace": {"platform": "mirakl", "base_url": "https://mirakl.test", "account": "2042", "split_parcels": true, "cancel_reason_code": "34", "refund_reason_code": "17"}}`
	r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, body, provisioningKey)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"split_parcels":true`) {
		t.Errorf("answer %s: want the marketplace's split_parcels shown", r.body)
	}
	stored, err := e.store.Connection(context.Background(), "mk-1")
	if err != nil || !stored.Marketplace.SplitParcels || stored.Store.SplitParcels {
		t.Errorf("stored %+v, %v; want split parcels on the marketplace side only", stored, err)
	}
	if !strings.Contains(string(r.body), `"cancel_reason_code":"34"`) || stored.Marketplace.CancelReasonCode != "34" {
		t.Errorf("answer %s, stored %+v: want the marketplace's cancel_reason_code kept and shown", r.body, stored.Marketplace)
	}
	if !strings.Contains(string(r.body), `"refund_reason_code":"17"`) || stored.Marketplace.RefundReasonCode != "17" {
		t.Errorf("answer %s, stored %+v: want the marketplace's refund_reason_code kept and shown", r.body, stored.Marketplace)
	}
}

func TestCreateConnectionRefusals(t *testing.T) {
	valid := map[string]any{}
	if err := json.Unmarshal([]byte(newShop), &valid); err != nil {
		t.Fatal(err)
	}
	with := func(change func(m map[string]any)) string {
		b, _ := json.Marshal(valid)
		m := map[string]any{}
		_ = json.Unmarshal(b, &m)
		change(m)
		out, _ := json.Marshal(m)
		return string(out)
	}
	side := func(m map[string]any, s string) map[string]any { return m[s].(map[string]any) }
	for _, tc := range []struct {
		name, body, key string
		status          int
		code            string
	}{
		{"no key", newShop, "", 401, "unauthorized"},
		{"a connection's key", newShop, acmeKey, 401, "unauthorized"},
		{"not JSON", `{"merchant_name":`, provisioningKey, 400, "malformed_body"},
		{"not UTF-8", "{\"merchant_name\": \"\xff\"}", provisioningKey, 400, "malformed_body"},
		{"unknown field", with(func(m map[string]any) { m["plan"] = "gold" }), provisioningKey, 400, "malformed_body"},
		{"two objects", newShop + "{}", provisioningKey, 400, "malformed_body"},
		{"too big", with(func(m map[string]any) { m["merchant_name"] = strings.Repeat("x", merchantapi.MaxBodyBytes) }), provisioningKey, 413, "body_too_large"},
		{"bad email", with(func(m map[string]any) { m["merchant_email"] = "Ops <ops@shop1.test>" }), provisioningKey, 400, "invalid_field"},
		{"no email", with(func(m map[string]any) { delete(m, "merchant_email") }), provisioningKey, 400, "invalid_field"},
		{"name with a newline", with(func(m map[string]any) { m["merchant_name"] = "a\nb" }), provisioningKey, 400, "invalid_field"},
		{"bad id", with(func(m map[string]any) { m["id"] = "a/b" }), provisioningKey, 400, "invalid_field"},
		{"plain http url", with(func(m map[string]any) { side(m, "store")["base_url"] = "http://shop1.myshopify.com" }), provisioningKey, 400, "invalid_field"},
		{"url with a query", with(func(m map[string]any) { side(m, "marketplace")["base_url"] = "https://bm.test/?x=1" }), provisioningKey, 400, "invalid_field"},
		{"not a url", with(func(m map[string]any) { side(m, "marketplace")["base_url"] = "backmarket" }), provisioningKey, 400, "invalid_field"},
		{"no store", with(func(m map[string]any) { delete(m, "store") }), provisioningKey, 400, "invalid_field"},
		{"marketplace with no integration", with(func(m map[string]any) {
			side(m, "marketplace")["platform"] = "cdiscount"
			m["credentials"] = map[string]any{}
		}), provisioningKey, 400, "platform_unsupported"},
		{"a store platform as marketplace", with(func(m map[string]any) {
			side(m, "marketplace")["platform"] = "shopify"
			m["credentials"] = map[string]any{}
		}), provisioningKey, 400, "platform_unsupported"},
		{"credential for a platform not used", with(func(m map[string]any) {
			m["credentials"] = map[string]any{"mirakl": "0b5e7a44-93c1-4ad6-9f2e-6b0d8e1c2a37"}
		}), provisioningKey, 400, "credential_mismatch"},
		{"a Shopify token for a WooCommerce store", with(func(m map[string]any) {
			side(m, "store")["platform"], side(m, "store")["base_url"] = "woocommerce", "https://woo.test"
			m["credentials"] = map[string]any{"woocommerce": shopifyToken}
		}), provisioningKey, 400, "invalid_credential"},
		{"a WooCommerce key for Back Market", with(func(m map[string]any) {
			m["credentials"] = map[string]any{"backmarket": wooKey}
		}), provisioningKey, 400, "invalid_credential"},
		{"WooCommerce without its site", with(func(m map[string]any) {
			side(m, "store")["platform"] = "woocommerce"
			delete(side(m, "store"), "base_url")
			m["credentials"] = map[string]any{}
		}), provisioningKey, 400, "invalid_field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newConnEnv(t)
			n := e.secrets.len()
			r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, tc.body, tc.key)
			if r.status != tc.status || r.errorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if e.secrets.len() != n {
				t.Errorf("a refused create wrote %d secrets", e.secrets.len()-n)
			}
			if _, err := e.store.Connection(context.Background(), "shop-1"); !errors.Is(err, order.ErrNotFound) {
				t.Errorf("a refused create stored the connection (%v)", err)
			}
		})
	}
}

func TestCreateConnectionFailuresStoreNothingHalfWay(t *testing.T) {
	t.Run("secrets down", func(t *testing.T) {
		e := newConnEnv(t)
		e.secrets.down = true
		if r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, newShop, provisioningKey); r.status != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", r.status)
		}
		if _, err := e.store.Connection(context.Background(), "shop-1"); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("a connection was stored with its secrets missing (%v)", err)
		}
	})
	t.Run("provisioning off", func(t *testing.T) {
		e := newConnEnv(t)
		e.h.WithConnections(merchantapi.Connections{Secrets: e.secrets, ProvisioningKeyRef: "none-such"})
		if r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, newShop, provisioningKey); r.status != http.StatusForbidden || r.errorCode(t) != "provisioning_disabled" {
			t.Errorf("got %d %s, want 403 provisioning_disabled", r.status, r.body)
		}
	})
}

func TestShowConnectionHealth(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		setup      func(e *connEnv)
		wantStatus string
		wantReason string
		wantSince  func(now time.Time) time.Time
	}{
		{"active", func(*connEnv) {}, "active", "", nil},
		{"paused by the merchant", func(e *connEnv) { _ = e.store.PauseConnection(ctx, "acme", order.PausedByMerchant) },
			"paused", "merchant", func(now time.Time) time.Time { return now }},
		{"paused: auth expired", func(e *connEnv) { _ = e.store.PauseConnection(ctx, "acme", "auth_expired") },
			"paused", "auth_expired", func(now time.Time) time.Time { return now }},
		{"paused: store disconnected", func(e *connEnv) { _ = e.store.PauseConnection(ctx, "acme", "store_disconnected") },
			"paused", "store_disconnected", func(now time.Time) time.Time { return now }},
		{"failing: one auth failure", func(e *connEnv) { e.recordError("1", "auth_expired", "auth", 10*time.Minute) },
			"failing", "auth_expired", func(now time.Time) time.Time { return now.Add(-10 * time.Minute) }},
		{"failing: a run of failures", func(e *connEnv) {
			e.recordError("1", "marketplace_unavailable", "transient", 50*time.Minute)
			e.recordError("2", "marketplace_unavailable", "transient", 30*time.Minute)
			e.recordError("3", "sku_not_found", "permanent", 5*time.Minute)
		}, "failing", "sku_not_found", func(now time.Time) time.Time { return now.Add(-50 * time.Minute) }},
		{"active: two failures", func(e *connEnv) {
			e.recordError("1", "sku_not_found", "permanent", 30*time.Minute)
			e.recordError("2", "sku_not_found", "permanent", 5*time.Minute)
		}, "active", "", nil},
		{"active: failures older than the hour", func(e *connEnv) {
			e.recordError("1", "auth_expired", "auth", 2*time.Hour)
			e.recordError("2", "sku_not_found", "permanent", 90*time.Minute)
			e.recordError("3", "sku_not_found", "permanent", 61*time.Minute)
			e.recordError("4", "sku_not_found", "permanent", 70*time.Minute)
		}, "active", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newConnEnv(t)
			tc.setup(e)
			r := e.do(http.MethodGet, merchantapi.RouteConnection, conn("acme"), "", acmeKey)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			h := decode[created](t, r).Connection.Health
			if h.Status != tc.wantStatus || h.Reason != tc.wantReason {
				t.Errorf("health %+v, want %s %q", h, tc.wantStatus, tc.wantReason)
			}
			if tc.wantSince != nil && !h.Since.Equal(tc.wantSince(e.now)) {
				t.Errorf("since %v, want %v", h.Since, tc.wantSince(e.now))
			}
			if strings.Contains(string(r.body), "acme-bm") || strings.Contains(string(r.body), "acme-api") {
				t.Errorf("the answer names a secret: %s", r.body)
			}
		})
	}
}

func (e *connEnv) recordError(mk, code, kind string, ago time.Duration) {
	e.t.Helper()
	if err := e.store.RecordError(context.Background(), order.ErrorRecord{Connection: "acme", MarketplaceOrderID: mk, Code: code, Kind: kind,
		At: e.now.Add(-ago)}); err != nil {
		e.t.Fatal(err)
	}
}

func TestConnectionRoutesRefuseOtherKeysAndMethods(t *testing.T) {
	e := newConnEnv(t)
	for _, tc := range []struct {
		method, route string
		params        map[string]string
	}{
		{http.MethodGet, merchantapi.RouteConnection, conn("acme")},
		{http.MethodPatch, merchantapi.RouteConnection, conn("acme")},
		{http.MethodPost, merchantapi.RouteConnectionPause, conn("acme")},
		{http.MethodPost, merchantapi.RouteConnectionResume, conn("acme")},
		{http.MethodPost, merchantapi.RouteWebhookSecret, conn("acme")},
		{http.MethodPut, merchantapi.RouteCredentials, map[string]string{"connection": "acme", "side": "marketplace"}},
	} {
		t.Run(tc.method+" "+tc.route, func(t *testing.T) {
			if r := e.do(tc.method, tc.route, tc.params, `{"credential": "`+bmToken+`"}`, otherKey); r.status != http.StatusUnauthorized {
				t.Errorf("another connection's key: %d, want 401", r.status)
			}
			if r := e.do(tc.method, tc.route, tc.params, "", provisioningKey); r.status != http.StatusUnauthorized {
				t.Errorf("the provisioning key: %d, want 401", r.status)
			}
			if r := e.do(http.MethodDelete, tc.route, tc.params, "", acmeKey); r.status != http.StatusMethodNotAllowed {
				t.Errorf("DELETE: %d, want 405", r.status)
			}
		})
	}
	if r := e.do(http.MethodDelete, merchantapi.RouteConnection, conn("acme"), "", acmeKey); r.headers["Allow"] != "GET, PATCH" {
		t.Errorf("Allow %q, want GET, PATCH", r.headers["Allow"])
	}
	if n := e.secrets.len(); n != 3 {
		t.Errorf("refused requests wrote %d secrets", n-3)
	}
}

func TestPatchConnection(t *testing.T) {
	e := newConnEnv(t)
	ctx := context.Background()
	r := e.do(http.MethodPatch, merchantapi.RouteConnection, conn("acme"),
		`{"merchant_name": "Acme Ltd", "merchant_email": "billing@acme.test", "import_orders": true, "marketplace": {"base_url": "https://www.backmarket.de"}}`, acmeKey)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	got, _ := e.store.Connection(ctx, "acme")
	if got.MerchantName != "Acme Ltd" || got.MerchantEmail != "billing@acme.test" || !got.ImportOrders || got.Marketplace.BaseURL != "https://www.backmarket.de" ||
		got.Marketplace.CredentialRef != "acme-bm" || !slices.Equal(got.APIKeyRefs, []string{"acme-api-old", "acme-api", "acme-api-next"}) {
		t.Errorf("stored %+v: want the fields changed and nothing else", got)
	}
	for _, tc := range []struct{ name, body, code string }{
		{"unknown field", `{"merchant_name": "x", "paused": false}`, "malformed_body"},
		{"credential field", `{"store": {"credential_ref": "x"}}`, "malformed_body"},
		{"not JSON", `merchant_name=x`, "malformed_body"},
		{"not UTF-8", "{\"merchant_name\": \"\xc3\x28\"}", "malformed_body"},
		{"bad email", `{"merchant_name": "Fine", "merchant_email": "nobody"}`, "invalid_field"},
		{"empty name", `{"merchant_name": " "}`, "invalid_field"},
		{"bad url", `{"store": {"base_url": "ftp://acme.test"}}`, "invalid_field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.store.Connection(ctx, "acme")
			r := e.do(http.MethodPatch, merchantapi.RouteConnection, conn("acme"), tc.body, acmeKey)
			if r.status != http.StatusBadRequest || r.errorCode(t) != tc.code {
				t.Errorf("got %d %s, want 400 %s", r.status, r.body, tc.code)
			}
			if after, _ := e.store.Connection(ctx, "acme"); after.MerchantName != before.MerchantName || after.MerchantEmail != before.MerchantEmail {
				t.Errorf("a refused patch changed the connection: %+v", after)
			}
		})
	}
}

func TestPauseAndResume(t *testing.T) {
	e := newConnEnv(t)
	ctx := context.Background()
	r := e.do(http.MethodPost, merchantapi.RouteConnectionPause, conn("acme"), "", acmeKey)
	if h := decode[created](t, r).Connection.Health; r.status != http.StatusOK || h.Status != "paused" || h.Reason != "merchant" || !h.Since.Equal(e.now) {
		t.Errorf("pause: %d %+v, want 200 paused merchant since now", r.status, h)
	}
	if r := e.do(http.MethodPost, merchantapi.RouteConnectionPause, conn("acme"), `{"reason": "x"}`, acmeKey); r.status != http.StatusBadRequest {
		t.Errorf("pause with a body: %d, want 400", r.status)
	}
	r = e.do(http.MethodPost, merchantapi.RouteConnectionResume, conn("acme"), "{}", acmeKey)
	if h := decode[created](t, r).Connection.Health; r.status != http.StatusAccepted || h.Status != "active" {
		t.Errorf("resume: %d %+v, want 202 active", r.status, h)
	}
	if !slices.Equal(e.refresh.jobs, []refresh.Job{{Connection: "acme", At: e.now}}) || e.refresh.delays[0] != 0 {
		t.Errorf("refresh jobs %v after %v, want acme now: it re-syncs the held orders", e.refresh.jobs, e.refresh.delays)
	}
	// Not paused: nothing to do.
	if r := e.do(http.MethodPost, merchantapi.RouteConnectionResume, conn("acme"), "", acmeKey); r.status != http.StatusOK || len(e.refresh.jobs) != 1 {
		t.Errorf("resume of an active connection: %d, %d jobs; want 200 and no new job", r.status, len(e.refresh.jobs))
	}
	// Paused for its credentials: the refresh checks them, then resumes.
	if err := e.store.PauseConnection(ctx, "acme", "auth_expired"); err != nil {
		t.Fatal(err)
	}
	r = e.do(http.MethodPost, merchantapi.RouteConnectionResume, conn("acme"), "", acmeKey)
	if h := decode[created](t, r).Connection.Health; r.status != http.StatusAccepted || h.Status != "paused" || len(e.refresh.jobs) != 2 {
		t.Errorf("resume of an auth pause: %d %+v, %d jobs; want 202, still paused, a refresh job", r.status, h, len(e.refresh.jobs))
	}
	// A merchant's pause does not replace a pause for credentials.
	e.do(http.MethodPost, merchantapi.RouteConnectionPause, conn("acme"), "", acmeKey)
	if got, _ := e.store.Connection(ctx, "acme"); got.PausedCode != "auth_expired" {
		t.Errorf("paused code %q, want auth_expired kept", got.PausedCode)
	}
}

func TestRotateWebhookSecret(t *testing.T) {
	e := newConnEnv(t)
	ctx := context.Background()
	if err := e.store.PutConnection(ctx, order.Connection{ID: "hooks", APIKeyRefs: []string{"acme-api"}, WebhookSecretRefs: []string{"old"},
		Store: order.Endpoint{Platform: order.WooCommerce}, Marketplace: order.Endpoint{Platform: order.BackMarket}}); err != nil {
		t.Fatal(err)
	}
	r := e.do(http.MethodPost, merchantapi.RouteWebhookSecret, conn("hooks"), "", acmeKey)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	got := decode[created](t, r)
	until := e.now.Add(merchantapi.WebhookSecretGrace)
	if !strings.HasPrefix(got.WebhookSecret, "whsec_") || !got.OldSecretValidUntil.Equal(until) {
		t.Errorf("answer %s: want a new secret and old_secret_valid_until %v", r.body, until)
	}
	c, _ := e.store.Connection(ctx, "hooks")
	if len(c.WebhookSecretRefs) != 2 || c.WebhookSecretRefs[0] != "old" || !c.WebhookSecretExpiry["old"].Equal(until) {
		t.Fatalf("stored refs %v, expiry %v: want old (until %v) and the new one", c.WebhookSecretRefs, c.WebhookSecretExpiry, until)
	}
	newRef := c.WebhookSecretRefs[1]
	if v, _ := e.secrets.Secret(ctx, newRef); v != got.WebhookSecret {
		t.Errorf("secret %q holds %q, want the answered one", newRef, v)
	}
	if _, ok := c.WebhookSecretExpiry[newRef]; ok {
		t.Error("the new secret has an expiry")
	}
	// Both sign until the grace ends; then only the new one.
	if refs := webhook.ActiveSecretRefs(c, until.Add(-time.Second)); len(refs) != 2 {
		t.Errorf("before the expiry: %v", refs)
	}
	if refs := webhook.ActiveSecretRefs(c, until); !slices.Equal(refs, []string{newRef}) {
		t.Errorf("at the expiry: %v, want only %s", refs, newRef)
	}
	// A second rotation a day later drops the expired one.
	e.now = until.Add(time.Hour)
	r = e.do(http.MethodPost, merchantapi.RouteWebhookSecret, conn("hooks"), "", acmeKey)
	c, _ = e.store.Connection(ctx, "hooks")
	if r.status != http.StatusOK || len(c.WebhookSecretRefs) != 2 || c.WebhookSecretRefs[0] != newRef {
		t.Errorf("after a second rotation: %d, refs %v; want [%s, <newer>]", r.status, c.WebhookSecretRefs, newRef)
	}
}

func TestPutCredentials(t *testing.T) {
	ctx := context.Background()
	side := func(s string) map[string]string { return map[string]string{"connection": "acme", "side": s} }
	t.Run("after auth_expired", func(t *testing.T) {
		e := newConnEnv(t)
		if err := e.store.PauseConnection(ctx, "acme", "auth_expired"); err != nil {
			t.Fatal(err)
		}
		r := e.do(http.MethodPut, merchantapi.RouteCredentials, side("marketplace"), `{"credential": "`+bmToken+`"}`, acmeKey)
		if r.status != http.StatusAccepted {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), bmToken) || strings.Contains(e.logs.String(), bmToken) {
			t.Error("the credential was answered or logged")
		}
		c, _ := e.store.Connection(ctx, "acme")
		if v, _ := e.secrets.Secret(ctx, c.Marketplace.CredentialRef); v != bmToken || !strings.HasPrefix(c.Marketplace.CredentialRef, "connections/acme/marketplace-") {
			t.Errorf("credential ref %q holds %q: want the new credential under the API's path", c.Marketplace.CredentialRef, v)
		}
		if !slices.Equal(e.refresh.jobs, []refresh.Job{{Connection: "acme", At: e.now}}) || e.refresh.delays[0] != recheckAfter {
			t.Errorf("refresh jobs %v after %v, want acme after %v", e.refresh.jobs, e.refresh.delays, recheckAfter)
		}
		// Again: the API's own ref is overwritten in place.
		ref := c.Marketplace.CredentialRef
		e.do(http.MethodPut, merchantapi.RouteCredentials, side("marketplace"), `{"credential": "`+bmToken+`x"}`, acmeKey)
		c, _ = e.store.Connection(ctx, "acme")
		if v, _ := e.secrets.Secret(ctx, ref); c.Marketplace.CredentialRef != ref || v != bmToken+"x" {
			t.Errorf("second credential: ref %q (was %q) holds %q", c.Marketplace.CredentialRef, ref, v)
		}
	})
	t.Run("store side while paused for the marketplace", func(t *testing.T) {
		e := newConnEnv(t)
		_ = e.store.PauseConnection(ctx, "acme", "auth_expired")
		r := e.do(http.MethodPut, merchantapi.RouteCredentials, side("store"), `{"credential": "`+shopifyToken+`"}`, acmeKey)
		if r.status != http.StatusOK || len(e.refresh.jobs) != 0 {
			t.Errorf("got %d, %d jobs; want 200 and no recheck (the store was not the side refused)", r.status, len(e.refresh.jobs))
		}
	})
	for _, tc := range []struct {
		name, side, body string
		status           int
		code             string
	}{
		{"unknown side", "warehouse", `{"credential": "` + bmToken + `"}`, 400, "invalid_parameter"},
		{"a Shopify token for Back Market", "marketplace", `{"credential": "` + shopifyToken + `"}`, 400, "invalid_credential"},
		{"a Back Market token for Shopify", "store", `{"credential": "` + bmToken + `"}`, 400, "invalid_credential"},
		{"empty", "marketplace", `{"credential": ""}`, 400, "invalid_credential"},
		{"unknown field", "marketplace", `{"credential": "` + bmToken + `", "ref": "x"}`, 400, "malformed_body"},
		{"not JSON", "marketplace", bmToken, 400, "malformed_body"},
		{"too big", "marketplace", `{"credential": "` + strings.Repeat("a", merchantapi.MaxBodyBytes) + `"}`, 413, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newConnEnv(t)
			n := e.secrets.len()
			r := e.do(http.MethodPut, merchantapi.RouteCredentials, side(tc.side), tc.body, acmeKey)
			if r.status != tc.status || r.errorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if e.secrets.len() != n {
				t.Error("a refused credential was stored")
			}
		})
	}
	t.Run("secrets down", func(t *testing.T) {
		e := newConnEnv(t)
		_ = e.store.PauseConnection(ctx, "acme", "auth_expired")
		e.secrets.down = true
		r := e.do(http.MethodPut, merchantapi.RouteCredentials, side("marketplace"), `{"credential": "`+bmToken+`"}`, acmeKey)
		c, _ := e.store.Connection(ctx, "acme")
		if r.status != http.StatusServiceUnavailable || c.Marketplace.CredentialRef != "acme-bm" || len(e.refresh.jobs) != 0 {
			t.Errorf("got %d, ref %q, %d jobs; want 503 and the connection unchanged", r.status, c.Marketplace.CredentialRef, len(e.refresh.jobs))
		}
	})
}

// FuzzConnectionBodies: whatever the body of a connection route, the
// answer is JSON, never a 5xx, and a refusal stores nothing.
func FuzzConnectionBodies(f *testing.F) {
	for _, s := range []string{newShop, `{}`, `{"merchant_name": "x"}`, `{"credential": "` + bmToken + `"}`,
		`{"store": {"base_url": "https://a.test"}}`, "\xff", `[]`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newConnEnv(t)
		for _, rt := range []struct {
			method, route, key string
			params             map[string]string
		}{
			{http.MethodPost, merchantapi.RouteConnections, provisioningKey, nil},
			{http.MethodPatch, merchantapi.RouteConnection, acmeKey, conn("acme")},
			{http.MethodPut, merchantapi.RouteCredentials, acmeKey, map[string]string{"connection": "acme", "side": "marketplace"}},
		} {
			before, _ := e.store.Connection(context.Background(), "acme")
			n := e.secrets.len()
			r := e.do(rt.method, rt.route, rt.params, body, rt.key)
			if r.status >= 500 {
				t.Fatalf("%s %s: %d %s", rt.method, rt.route, r.status, r.body)
			}
			if r.status >= 400 {
				after, _ := e.store.Connection(context.Background(), "acme")
				b1, _ := json.Marshal(before)
				b2, _ := json.Marshal(after)
				if e.secrets.len() != n || string(b1) != string(b2) {
					t.Fatalf("%s %s refused (%d) but stored something", rt.method, rt.route, r.status)
				}
			}
		}
	})
}

func TestCreateAmazonConnection(t *testing.T) {
	e := newConnEnv(t)
	body := func(token string) string {
		return `{"merchant_name": "Shop Az", "merchant_email": "ops@az.test",
		"store": {"platform": "shopify", "base_url": "https://az.myshopify.com", "account": "az.myshopify.com"},
		"marketplace": {"platform": "amazon", "account": "A13V1IB3VIYZZH"},
		"credentials": {"shopify": "` + shopifyToken + `", "amazon": "` + token + `"}}`
	}
	if r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, body(bmToken), provisioningKey); r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_credential" {
		t.Errorf("a Back Market token for Amazon: %d %s; want 400 invalid_credential", r.status, r.body)
	}
	r := e.do(http.MethodPost, merchantapi.RouteConnections, nil, body("Atzr|IwEBIJk3bX9yZ2VudC1yZWZyZXNoLXRva2Vu"), provisioningKey)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", r.status, r.body)
	}
	if got := decode[created](t, r).Connection; got.Marketplace.Platform != "amazon" || !got.Marketplace.CredentialSet {
		t.Errorf("connection %+v; want Amazon with its refresh token set", got)
	}
}
