// Package bigcommercetest is a fake BigCommerce REST API v2 (orders) and
// v3 catalogue (products and variants by SKU) for tests: an http.Handler
// that keeps orders, their products, shipping addresses and shipments,
// and a catalogue, in memory and answers the way BigCommerce does
// (X-Auth-Token, 204 for an empty v2 collection, JSON arrays of v2 errors,
// v3's data/meta envelope and error object, X-Rate-Limit-* headers).
// Creating a shipment enforces BigCommerce's rules: an address of the
// order, known order products, no more than remains to ship; and moves
// the order to Shipped or Partially Shipped. Creating an order (POST
// /v2/orders) needs a billing address with a zip and catalogue products,
// and keeps external_source, external_order_id and staff_notes, which GET
// /v2/orders filters by (external_order_id, min_date_created).
package bigcommercetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
)

// Order is an order as the fake holds it.
type Order struct {
	// ID is assigned by AddOrder.
	ID int64
	// StatusID is BigCommerce's status_id (11 Awaiting Fulfillment when 0
	// is not meant: set Incomplete explicitly with StatusIncomplete).
	StatusID     int
	DateCreated  time.Time
	DateModified time.Time // now when zero
	Products     []Product
	// ShippingAddresses get ids assigned; an order needs one to ship.
	ShippingAddresses []Address
	Shipments         []Shipment
	// ExternalSource, ExternalOrderID, StaffNotes and PaymentMethod are as
	// POST /orders wrote them; the external fields are null when empty.
	ExternalSource, ExternalOrderID, StaffNotes, PaymentMethod string
	// BillingZip is the billing address's zip, as created.
	BillingZip string
}

// CatalogProduct is a catalogue product. A product without Variants has
// only its base variant, whose SKU is the product's.
type CatalogProduct struct {
	// ID is assigned by AddProduct, as are its variants' ids.
	ID       int64
	Name     string
	SKU      string
	Variants []Variant
}

// Variant is a product variant (a combination of option values).
type Variant struct {
	ID  int64
	SKU string
}

// StatusIncomplete marks a seeded order as Incomplete (status_id 0),
// since a zero StatusID means Awaiting Fulfillment.
const StatusIncomplete = -1

// Product is one order product (line).
type Product struct {
	ID              int64
	ProductID       int64
	VariantID       int64
	Name            string
	SKU             string
	Quantity        int
	QuantityShipped int
	// QuantityRefunded is how many of the line were refunded (set by the
	// test: the fake has no refund call).
	QuantityRefunded int
}

// Address is an order shipping address.
type Address struct {
	ID                                                                                   int64
	FirstName, LastName, Company, Street1, Street2, City, State, Zip, CountryISO2, Phone string
}

// Shipment is a recorded shipment.
type Shipment struct {
	ID               int64
	OrderAddressID   int64
	TrackingNumber   string
	ShippingProvider string
	TrackingCarrier  string
	TrackingLink     string
	Items            []ShipmentItem
}

// ShipmentItem is a quantity of one order product in a shipment.
type ShipmentItem struct {
	OrderProductID int64 `json:"order_product_id"`
	Quantity       int   `json:"quantity"`
}

// statusNames are BigCommerce's status labels by status_id.
var statusNames = map[int]string{0: "Incomplete", 1: "Pending", 2: "Shipped", 3: "Partially Shipped", 4: "Refunded",
	5: "Cancelled", 6: "Declined", 7: "Awaiting Payment", 8: "Awaiting Pickup", 9: "Awaiting Shipment",
	10: "Completed", 11: "Awaiting Fulfillment", 12: "Manual Verification Required", 13: "Disputed", 14: "Partially Refunded"}

// Server is the fake. Build it with New; it is safe for concurrent use.
// Its embedded Switch holds the fault switch (SetFault) and call log
// (Calls).
type Server struct {
	storefronttest.Switch

	// Now is the fake's clock; time.Now when nil.
	Now func() time.Time

	hash, token string

	mu      sync.Mutex
	next    int64
	orders  []*Order
	catalog []CatalogProduct
	lose    int // creates whose answer is lost (see LoseCreateAnswers)
}

