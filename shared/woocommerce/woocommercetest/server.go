// Package woocommercetest is a fake WooCommerce REST API v3 for tests: an
// http.Handler that keeps orders and a product catalogue in memory and
// answers GET /wp-json/wc/v3/orders (modified_after, after, orderby,
// paging), /orders/{id}, POST /orders and GET /products?sku= the way
// WooCommerce does (Basic auth with a consumer key pair, WordPress error
// bodies, X-WP-Total paging headers, per_page limits, created_via
// "rest-api" on orders the API made).
package woocommercetest

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
	ID          int64
	Status      string // processing when empty
	DateCreated time.Time
	// DateModified is the modification time, UTC; now when zero.
	DateModified time.Time
	Shipping     Address
	LineItems    []LineItem
	Meta         []Meta
	// CreatedVia is "checkout" when empty; POST /orders sets "rest-api".
	CreatedVia string
	// DatePaid is set by set_paid on creation.
	DatePaid time.Time
}

// Product is a catalogue product, or a variation of one (ParentID set).
type Product struct {
	// ID is assigned by AddProduct.
	ID       int64
	ParentID int64
	Name     string
	SKU      string
}

// Address is an order's shipping address.
type Address struct {
	FirstName, LastName, Company, Address1, Address2, City, State, Postcode, Country, Phone string
}

// LineItem is one order line; ID is assigned when zero.
type LineItem struct {
	ID        int64
	ProductID int64
	Name      string
	SKU       string
	Quantity  int
}

// Meta is one meta_data entry; Value is any JSON value.
type Meta struct {
	Key   string
	Value any
}

// statuses are WooCommerce's core order statuses.
var statuses = []string{"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft"}

// Server is the fake. Build it with New; it is safe for concurrent use.
// Its embedded Switch holds the fault switch (SetFault) and call log
// (Calls).
type Server struct {
	storefronttest.Switch

	// Now is the fake's clock; time.Now when nil.
	Now func() time.Time

	key, secret string

	mu       sync.Mutex
	next     int64
	orders   []Order
	products []Product
	lose     int // creates whose answer is lost (see LoseCreateAnswers)
}

// New returns a fake store that accepts only the given consumer key pair.
func New(consumerKey, consumerSecret string) *Server {
	return &Server{key: consumerKey, secret: consumerSecret, next: 700}
}

// AddOrder stores o, assigning ids and defaults, and returns it. A status
// WooCommerce does not know is refused, as WooCommerce refuses it.
func (s *Server) AddOrder(o Order) (Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.Status == "" {
		o.Status = "processing"
	}
	if !slices.Contains(statuses, o.Status) {
		return Order{}, fmt.Errorf("woocommercetest: status %q is not a WooCommerce order status", o.Status)
	}
	s.next++
	o.ID = s.next
	now := s.clock()
	if o.DateModified.IsZero() {
		o.DateModified = now
	}
	if o.DateCreated.IsZero() {
		o.DateCreated = o.DateModified
	}
	o.LineItems = slices.Clone(o.LineItems)
	for i := range o.LineItems {
		if o.LineItems[i].ID == 0 {
			s.next++
			o.LineItems[i].ID = s.next
		}
	}
	o.Meta = slices.Clone(o.Meta)
	s.orders = append(s.orders, o)
	return o, nil
}

// AddProduct adds p to the catalogue, assigning its id, and returns it.
func (s *Server) AddProduct(p Product) Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	p.ID = s.next
	s.products = append(s.products, p)
	return p
}

// LoseCreateAnswers makes the next n order creations happen but answer
// 504, as when a proxy gives up on a slow WordPress: the client cannot
// know the order was made.
func (s *Server) LoseCreateAnswers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose = n
}

func (s *Server) clock() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// EditLine sets the quantity of line lineID of order id, as a merchant
// edits an order in WooCommerce's admin (0 removes the line), and moves
// the order's date_modified to now. It reports whether the line exists.
func (s *Server) EditLine(id, lineID int64, quantity int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.orders, func(o Order) bool { return o.ID == id })
	if i < 0 {
		return false
	}
	o := &s.orders[i]
	j := slices.IndexFunc(o.LineItems, func(li LineItem) bool { return li.ID == lineID })
	if j < 0 {
		return false
	}
	o.LineItems = slices.Clone(o.LineItems)
	if quantity <= 0 {
		o.LineItems = slices.Delete(o.LineItems, j, j+1)
	} else {
		o.LineItems[j].Quantity = quantity
	}
	o.DateModified = s.clock()
	return true
}

// RenderOrder is order id as the REST API answers it, which is also the
// body of its order.* webhooks; nil when there is no such order.
func (s *Server) RenderOrder(id int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.orders, func(o Order) bool { return o.ID == id })
	if i < 0 {
		return nil
	}
	b, _ := json.Marshal(render(s.orders[i])) // maps of plain values: cannot fail
	return b
}

// Orders returns a copy of every order.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.orders)
}

const prefix = "/wp-json/wc/v3"

