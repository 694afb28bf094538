// Package backmarkettest is a fake of Back Market's legacy /ws orders API,
// faithful enough to test the backmarket connector and to serve as the
// sandbox marketplace of the local runner (make run).
//
// The fake keeps order state and enforces Back Market's own rules: an
// order line moves 1 (awaiting merchant) → 2 (accepted) → 3 (shipped), or
// 1 → 4 (refused); shipping a line that is not accepted is refused with
// 400. It checks the Basic token (401 on a wrong one), can rate-limit with
// 429 + Retry-After, and has fault switches usable from Go (SetFault) and
// over HTTP, under /_sandbox/ (no auth):
//
//	POST   /_sandbox/faults       set the fault (JSON of Fault; delay as "delay_ms")
//	DELETE /_sandbox/faults       clear it
//	POST   /_sandbox/orders       a new order awaiting acceptance (JSON body: {"skus": [...]}; 201 with the order)
//	PUT    /_sandbox/orders/{id}  seed an order (JSON body: Back Market order shape)
//	GET    /_sandbox/orders/{id}  an order's current state
//	GET    /_sandbox/calls        every update POST received (JSON array of Call)
//	DELETE /_sandbox/calls        forget them
//
// Persist keeps the orders in a file across restarts (the sandbox of make
// run keeps them in .local/).
//
// Facts the reference marks UNCONFIRMED are not encoded as certain: the
// error body shape is this fake's own ({"error":{"code","message"}}), and
// the connector must not depend on it; the date_modification filter
// accepts several date layouts.
package backmarkettest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/testkit/marketplacetest"
)

// Order states (order.state) and line states (orderlines[].state) as Back
// Market numbers them.
const (
	OrderAwaitingPayment    = 0
	OrderAwaitingAcceptance = 1
	OrderToShip             = 3
	OrderCancelled          = 8
	OrderShipped            = 9

	LineAwaitingPayment  = 0
	LineAwaitingMerchant = 1
	LineAccepted         = 2
	LineShipped          = 3
	LineCancelled        = 4
	LineRefundedBefore   = 5
	LineRefundedAfter    = 6
	LineUnpaid           = 7
)

// Order is a Back Market order as GET /ws/orders/{id} returns it (the
// fields the fake keeps). It mirrors the vendor's JSON, spelling included,
// and is declared here independently of the connector's own types so that
// the connector's decoding is really tested.
type Order struct {
	OrderID          int64       `json:"order_id"`
	State            int         `json:"state"`
	TrackingNumber   string      `json:"tracking_number"`
	TrackingURL      string      `json:"tracking_url"`
	ShipperDisplay   string      `json:"shipper_display"`
	DateCreation     string      `json:"date_creation,omitempty"`
	DateModification string      `json:"date_modification,omitempty"`
	DateShipping     string      `json:"date_shipping,omitempty"`
	ShippingAddress  *Address    `json:"shipping_address,omitempty"`
	CountryCode      string      `json:"country_code,omitempty"`
	Currency         string      `json:"currency,omitempty"`
	Price            string      `json:"price,omitempty"`
	OrderLines       []OrderLine `json:"orderlines"`
}

// OrderLine is one line of an Order. Listing is the merchant's SKU.
type OrderLine struct {
	ID           int64  `json:"id"`
	State        int    `json:"state"`
	Listing      string `json:"listing"`
	ListingID    int64  `json:"listing_id,omitempty"`
	Product      string `json:"product,omitempty"`
	Quantity     int    `json:"quantity"`
	Price        string `json:"price,omitempty"`
	IMEI         string `json:"imei,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"`
}

// Address is a Back Market address.
type Address struct {
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	Company     string `json:"company,omitempty"`
	Street      string `json:"street,omitempty"`
	Street2     string `json:"street2,omitempty"`
	PostalCode  string `json:"postalCode,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Country     string `json:"country,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
}

// AwaitingAcceptance returns a paid order awaiting the merchant's
// acceptance (state 1) with one line per SKU, each of quantity 1 and state
// 1, and a French shipping address. Line ids are id*100+1, id*100+2, ….
func AwaitingAcceptance(id int64, skus ...string) Order {
	o := Order{
		OrderID: id, State: OrderAwaitingAcceptance, CountryCode: "fr-fr", Currency: "EUR",
		ShippingAddress: &Address{FirstName: "Victor", LastName: "Hugo", Street: "6 place des Vosges",
			PostalCode: "75004", City: "Paris", Country: "FR", PhoneNumber: "+33600000000"},
	}
	for i, sku := range skus {
		o.OrderLines = append(o.OrderLines, OrderLine{ID: id*100 + int64(i) + 1, State: LineAwaitingMerchant,
			Listing: sku, Quantity: 1, Price: "100.00"})
	}
	return o
}

