package localsystem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

// TestTheTimelineTellsAFailureAndItsResync is the merchant's view of an
// order's life through the local HTTP API: a webhook whose calls the
// marketplace refuses with 503 until its retries run out, then a re-sync
// that ships it. The timeline lists each step; the errors list says the
// failure was resolved, and hides it when asked.
func TestTheTimelineTellsAFailureAndItsResync(t *testing.T) {
	ctx := context.Background()
	o := newOrder(t)
	sys.Sandbox.SetFault(backmarkettest.Fault{Status: 503, Methods: "POST"})
	t.Cleanup(sys.Sandbox.ClearFaults)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A12345678901", Carrier: "Colissimo"}, time.Now()))
	waitSync(t, o, order.SyncFailed)
	sys.Sandbox.ClearFaults()
	id := fmt.Sprint(o.MarketplaceID)
	if status, body, err := sys.CallAPI(ctx, http.MethodPost, "/orders/"+id+"/resync", nil); err != nil || status != http.StatusAccepted {
		t.Fatalf("POST resync = %d %s, %v; want 202", status, body, err)
	}
	waitSync(t, o, order.SyncSynced)

	status, body, err := sys.CallAPI(ctx, http.MethodGet, "/orders/"+id+"/timeline", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET timeline = %d %s, %v; want 200", status, body, err)
	}
	var tl struct {
		Entries []struct {
			Kind   string `json:"kind"`
			Source string `json:"source"`
			Topic  string `json:"topic"`
			Step   string `json:"step"`
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Remedy string `json:"remedy"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(body, &tl); err != nil {
		t.Fatalf("timeline %s: %v", body, err)
	}
	var got []string
	for _, e := range tl.Entries {
		line := e.Kind
		switch e.Kind {
		case "received":
			line += " " + e.Source + " " + e.Topic
		case "call":
			line += " " + e.Step + " " + e.Detail
		case "retried", "resolved":
			line += " " + e.Code
		case "failed":
			line += " " + e.Code
			if e.Remedy == "" {
				t.Errorf("failed entry %+v has no remedy", e)
			}
		}
		got = append(got, line)
	}
	want := []string{
		"received shopify orders/fulfilled",
		"call accept HTTP 503", "retried marketplace_unavailable",
		"call accept HTTP 503", "retried marketplace_unavailable",
		"call accept HTTP 503", "failed marketplace_unavailable",
		"received resync merchant/resync",
		"call accept ok", "call ship ok",
		"resolved marketplace_unavailable", "synced",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	type errorsBody struct {
		Errors []struct {
			Order       order.Ref `json:"order"`
			ResolvedAt  time.Time `json:"resolved_at"`
			ResolvedHow string    `json:"resolved_how"`
		} `json:"errors"`
	}
	listed := func(query string) (errorsBody, bool) {
		t.Helper()
		status, body, err := sys.CallAPI(ctx, http.MethodGet, "/errors"+query, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET errors%s = %d %s, %v; want 200", query, status, body, err)
		}
		var b errorsBody
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatal(err)
		}
		for _, e := range b.Errors {
			if e.Order.MarketplaceOrderID == id {
				return b, true
			}
		}
		return b, false
	}
	all, ok := listed("?limit=100")
	if !ok {
		t.Fatalf("order %s not in the errors", id)
	}
	for _, e := range all.Errors {
		if e.Order.MarketplaceOrderID == id && (e.ResolvedAt.IsZero() || e.ResolvedHow != "merchant/resync") {
			t.Errorf("error %+v, want resolved_at and resolved_how merchant/resync", e)
		}
	}
	if _, ok := listed("?limit=100&resolved=hide"); ok {
		t.Errorf("order %s listed with resolved=hide", id)
	}
}