// ServeHTTP answers one REST API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Record(storefronttest.Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery})
	if s.Apply(w, r, writeFault) {
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	create := r.Method == http.MethodPost && path == "/orders"
	products := r.Method == http.MethodGet && path == "/products"
	if !ok || !(create || products || r.Method == http.MethodGet && (path == "/orders" || strings.HasPrefix(path, "/orders/"))) {
		writeError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	if k, sec, ok := r.BasicAuth(); !ok || k != s.key || sec != s.secret || s.key == "" {
		if create {
			writeError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
			return
		}
		writeError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		return
	}
	switch {
	case create:
		s.create(w, r)
		return
	case products:
		s.listProducts(w, r)
		return
	case path == "/orders":
		s.list(w, r)
		return
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(path, "/orders/"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orders {
		if o.ID == id {
			writeJSON(w, http.StatusOK, render(o))
			return
		}
	}
	writeError(w, http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, page := 10, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): per_page")
			return
		}
		perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): page")
			return
		}
		page = n
	}
	// Without dates_are_gmt a date is the site's local time; the fake's
	// site runs on UTC, so both read the same.
	var after, modifiedAfter time.Time
	for name, dst := range map[string]*time.Time{"after": &after, "modified_after": &modifiedAfter} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse("2006-01-02T15:04:05", strings.TrimSuffix(v, "Z"))
			if err != nil {
				writeInvalidParam(w, name, name+" is not of type date-time.")
				return
			}
			*dst = t
		}
	}
	s.mu.Lock()
	var match []Order
	for _, o := range s.orders {
		if (modifiedAfter.IsZero() || o.DateModified.Truncate(time.Second).After(modifiedAfter)) &&
			(after.IsZero() || o.DateCreated.Truncate(time.Second).After(after)) {
			match = append(match, o)
		}
	}
	s.mu.Unlock()
	orderby := q.Get("orderby")
	if orderby == "" {
		orderby = "date"
	}
	var less func(a, b Order) bool
	switch orderby {
	case "id":
		less = func(a, b Order) bool { return a.ID < b.ID }
	case "date":
		less = func(a, b Order) bool { return a.DateCreated.Before(b.DateCreated) }
	case "modified":
		less = func(a, b Order) bool { return a.DateModified.Before(b.DateModified) }
	default:
		writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): orderby")
		return
	}
	desc := q.Get("order") != "asc" // WordPress lists newest first by default
	sort.SliceStable(match, func(i, j int) bool {
		if desc {
			return less(match[j], match[i])
		}
		return less(match[i], match[j])
	})
	total := len(match)
	pages := (total + perPage - 1) / perPage
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	out := []any{}
	for _, o := range match[start:end] {
		out = append(out, render(o))
	}
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	writeJSON(w, http.StatusOK, out)
}

// render is o in the REST v3 order shape (the fields ordersync reads and
// their neighbours; money fields are left out).
func render(o Order) map[string]any {
	local := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }
	lines := []any{}
	for _, li := range o.LineItems {
		lines = append(lines, map[string]any{"id": li.ID, "name": li.Name, "product_id": li.ProductID,
			"variation_id": 0, "quantity": li.Quantity, "sku": li.SKU, "meta_data": []any{}})
	}
	meta := []any{}
	for i, m := range o.Meta {
		meta = append(meta, map[string]any{"id": 13000 + i, "key": m.Key, "value": m.Value})
	}
	a := o.Shipping
	createdVia := o.CreatedVia
	if createdVia == "" {
		createdVia = "checkout"
	}
	var paid any
	if !o.DatePaid.IsZero() {
		paid = local(o.DatePaid)
	}
	return map[string]any{
		"id": o.ID, "parent_id": 0, "number": strconv.FormatInt(o.ID, 10), "status": o.Status,
		"currency": "EUR", "created_via": createdVia, "date_paid_gmt": paid, "payment_method_title": "",
		"date_created": local(o.DateCreated), "date_created_gmt": local(o.DateCreated),
		"date_modified": local(o.DateModified), "date_modified_gmt": local(o.DateModified),
		"shipping": map[string]any{"first_name": a.FirstName, "last_name": a.LastName, "company": a.Company,
			"address_1": a.Address1, "address_2": a.Address2, "city": a.City, "state": a.State,
			"postcode": a.Postcode, "country": a.Country, "phone": a.Phone},
		"meta_data": meta, "line_items": lines, "shipping_lines": []any{}, "refunds": []any{},
	}
}

func writeFault(w http.ResponseWriter, f storefronttest.Fault) {
	if f.Status == http.StatusTooManyRequests && f.RetryAfter > 0 {
		// WooCommerce itself does not rate-limit its REST API; hosts and
		// WAFs in front of it answer 429 with whole seconds.
		w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Round(time.Second)/time.Second)))
	}
	switch f.Status {
	case http.StatusUnauthorized:
		writeError(w, f.Status, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
	case http.StatusForbidden:
		writeError(w, f.Status, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", f.Status, http.StatusText(f.Status))
	}
}

func writeInvalidParam(w http.ResponseWriter, param, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"code": "rest_invalid_param", "message": "Invalid parameter(s): " + param,
		"data": map[string]any{"status": http.StatusBadRequest, "params": map[string]any{param: msg}}})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "data": map[string]any{"status": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