// Update is the body of POST /ws/orders/{order_id}.
type Update struct {
	OrderID        json.Number `json:"order_id"`
	NewState       int         `json:"new_state"`
	SKU            string      `json:"sku"`
	TrackingNumber string      `json:"tracking_number,omitempty"`
	TrackingURL    string      `json:"tracking_url,omitempty"`
	Shipper        string      `json:"shipper,omitempty"`
	DateShipping   string      `json:"date_shipping,omitempty"`
}

// Call is one update POST the fake received, whatever it answered.
type Call struct {
	OrderID        string `json:"order_id"`
	SKU            string `json:"sku"`
	NewState       int    `json:"new_state"`
	TrackingNumber string `json:"tracking_number,omitempty"`
	TrackingURL    string `json:"tracking_url,omitempty"`
	Shipper        string `json:"shipper,omitempty"`
	// Status is the HTTP status the fake answered.
	Status int `json:"status"`
}

// Fault is a failure the fake answers with; see marketplacetest.Fault.
type Fault = marketplacetest.Fault

// Options configure a Server.
type Options struct {
	// Token is the back-office API key clients must send as
	// "Authorization: Basic <Token>". Empty accepts any Basic token.
	Token string
	// PageSize is the list page size when the client asks for none (10).
	PageSize int
	// RateLimit, when positive, answers 429 once more than RateLimit API
	// requests arrive within RateWindow (10s), with Retry-After.
	RateLimit  int
	RateWindow time.Duration
	// RefuseAccepted lets a line already accepted (2) be refused (4), as
	// well as one awaiting the merchant (1). The reference documents the
	// refusal only beside the acceptance, so by default the fake refuses
	// it: whether Back Market takes it after acceptance is UNCONFIRMED.
	RefuseAccepted bool
	// Now is the fake's clock (time.Now).
	Now func() time.Time
}

// Server is the fake. It is an http.Handler: serve it with httptest or
// http.ListenAndServe. It is safe for concurrent use.
type Server struct {
	opts    Options
	faults  marketplacetest.Switch
	limiter *marketplacetest.Limiter
	mux     *http.ServeMux

	mu       sync.Mutex
	orders   map[string]*Order
	calls    []Call
	requests int
	path     string      // the Persist file, if any
	saveErr  func(error) // hears of failures to write it
}

