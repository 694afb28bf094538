package woocommercetest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// createInput is the part of a POST /orders body the fake reads.
type createInput struct {
	Status   string `json:"status"`
	SetPaid  bool   `json:"set_paid"`
	Shipping *struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Company   string `json:"company"`
		Address1  string `json:"address_1"`
		Address2  string `json:"address_2"`
		City      string `json:"city"`
		State     string `json:"state"`
		Postcode  string `json:"postcode"`
		Country   string `json:"country"`
		Phone     string `json:"phone"`
	} `json:"shipping"`
	LineItems []struct {
		ProductID   int64 `json:"product_id"`
		VariationID int64 `json:"variation_id"`
		Quantity    int   `json:"quantity"`
	} `json:"line_items"`
	MetaData []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"meta_data"`
	// CreatedVia is read-only: WordPress drops it from a write.
	CreatedVia string `json:"created_via"`
}

// create answers POST /orders as WooCommerce does: 201 with the order;
// 400 rest_invalid_param for a status it does not know or a malformed
// body, woocommerce_rest_invalid_product_id for a line whose product (or
// variation of that product) does not exist.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var in createInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		return
	}
	if in.Status == "" {
		in.Status = "pending"
	}
	if !slices.Contains(statuses, in.Status) {
		writeInvalidParam(w, "status", "status is not one of "+strings.Join(statuses, ", ")+".")
		return
	}
	o := Order{Status: in.Status, CreatedVia: "rest-api"}
	if a := in.Shipping; a != nil {
		o.Shipping = Address{FirstName: a.FirstName, LastName: a.LastName, Company: a.Company, Address1: a.Address1,
			Address2: a.Address2, City: a.City, State: a.State, Postcode: a.Postcode, Country: a.Country, Phone: a.Phone}
	}
	for _, m := range in.MetaData {
		o.Meta = append(o.Meta, Meta{Key: m.Key, Value: m.Value})
	}
	s.mu.Lock()
	for i, li := range in.LineItems {
		if li.Quantity < 1 {
			s.mu.Unlock()
			writeInvalidParam(w, "line_items", "line_items["+strconv.Itoa(i)+"][quantity] must be greater than 0.")
			return
		}
		id := li.ProductID
		if li.VariationID != 0 {
			id = li.VariationID
		}
		j := slices.IndexFunc(s.products, func(p Product) bool {
			return p.ID == id && (li.VariationID == 0 || p.ParentID == li.ProductID)
		})
		if j < 0 || id == 0 {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "woocommerce_rest_invalid_product_id", "Invalid product ID.")
			return
		}
		p := s.products[j]
		o.LineItems = append(o.LineItems, LineItem{ProductID: li.ProductID, Name: p.Name, SKU: p.SKU, Quantity: li.Quantity})
	}
	lose := s.lose > 0
	if lose {
		s.lose--
	}
	s.mu.Unlock()
	if in.SetPaid {
		o.Status, o.DatePaid = "processing", s.clock()
	}
	created, err := s.AddOrder(o)
	if err != nil {
		writeInvalidParam(w, "status", err.Error())
		return
	}
	if lose {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte("<html><body><h1>504 Gateway Time-out</h1></body></html>"))
		return
	}
	writeJSON(w, http.StatusCreated, render(created))
}

// listProducts answers GET /products?sku=: the products and variations
// whose SKU is one of the comma-separated SKUs asked for.
func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	skus := strings.Split(q.Get("sku"), ",")
	s.mu.Lock()
	out := []any{}
	for _, p := range s.products {
		if q.Get("sku") != "" && !slices.Contains(skus, p.SKU) {
			continue
		}
		typ := "simple"
		if p.ParentID != 0 {
			typ = "variation"
		}
		out = append(out, map[string]any{"id": p.ID, "parent_id": p.ParentID, "name": p.Name, "sku": p.SKU,
			"type": typ, "status": "publish"})
	}
	s.mu.Unlock()
	w.Header().Set("X-WP-Total", strconv.Itoa(len(out)))
	w.Header().Set("X-WP-TotalPages", "1")
	writeJSON(w, http.StatusOK, out)
}

// SetProductSKU gives product id the SKU sku, as the merchant does in the
// WordPress admin (renaming a duplicate SKU, say). It reports whether the
// product exists.
func (s *Server) SetProductSKU(id int64, sku string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.products {
		if s.products[i].ID == id {
			s.products[i].SKU = sku
			return true
		}
	}
	return false
}
