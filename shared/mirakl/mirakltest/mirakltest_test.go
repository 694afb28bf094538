package mirakltest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/mirakl/mirakltest"
)

func do(t *testing.T, method, url, auth, body string) (int, string) {
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
	return resp.StatusCode, string(b)
}

func TestRules(t *testing.T) {
	fake := mirakltest.New(mirakltest.Options{APIKey: "key", PartialAcceptanceDisabled: true, Carriers: []string{"UPS"}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	fake.Seed(mirakltest.AwaitingAcceptance("1-A", "A", "B"))
	u := srv.URL + "/api/orders/1-A"

	steps := []struct {
		name     string
		method   string
		path     string
		auth     string
		body     string
		status   int
		contains string
	}{
		{"bearer is not Mirakl's scheme", "GET", "?order_ids=1-A", "Bearer key", "", 401, "UNAUTHORIZED"},
		{"wrong key", "PUT", "/ship", "nope", "", 401, `"status":401`},
		{"ship before accept", "PUT", "/ship", "key", "", 400, "ORDER_INVALID_STATE"},
		{"tracking before accept", "PUT", "/tracking", "key", `{"carrier_code":"UPS","tracking_number":"1"}`, 400, "ORDER_INVALID_STATE"},
		{"cancel before accept", "PUT", "/cancel", "key", "", 400, "ORDER_INVALID_STATE"},
		{"accept one line of two", "PUT", "/accept", "key", `{"order_lines":[{"id":"1-A-1","accepted":true}]}`, 400, "ORDER_LINE_ACCEPTANCE_DECISION_MISSING"},
		{"unknown line", "PUT", "/accept", "key", `{"order_lines":[{"id":"X","accepted":true}]}`, 400, "ORDER_LINE_NOT_FOUND"},
		{"duplicate line", "PUT", "/accept", "key", `{"order_lines":[{"id":"1-A-1","accepted":true},{"id":"1-A-1","accepted":true}]}`, 400, "ORDER_LINE_DUPLICATE_ID"},
		{"partial acceptance", "PUT", "/accept", "key", `{"order_lines":[{"id":"1-A-1","accepted":true},{"id":"1-A-2","accepted":false}]}`, 400, "ORDER_PARTIAL_ACCEPTANCE_DISABLED"},
		{"accept", "PUT", "/accept", "key", `{"order_lines":[{"id":"1-A-1","accepted":true},{"id":"1-A-2","accepted":true}]}`, 204, ""},
		{"accept twice", "PUT", "/accept", "key", `{"order_lines":[{"id":"1-A-1","accepted":true},{"id":"1-A-2","accepted":true}]}`, 400, "ORDER_INVALID_STATE"},
		{"unknown carrier", "PUT", "/tracking", "key", `{"carrier_code":"DHL","tracking_number":"1"}`, 400, "VALIDATION_ERROR"},
		{"tracking", "PUT", "/tracking", "key", `{"carrier_code":"UPS","tracking_number":"1Z"}`, 204, ""},
		{"ship", "PUT", "/ship", "key", "", 204, ""},
		{"cancel once shipped", "PUT", "/cancel", "key", "", 400, "ORDER_INVALID_STATE"},
		{"list", "GET", "?order_ids=1-A", "key", "", 200, `"order_state":"SHIPPED"`},
		{"page too large", "GET", "?max=101", "key", "", 400, "VALIDATION_ERROR"},
	}
	for _, s := range steps {
		url := u + s.path
		if strings.HasPrefix(s.path, "?") {
			url = srv.URL + "/api/orders" + s.path
		}
		status, body := do(t, s.method, url, s.auth, s.body)
		if status != s.status || !strings.Contains(body, s.contains) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, status, body, s.status, s.contains)
		}
	}
	o, _ := fake.Order("1-A")
	if o.OrderState != mirakltest.StateShipped || o.ShippingTracking != "1Z" || o.ShippingCarrierCode != "UPS" {
		t.Errorf("order = %+v; want SHIPPED with UPS 1Z", o)
	}
	if n := len(fake.Calls()); n != 14 {
		t.Errorf("%d calls recorded; want 14 (every PUT)", n)
	}
}

