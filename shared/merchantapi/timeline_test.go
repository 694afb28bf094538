package merchantapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

type timelineBody struct {
	Connection string    `json:"connection"`
	Order      order.Ref `json:"order"`
	Dropped    int       `json:"dropped"`
	Omitted    int       `json:"omitted"`
	Entries    []struct {
		At      time.Time `json:"at"`
		Kind    string    `json:"kind"`
		Source  string    `json:"source"`
		Topic   string    `json:"topic"`
		EventID string    `json:"event_id"`
		Step    string    `json:"step"`
		Code    string    `json:"code"`
		Detail  string    `json:"detail"`
		Title   string    `json:"title"`
		Cause   string    `json:"cause"`
		Remedy  string    `json:"remedy"`
	} `json:"entries"`
}

// saveTimeline stores a failed order of acme with a timeline: a webhook
// received, a call refused, the failure.
func (e *env) saveTimeline(mkID string) order.State {
	e.t.Helper()
	st := e.saveOrder("acme", mkID)
	st.TimelineDropped = 3
	st.AddTimeline(
		order.TimelineEntry{At: e.now.Add(-31 * time.Minute), Kind: order.TimelineReceived, Source: order.Shopify, Topic: "orders/fulfilled", EventID: "wh-1"},
		order.TimelineEntry{At: e.now.Add(-30 * time.Minute), Kind: order.TimelineCall, Source: order.BackMarket, Step: "ship", Code: "invalid_transition", Detail: "HTTP 400"},
		order.TimelineEntry{At: e.now.Add(-30 * time.Minute), Kind: order.TimelineFailed, Code: "shipping_data_missing", Detail: "failed after 1 try",
			Facts: map[string]string{"missing": "tracking number"}},
	)
	saved, err := e.store.SaveOrder(context.Background(), st)
	if err != nil {
		e.t.Fatal(err)
	}
	return saved
}

