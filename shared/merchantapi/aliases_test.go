package merchantapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

func (f failingStore) PutSKUAlias(context.Context, string, order.SKUAlias) error { return f.err }

func (f failingStore) DeleteSKUAlias(context.Context, string, string) (order.SKUAlias, error) {
	return order.SKUAlias{}, f.err
}

func (f failingStore) SKUAliases(context.Context, string, string, int) ([]order.SKUAlias, string, error) {
	return nil, "", f.err
}

func (f failingStore) Unsettled(context.Context, string, int) ([]order.State, error) {
	return nil, f.err
}

// sendAlias sends a request to an alias route of acme, with acme's key;
// sku is the {sku} path parameter as API Gateway passes it (decoded).
func (e *env) sendAlias(method, sku, body string, query map[string]string) resp {
	e.t.Helper()
	route, params := merchantapi.RouteAliases, map[string]string{"connection": "acme"}
	path := "/connections/acme/aliases"
	if method != http.MethodGet {
		route, params["sku"] = merchantapi.RouteAlias, sku
		path += "/" + url.PathEscape(sku)
	}
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "ANY " + route, RawPath: path,
		Headers:               map[string]string{"authorization": "Bearer " + acmeKey, "content-type": "application/json"},
		QueryStringParameters: query, PathParameters: params, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: "ANY " + route,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}}
	out, err := e.h.Handle(context.Background(), ev)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: out.StatusCode, headers: out.Headers, body: []byte(out.Body)}
}

// heldOrder stores an order of acme last failed as code about sku.
func (e *env) heldOrder(mkID, code, sku string) {
	e.t.Helper()
	st := order.State{Connection: "acme", Ref: order.Ref{StoreOrderID: "s-" + mkID, MarketplaceOrderID: mkID}, StoreStatus: order.StatusShipped,
		Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: code, SKU: sku, Attempts: 1, At: e.now.Add(-time.Hour)}}
	if _, err := e.store.SaveOrder(context.Background(), st); err != nil {
		e.t.Fatal(err)
	}
}

func TestPutAliasQueuesTheOrdersItHolds(t *testing.T) {
	e := newEnv(t)
	e.heldOrder("m1", "sku_not_found", "CAP")      // a sync: the store's SKU
	e.heldOrder("m2", "sku_not_found", "BM-CAP")   // an import: the marketplace's
	e.heldOrder("m3", "sku_not_found", "MUG")      // another SKU
	e.heldOrder("m4", "shipping_data_missing", "") // another failure
	r := e.sendAlias(http.MethodPut, "CAP", `{"marketplace_sku":"BM-CAP"}`, nil)
	if r.status != http.StatusOK {
		t.Fatalf("got %d %s, want 200", r.status, r.body)
	}
	got := decode[struct {
		Alias  map[string]string `json:"alias"`
		Queued []string          `json:"queued"`
	}](t, r)
	if got.Alias["store_sku"] != "CAP" || got.Alias["marketplace_sku"] != "BM-CAP" || strings.Join(got.Queued, ",") != "m1,m2" {
		t.Errorf("answer = %s, want the alias and m1, m2 queued", r.body)
	}
	evs := e.queued()
	if len(evs) != 2 {
		t.Fatalf("queued %d events, want 2", len(evs))
	}
	for _, ev := range evs {
		if ev.Topic != merchantapi.TopicAlias || ev.Source != merchantapi.Source || ev.Connection != "acme" {
			t.Errorf("event = %+v, want a re-sync of acme with topic %s", ev, merchantapi.TopicAlias)
		}
	}
	list := e.sendAlias(http.MethodGet, "", "", nil)
	if list.status != 200 || !strings.Contains(string(list.body), `"aliases":[{"store_sku":"CAP","marketplace_sku":"BM-CAP"}]`) {
		t.Errorf("list = %d %s, want the alias", list.status, list.body)
	}
}