func TestErrorBodyShape(t *testing.T) {
	fake := mirakltest.New(mirakltest.Options{APIKey: "key"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	status, body := do(t, "PUT", srv.URL+"/api/orders/nope/ship", "key", "")
	var e struct {
		Message string `json:"message"`
		Status  int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || status != 404 || e.Status != 404 || !strings.HasPrefix(e.Message, "ORDER_NOT_FOUND") {
		t.Errorf("unknown order: %d %s; want 404 {message: ORDER_NOT_FOUND…, status: 404}", status, body)
	}
}

func TestSandboxHTTP(t *testing.T) {
	fake := mirakltest.New(mirakltest.Options{APIKey: "key"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	seed := `{"order_state":"WAITING_ACCEPTANCE","order_lines":[{"order_line_id":"L1","offer_sku":"A","quantity":1}]}`
	if status, body := do(t, "PUT", srv.URL+"/_sandbox/orders/9-A", "", seed); status != 200 || !strings.Contains(body, `"order_line_state":"WAITING_ACCEPTANCE"`) {
		t.Fatalf("seed: %d %s", status, body)
	}
	if status, _ := do(t, "POST", srv.URL+"/_sandbox/faults", "", `{"status":503,"count":1}`); status != 200 {
		t.Fatalf("set fault: %d", status)
	}
	if status, _ := do(t, "GET", srv.URL+"/api/orders?order_ids=9-A", "key", ""); status != 503 {
		t.Errorf("under the fault: %d; want 503", status)
	}
	if status, _ := do(t, "GET", srv.URL+"/api/orders?order_ids=9-A", "key", ""); status != 200 {
		t.Errorf("after the one-request fault: %d; want 200", status)
	}
	if status, body := do(t, "GET", srv.URL+"/_sandbox/orders/9-A", "", ""); status != 200 || !strings.Contains(body, `"order_id":"9-A"`) {
		t.Errorf("get: %d %s", status, body)
	}
}

// TestOR30 walks OR30's rules: every field required, taxes where the line
// has them, only accepted lines not shipped, no more than a line holds.
func TestOR30(t *testing.T) {
	fake := mirakltest.New(mirakltest.Options{APIKey: "key", PartialCancelation: true, CancelReasons: []string{"34"}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := mirakltest.AwaitingAcceptance("1-A", "A", "B")
	o.OrderLines[0].Quantity = 2
	o.OrderLines[0] = o.OrderLines[0].Priced(5, 2, 20) // price 10, shipping 2, taxes 2 and 0.40
	fake.Seed(o)
	u := srv.URL + "/api/orders/cancel"
	line := func(id string, qty int, amount, shipping string, taxes bool) string {
		tx := ""
		if taxes {
			tx = `, "taxes": [{"amount": 1, "code": "TVA"}], "shipping_taxes": [{"amount": 0.2, "code": "TVA"}]`
		}
		return `{"cancelations": [{"order_line_id": "` + id + `", "quantity": ` + fmt.Sprint(qty) + `, "amount": ` + amount +
			`, "shipping_amount": ` + shipping + `, "reason_code": "34"` + tx + `}]}`
	}
	steps := []struct {
		name     string
		body     string
		status   int
		contains string
	}{
		{"before acceptance (OR21 refuses lines then)", line("1-A-1", 1, "5", "1", true), 400, "ORDER_INVALID_STATE"},
		{"accept", "", 0, ""},
		{"no reason code", `{"cancelations": [{"order_line_id": "1-A-1", "quantity": 1, "amount": 5, "shipping_amount": 1}]}`, 400, "VALIDATION_ERROR"},
		{"a reason the operator does not list", strings.Replace(line("1-A-1", 1, "5", "1", true), `"34"`, `"99"`, 1), 400, "VALIDATION_ERROR"},
		{"taxes left out", line("1-A-1", 1, "5", "1", false), 400, "taxes"},
		{"more than the line holds", line("1-A-1", 3, "5", "1", true), 400, "quantity"},
		{"more money than the line's", line("1-A-1", 1, "10.01", "1", true), 400, "amount"},
		{"an unknown line", line("9-Z-1", 1, "0", "0", false), 400, "ORDER_LINE_NOT_FOUND"},
		{"one unit cancelled", line("1-A-1", 1, "5", "1", true), 200, `"cancelation_id"`},
		{"the other", line("1-A-1", 1, "5", "1", true), 200, `"cancelation_id"`},
		{"the line ended", line("1-A-1", 1, "0", "0", true), 400, "ORDER_INVALID_STATE"},
	}
	for _, s := range steps {
		if s.name == "accept" {
			if st, b := do(t, "PUT", srv.URL+"/api/orders/1-A/accept", "key",
				`{"order_lines": [{"id": "1-A-1", "accepted": true}, {"id": "1-A-2", "accepted": true}]}`); st != 204 {
				t.Fatalf("accept: %d %s", st, b)
			}
			continue
		}
		st, b := do(t, "PUT", u, "key", s.body)
		if st != s.status || !strings.Contains(b, s.contains) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, st, b, s.status, s.contains)
		}
	}
	got, _ := fake.Order("1-A")
	a := got.OrderLines[0]
	if a.OrderLineState != mirakltest.StateCanceled || a.Quantity != 0 || *a.Price != 0 || len(a.Cancelations) != 2 ||
		got.OrderLines[1].OrderLineState != mirakltest.StateShipping || got.OrderState != mirakltest.StateShipping {
		t.Errorf("after: order %s, line A %+v, line B %s; want A CANCELED with 2 cancelations, B and the order SHIPPING",
			got.OrderState, a, got.OrderLines[1].OrderLineState)
	}
	disabled := httptest.NewServer(mirakltest.New(mirakltest.Options{APIKey: "key"}))
	defer disabled.Close()
	if st, b := do(t, "PUT", disabled.URL+"/api/orders/cancel", "key", line("1-A-1", 1, "5", "1", true)); st != 400 {
		t.Errorf("OR30 without partial cancelation: %d %s; want 400", st, b)
	}
}

// TestOR28 walks OR28's rules: order line, amount, shipping amount and
// reason code required, taxes where the line has them, only shipped or
// received lines, no more than is left to refund; a refund shows in
// OR11's refunds of the line, and a 429 fault answers as any call's.
func TestOR28(t *testing.T) {
	fake := mirakltest.New(mirakltest.Options{APIKey: "key", RefundReasons: []string{"17"}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	o := mirakltest.AwaitingAcceptance("1-A", "A", "B")
	o.OrderState = mirakltest.StateShipping
	o.OrderLines[0].Quantity = 2
	o.OrderLines[0] = o.OrderLines[0].Priced(5, 2, 20) // price 10, shipping 2, taxes 2 and 0.40
	for i := range o.OrderLines {
		o.OrderLines[i].OrderLineState = mirakltest.StateShipping
	}
	fake.Seed(o)
	u := srv.URL + "/api/orders/refund"
	line := func(id string, qty int, amount, shipping string, taxes bool) string {
		tx := ""
		if taxes {
			tx = `, "taxes": [{"amount": 1, "code": "TVA"}], "shipping_taxes": [{"amount": 0.2, "code": "TVA"}]`
		}
		return `{"refunds": [{"order_line_id": "` + id + `", "quantity": ` + fmt.Sprint(qty) + `, "amount": ` + amount +
			`, "shipping_amount": ` + shipping + `, "reason_code": "17", "currency_iso_code": "EUR"` + tx + `}]}`
	}
	steps := []struct {
		name     string
		body     string
		status   int
		contains string
	}{
		{"before shipment (OR30 cancels then)", line("1-A-1", 1, "5", "1", true), 400, "ORDER_INVALID_STATE"},
		{"ship", "", 0, ""},
		{"no reason code", `{"refunds": [{"order_line_id": "1-A-1", "quantity": 1, "amount": 5, "shipping_amount": 1}]}`, 400, "VALIDATION_ERROR"},
		{"no amount", `{"refunds": [{"order_line_id": "1-A-1", "quantity": 1, "shipping_amount": 1, "reason_code": "17"}]}`, 400, "VALIDATION_ERROR"},
		{"a reason the operator does not list", strings.Replace(line("1-A-1", 1, "5", "1", true), `"17"`, `"99"`, 1), 400, "VALIDATION_ERROR"},
		{"taxes left out", line("1-A-1", 1, "5", "1", false), 400, "taxes"},
		{"more than the line holds", line("1-A-1", 3, "5", "1", true), 400, "quantity"},
		{"more money than the line's", line("1-A-1", 1, "10.01", "1", true), 400, "amount"},
		{"an unknown line", line("9-Z-1", 1, "0", "0", false), 400, "ORDER_LINE_NOT_FOUND"},
		{"rate limited", "429", 429, "TOO_MANY_REQUESTS"},
		{"one unit refunded", line("1-A-1", 1, "5", "1", true), 200, `"refund_id"`},
		{"more money than is left", line("1-A-1", 1, "5.01", "1", true), 400, "amount"},
		{"the rest", line("1-A-1", 1, "5", "1", true), 200, `"refund_id"`},
		{"nothing left", line("1-A-1", 1, "0", "0", true), 400, "quantity"},
	}
	for _, s := range steps {
		switch s.name {
		case "ship":
			if st, b := do(t, "PUT", srv.URL+"/api/orders/1-A/ship", "key", ""); st != 204 {
				t.Fatalf("ship: %d %s", st, b)
			}
			continue
		case "rate limited":
			fake.SetFault(mirakltest.Fault{Status: 429, RetryAfter: "3", Count: 1})
			s.body = line("1-A-1", 1, "5", "1", true)
		}
		st, b := do(t, "PUT", u, "key", s.body)
		if st != s.status || !strings.Contains(b, s.contains) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, st, b, s.status, s.contains)
		}
	}
	st, b := do(t, "GET", srv.URL+"/api/orders?order_ids=1-A", "key", "")
	var page struct {
		Orders []struct {
			OrderState string `json:"order_state"`
			OrderLines []struct {
				OrderLineState string `json:"order_line_state"`
				CanRefund      bool   `json:"can_refund"`
				Refunds        []struct {
					ID       string  `json:"id"`
					Quantity int     `json:"quantity"`
					Amount   float64 `json:"amount"`
				} `json:"refunds"`
			} `json:"order_lines"`
		} `json:"orders"`
	}
	if err := json.Unmarshal([]byte(b), &page); err != nil || st != 200 || len(page.Orders) != 1 {
		t.Fatalf("OR11: %d %s (%v)", st, b, err)
	}
	a, other := page.Orders[0].OrderLines[0], page.Orders[0].OrderLines[1]
	if len(a.Refunds) != 2 || a.Refunds[0].ID == "" || a.Refunds[0].Quantity != 1 || a.Refunds[0].Amount != 5 || a.CanRefund ||
		a.OrderLineState != mirakltest.StateShipped {
		t.Errorf("line A after: %+v; want two refunds of 1 and 5, can_refund false, still SHIPPED", a)
	}
	if len(other.Refunds) != 0 || !other.CanRefund {
		t.Errorf("line B after: %+v; want no refund, can_refund", other)
	}
}