func TestTimeline(t *testing.T) {
	e := newEnv(t)
	e.saveTimeline("m1")
	e.saveOrder("acme", "m2") // an order from before timelines
	get := func(id string, q map[string]string) resp {
		return e.send(req{method: "GET", route: merchantapi.RouteOrderTimeline, conn: "acme", order: id, query: q, auth: "Bearer " + acmeKey})
	}

	t.Run("oldest first, failures in the catalogue's words", func(t *testing.T) {
		r := get("m1", nil)
		if r.status != http.StatusOK {
			t.Fatalf("status = %d %s, want 200", r.status, r.body)
		}
		got := decode[timelineBody](t, r)
		if got.Connection != "acme" || got.Order.MarketplaceOrderID != "m1" || got.Dropped != 3 || got.Omitted != 0 || len(got.Entries) != 3 {
			t.Fatalf("got %+v, want acme's m1 with 3 entries, 3 dropped", got)
		}
		kinds := fmt.Sprint(got.Entries[0].Kind, got.Entries[1].Kind, got.Entries[2].Kind)
		if kinds != "receivedcallfailed" || got.Entries[0].EventID != "wh-1" || got.Entries[0].Topic != "orders/fulfilled" || got.Entries[1].Detail != "HTTP 400" {
			t.Errorf("entries %+v, want received wh-1, the call's HTTP 400, failed", got.Entries)
		}
		failed := got.Entries[2]
		if failed.Code != "shipping_data_missing" || failed.Title == "" || failed.Cause == "" || failed.Remedy == "" {
			t.Errorf("failed entry %+v, want its code with title, cause and remedy", failed)
		}
		if !strings.Contains(failed.Cause, "missing its tracking number") || strings.Contains(failed.Cause+failed.Remedy, "(unknown") {
			t.Errorf("failed entry's words %q / %q: want them filled from the entry's facts", failed.Cause, failed.Remedy)
		}
		if got.Entries[1].Remedy != "" {
			t.Errorf("call entry %+v: only failures carry the catalogue's words", got.Entries[1])
		}
		for _, personal := range []string{"Victor", "Vosges", "75004"} {
			if bytes.Contains(r.body, []byte(personal)) {
				t.Errorf("the timeline shows %q, personal data: %s", personal, r.body)
			}
		}
	})
	t.Run("limit keeps the newest", func(t *testing.T) {
		got := decode[timelineBody](t, get("m1", map[string]string{"limit": "2"}))
		if len(got.Entries) != 2 || got.Omitted != 1 || got.Entries[1].Kind != "failed" {
			t.Errorf("got %+v, want the 2 newest, 1 omitted", got)
		}
	})
	t.Run("an order with no timeline is an empty list", func(t *testing.T) {
		r := get("m2", nil)
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"entries":[]`)) {
			t.Errorf("got %d %s, want 200 with \"entries\":[]", r.status, r.body)
		}
	})

	refusals := []struct {
		name       string
		id         string
		query      map[string]string
		wantStatus int
		wantCode   string
	}{
		{"an unknown order", "m404", nil, http.StatusNotFound, "order_not_found"},
		{"another connection's order", "o1", nil, http.StatusNotFound, "order_not_found"},
		{"an id with a '#'", "m#1", nil, http.StatusBadRequest, "invalid_id"},
		{"an id with a space", "m 1", nil, http.StatusBadRequest, "invalid_id"},
		{"limit 0", "m1", map[string]string{"limit": "0"}, http.StatusBadRequest, "invalid_parameter"},
		{"limit over the bound", "m1", map[string]string{"limit": fmt.Sprint(order.MaxTimeline + 1)}, http.StatusBadRequest, "invalid_parameter"},
		{"limit not a number", "m1", map[string]string{"limit": "all"}, http.StatusBadRequest, "invalid_parameter"},
	}
	e.saveOrder("other", "o1")
	for _, tt := range refusals {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			r := get(tt.id, tt.query)
			if r.status != tt.wantStatus || r.errorCode(t) != tt.wantCode {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	t.Run("refuses a wrong key", func(t *testing.T) {
		r := e.send(req{method: "GET", route: merchantapi.RouteOrderTimeline, conn: "acme", order: "m1", auth: "Bearer " + otherKey})
		if r.status != http.StatusUnauthorized {
			t.Errorf("got %d %s, want 401", r.status, r.body)
		}
	})
	t.Run("refuses POST", func(t *testing.T) {
		r := e.send(req{method: "POST", route: merchantapi.RouteOrderTimeline, conn: "acme", order: "m1", auth: "Bearer " + acmeKey})
		if r.status != http.StatusMethodNotAllowed || r.headers["Allow"] != "GET" {
			t.Errorf("got %d %v, want 405 Allow: GET", r.status, r.headers)
		}
	})
}

type resolvedErrorsBody struct {
	Resolved string `json:"resolved"`
	Errors   []struct {
		Order       order.Ref         `json:"order"`
		At          time.Time         `json:"at"`
		Resolved    *order.Resolution `json:"resolved"`
		ResolvedAt  time.Time         `json:"resolved_at"`
		ResolvedHow string            `json:"resolved_how"`
	} `json:"errors"`
}

// failed records n failures of acme's orders prefix0..prefixn-1, one a
// minute back from from; resolved ones get a state resolved a second later.
func (e *env) failed(prefix string, n int, from time.Time, resolved bool) {
	e.t.Helper()
	ctx := context.Background()
	for i := range n {
		id, at := fmt.Sprintf("%s%d", prefix, i), from.Add(-time.Duration(i)*time.Minute)
		if err := e.store.RecordError(ctx, order.ErrorRecord{Connection: "acme", MarketplaceOrderID: id, Code: "sku_not_found", At: at}); err != nil {
			e.t.Fatal(err)
		}
		if !resolved {
			continue
		}
		st := order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: id}, Sync: order.SyncOutcome{Result: order.SyncSynced, At: at.Add(time.Second)},
			Resolved: &order.Resolution{Code: "sku_not_found", At: at.Add(time.Second), How: "merchant/resync"}}
		if _, err := e.store.SaveOrder(ctx, st); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestListErrorsSaysHowEachWasResolved(t *testing.T) {
	e := newEnv(t)
	e.failed("r", 1, e.now, true)
	e.failed("u", 1, e.now.Add(-time.Hour), false)
	r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", auth: "Bearer " + acmeKey})
	got := decode[resolvedErrorsBody](t, r)
	if len(got.Errors) != 2 || got.Resolved != "show" {
		t.Fatalf("got %s, want both errors, resolved shown", r.body)
	}
	res, open := got.Errors[0], got.Errors[1]
	if res.Resolved == nil || !res.ResolvedAt.Equal(e.now.Add(time.Second)) || res.ResolvedHow != "merchant/resync" || !res.Resolved.At.Equal(res.ResolvedAt) {
		t.Errorf("resolved error %+v, want resolved_at a second after it and resolved_how merchant/resync, as resolved says", res)
	}
	if open.Resolved != nil || !open.ResolvedAt.IsZero() || open.ResolvedHow != "" || bytes.Count(r.body, []byte(`"resolved_at"`)) != 1 {
		t.Errorf("open error %+v, want no resolution fields: %s", open, r.body)
	}
}

func TestListErrorsHidesResolvedOnes(t *testing.T) {
	tests := []struct {
		name     string
		resolved int // the newest failures, resolved
		open     int // then older ones, not resolved
		limit    string
		wantN    int
	}{
		{"a page of unresolved ones behind a page of resolved ones", 30, 10, "5", 5},
		{"all the unresolved ones when fewer than the limit", 45, 3, "", 3},
		{"unresolved ones past the default page", 25, 25, "", 20},
		{"none", 4, 0, "", 0},
		{"at most MaxScanned failures read", merchantapi.MaxScanned, 2, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.failed("r", tt.resolved, e.now, true)
			e.failed("u", tt.open, e.now.Add(-time.Duration(tt.resolved+1)*time.Minute), false)
			q := map[string]string{"resolved": "hide"}
			if tt.limit != "" {
				q["limit"] = tt.limit
			}
			r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", query: q, auth: "Bearer " + acmeKey})
			if r.status != http.StatusOK {
				t.Fatalf("status = %d %s, want 200", r.status, r.body)
			}
			got := decode[resolvedErrorsBody](t, r)
			if len(got.Errors) != tt.wantN || got.Resolved != "hide" {
				t.Fatalf("got %d errors (resolved %q), want %d, hidden", len(got.Errors), got.Resolved, tt.wantN)
			}
			for i, x := range got.Errors {
				if want := fmt.Sprintf("u%d", i); x.Order.MarketplaceOrderID != want || x.Resolved != nil {
					t.Errorf("error %d = %+v, want %s, unresolved, newest first", i, x, want)
				}
			}
		})
	}
	t.Run("show lists them all, as by default", func(t *testing.T) {
		e := newEnv(t)
		e.failed("r", 3, e.now, true)
		e.failed("u", 3, e.now.Add(-time.Hour), false)
		r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", query: map[string]string{"resolved": "show"}, auth: "Bearer " + acmeKey})
		if got := decode[resolvedErrorsBody](t, r); len(got.Errors) != 6 {
			t.Errorf("got %d errors, want 6", len(got.Errors))
		}
	})
	for _, v := range []string{"no", "true", "HIDE", "hide,show"} {
		t.Run("refuses resolved="+v, func(t *testing.T) {
			e := newEnv(t)
			r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", query: map[string]string{"resolved": v}, auth: "Bearer " + acmeKey})
			if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_parameter" {
				t.Errorf("got %d %s, want 400 invalid_parameter", r.status, r.body)
			}
		})
	}
}

// TestAnUnverifiedLinkIsResolvedByTheLink: the hold of a store order that
// claimed a marketplace order is recorded under the store order alone. Its
// action links the claimed order, and once that order is linked to this
// store order and synced after the error, the error is resolved; a link of
// the claimed order to another store order resolves nothing.
func TestAnUnverifiedLinkIsResolvedByTheLink(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		linked    string // the store order the claimed one is linked to
		wantSolve bool
	}{
		{"linked to the store order that claimed it", "s1", true},
		{"linked to another store order", "s2", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			at := e.now.Add(-time.Hour)
			if err := e.store.RecordError(ctx, order.ErrorRecord{Connection: "acme", StoreOrderID: "s1", ClaimedMarketplaceOrderID: "m9",
				Code: "order_link_unverified", At: at}); err != nil {
				t.Fatal(err)
			}
			st := order.State{Connection: "acme", Ref: order.Ref{StoreOrderID: tt.linked, MarketplaceOrderID: "m9"},
				Sync:     order.SyncOutcome{Result: order.SyncSynced, At: e.now},
				Resolved: &order.Resolution{Code: "order_link_unverified", At: e.now, How: order.TopicMerchantLink}}
			if _, err := e.store.SaveOrder(ctx, st); err != nil {
				t.Fatal(err)
			}
			r := e.send(req{method: "GET", route: merchantapi.RouteErrors, conn: "acme", auth: "Bearer " + acmeKey})
			var got struct {
				Errors []struct {
					ResolvedHow string `json:"resolved_how"`
					Action      struct{ Method, Path string }
				} `json:"errors"`
			}
			if err := json.Unmarshal(r.body, &got); err != nil || len(got.Errors) != 1 {
				t.Fatalf("errors %s, %v: want the one", r.body, err)
			}
			if a := got.Errors[0].Action; a.Method != "POST" || a.Path != "/connections/acme/orders/m9/link" {
				t.Errorf("action %+v, want POST the claimed order's link", a)
			}
			if solved := got.Errors[0].ResolvedHow == order.TopicMerchantLink; solved != tt.wantSolve {
				t.Errorf("resolved_how %q, want resolved %v", got.Errors[0].ResolvedHow, tt.wantSolve)
			}
		})
	}
}