func TestAliasRoutes(t *testing.T) {
	tests := []struct {
		name         string
		method, sku  string
		body         string
		query        map[string]string
		status       int
		code         string
		wantStored   bool // CAP -> BM-CAP is stored after the request
		setupAliases []order.SKUAlias
	}{
		{name: "set", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"BM-CAP"}`, status: 200, wantStored: true},
		{name: "set again", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"BM-CAP"}`, status: 200, wantStored: true,
			setupAliases: []order.SKUAlias{{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}}},
		{name: "a SKU with spaces and an accent, URL-encoded", method: "PUT", sku: "Tasse été 1/2", body: `{"marketplace_sku":"BM TASSE"}`, status: 200},
		{name: "store SKU not UTF-8", method: "PUT", sku: "CAP\xff", body: `{"marketplace_sku":"BM-CAP"}`, status: 400, code: "invalid_sku"},
		{name: "store SKU with a control character", method: "PUT", sku: "CA\x01P", body: `{"marketplace_sku":"BM-CAP"}`, status: 400, code: "invalid_sku"},
		{name: "store SKU over 255 bytes", method: "PUT", sku: strings.Repeat("é", 128), body: `{"marketplace_sku":"BM-CAP"}`, status: 400, code: "invalid_sku"},
		{name: "store SKU with a space at an end", method: "PUT", sku: "CAP ", body: `{"marketplace_sku":"BM-CAP"}`, status: 400, code: "invalid_sku"},
		{name: "marketplace SKU empty", method: "PUT", sku: "CAP", body: `{"marketplace_sku":""}`, status: 400, code: "invalid_sku"},
		{name: "marketplace SKU over 255 bytes", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"` + strings.Repeat("a", 256) + `"}`, status: 400, code: "invalid_sku"},
		{name: "marketplace SKU with a control character", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"BM\u0007CAP"}`, status: 400, code: "invalid_sku"},
		{name: "marketplace SKU with an invisible character", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"BM\u200bCAP"}`, status: 400, code: "invalid_sku"},
		{name: "body not UTF-8", method: "PUT", sku: "CAP", body: "{\"marketplace_sku\":\"BM\xffCAP\"}", status: 400, code: "malformed_body"},
		{name: "body with an unknown field", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"BM-CAP","store_sku":"X"}`, status: 400, code: "malformed_body"},
		{name: "body without marketplace_sku", method: "PUT", sku: "CAP", body: `{}`, status: 400, code: "malformed_body"},
		{name: "empty body", method: "PUT", sku: "CAP", body: ``, status: 400, code: "malformed_body"},
		{name: "body with something after the object", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"BM-CAP"} {}`, status: 400, code: "malformed_body"},
		{name: "marketplace SKU not a string", method: "PUT", sku: "CAP", body: `{"marketplace_sku":42}`, status: 400, code: "malformed_body"},
		{name: "store SKU has another alias", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"BM-CAP"}`, status: 409, code: "alias_conflict",
			setupAliases: []order.SKUAlias{{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP-OLD"}}},
		{name: "marketplace SKU has another alias", method: "PUT", sku: "CAP", body: `{"marketplace_sku":"BM-CAP"}`, status: 409, code: "alias_conflict",
			setupAliases: []order.SKUAlias{{StoreSKU: "CAP-OLD", MarketplaceSKU: "BM-CAP"}}},
		{name: "delete", method: "DELETE", sku: "CAP", status: 200, setupAliases: []order.SKUAlias{{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}}},
		{name: "delete unknown", method: "DELETE", sku: "CAP", status: 404, code: "alias_not_found"},
		{name: "delete by the marketplace SKU is unknown", method: "DELETE", sku: "BM-CAP", status: 404, code: "alias_not_found", wantStored: true,
			setupAliases: []order.SKUAlias{{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}}},
		{name: "delete an invalid SKU", method: "DELETE", sku: "CA\nP", status: 400, code: "invalid_sku"},
		{name: "list: limit too large", method: "GET", query: map[string]string{"limit": "1001"}, status: 400, code: "invalid_parameter"},
		{name: "list: limit not a number", method: "GET", query: map[string]string{"limit": "x"}, status: 400, code: "invalid_parameter"},
		{name: "list: after not a SKU", method: "GET", query: map[string]string{"after": ""}, status: 400, code: "invalid_sku"},
		{name: "wrong method", method: "POST", sku: "CAP", body: `{"marketplace_sku":"BM-CAP"}`, status: 405, code: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, a := range tt.setupAliases {
				if err := e.store.PutSKUAlias(context.Background(), "acme", a); err != nil {
					t.Fatal(err)
				}
			}
			before, _, _ := e.store.SKUAliases(context.Background(), "acme", "", 1000)
			r := e.sendAlias(tt.method, tt.sku, tt.body, tt.query)
			if r.status != tt.status || (tt.code != "" && r.errorCode(t) != tt.code) {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
			after, _, _ := e.store.SKUAliases(context.Background(), "acme", "", 1000)
			if tt.status >= 400 && len(after) != len(before) {
				t.Errorf("aliases %+v after a refusal, want %+v (unchanged)", after, before)
			}
			stored := false
			for _, a := range after {
				stored = stored || a == order.SKUAlias{StoreSKU: "CAP", MarketplaceSKU: "BM-CAP"}
			}
			if tt.wantStored != stored {
				t.Errorf("CAP -> BM-CAP stored = %v, want %v (aliases %+v)", stored, tt.wantStored, after)
			}
			if tt.status == 405 && r.headers["Allow"] != "PUT, DELETE" {
				t.Errorf("Allow = %q, want PUT, DELETE", r.headers["Allow"])
			}
		})
	}
}