// New returns a fake with no orders.
func New(opts Options) *Server {
	if opts.PageSize <= 0 {
		opts.PageSize = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, orders: map[string]*Order{},
		limiter: &marketplacetest.Limiter{Limit: opts.RateLimit, Window: opts.RateWindow}}
	m := http.NewServeMux()
	m.HandleFunc("GET /ws/orders", s.api(s.list))
	m.HandleFunc("GET /ws/orders/{id}", s.api(s.get))
	m.HandleFunc("POST /ws/orders/{id}", s.api(s.update))
	m.HandleFunc("/ws/", s.api(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	}))
	m.HandleFunc("POST /_sandbox/faults", s.postFault)
	m.HandleFunc("DELETE /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		f, _ := s.faults.Fault()
		writeJSON(w, http.StatusOK, f)
	})
	m.HandleFunc("POST /_sandbox/orders", s.postOrder)
	m.HandleFunc("PUT /_sandbox/orders/{id}", s.putOrder)
	m.HandleFunc("GET /_sandbox/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, ok := s.Order(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "not_found", "no such order")
			return
		}
		writeJSON(w, http.StatusOK, o)
	})
	m.HandleFunc("GET /_sandbox/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Calls())
	})
	m.HandleFunc("DELETE /_sandbox/calls", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls = nil
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux = m
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Seed stores o as the fake's current state of that order, replacing any
// order with the same id. Lines without an id get one; an empty
// date_modification (and date_creation) is set to now.
func (s *Server) Seed(o Order) {
	o = clone(o)
	now := s.stamp()
	if o.DateCreation == "" {
		o.DateCreation = now
	}
	if o.DateModification == "" {
		o.DateModification = now
	}
	for i := range o.OrderLines {
		if o.OrderLines[i].ID == 0 {
			o.OrderLines[i].ID = o.OrderID*100 + int64(i) + 1
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[strconv.FormatInt(o.OrderID, 10)] = &o
	s.save()
}

// Order returns the current state of order id, and whether it exists.
func (s *Server) Order(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	return clone(*o), true
}

// Calls returns every update POST received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Requests returns how many /ws API requests the fake received, whatever
// it answered.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// SetFault replaces the current fault with f.
func (s *Server) SetFault(f Fault) { s.faults.SetFault(f) }

// ClearFaults removes the current fault.
func (s *Server) ClearFaults() { s.faults.ClearFaults() }

func (s *Server) stamp() string { return s.opts.Now().UTC().Format(time.RFC3339Nano) }

// api wraps an API handler with what every /ws request goes through, in
// the order a real edge applies it: faults, the rate limit, then auth.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		status := &marketplacetest.StatusWriter{ResponseWriter: w}
		var upd *Update
		if r.Method == http.MethodPost {
			upd = readUpdate(r)
			defer func() { s.record(r.PathValue("id"), upd, status.Code()) }()
		}
		if s.faults.Apply(status, r, writeFault) {
			return
		}
		if ok, after := s.limiter.Allow(s.opts.Now()); !ok {
			status.Header().Set("Retry-After", after)
			writeError(status, http.StatusTooManyRequests, "throttled", "too many requests")
			return
		}
		if !s.authorized(r) {
			writeError(status, http.StatusUnauthorized, "unauthorized", "invalid token")
			return
		}
		if upd != nil {
			r = r.WithContext(withUpdate(r.Context(), upd))
		}
		h(status, r)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(got, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") || tok == "" {
		return false
	}
	return s.opts.Token == "" || tok == s.opts.Token
}

func (s *Server) record(id string, u *Update, status int) {
	c := Call{OrderID: id, Status: status}
	if u != nil {
		c.SKU, c.NewState = u.SKU, u.NewState
		c.TrackingNumber, c.TrackingURL, c.Shipper = u.TrackingNumber, u.TrackingURL, u.Shipper
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	o, ok := s.Order(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "order not found")
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// dateLayouts are the layouts the list filters accept: the reference does
// not pin one down, and community clients send "2006-01-02 15:04:05".
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

func parseDate(v string) (time.Time, bool) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since, createdSince time.Time
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"date_modification", &since}, {"date_creation", &createdSince}} {
		if v := q.Get(f.name); v != "" {
			t, ok := parseDate(v)
			if !ok {
				writeError(w, http.StatusBadRequest, "invalid_parameter", f.name+" is not a date")
				return
			}
			*f.t = t
		}
	}
	page, size := 1, s.opts.PageSize
	for _, p := range []struct {
		name string
		n    *int
	}{{"page", &page}, {"page-size", &size}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				writeError(w, http.StatusBadRequest, "invalid_parameter", p.name+" must be a positive integer")
				return
			}
			*p.n = n
		}
	}
	state, hasState := 0, q.Get("state") != ""
	if hasState {
		n, err := strconv.Atoi(q.Get("state"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "state must be an integer")
			return
		}
		state = n
	}

	s.mu.Lock()
	var all []Order
	for _, o := range s.orders {
		mod, _ := parseDate(o.DateModification)
		created, _ := parseDate(o.DateCreation)
		if (hasState && o.State != state) || mod.Before(since) || created.Before(createdSince) {
			continue
		}
		all = append(all, clone(*o))
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b Order) int {
		ta, _ := parseDate(a.DateModification)
		tb, _ := parseDate(b.DateModification)
		return cmp.Or(ta.Compare(tb), cmp.Compare(a.OrderID, b.OrderID))
	})

	from := min((page-1)*size, len(all))
	to := min(from+size, len(all))
	body := struct {
		Count    int     `json:"count"`
		Next     *string `json:"next"`
		Previous *string `json:"previous"`
		Results  []Order `json:"results"`
	}{Count: len(all), Results: all[from:to]}
	if body.Results == nil {
		body.Results = []Order{}
	}
	link := func(p int) *string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		if r.TLS != nil {
			u.Scheme = "https"
		}
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(p))
		u.RawQuery = v.Encode()
		s := u.String()
		return &s
	}
	if to < len(all) {
		body.Next = link(page + 1)
	}
	if page > 1 {
		body.Previous = link(page - 1)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	u := updateFrom(r.Context())
	if u == nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "body is not a JSON order update")
		return
	}
	id := r.PathValue("id")
	if u.OrderID != "" && u.OrderID.String() != id {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "order_id does not match the URL")
		return
	}
	if u.SKU == "" {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "sku is required")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "order not found")
		return
	}
	i := slices.IndexFunc(o.OrderLines, func(l OrderLine) bool { return l.Listing == u.SKU })
	if i < 0 {
		writeError(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("no orderline with sku %q", u.SKU))
		return
	}
	l := &o.OrderLines[i]
	now := s.stamp()
	switch u.NewState {
	case LineCancelled:
		if l.State == LineCancelled {
			break // refused already: the same answer again
		}
		if l.State != LineAwaitingMerchant && (l.State != LineAccepted || !s.opts.RefuseAccepted) {
			writeError(w, http.StatusBadRequest, "invalid_state",
				fmt.Sprintf("orderline %d is in state %d; only a line awaiting the merchant (1) can be refused", l.ID, l.State))
			return
		}
	case LineAccepted:
		if l.State != LineAwaitingMerchant {
			writeError(w, http.StatusBadRequest, "invalid_state",
				fmt.Sprintf("orderline %d is in state %d; it must be 1 to become %d", l.ID, l.State, u.NewState))
			return
		}
	case LineShipped:
		// A shipped line accepts new tracking (a correction); whether Back
		// Market allows that is not documented, so the fake is lenient.
		if l.State != LineAccepted && l.State != LineShipped {
			writeError(w, http.StatusBadRequest, "invalid_state",
				fmt.Sprintf("orderline %d is in state %d; only accepted lines (2) can be shipped", l.ID, l.State))
			return
		}
		if u.TrackingNumber == "" {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "tracking_number is required to ship")
			return
		}
		o.TrackingNumber, o.TrackingURL = u.TrackingNumber, u.TrackingURL
		if u.Shipper != "" {
			o.ShipperDisplay = u.Shipper
		}
		o.DateShipping = cmp.Or(u.DateShipping, now)
	default:
		writeError(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("new_state %d is not 2, 3 or 4", u.NewState))
		return
	}
	l.State = u.NewState
	o.State = orderState(*o)
	o.DateModification = now
	s.save()
	writeJSON(w, http.StatusOK, clone(*o))
}