// New returns a fake store with hash storeHash that accepts only token.
func New(storeHash, token string) *Server {
	return &Server{hash: storeHash, token: token, next: 100}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) id() int64 { s.next++; return s.next }

// AddOrder stores o, assigning ids and defaults, and returns it.
func (s *Server) AddOrder(o Order) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(o)
}

func (s *Server) add(o Order) Order {
	o.ID = s.id()
	switch o.StatusID {
	case 0:
		o.StatusID = 11
	case StatusIncomplete:
		o.StatusID = 0
	}
	if o.DateModified.IsZero() {
		o.DateModified = s.now()
	}
	if o.DateCreated.IsZero() {
		o.DateCreated = o.DateModified
	}
	o.Products = slices.Clone(o.Products)
	for i := range o.Products {
		if o.Products[i].ID == 0 {
			o.Products[i].ID = s.id()
		}
	}
	o.ShippingAddresses = slices.Clone(o.ShippingAddresses)
	for i := range o.ShippingAddresses {
		if o.ShippingAddresses[i].ID == 0 {
			o.ShippingAddresses[i].ID = s.id()
		}
	}
	o.Shipments = slices.Clone(o.Shipments)
	s.orders = append(s.orders, &o)
	return clone(o)
}

// Order returns a copy of the order with id id.
func (s *Server) Order(id int64) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.find(id); o != nil {
		return clone(*o), true
	}
	return Order{}, false
}

// Orders returns a copy of every order.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, clone(*o))
	}
	return out
}

func clone(o Order) Order {
	o.Products = slices.Clone(o.Products)
	o.ShippingAddresses = slices.Clone(o.ShippingAddresses)
	sh := make([]Shipment, len(o.Shipments))
	for i, x := range o.Shipments {
		x.Items = slices.Clone(x.Items)
		sh[i] = x
	}
	o.Shipments = sh
	return o
}