func TestListAliasesPages(t *testing.T) {
	e := newEnv(t)
	for _, s := range []string{"A", "B", "C"} {
		if err := e.store.PutSKUAlias(context.Background(), "acme", order.SKUAlias{StoreSKU: s, MarketplaceSKU: "M-" + s}); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		Aliases []map[string]string `json:"aliases"`
		Next    string              `json:"next"`
	}
	var got []string
	after, pages := "", 0
	for {
		q := map[string]string{"limit": "2"}
		if after != "" {
			q["after"] = after
		}
		r := e.sendAlias(http.MethodGet, "", "", q)
		if r.status != 200 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		p := decode[page](t, r)
		for _, a := range p.Aliases {
			got = append(got, a["store_sku"])
		}
		if pages++; p.Next == "" || pages > 2 {
			break
		}
		after = p.Next
	}
	if strings.Join(got, ",") != "A,B,C" || pages != 2 {
		t.Errorf("pages of 2 = %d pages of %v, want 2 of A,B,C", pages, got)
	}
}

// TestSKUNotFoundActionNamesTheStoreSKU: a listed sku_not_found names the
// alias to set by the store SKU its order still fails on; a failed
// import's SKU is the marketplace's, so its action keeps {sku}, as does
// an order that has failed otherwise since.
func TestSKUNotFoundActionNamesTheStoreSKU(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.heldOrder("m1", "sku_not_found", "TASSE ÉTÉ")
	e.heldOrder("m3", "shipping_data_missing", "")
	imp := order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "m2"},
		Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "sku_not_found", SKU: "BM-CAP", At: e.now.Add(-time.Hour)}}
	if _, err := e.store.SaveOrder(ctx, imp); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"m1", "m2", "m3"} {
		r := order.ErrorRecord{Connection: "acme", MarketplaceOrderID: id, Code: "sku_not_found", At: e.now.Add(-time.Duration(i) * time.Minute)}
		if err := e.store.RecordError(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", auth: "Bearer " + acmeKey})
	got := decode[struct {
		Errors []struct {
			Order  order.Ref `json:"order"`
			Action struct {
				Path string `json:"path"`
			} `json:"action"`
		} `json:"errors"`
	}](t, r)
	want := map[string]string{
		"m1": "/connections/acme/aliases/TASSE%20%C3%89T%C3%89",
		"m2": "/connections/acme/aliases/{sku}",
		"m3": "/connections/acme/aliases/{sku}",
	}
	for _, x := range got.Errors {
		if w := want[x.Order.MarketplaceOrderID]; x.Action.Path != w {
			t.Errorf("order %s: action path %q, want %q", x.Order.MarketplaceOrderID, x.Action.Path, w)
		}
		delete(want, x.Order.MarketplaceOrderID)
	}
	if len(want) != 0 {
		t.Errorf("not listed: %v", want)
	}
}
