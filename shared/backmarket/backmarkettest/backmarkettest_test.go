package backmarkettest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
)

func do(t *testing.T, method, url, auth, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestSandboxControlAPI(t *testing.T) {
	fake := backmarkettest.New(backmarkettest.Options{Token: "tok"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	const auth = "Basic tok"

	// Seed over HTTP, in Back Market's own order shape.
	seed := `{"order_id":"42","state":1,"orderlines":[{"id":11,"state":1,"listing":"SKU-A","quantity":1},{"id":12,"state":1,"listing":"SKU-B","quantity":1}]}`
	if resp, body := do(t, "PUT", srv.URL+"/_sandbox/orders/42", "", seed); resp.StatusCode != 200 {
		t.Fatalf("PUT /_sandbox/orders/42 = %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", srv.URL+"/ws/orders/42", auth, ""); resp.StatusCode != 200 || !strings.Contains(body, `"order_id":42`) {
		t.Fatalf("GET /ws/orders/42 = %d %s", resp.StatusCode, body)
	}

	// Ship before accept is refused with 400 and an error body.
	resp, body := do(t, "POST", srv.URL+"/ws/orders/42", auth, `{"order_id":42,"new_state":3,"sku":"SKU-A","tracking_number":"T1"}`)
	if resp.StatusCode != 400 || !strings.Contains(body, `"error"`) {
		t.Errorf("ship before accept = %d %s; want 400 with an error body", resp.StatusCode, body)
	}
	// Accept, then ship.
	for _, b := range []string{
		`{"order_id":42,"new_state":2,"sku":"SKU-A"}`,
		`{"order_id":42,"new_state":2,"sku":"SKU-B"}`,
		`{"order_id":42,"new_state":3,"sku":"SKU-A","tracking_number":"T1","tracking_url":"https://t/1","shipper":"UPS"}`,
	} {
		if resp, body := do(t, "POST", srv.URL+"/ws/orders/42", auth, b); resp.StatusCode != 200 {
			t.Fatalf("POST %s = %d %s", b, resp.StatusCode, body)
		}
	}
	_, body = do(t, "GET", srv.URL+"/_sandbox/orders/42", "", "")
	var o backmarkettest.Order
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatal(err)
	}
	if o.State != backmarkettest.OrderToShip || o.OrderLines[0].State != 3 || o.OrderLines[1].State != 2 || o.TrackingNumber != "T1" {
		t.Errorf("order = %+v; want state 3, lines 3 and 2, tracking T1", o)
	}

	_, body = do(t, "GET", srv.URL+"/_sandbox/calls", "", "")
	var calls []backmarkettest.Call
	if err := json.Unmarshal([]byte(body), &calls); err != nil {
		t.Fatal(err)
	}
	wantLast := backmarkettest.Call{OrderID: "42", SKU: "SKU-A", NewState: 3, TrackingNumber: "T1",
		TrackingURL: "https://t/1", Shipper: "UPS", Status: 200}
	if len(calls) != 4 || calls[0].Status != 400 || calls[3] != wantLast {
		t.Errorf("calls = %+v; want 4, the first refused, the last %+v", calls, wantLast)
	}

	// Faults over HTTP: one 429 with Retry-After, on POST only.
	if resp, body := do(t, "POST", srv.URL+"/_sandbox/faults", "", `{"status":429,"retry_after":"5","count":1,"methods":"POST"}`); resp.StatusCode != 200 {
		t.Fatalf("POST /_sandbox/faults = %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", srv.URL+"/ws/orders/42", auth, ""); resp.StatusCode != 200 {
		t.Errorf("GET under a POST-only fault = %d; want 200", resp.StatusCode)
	}
	resp, _ = do(t, "POST", srv.URL+"/ws/orders/42", auth, `{"order_id":42,"new_state":3,"sku":"SKU-B","tracking_number":"T1"}`)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "5" {
		t.Errorf("POST under the fault = %d Retry-After %q; want 429, 5", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := do(t, "POST", srv.URL+"/ws/orders/42", auth, `{"order_id":42,"new_state":3,"sku":"SKU-B","tracking_number":"T1"}`); resp.StatusCode != 200 {
		t.Errorf("POST after the one-request fault = %d; want 200", resp.StatusCode)
	}

	// A lasting 503, then cleared.
	do(t, "POST", srv.URL+"/_sandbox/faults", "", `{"status":503}`)
	for range 2 {
		if resp, _ := do(t, "GET", srv.URL+"/ws/orders/42", auth, ""); resp.StatusCode != 503 {
			t.Errorf("GET under a 503 fault = %d; want 503", resp.StatusCode)
		}
	}
	if resp, _ := do(t, "DELETE", srv.URL+"/_sandbox/faults", "", ""); resp.StatusCode != 204 {
		t.Errorf("DELETE /_sandbox/faults = %d; want 204", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", srv.URL+"/ws/orders/42", auth, ""); resp.StatusCode != 200 {
		t.Errorf("GET after clearing = %d; want 200", resp.StatusCode)
	}
}

func TestAuth(t *testing.T) {
	fake := backmarkettest.New(backmarkettest.Options{Token: "tok"})
	fake.Seed(backmarkettest.AwaitingAcceptance(1, "A"))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	for _, tt := range []struct {
		auth string
		want int
	}{{"Basic tok", 200}, {"Basic nope", 401}, {"Bearer tok", 401}, {"", 401}} {
		if resp, _ := do(t, "GET", srv.URL+"/ws/orders/1", tt.auth, ""); resp.StatusCode != tt.want {
			t.Errorf("Authorization %q: status %d; want %d", tt.auth, resp.StatusCode, tt.want)
		}
	}
	if resp, _ := do(t, "GET", srv.URL+"/_sandbox/orders/1", "", ""); resp.StatusCode != 200 {
		t.Errorf("sandbox API without auth: %d; want 200", resp.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fake := backmarkettest.New(backmarkettest.Options{Token: "tok", RateLimit: 2, RateWindow: 10 * time.Second,
		Now: func() time.Time { return now }})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var got []int
	for range 3 {
		resp, _ := do(t, "GET", srv.URL+"/ws/orders", "Basic tok", "")
		got = append(got, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "10" {
			t.Errorf("Retry-After = %q; want 10", resp.Header.Get("Retry-After"))
		}
	}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Errorf("statuses = %v; want 200 200 429", got)
	}
}

func TestDelayFaultEndsWithTheClient(t *testing.T) {
	fake := backmarkettest.New(backmarkettest.Options{Token: "tok"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.SetFault(backmarkettest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/ws/orders", nil)
	req.Header.Set("Authorization", "Basic tok")
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("a request under an hour's delay answered before the deadline")
	}
	// srv.Close (deferred) returns only once the handler gave up waiting.
}

func TestFaultJSON(t *testing.T) {
	var f backmarkettest.Fault
	if err := json.Unmarshal([]byte(`{"status":429,"retry_after":5,"count":2,"delay_ms":1500,"methods":"POST"}`), &f); err != nil {
		t.Fatal(err)
	}
	want := backmarkettest.Fault{Status: 429, RetryAfter: "5", Count: 2, Delay: 1500 * time.Millisecond, Methods: "POST"}
	if f != want {
		t.Errorf("fault = %+v; want %+v", f, want)
	}
	b, _ := json.Marshal(want)
	if got := string(b); got != `{"status":429,"retry_after":"5","count":2,"delay_ms":1500,"methods":"POST"}` {
		t.Errorf("JSON = %s", got)
	}
}
