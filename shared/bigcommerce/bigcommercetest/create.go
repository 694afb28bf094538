package bigcommercetest

import (
	"encoding/json"
	"net/http"
	"slices"

	"strings"
)

// AddProduct adds p to the catalogue, assigning its id and its variants',
// and returns it.
func (s *Server) AddProduct(p CatalogProduct) CatalogProduct {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.ID = s.id()
	p.Variants = slices.Clone(p.Variants)
	for i := range p.Variants {
		p.Variants[i].ID = s.id()
	}
	s.catalog = append(s.catalog, p)
	return p
}

// LoseCreateAnswers makes the next n order creations happen but answer
// 502, as when BigCommerce's edge gives up on a slow request: the client
// cannot know the order was made.
func (s *Server) LoseCreateAnswers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose = n
}

type createAddress struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Company     string `json:"company"`
	Street1     string `json:"street_1"`
	Street2     string `json:"street_2"`
	City        string `json:"city"`
	State       string `json:"state"`
	Zip         string `json:"zip"`
	CountryISO2 string `json:"country_iso2"`
	Phone       string `json:"phone"`
}

// create answers POST /v2/orders (s.mu held): 201 with the order; 400 with
// v2's error array when the billing address or a product is wrong, as
// BigCommerce answers.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		StatusID          *int            `json:"status_id"`
		BillingAddress    *createAddress  `json:"billing_address"`
		ShippingAddresses []createAddress `json:"shipping_addresses"`
		Products          []struct {
			ProductID int64 `json:"product_id"`
			VariantID int64 `json:"variant_id"`
			Quantity  int   `json:"quantity"`
		} `json:"products"`
		ExternalSource  string `json:"external_source"`
		ExternalOrderID string `json:"external_order_id"`
		StaffNotes      string `json:"staff_notes"`
		PaymentMethod   string `json:"payment_method"`
		ExternalID      any    `json:"external_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, "The request body is not valid JSON.")
		return
	}
	switch {
	case in.ExternalID != nil:
		writeErrors(w, http.StatusBadRequest, "The field 'external_id' cannot be written to. Please remove it from your request before trying again.")
		return
	case in.BillingAddress == nil:
		writeErrors(w, http.StatusBadRequest, "The required field 'billing_address' was not supplied.")
		return
	case len(strings.TrimSpace(in.BillingAddress.Zip)) < 2:
		writeErrors(w, http.StatusBadRequest, "The field 'zip' is invalid.")
		return
	case len(in.Products) == 0:
		writeErrors(w, http.StatusBadRequest, "The required field 'products' was not supplied.")
		return
	}
	status := 1 // Pending
	if in.StatusID != nil {
		if _, ok := statusNames[*in.StatusID]; !ok {
			writeErrors(w, http.StatusBadRequest, "The field 'status_id' is invalid.")
			return
		}
		status = *in.StatusID
	}
	o := Order{StatusID: status, ExternalSource: in.ExternalSource, ExternalOrderID: in.ExternalOrderID,
		StaffNotes: in.StaffNotes, PaymentMethod: in.PaymentMethod, BillingZip: in.BillingAddress.Zip}
	if status == 0 {
		o.StatusID = StatusIncomplete
	}
	for _, p := range in.Products {
		i := slices.IndexFunc(s.catalog, func(c CatalogProduct) bool { return c.ID == p.ProductID })
		if i < 0 {
			writeErrors(w, http.StatusBadRequest, "The field 'product_id' is invalid.")
			return
		}
		c := s.catalog[i]
		sku := c.SKU
		if p.VariantID != 0 {
			j := slices.IndexFunc(c.Variants, func(v Variant) bool { return v.ID == p.VariantID })
			if j < 0 {
				writeErrors(w, http.StatusBadRequest, "The field 'variant_id' is invalid.")
				return
			}
			sku = c.Variants[j].SKU
		} else if len(c.Variants) > 0 {
			writeErrors(w, http.StatusBadRequest, "The field 'product_options' is invalid.")
			return
		}
		if p.Quantity < 1 {
			writeErrors(w, http.StatusBadRequest, "The field 'quantity' is invalid.")
			return
		}
		o.Products = append(o.Products, Product{ProductID: c.ID, VariantID: p.VariantID, Name: c.Name, SKU: sku, Quantity: p.Quantity})
	}
	for _, a := range in.ShippingAddresses {
		o.ShippingAddresses = append(o.ShippingAddresses, Address{FirstName: a.FirstName, LastName: a.LastName, Company: a.Company,
			Street1: a.Street1, Street2: a.Street2, City: a.City, State: a.State, Zip: a.Zip, CountryISO2: a.CountryISO2, Phone: a.Phone})
	}
	created := s.add(o)
	if s.lose > 0 {
		s.lose--
		writeErrors(w, http.StatusBadGateway, "Bad Gateway")
		return
	}
	writeJSON(w, http.StatusCreated, renderOrder(s.find(created.ID), s.hash))
}

// serveV3 answers the v3 catalogue: GET /catalog/variants?sku= (variants
// of products with options) and /catalog/products?sku=.
func (s *Server) serveV3(w http.ResponseWriter, r *http.Request, path string) {
	if r.Header.Get("X-Auth-Token") != s.token || s.token == "" {
		writeV3Error(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if r.Method != http.MethodGet || (path != "catalog/variants" && path != "catalog/products") {
		writeV3Error(w, http.StatusNotFound, "The route is not found, check the URL")
		return
	}
	sku := r.URL.Query().Get("sku")
	s.mu.Lock()
	defer s.mu.Unlock()
	data := []any{}
	for _, p := range s.catalog {
		if path == "catalog/products" {
			if sku == "" || p.SKU == sku {
				data = append(data, map[string]any{"id": p.ID, "name": p.Name, "sku": p.SKU, "type": "physical"})
			}
			continue
		}
		for _, v := range p.Variants {
			if sku == "" || v.SKU == sku {
				data = append(data, map[string]any{"id": v.ID, "product_id": p.ID, "sku": v.SKU})
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"pagination": map[string]any{
		"total": len(data), "count": len(data), "per_page": 50, "current_page": 1, "total_pages": 1}}})
}

// writeV3Error answers with v3's error object.
func writeV3Error(w http.ResponseWriter, status int, title string) {
	writeJSON(w, status, map[string]any{"status": status, "title": title,
		"type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes", "errors": map[string]any{}})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
