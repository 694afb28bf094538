package backmarkettest_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
)

// TestPersistKeepsOrdersAcrossRestarts: a fake started again on the same
// file has the orders seeded, created and changed before, in the state the
// changes left them.
func TestPersistKeepsOrdersAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.json")
	first := backmarkettest.New(backmarkettest.Options{Token: "tok"})
	if err := first.Persist(path); err != nil {
		t.Fatal(err)
	}
	first.Seed(backmarkettest.AwaitingAcceptance(42, "SKU-A"))
	srv := httptest.NewServer(first)
	if resp, body := do(t, "POST", srv.URL+"/ws/orders/42", "Basic tok", `{"order_id":42,"new_state":2,"sku":"SKU-A"}`); resp.StatusCode != 200 {
		t.Fatalf("accept = %d %s", resp.StatusCode, body)
	}
	created := first.Create("SKU-B")
	srv.Close()

	second := backmarkettest.New(backmarkettest.Options{Token: "tok"})
	if err := second.Persist(path); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		id        string
		wantState int
	}{
		{"the seeded order, accepted", "42", backmarkettest.OrderToShip},
		{"the created order", "10001", backmarkettest.OrderAwaitingAcceptance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := second.Order(tc.id)
			if !ok {
				t.Fatalf("order %s forgotten after the restart", tc.id)
			}
			if got.State != tc.wantState {
				t.Errorf("state = %d, want %d", got.State, tc.wantState)
			}
		})
	}
	if created.OrderID != 10001 {
		t.Errorf("created id = %d, want 10001 (the first free one)", created.OrderID)
	}
	if second.SeedIfAbsent(backmarkettest.AwaitingAcceptance(42, "SKU-A")) {
		t.Error("SeedIfAbsent replaced order 42, which the file had")
	}
	if got, _ := second.Order("42"); got.State != backmarkettest.OrderToShip {
		t.Errorf("order 42 state after SeedIfAbsent = %d, want %d (kept)", got.State, backmarkettest.OrderToShip)
	}
}

// TestPersistRejectsACorruptFile: a file that is not a snapshot is an
// error, not an empty sandbox that would silently forget every order.
func TestPersistRejectsACorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.json")
	first := backmarkettest.New(backmarkettest.Options{})
	if err := first.Persist(path); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, "{not json"); err != nil {
		t.Fatal(err)
	}
	if err := backmarkettest.New(backmarkettest.Options{}).Persist(path); err == nil {
		t.Error("Persist on a corrupt file = nil, want an error")
	}
}

// TestCreateOrderOverHTTP: POST /_sandbox/orders makes a new order
// awaiting acceptance under a fresh id, and refuses a body without SKUs.
func TestCreateOrderOverHTTP(t *testing.T) {
	fake := backmarkettest.New(backmarkettest.Options{})
	fake.Seed(backmarkettest.AwaitingAcceptance(20000, "OLD"))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	for _, tc := range []struct {
		name       string
		body       string
		wantStatus int
		wantID     int64
	}{
		{"two SKUs", `{"skus":["SKU-A","SKU-B"]}`, 201, 20001},
		{"the next one", `{"skus":["SKU-C"]}`, 201, 20002},
		{"no SKUs", `{"skus":[]}`, 400, 0},
		{"an empty SKU", `{"skus":[""]}`, 400, 0},
		{"not JSON", `skus`, 400, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, "POST", srv.URL+"/_sandbox/orders", "", tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d %s, want %d", resp.StatusCode, body, tc.wantStatus)
			}
			if tc.wantID == 0 {
				return
			}
			var o backmarkettest.Order
			if err := json.Unmarshal([]byte(body), &o); err != nil {
				t.Fatal(err)
			}
			if o.OrderID != tc.wantID || o.State != backmarkettest.OrderAwaitingAcceptance || o.OrderLines[0].State != backmarkettest.LineAwaitingMerchant {
				t.Errorf("created %+v, want order %d awaiting acceptance", o, tc.wantID)
			}
			if _, ok := fake.Order(strconv.FormatInt(tc.wantID, 10)); !ok {
				t.Errorf("order %d not kept", tc.wantID)
			}
		})
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