func (s *Server) find(id int64) *Order {
	for _, o := range s.orders {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Record(storefronttest.Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery})
	if s.Apply(w, r, writeFault) {
		return
	}
	if v3, ok := strings.CutPrefix(r.URL.Path, "/stores/"+s.hash+"/v3/"); ok {
		s.serveV3(w, r, v3)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/stores/"+s.hash+"/v2/")
	if !ok {
		writeErrors(w, http.StatusNotFound, "The requested resource was not found.")
		return
	}
	if r.Header.Get("X-Auth-Token") != s.token || s.token == "" {
		writeErrors(w, http.StatusUnauthorized, "You are not authorized to access this resource.")
		return
	}
	parts := strings.Split(rest, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(parts) == 1 && parts[0] == "orders" && r.Method == http.MethodGet {
		s.list(w, r)
		return
	}
	if len(parts) == 1 && parts[0] == "orders" && r.Method == http.MethodPost {
		s.create(w, r)
		return
	}
	if len(parts) < 2 || parts[0] != "orders" {
		writeErrors(w, http.StatusNotFound, "The requested resource was not found.")
		return
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	o := s.find(id)
	if err != nil || o == nil {
		writeErrors(w, http.StatusNotFound, "The requested resource was not found.")
		return
	}
	sub := ""
	if len(parts) == 3 {
		sub = parts[2]
	}
	switch {
	case sub == "" && r.Method == http.MethodGet && len(parts) == 2:
		writeJSON(w, http.StatusOK, renderOrder(o, s.hash))
	case sub == "products" && r.Method == http.MethodGet:
		var out []any
		for _, p := range o.Products {
			out = append(out, map[string]any{"id": p.ID, "order_id": o.ID, "product_id": p.ProductID, "variant_id": p.VariantID,
				"order_address_id": firstAddressID(o), "name": p.Name, "sku": p.SKU, "type": "physical",
				"quantity": p.Quantity, "quantity_shipped": p.QuantityShipped, "quantity_refunded": p.QuantityRefunded})
		}
		writeCollection(w, out)
	case sub == "shipping_addresses" && r.Method == http.MethodGet:
		var out []any
		for _, a := range o.ShippingAddresses {
			out = append(out, map[string]any{"id": a.ID, "order_id": o.ID, "first_name": a.FirstName, "last_name": a.LastName,
				"company": a.Company, "street_1": a.Street1, "street_2": a.Street2, "city": a.City, "state": a.State,
				"zip": a.Zip, "country_iso2": a.CountryISO2, "phone": a.Phone})
		}
		writeCollection(w, out)
	case sub == "shipments" && r.Method == http.MethodGet:
		var out []any
		for _, x := range o.Shipments {
			out = append(out, map[string]any{"id": x.ID, "order_id": o.ID, "order_address_id": x.OrderAddressID,
				"tracking_number": x.TrackingNumber, "shipping_provider": x.ShippingProvider,
				"tracking_carrier": x.TrackingCarrier, "tracking_link": x.TrackingLink, "items": x.Items})
		}
		writeCollection(w, out)
	case sub == "shipments" && r.Method == http.MethodPost:
		s.createShipment(w, r, o)
	default:
		writeErrors(w, http.StatusNotFound, "The requested resource was not found.")
	}
}

func firstAddressID(o *Order) int64 {
	if len(o.ShippingAddresses) == 0 {
		return 0
	}
	return o.ShippingAddresses[0].ID
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, page := 50, 1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeErrors(w, http.StatusBadRequest, "The field 'limit' is invalid.")
			return
		}
		limit = min(n, 250)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeErrors(w, http.StatusBadRequest, "The field 'page' is invalid.")
			return
		}
		page = n
	}
	var since time.Time
	if v := q.Get("min_date_modified"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse(time.RFC1123Z, v); err != nil {
				writeErrors(w, http.StatusBadRequest, "The field 'min_date_modified' is invalid.")
				return
			}
		}
		since = t
	}
	var created time.Time
	if v := q.Get("min_date_created"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse(time.RFC1123Z, v); err != nil {
				writeErrors(w, http.StatusBadRequest, "The field 'min_date_created' is invalid.")
				return
			}
		}
		created = t
	}
	_, byExternal := q["external_order_id"]
	var match []*Order
	for _, o := range s.orders {
		if !o.DateModified.Truncate(time.Second).Before(since) && !o.DateCreated.Truncate(time.Second).Before(created) &&
			(!byExternal || o.ExternalOrderID == q.Get("external_order_id")) {
			match = append(match, o)
		}
	}
	switch q.Get("sort") {
	case "", "id:asc":
		sort.SliceStable(match, func(i, j int) bool { return match[i].ID < match[j].ID })
	case "id:desc":
		sort.SliceStable(match, func(i, j int) bool { return match[i].ID > match[j].ID })
	case "date_modified:asc":
		sort.SliceStable(match, func(i, j int) bool { return match[i].DateModified.Before(match[j].DateModified) })
	default:
		writeErrors(w, http.StatusBadRequest, "The field 'sort' is invalid.")
		return
	}
	start := min((page-1)*limit, len(match))
	end := min(start+limit, len(match))
	var out []any
	for _, o := range match[start:end] {
		out = append(out, renderOrder(o, s.hash))
	}
	writeCollection(w, out)
}

