package bigcommercetest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestCreateShipmentRules(t *testing.T) {
	srv := New("h", "tok")
	o := srv.AddOrder(Order{Products: []Product{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}},
		ShippingAddresses: []Address{{City: "Lyon", CountryISO2: "FR"}}})
	addr, pa, pb := o.ShippingAddresses[0].ID, o.Products[0].ID, o.Products[1].ID
	item := func(id int64, q int) string {
		return `{"order_product_id":` + strconv.FormatInt(id, 10) + `,"quantity":` + strconv.Itoa(q) + `}`
	}
	body := func(address int64, items ...string) string {
		return `{"order_address_id":` + strconv.FormatInt(address, 10) + `,"tracking_number":"T","items":[` + strings.Join(items, ",") + `]}`
	}
	steps := []struct {
		name       string
		body       string
		wantCode   int
		wantStatus int
	}{
		{"foreign address", body(addr+999, item(pa, 1)), 400, 11},
		{"unknown product", body(addr, item(999999, 1)), 400, 11},
		{"too many", body(addr, item(pa, 3)), 400, 11},
		{"no items", body(addr), 400, 11},
		{"part", body(addr, item(pa, 1)), 201, 3},
		{"more than remains", body(addr, item(pa, 2)), 400, 3},
		{"rest", body(addr, item(pa, 1), item(pb, 1)), 201, 2},
	}
	for _, s := range steps {
		req := httptest.NewRequest(http.MethodPost, "/stores/h/v2/orders/"+strconv.FormatInt(o.ID, 10)+"/shipments", strings.NewReader(s.body))
		req.Header.Set("X-Auth-Token", "tok")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != s.wantCode {
			t.Errorf("%s: status %d, want %d (%s)", s.name, rec.Code, s.wantCode, rec.Body)
		}
		if got, _ := srv.Order(o.ID); got.StatusID != s.wantStatus {
			t.Errorf("%s: status_id %d, want %d", s.name, got.StatusID, s.wantStatus)
		}
	}
}

func TestEmptyCollectionIs204(t *testing.T) {
	srv := New("h", "tok")
	o := srv.AddOrder(Order{})
	req := httptest.NewRequest(http.MethodGet, "/stores/h/v2/orders/"+strconv.FormatInt(o.ID, 10)+"/shipments", nil)
	req.Header.Set("X-Auth-Token", "tok")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Errorf("got %d %q, want 204 and no body", rec.Code, rec.Body)
	}
}