// orderState derives an order's state from its lines' once the merchant
// acts on them.
func orderState(o Order) int {
	var waiting, accepted, shipped, live int
	for _, l := range o.OrderLines {
		switch l.State {
		case LineAwaitingPayment, LineUnpaid:
			return o.State
		case LineAwaitingMerchant:
			waiting++
		case LineAccepted:
			accepted++
		case LineShipped, LineRefundedAfter:
			shipped++
		}
		if l.State == LineAwaitingMerchant || l.State == LineAccepted || l.State == LineShipped {
			live++
		}
	}
	switch {
	case waiting > 0:
		return OrderAwaitingAcceptance
	case accepted > 0:
		return OrderToShip
	case shipped > 0:
		return OrderShipped
	case live == 0:
		return OrderCancelled
	}
	return o.State
}

func (s *Server) postFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "body is not a JSON fault: "+err.Error())
		return
	}
	s.SetFault(f)
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) putOrder(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "Back Market order ids are integers")
		return
	}
	// The URL names the order; a body's order_id, number or string, is
	// ignored (the shallower field shadows Order's).
	var body struct {
		Order
		OrderID json.RawMessage `json:"order_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "body is not a Back Market order: "+err.Error())
		return
	}
	o := body.Order
	o.OrderID = id
	s.Seed(o)
	got, _ := s.Order(r.PathValue("id"))
	writeJSON(w, http.StatusOK, got)
}

func writeFault(w http.ResponseWriter, f Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		writeError(w, f.Status, "throttled", "too many requests")
	case f.Status >= 500:
		writeError(w, f.Status, "unavailable", "service unavailable")
	case f.Status == http.StatusBadRequest:
		writeError(w, f.Status, "refused", "request refused (sandbox fault)")
	default:
		writeError(w, f.Status, "fault", http.StatusText(f.Status))
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

func clone(o Order) Order {
	o.OrderLines = slices.Clone(o.OrderLines)
	if o.ShippingAddress != nil {
		a := *o.ShippingAddress
		o.ShippingAddress = &a
	}
	return o
}