func (s *Server) createShipment(w http.ResponseWriter, r *http.Request, o *Order) {
	var in struct {
		OrderAddressID   int64          `json:"order_address_id"`
		Items            []ShipmentItem `json:"items"`
		TrackingNumber   string         `json:"tracking_number"`
		ShippingProvider string         `json:"shipping_provider"`
		TrackingCarrier  string         `json:"tracking_carrier"`
		TrackingLink     string         `json:"tracking_link"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, "The request body is not valid JSON.")
		return
	}
	if !slices.ContainsFunc(o.ShippingAddresses, func(a Address) bool { return a.ID == in.OrderAddressID }) {
		writeErrors(w, http.StatusBadRequest, "The field 'order_address_id' is invalid.")
		return
	}
	if len(in.Items) == 0 {
		writeErrors(w, http.StatusBadRequest, "The field 'items' cannot be empty.")
		return
	}
	want := map[int64]int{}
	for _, it := range in.Items {
		want[it.OrderProductID] += it.Quantity
	}
	for pid, q := range want {
		i := slices.IndexFunc(o.Products, func(p Product) bool { return p.ID == pid })
		if i < 0 {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("Order product %d does not exist.", pid))
			return
		}
		if p := o.Products[i]; q < 1 || q > p.Quantity-p.QuantityShipped {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("The quantity specified is greater than the quantity of the product %d that is available to ship.", pid))
			return
		}
	}
	for pid, q := range want {
		i := slices.IndexFunc(o.Products, func(p Product) bool { return p.ID == pid })
		o.Products[i].QuantityShipped += q
	}
	x := Shipment{ID: s.id(), OrderAddressID: in.OrderAddressID, TrackingNumber: in.TrackingNumber,
		ShippingProvider: in.ShippingProvider, TrackingCarrier: in.TrackingCarrier, TrackingLink: in.TrackingLink,
		Items: slices.Clone(in.Items)}
	o.Shipments = append(o.Shipments, x)
	o.StatusID = 2
	for _, p := range o.Products {
		if p.QuantityShipped < p.Quantity {
			o.StatusID = 3
		}
	}
	o.DateModified = s.now()
	writeJSON(w, http.StatusCreated, map[string]any{"id": x.ID, "order_id": o.ID, "order_address_id": x.OrderAddressID,
		"tracking_number": x.TrackingNumber, "items": x.Items})
}

func renderOrder(o *Order, hash string) map[string]any {
	res := func(name string) map[string]any {
		return map[string]any{
			"url":      fmt.Sprintf("https://api.bigcommerce.com/stores/%s/v2/orders/%d/%s", hash, o.ID, name),
			"resource": fmt.Sprintf("/orders/%d/%s", o.ID, name),
		}
	}
	items, shipped := 0, 0
	for _, p := range o.Products {
		items += p.Quantity
		shipped += p.QuantityShipped
	}
	return map[string]any{
		"id": o.ID, "customer_id": 0, "status_id": o.StatusID, "status": statusNames[o.StatusID],
		"custom_status": statusNames[o.StatusID],
		"date_created":  o.DateCreated.UTC().Format(time.RFC1123Z), "date_modified": o.DateModified.UTC().Format(time.RFC1123Z),
		"date_shipped": "", "items_total": items, "items_shipped": shipped, "currency_code": "EUR",
		"shipping_address_count": len(o.ShippingAddresses),
		"external_source":        nullable(o.ExternalSource), "external_order_id": nullable(o.ExternalOrderID),
		"external_id": nil, "staff_notes": o.StaffNotes, "payment_method": o.PaymentMethod,
		"products": res("products"), "shipping_addresses": res("shippingaddresses"),
		"coupons": res("coupons"),
	}
}

// writeFault answers a fault the way BigCommerce does: 429 says when the
// rate window resets, in milliseconds.
func writeFault(w http.ResponseWriter, f storefronttest.Fault) {
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("X-Rate-Limit-Requests-Left", "0")
		w.Header().Set("X-Rate-Limit-Time-Reset-Ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
		w.Header().Set("X-Rate-Limit-Time-Window-Ms", "30000")
	}
	writeErrors(w, f.Status, http.StatusText(f.Status))
}

func writeErrors(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, []any{map[string]any{"status": status, "message": msg}})
}

// writeCollection answers a list: 204 with no body when it is empty.
func writeCollection(w http.ResponseWriter, items []any) {
	if len(items) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, items)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
