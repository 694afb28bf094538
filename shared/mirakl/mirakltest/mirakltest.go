// Package mirakltest is a fake of a Mirakl marketplace's seller order API
// (OR11 list, OR21 accept, OR23 tracking, OR24 ship, OR29 cancel, OR30
// cancel order lines where Options.PartialCancelation enables it, OR28
// refund order lines, and ST01 create shipments where
// Options.MultiShipment enables it), faithful enough to test the mirakl
// connector.
//
// The fake keeps order state and enforces Mirakl's own rules: accept only
// in WAITING_ACCEPTANCE with every line listed, tracking and ship only in
// SHIPPING, cancel only when can_cancel (after acceptance, before
// shipping), cancel lines only once accepted and before they ship, with
// every field OR30 requires and no more than the line holds, refund lines
// only once shipped, with every field OR28 requires and no more than is
// left to refund. Refusals answer 400 {"message": "<CODE>: …", "status": 400},
// naming Mirakl's error code (ORDER_INVALID_STATE, …) in the message. It
// checks the API key (401 on a wrong one), can rate-limit with 429 +
// Retry-After, and has fault switches usable from Go (SetFault) and over
// HTTP under /_sandbox/ (no auth): POST/DELETE /_sandbox/faults, PUT and
// GET /_sandbox/orders/{id}, GET /_sandbox/calls.
//
// Mirakl's error body shape is UNCONFIRMED for the classic API: the
// connector must find the error code anywhere in the body, not rely on
// this fake's layout.
package mirakltest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/testkit/marketplacetest"
)

// Mirakl order (and order line) states the fake moves through.
const (
	StateWaitingAcceptance = "WAITING_ACCEPTANCE"
	StateWaitingDebit      = "WAITING_DEBIT"
	StateWaitingDebitPay   = "WAITING_DEBIT_PAYMENT"
	StateShipping          = "SHIPPING"
	StateShipped           = "SHIPPED"
	StateRefused           = "REFUSED"
	StateCanceled          = "CANCELED"
)

// Order is a Mirakl order as OR11 returns it (the fields the fake keeps).
// It mirrors the vendor's JSON and is declared independently of the
// connector's own types, so the connector's decoding is really tested.
type Order struct {
	OrderID             string      `json:"order_id"`
	CommercialID        string      `json:"commercial_id,omitempty"`
	OrderState          string      `json:"order_state"`
	CanCancel           bool        `json:"can_cancel"`
	CreatedDate         string      `json:"created_date,omitempty"`
	LastUpdatedDate     string      `json:"last_updated_date,omitempty"`
	ShippingCarrierCode string      `json:"shipping_carrier_code,omitempty"`
	ShippingCompany     string      `json:"shipping_company,omitempty"`
	ShippingTracking    string      `json:"shipping_tracking,omitempty"`
	ShippingTrackingURL string      `json:"shipping_tracking_url,omitempty"`
	CurrencyISOCode     string      `json:"currency_iso_code,omitempty"`
	OrderTaxMode        string      `json:"order_tax_mode,omitempty"`
	Customer            *Customer   `json:"customer,omitempty"`
	OrderLines          []OrderLine `json:"order_lines"`
}

// OrderLine is one line of an Order. OfferSKU is the shop's SKU. Price
// (the line's offer part, quantity × price_unit) and ShippingPrice are
// nil when not given; Taxes and ShippingTaxes are the amounts of tax in
// them, by tax code. Cancelations are those OR30 made, Refunds those OR28
// made; CanRefund is derived, as Mirakl's can_refund, when OR11 lists the
// line.
type OrderLine struct {
	OrderLineID    string        `json:"order_line_id"`
	OrderLineIndex int           `json:"order_line_index,omitempty"`
	OrderLineState string        `json:"order_line_state"`
	OfferSKU       string        `json:"offer_sku"`
	ProductTitle   string        `json:"product_title,omitempty"`
	Quantity       int           `json:"quantity"`
	Price          *float64      `json:"price,omitempty"`
	PriceUnit      *float64      `json:"price_unit,omitempty"`
	ShippingPrice  *float64      `json:"shipping_price,omitempty"`
	Taxes          []Tax         `json:"taxes,omitempty"`
	ShippingTaxes  []Tax         `json:"shipping_taxes,omitempty"`
	Cancelations   []Cancelation `json:"cancelations"`
	Refunds        []Refund      `json:"refunds"`
	CanRefund      bool          `json:"can_refund"`
}

// Refund is one refund of part or all of an order line (OR28), as OR11
// lists it under the line (Mirakl's connector fixtures: id, amount,
// quantity, reason_code, shipping_amount, taxes, state WAITING_REFUND).
type Refund struct {
	ID             string  `json:"id"`
	Quantity       int     `json:"quantity"`
	Amount         float64 `json:"amount"`
	ShippingAmount float64 `json:"shipping_amount"`
	ReasonCode     string  `json:"reason_code"`
	Taxes          []Tax   `json:"taxes"`
	ShippingTaxes  []Tax   `json:"shipping_taxes"`
	State          string  `json:"state"`
	CreatedDate    string  `json:"created_date,omitempty"`
}

// Tax is an amount of one tax code, as order lines and OR30 carry them.
type Tax struct {
	Amount float64 `json:"amount"`
	Code   string  `json:"code"`
	Rate   float64 `json:"rate,omitempty"`
}

// Cancelation is one cancellation of part or all of an order line (OR30).
type Cancelation struct {
	ID             string  `json:"id"`
	Quantity       int     `json:"quantity"`
	Amount         float64 `json:"amount"`
	ShippingAmount float64 `json:"shipping_amount"`
	ReasonCode     string  `json:"reason_code"`
	Taxes          []Tax   `json:"taxes,omitempty"`
	ShippingTaxes  []Tax   `json:"shipping_taxes,omitempty"`
	CreatedDate    string  `json:"created_date,omitempty"`
}

// Priced returns l with a unit price, the line's price (quantity × unit),
// a shipping price and, when rate is positive, the tax of that rate on
// each under the code "TVA" (rounded to the cent).
func (l OrderLine) Priced(unit, shipping, rate float64) OrderLine {
	price := cents(unit * float64(max(l.Quantity, 1)))
	l.PriceUnit, l.Price, l.ShippingPrice = &unit, &price, &shipping
	if rate > 0 {
		l.Taxes = []Tax{{Amount: cents(price * rate / 100), Code: "TVA", Rate: rate}}
		l.ShippingTaxes = []Tax{{Amount: cents(shipping * rate / 100), Code: "TVA", Rate: rate}}
	}
	return l
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }

// Customer holds the order's shipping address.
type Customer struct {
	Firstname       string   `json:"firstname,omitempty"`
	Lastname        string   `json:"lastname,omitempty"`
	ShippingAddress *Address `json:"shipping_address,omitempty"`
}

// Address is a Mirakl address.
type Address struct {
	Firstname      string `json:"firstname,omitempty"`
	Lastname       string `json:"lastname,omitempty"`
	Company        string `json:"company,omitempty"`
	Street1        string `json:"street_1,omitempty"`
	Street2        string `json:"street_2,omitempty"`
	ZipCode        string `json:"zip_code,omitempty"`
	City           string `json:"city,omitempty"`
	State          string `json:"state,omitempty"`
	Country        string `json:"country,omitempty"`
	CountryISOCode string `json:"country_iso_code,omitempty"`
	Phone          string `json:"phone,omitempty"`
}

// AwaitingAcceptance returns an order in WAITING_ACCEPTANCE with one line
// per SKU (quantity 1; line ids "<id>-1", "<id>-2", …) and a French
// shipping address.
func AwaitingAcceptance(id string, skus ...string) Order {
	o := Order{OrderID: id, CommercialID: strings.TrimSuffix(id, "-A"), OrderState: StateWaitingAcceptance,
		Customer: &Customer{Firstname: "Victor", Lastname: "Hugo", ShippingAddress: &Address{
			Firstname: "Victor", Lastname: "Hugo", Street1: "6 place des Vosges", ZipCode: "75004",
			City: "Paris", Country: "France", CountryISOCode: "FRA", Phone: "0600000000"}}}
	for i, sku := range skus {
		o.OrderLines = append(o.OrderLines, OrderLine{OrderLineID: fmt.Sprintf("%s-%d", id, i+1),
			OrderLineIndex: i + 1, OrderLineState: StateWaitingAcceptance, OfferSKU: sku, Quantity: 1})
	}
	return o
}

// Call is one state-changing request (OR21, OR23, OR24, OR28, OR29, OR30,
// ST01) the fake received, whatever it answered.
type Call struct {
	// Operation is Mirakl's name for the call: OR21, OR23, OR24, OR28,
	// OR29, OR30 or ST01. OR28 and OR30 name no order: OrderID is their
	// first line's.
	Operation string `json:"operation"`
	OrderID   string `json:"order_id"`
	// Body is the request body as received.
	Body string `json:"body,omitempty"`
	// ShopID is the shop_id query parameter, if any.
	ShopID string `json:"shop_id,omitempty"`
	// Status is the HTTP status the fake answered.
	Status int `json:"status"`
}

// Fault is a failure the fake answers with; see marketplacetest.Fault.
type Fault = marketplacetest.Fault

// Options configure a Server.
type Options struct {
	// APIKey is the shop key clients must send as "Authorization: <key>".
	// Empty accepts any non-empty key.
	APIKey string
	// MaxPageSize is the largest OR11 max accepted (100, as Mirakl).
	MaxPageSize int
	// AcceptTo is the state an accepted order moves to (SHIPPING: the
	// debit is immediate). Set WAITING_DEBIT_PAYMENT to hold orders before
	// they can ship.
	AcceptTo string
	// PartialAcceptanceDisabled refuses an OR21 that accepts some lines
	// and refuses others (ORDER_PARTIAL_ACCEPTANCE_DISABLED), as some
	// marketplaces are configured.
	PartialAcceptanceDisabled bool
	// Carriers, when set, are the carrier codes OR23 accepts; an unknown
	// carrier_code is a VALIDATION_ERROR.
	Carriers []string
	// RateLimit, when positive, answers 429 once more than RateLimit API
	// requests arrive within RateWindow (10s), with Retry-After.
	RateLimit  int
	RateWindow time.Duration
	// PartialCancelation enables OR30 (cancel order lines), as Mirakl's
	// support team does for a shop on request. Off, OR30 is refused with
	// 400 and this fake's own code SHOP_PARTIAL_CANCELATION_DISABLED (what
	// Mirakl answers then is not documented).
	PartialCancelation bool
	// CancelReasons, when set, are the reason codes OR30 accepts (the
	// operator's cancelation reasons); another is a VALIDATION_ERROR.
	CancelReasons []string
	// RefundReasons, when set, are the reason codes OR28 accepts (the
	// operator's refund reasons, RE01 type REFUND); another is a
	// VALIDATION_ERROR.
	RefundReasons []string
	// MultiShipment enables the multiple shipments API (ST01, POST
	// /api/shipments), as an operator does for a marketplace. Off, ST01
	// is refused with 400 and this fake's own code
	// MULTIPLE_SHIPMENTS_DISABLED (what Mirakl answers then is not
	// documented here).
	MultiShipment bool
	// Now is the fake's clock (time.Now).
	Now func() time.Time
}

// Server is the fake, an http.Handler. It is safe for concurrent use.
type Server struct {
	opts    Options
	faults  marketplacetest.Switch
	limiter *marketplacetest.Limiter
	mux     *http.ServeMux

	mu       sync.Mutex
	orders   map[string]*Order
	calls    []Call
	requests int
	// ST01's shipments: per order, and the quantity shipped per line.
	shipmentsOf map[string][]Shipment
	shippedQty  map[string]int
	shipmentSeq int
	// OR30's cancelations and OR28's refunds, numbered.
	cancelationSeq, refundSeq int
}

// New returns a fake with no orders.
func New(opts Options) *Server {
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 100
	}
	if opts.AcceptTo == "" {
		opts.AcceptTo = StateShipping
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, orders: map[string]*Order{}, shipmentsOf: map[string][]Shipment{}, shippedQty: map[string]int{},
		limiter: &marketplacetest.Limiter{Limit: opts.RateLimit, Window: opts.RateWindow}}
	m := http.NewServeMux()
	m.HandleFunc("GET /api/orders", s.api(s.list))
	m.HandleFunc("PUT /api/orders/{id}/accept", s.api(s.accept))
	m.HandleFunc("PUT /api/orders/{id}/tracking", s.api(s.tracking))
	m.HandleFunc("PUT /api/orders/{id}/ship", s.api(s.ship))
	m.HandleFunc("PUT /api/orders/{id}/cancel", s.api(s.cancel))
	m.HandleFunc("PUT /api/orders/cancel", s.api(s.cancelLines))
	m.HandleFunc("PUT /api/orders/refund", s.api(s.refundLines))
	m.HandleFunc("POST /api/shipments", s.api(s.shipments))
	m.HandleFunc("/api/", s.api(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint")
	}))
	m.HandleFunc("POST /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "body is not a JSON fault")
			return
		}
		s.SetFault(f)
		writeJSON(w, http.StatusOK, f)
	})
	m.HandleFunc("DELETE /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("PUT /_sandbox/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		var o Order
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "body is not a Mirakl order")
			return
		}
		o.OrderID = r.PathValue("id")
		s.Seed(o)
		got, _ := s.Order(o.OrderID)
		writeJSON(w, http.StatusOK, got)
	})
	m.HandleFunc("GET /_sandbox/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, ok := s.Order(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "ORDER_NOT_FOUND", "no such order")
			return
		}
		writeJSON(w, http.StatusOK, o)
	})
	m.HandleFunc("GET /_sandbox/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Calls())
	})
	s.mux = m
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Seed stores o as the fake's current state of that order, replacing any
// with the same id. Empty dates are set to now; lines without an id or a
// state get one (the order's state). can_cancel is derived from the state,
// as Mirakl does, whatever o says.
func (s *Server) Seed(o Order) {
	o = clone(o)
	now := s.stamp()
	o.CreatedDate = cmp.Or(o.CreatedDate, now)
	o.LastUpdatedDate = cmp.Or(o.LastUpdatedDate, now)
	for i := range o.OrderLines {
		l := &o.OrderLines[i]
		l.OrderLineID = cmp.Or(l.OrderLineID, fmt.Sprintf("%s-%d", o.OrderID, i+1))
		l.OrderLineState = cmp.Or(l.OrderLineState, o.OrderState)
	}
	o.CanCancel = canCancel(o.OrderState)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[o.OrderID] = &o
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

// Calls returns every state-changing request received, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Requests returns how many /api requests the fake received.
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

// canCancel is Mirakl's can_cancel: after acceptance, before shipping.
func canCancel(state string) bool {
	return state == StateWaitingDebit || state == StateWaitingDebitPay || state == StateShipping
}

var operations = map[string]string{"accept": "OR21", "tracking": "OR23", "ship": "OR24", "cancel": "OR29", "shipments": "ST01"}

func (s *Server) api(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		sw := &marketplacetest.StatusWriter{ResponseWriter: w}
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			op := operations[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]]
			id := r.PathValue("id")
			switch {
			case op == "ST01":
				id = shipmentOrder(body)
			case r.URL.Path == "/api/orders/cancel":
				op, id = "OR30", s.lineCallOrder(body)
			case r.URL.Path == "/api/orders/refund":
				op, id = "OR28", s.lineCallOrder(body)
			}
			defer func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.calls = append(s.calls, Call{Operation: op, OrderID: id, Body: string(body),
					ShopID: r.URL.Query().Get("shop_id"), Status: sw.Code()})
			}()
		}
		if s.faults.Apply(sw, r, writeFault) {
			return
		}
		if ok, after := s.limiter.Allow(s.opts.Now()); !ok {
			sw.Header().Set("Retry-After", after)
			writeError(sw, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "rate limit exceeded")
			return
		}
		if key := r.Header.Get("Authorization"); key == "" || strings.HasPrefix(key, "Bearer ") ||
			(s.opts.APIKey != "" && key != s.opts.APIKey) {
			writeError(sw, http.StatusUnauthorized, "UNAUTHORIZED", "invalid API key")
			return
		}
		h(sw, r, body)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	offset, max := 0, 10
	for _, p := range []struct {
		name string
		n    *int
	}{{"offset", &offset}, {"max", &max}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", p.name+" must be a non-negative integer")
				return
			}
			*p.n = n
		}
	}
	if max < 1 || max > s.opts.MaxPageSize {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("max must be between 1 and %d", s.opts.MaxPageSize))
		return
	}
	var since, until time.Time
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"start_update_date", &since}, {"end_update_date", &until}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", f.name+" must be an ISO 8601 date")
				return
			}
			*f.t = t
		}
	}
	ids := splitList(q.Get("order_ids"))
	states := splitList(q.Get("order_state_codes"))

	s.mu.Lock()
	var all []Order
	for _, o := range s.orders {
		upd, _ := time.Parse(time.RFC3339Nano, o.LastUpdatedDate)
		switch {
		case len(ids) > 0 && !slices.Contains(ids, o.OrderID),
			len(states) > 0 && !slices.Contains(states, o.OrderState),
			!since.IsZero() && upd.Before(since),
			!until.IsZero() && upd.After(until):
			continue
		}
		c := clone(*o)
		for i := range c.OrderLines {
			c.OrderLines[i].CanRefund = refundable(c.OrderLines[i])
		}
		all = append(all, c)
	}
	s.mu.Unlock()
	// Mirakl sorts by creation date; paging walks that order.
	slices.SortFunc(all, func(a, b Order) int {
		return cmp.Or(strings.Compare(a.CreatedDate, b.CreatedDate), strings.Compare(a.OrderID, b.OrderID))
	})
	from := min(offset, len(all))
	to := min(from+max, len(all))
	page := all[from:to]
	if page == nil {
		page = []Order{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": page, "total_count": len(all)})
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// order finds the order of the request, answering 404 when there is none.
// It is called with s.mu held.
func (s *Server) order(w http.ResponseWriter, r *http.Request) *Order {
	o, ok := s.orders[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "ORDER_NOT_FOUND", fmt.Sprintf("order %q not found", r.PathValue("id")))
		return nil
	}
	return o
}

func invalidState(w http.ResponseWriter, o *Order, op string) {
	writeError(w, http.StatusBadRequest, "ORDER_INVALID_STATE",
		fmt.Sprintf("order %q is in state %s: %s is not allowed", o.OrderID, o.OrderState, op))
}

func (s *Server) setState(o *Order, state string, lines func(OrderLine) bool) {
	o.OrderState = state
	for i := range o.OrderLines {
		if lines == nil || lines(o.OrderLines[i]) {
			o.OrderLines[i].OrderLineState = state
		}
	}
	o.CanCancel = canCancel(state)
	o.LastUpdatedDate = s.stamp()
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		OrderLines []struct {
			ID       string `json:"id"`
			Accepted *bool  `json:"accepted"`
		} `json:"order_lines"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "body is not an order_lines list")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.order(w, r)
	if o == nil {
		return
	}
	if o.OrderState != StateWaitingAcceptance {
		invalidState(w, o, "acceptance")
		return
	}
	decision := map[string]bool{}
	for _, l := range req.OrderLines {
		if l.Accepted == nil {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("order line %q: accepted is required", l.ID))
			return
		}
		if !slices.ContainsFunc(o.OrderLines, func(ol OrderLine) bool { return ol.OrderLineID == l.ID }) {
			writeError(w, http.StatusBadRequest, "ORDER_LINE_NOT_FOUND", fmt.Sprintf("order line %q not found", l.ID))
			return
		}
		if _, dup := decision[l.ID]; dup {
			writeError(w, http.StatusBadRequest, "ORDER_LINE_DUPLICATE_ID", fmt.Sprintf("order line %q listed twice", l.ID))
			return
		}
		decision[l.ID] = *l.Accepted
	}
	accepted := 0
	for _, l := range o.OrderLines {
		d, ok := decision[l.OrderLineID]
		if !ok {
			writeError(w, http.StatusBadRequest, "ORDER_LINE_ACCEPTANCE_DECISION_MISSING",
				fmt.Sprintf("no decision for order line %q", l.OrderLineID))
			return
		}
		if d {
			accepted++
		}
	}
	if s.opts.PartialAcceptanceDisabled && accepted > 0 && accepted < len(o.OrderLines) {
		writeError(w, http.StatusBadRequest, "ORDER_PARTIAL_ACCEPTANCE_DISABLED", "accept every line or none")
		return
	}
	for i := range o.OrderLines {
		if !decision[o.OrderLines[i].OrderLineID] {
			o.OrderLines[i].OrderLineState = StateRefused
		}
	}
	if accepted == 0 {
		s.setState(o, StateRefused, nil)
	} else {
		s.setState(o, s.opts.AcceptTo, func(l OrderLine) bool { return decision[l.OrderLineID] })
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) tracking(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		CarrierCode    string `json:"carrier_code"`
		CarrierName    string `json:"carrier_name"`
		CarrierURL     string `json:"carrier_url"`
		TrackingNumber string `json:"tracking_number"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "body is not tracking information")
		return
	}
	if req.CarrierCode != "" && len(s.opts.Carriers) > 0 && !slices.Contains(s.opts.Carriers, req.CarrierCode) {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("unknown carrier_code %q", req.CarrierCode))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.order(w, r)
	if o == nil {
		return
	}
	// Updating tracking once shipped: allowed here, unconfirmed for Mirakl.
	if o.OrderState != StateShipping && o.OrderState != StateShipped {
		invalidState(w, o, "updating tracking")
		return
	}
	o.ShippingCarrierCode, o.ShippingCompany = req.CarrierCode, cmp.Or(req.CarrierName, req.CarrierCode)
	o.ShippingTracking, o.ShippingTrackingURL = req.TrackingNumber, req.CarrierURL
	o.LastUpdatedDate = s.stamp()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ship(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.order(w, r)
	if o == nil {
		return
	}
	if o.OrderState != StateShipping {
		invalidState(w, o, "shipping")
		return
	}
	s.setState(o, StateShipped, func(l OrderLine) bool { return l.OrderLineState == StateShipping })
	w.WriteHeader(http.StatusNoContent)
}

// st01 is the body of ST01, the fields the fake reads.
type st01 struct {
	Shipments []struct {
		OrderID       string `json:"order_id"`
		ShipmentLines []struct {
			OrderLineID string `json:"order_line_id"`
			OfferSKU    string `json:"offer_sku"`
			Quantity    int    `json:"quantity"`
		} `json:"shipment_lines"`
		Shipped  bool `json:"shipped"`
		Tracking struct {
			CarrierCode    string `json:"carrier_code"`
			CarrierName    string `json:"carrier_name"`
			TrackingNumber string `json:"tracking_number"`
			TrackingURL    string `json:"tracking_url"`
		} `json:"tracking"`
	} `json:"shipments"`
}

// shipmentOrder is the order of an ST01 body's first shipment, for Calls.
func shipmentOrder(body []byte) string {
	var req st01
	if json.Unmarshal(body, &req) != nil || len(req.Shipments) == 0 {
		return ""
	}
	return req.Shipments[0].OrderID
}

// shipments is ST01 (create shipments), as Mirakl's multiple shipments
// API documents it: each shipment names its order, lines (order_line_id
// or offer_sku, quantity) and tracking; shipped: true ships its lines at
// once. A shipment Mirakl refuses is listed in shipment_errors of a 201
// (its order must be SHIPPING; a line must be live and hold the quantity),
// the others in shipment_success. A line is SHIPPED once shipments carry
// its whole quantity; the order is SHIPPED once every live line is.
func (s *Server) shipments(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.opts.MultiShipment {
		writeError(w, http.StatusBadRequest, "MULTIPLE_SHIPMENTS_DISABLED", "multiple shipments are not enabled on this marketplace")
		return
	}
	var req st01
	if err := json.Unmarshal(body, &req); err != nil || len(req.Shipments) == 0 || len(req.Shipments) > 1000 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "body is not 1 to 1000 shipments")
		return
	}
	type shipErr struct {
		OrderID string `json:"order_id"`
		Message string `json:"message"`
	}
	var errs []shipErr
	var ok []map[string]any
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sh := range req.Shipments {
		o, found := s.orders[sh.OrderID]
		switch {
		case !found:
			errs = append(errs, shipErr{sh.OrderID, "The order does not exist."})
			continue
		case o.OrderState != StateShipping:
			errs = append(errs, shipErr{sh.OrderID, fmt.Sprintf("The order status must be 'SHIPPING' but it is '%s'.", o.OrderState)})
			continue
		case sh.Tracking.TrackingNumber == "" && sh.Shipped:
			errs = append(errs, shipErr{sh.OrderID, "A shipped shipment needs a tracking number."})
			continue
		}
		idx := make([]int, 0, len(sh.ShipmentLines))
		bad := len(sh.ShipmentLines) == 0
		for _, sl := range sh.ShipmentLines {
			i := slices.IndexFunc(o.OrderLines, func(l OrderLine) bool {
				return (sl.OrderLineID != "" && l.OrderLineID == sl.OrderLineID) || (sl.OrderLineID == "" && l.OfferSKU == sl.OfferSKU)
			})
			if i < 0 || o.OrderLines[i].OrderLineState != StateShipping || sl.Quantity < 1 ||
				sl.Quantity > o.OrderLines[i].Quantity-s.shippedQty[o.OrderLines[i].OrderLineID] {
				bad = true
				break
			}
			idx = append(idx, i)
		}
		if bad {
			errs = append(errs, shipErr{sh.OrderID, "Shipment quantity is invalid."})
			continue
		}
		s.shipmentSeq++
		id := fmt.Sprintf("shipment-%d", s.shipmentSeq)
		if sh.Shipped {
			for k, i := range idx {
				l := &o.OrderLines[i]
				s.shippedQty[l.OrderLineID] += sh.ShipmentLines[k].Quantity
				if s.shippedQty[l.OrderLineID] >= l.Quantity {
					l.OrderLineState = StateShipped
				}
			}
			if o.ShippingTracking == "" {
				o.ShippingCarrierCode, o.ShippingCompany = sh.Tracking.CarrierCode, cmp.Or(sh.Tracking.CarrierName, sh.Tracking.CarrierCode)
				o.ShippingTracking, o.ShippingTrackingURL = sh.Tracking.TrackingNumber, sh.Tracking.TrackingURL
			}
			live := slices.ContainsFunc(o.OrderLines, func(l OrderLine) bool { return l.OrderLineState == StateShipping })
			if !live {
				s.setState(o, StateShipped, func(l OrderLine) bool { return false })
			}
			o.LastUpdatedDate = s.stamp()
		}
		s.shipmentsOf[sh.OrderID] = append(s.shipmentsOf[sh.OrderID], Shipment{ID: id, TrackingNumber: sh.Tracking.TrackingNumber})
		status := StateShipping
		if sh.Shipped {
			status = StateShipped
		}
		ok = append(ok, map[string]any{"id": id, "order_id": sh.OrderID, "status": status,
			"tracking": map[string]any{"carrier_code": sh.Tracking.CarrierCode, "carrier_name": sh.Tracking.CarrierName,
				"tracking_number": sh.Tracking.TrackingNumber, "tracking_url": sh.Tracking.TrackingURL}})
	}
	writeJSON(w, http.StatusCreated, map[string]any{"shipment_errors": errs, "shipment_success": ok})
}

// Shipment is one shipment ST01 created.
type Shipment struct {
	ID             string
	TrackingNumber string
}

// Shipments returns the shipments ST01 created for order id, oldest first.
func (s *Server) Shipments(id string) []Shipment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.shipmentsOf[id])
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.order(w, r)
	if o == nil {
		return
	}
	if !o.CanCancel {
		invalidState(w, o, "cancellation")
		return
	}
	s.setState(o, StateCanceled, nil)
	w.WriteHeader(http.StatusNoContent)
}

// lineAmounts is one line of OR30's cancelations and of OR28's refunds
// (the two take the same fields), the fields the fake reads.
type lineAmounts struct {
	OrderLineID     string   `json:"order_line_id"`
	Quantity        *int     `json:"quantity"`
	Amount          *float64 `json:"amount"`
	ShippingAmount  *float64 `json:"shipping_amount"`
	ReasonCode      string   `json:"reason_code"`
	CurrencyISOCode string   `json:"currency_iso_code"`
	Taxes           []Tax    `json:"taxes"`
	ShippingTaxes   []Tax    `json:"shipping_taxes"`
}

// or30 is the body of OR30, the fields the fake reads.
type or30 struct {
	Cancelations []lineAmounts `json:"cancelations"`
	OrderTaxMode string        `json:"order_tax_mode"`
}

// lineCallOrder is the order of an OR30 or OR28 body's first line, for
// Calls.
func (s *Server) lineCallOrder(body []byte) string {
	var req struct {
		Cancelations []lineAmounts `json:"cancelations"`
		Refunds      []lineAmounts `json:"refunds"`
	}
	if json.Unmarshal(body, &req) != nil {
		return ""
	}
	lines := append(req.Cancelations, req.Refunds...)
	if len(lines) == 0 {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, _ := s.lineOf(lines[0].OrderLineID)
	if o == nil {
		return ""
	}
	return o.OrderID
}

// lineOf finds the order line with id among every order (Mirakl's line
// ids are unique across orders). It is called with s.mu held.
func (s *Server) lineOf(id string) (*Order, int) {
	for _, o := range s.orders {
		if i := slices.IndexFunc(o.OrderLines, func(l OrderLine) bool { return l.OrderLineID == id }); i >= 0 {
			return o, i
		}
	}
	return nil, -1
}

// cancelLines is OR30 (PUT /api/orders/cancel), as Mirakl documents it:
// only where the shop's partial cancelation is enabled; each cancelation
// names its line, the quantity, the amount and shipping amount to cancel
// and a reason code (all required), and the taxes on them where the line
// has taxes. A line can be cancelled once accepted and before it ships
// (WAITING_DEBIT, WAITING_DEBIT_PAYMENT, SHIPPING), by no more than it
// holds. The whole request is refused when one cancelation is; else each
// line loses the quantity and amounts cancelled, a line left with none is
// CANCELED, and an order whose lines all ended is CANCELED.
func (s *Server) cancelLines(w http.ResponseWriter, _ *http.Request, body []byte) {
	if !s.opts.PartialCancelation {
		writeError(w, http.StatusBadRequest, "SHOP_PARTIAL_CANCELATION_DISABLED", "partial cancelation is not enabled for this shop")
		return
	}
	var req or30
	if err := json.Unmarshal(body, &req); err != nil || len(req.Cancelations) == 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "cancelations is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type target struct {
		o *Order
		i int
	}
	targets := make([]target, len(req.Cancelations))
	taken := map[string]int{}
	for k, c := range req.Cancelations {
		switch {
		case c.OrderLineID == "" || c.Quantity == nil || c.Amount == nil || c.ShippingAmount == nil || c.ReasonCode == "":
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
				"order_line_id, quantity, amount, shipping_amount and reason_code are required")
			return
		case len(s.opts.CancelReasons) > 0 && !slices.Contains(s.opts.CancelReasons, c.ReasonCode):
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("unknown cancelation reason code %q", c.ReasonCode))
			return
		}
		o, i := s.lineOf(c.OrderLineID)
		if o == nil {
			writeError(w, http.StatusBadRequest, "ORDER_LINE_NOT_FOUND", fmt.Sprintf("order line %q not found", c.OrderLineID))
			return
		}
		l := o.OrderLines[i]
		if st := l.OrderLineState; st != StateWaitingDebit && st != StateWaitingDebitPay && st != StateShipping {
			writeError(w, http.StatusBadRequest, "ORDER_INVALID_STATE",
				fmt.Sprintf("order line %q is in state %s: cancelation is not allowed", l.OrderLineID, st))
			return
		}
		taken[l.OrderLineID] += *c.Quantity
		price, shipping := 0.0, 0.0
		if l.Price != nil {
			price = *l.Price
		}
		if l.ShippingPrice != nil {
			shipping = *l.ShippingPrice
		}
		switch {
		case *c.Quantity < 1 || taken[l.OrderLineID] > l.Quantity:
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("order line %q: quantity %d is more than the line holds", l.OrderLineID, *c.Quantity))
			return
		case *c.Amount < 0 || cents(*c.Amount) > cents(price) || *c.ShippingAmount < 0 || cents(*c.ShippingAmount) > cents(shipping):
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("order line %q: amount to cancel is more than the line's", l.OrderLineID))
			return
		case len(l.Taxes) > 0 && len(c.Taxes) == 0, len(l.ShippingTaxes) > 0 && len(c.ShippingTaxes) == 0:
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("order line %q has taxes: taxes and shipping_taxes are required", l.OrderLineID))
			return
		}
		targets[k] = target{o, i}
	}
	var created []map[string]any
	for k, c := range req.Cancelations {
		o, l := targets[k].o, &targets[k].o.OrderLines[targets[k].i]
		s.cancelationSeq++
		id := fmt.Sprintf("cancelation-%d", s.cancelationSeq)
		l.Quantity -= *c.Quantity
		if l.Price != nil {
			v := cents(*l.Price - *c.Amount)
			l.Price = &v
		}
		if l.ShippingPrice != nil {
			v := cents(*l.ShippingPrice - *c.ShippingAmount)
			l.ShippingPrice = &v
		}
		l.Taxes, l.ShippingTaxes = minus(l.Taxes, c.Taxes), minus(l.ShippingTaxes, c.ShippingTaxes)
		l.Cancelations = append(l.Cancelations, Cancelation{ID: id, Quantity: *c.Quantity, Amount: *c.Amount,
			ShippingAmount: *c.ShippingAmount, ReasonCode: c.ReasonCode, Taxes: c.Taxes, ShippingTaxes: c.ShippingTaxes, CreatedDate: s.stamp()})
		if l.Quantity == 0 {
			l.OrderLineState = StateCanceled
		}
		if !slices.ContainsFunc(o.OrderLines, func(l OrderLine) bool {
			return l.OrderLineState != StateCanceled && l.OrderLineState != StateRefused
		}) {
			s.setState(o, StateCanceled, func(OrderLine) bool { return false })
		}
		o.LastUpdatedDate = s.stamp()
		created = append(created, map[string]any{"cancelation_id": id, "order_line_id": l.OrderLineID, "quantity": *c.Quantity,
			"amount": *c.Amount, "shipping_amount": *c.ShippingAmount, "reason_code": c.ReasonCode})
	}
	writeJSON(w, http.StatusOK, map[string]any{"cancelations": created, "order_tax_mode": cmp.Or(req.OrderTaxMode, "TAX_EXCLUDED")})
}

// or28 is the body of OR28, the fields the fake reads.
type or28 struct {
	Refunds      []lineAmounts `json:"refunds"`
	OrderTaxMode string        `json:"order_tax_mode"`
}

// refundStates are the line states the fake's OR28 refunds: the goods
// have left. Mirakl documents refunds once the line is debited (SHIPPING
// too, UNCONFIRMED); the fake keeps a line not shipped for OR30, as the
// connector does.
var refundStates = map[string]bool{StateShipped: true, "TO_COLLECT": true, "RECEIVED": true, "CLOSED": true}

// refundedOf is what OR28 has refunded of l already.
func refundedOf(l OrderLine) (qty int, amount, shipping float64) {
	for _, r := range l.Refunds {
		qty, amount, shipping = qty+r.Quantity, amount+r.Amount, shipping+r.ShippingAmount
	}
	return qty, cents(amount), cents(shipping)
}

// refundable is Mirakl's can_refund for l: shipped, and something left.
func refundable(l OrderLine) bool {
	qty, _, _ := refundedOf(l)
	return refundStates[l.OrderLineState] && qty < l.Quantity
}

// refundLines is OR28 (PUT /api/orders/refund), as Mirakl documents it:
// each refund names its line, the amount and shipping amount to refund
// and a reason code (all required; quantity is informative, but the fake
// checks it is not more than is left), and the taxes on them where the
// line has taxes. A line can be refunded once shipped (see
// refundStates), by no more than is left of its quantity, price and
// shipping price once earlier refunds are taken off. The whole request is
// refused when one refund is; else each refund is listed under its line
// (OR11's refunds, state WAITING_REFUND) and the line keeps its state,
// quantity and amounts, as in Mirakl's own fixtures.
func (s *Server) refundLines(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req or28
	if err := json.Unmarshal(body, &req); err != nil || len(req.Refunds) == 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "refunds is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type target struct {
		o *Order
		i int
	}
	targets := make([]target, len(req.Refunds))
	taken := map[string]struct {
		qty              int
		amount, shipping float64
	}{}
	for k, r := range req.Refunds {
		switch {
		case r.OrderLineID == "" || r.Amount == nil || r.ShippingAmount == nil || r.ReasonCode == "":
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR",
				"order_line_id, amount, shipping_amount and reason_code are required")
			return
		case len(s.opts.RefundReasons) > 0 && !slices.Contains(s.opts.RefundReasons, r.ReasonCode):
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("unknown refund reason code %q", r.ReasonCode))
			return
		}
		o, i := s.lineOf(r.OrderLineID)
		if o == nil {
			writeError(w, http.StatusBadRequest, "ORDER_LINE_NOT_FOUND", fmt.Sprintf("order line %q not found", r.OrderLineID))
			return
		}
		l := o.OrderLines[i]
		if !refundStates[l.OrderLineState] {
			writeError(w, http.StatusBadRequest, "ORDER_INVALID_STATE",
				fmt.Sprintf("order line %q is in state %s: refund is not allowed", l.OrderLineID, l.OrderLineState))
			return
		}
		qty := 0
		if r.Quantity != nil {
			qty = *r.Quantity
		}
		t := taken[l.OrderLineID]
		t.qty, t.amount, t.shipping = t.qty+qty, cents(t.amount+*r.Amount), cents(t.shipping+*r.ShippingAmount)
		taken[l.OrderLineID] = t
		doneQty, doneAmount, doneShipping := refundedOf(l)
		price, shipping := 0.0, 0.0
		if l.Price != nil {
			price = *l.Price
		}
		if l.ShippingPrice != nil {
			shipping = *l.ShippingPrice
		}
		switch {
		case qty < 0 || doneQty+t.qty > l.Quantity || doneQty >= l.Quantity:
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("order line %q: quantity %d is more than is left to refund", l.OrderLineID, qty))
			return
		case *r.Amount < 0 || *r.ShippingAmount < 0 || cents(doneAmount+t.amount) > cents(price) || cents(doneShipping+t.shipping) > cents(shipping):
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("order line %q: amount to refund is more than is left of the line's", l.OrderLineID))
			return
		case len(l.Taxes) > 0 && len(r.Taxes) == 0, len(l.ShippingTaxes) > 0 && len(r.ShippingTaxes) == 0:
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("order line %q has taxes: taxes and shipping_taxes are required", l.OrderLineID))
			return
		}
		targets[k] = target{o, i}
	}
	var created []map[string]any
	for k, r := range req.Refunds {
		o, l := targets[k].o, &targets[k].o.OrderLines[targets[k].i]
		s.refundSeq++
		id := strconv.Itoa(1000 + s.refundSeq)
		qty := 0
		if r.Quantity != nil {
			qty = *r.Quantity
		}
		l.Refunds = append(l.Refunds, Refund{ID: id, Quantity: qty, Amount: *r.Amount, ShippingAmount: *r.ShippingAmount,
			ReasonCode: r.ReasonCode, Taxes: r.Taxes, ShippingTaxes: r.ShippingTaxes, State: "WAITING_REFUND", CreatedDate: s.stamp()})
		o.LastUpdatedDate = s.stamp()
		created = append(created, map[string]any{"refund_id": id, "order_line_id": l.OrderLineID, "quantity": qty,
			"amount": *r.Amount, "shipping_amount": *r.ShippingAmount, "reason_code": r.ReasonCode,
			"currency_iso_code": r.CurrencyISOCode, "taxes": r.Taxes, "shipping_taxes": r.ShippingTaxes})
	}
	writeJSON(w, http.StatusOK, map[string]any{"refunds": created, "order_tax_mode": cmp.Or(req.OrderTaxMode, "TAX_EXCLUDED")})
}

// minus returns have less the amounts of take, code by code.
func minus(have, take []Tax) []Tax {
	out := slices.Clone(have)
	for _, t := range take {
		if i := slices.IndexFunc(out, func(h Tax) bool { return h.Code == t.Code }); i >= 0 {
			out[i].Amount = cents(out[i].Amount - t.Amount)
		}
	}
	return out
}

func writeFault(w http.ResponseWriter, f Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		writeError(w, f.Status, "TOO_MANY_REQUESTS", "rate limit exceeded")
	case f.Status >= 500:
		writeError(w, f.Status, "SERVICE_UNAVAILABLE", "service unavailable")
	case f.Status == http.StatusBadRequest:
		writeError(w, f.Status, "VALIDATION_ERROR", "request refused (sandbox fault)")
	default:
		writeError(w, f.Status, "FAULT", http.StatusText(f.Status))
	}
}

// writeError answers in Mirakl's error shape, the code leading the message.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"message": code + ": " + msg, "status": status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

func clone(o Order) Order {
	o.OrderLines = slices.Clone(o.OrderLines)
	for i := range o.OrderLines {
		l := &o.OrderLines[i]
		l.Taxes, l.ShippingTaxes = slices.Clone(l.Taxes), slices.Clone(l.ShippingTaxes)
		l.Cancelations, l.Refunds = slices.Clone(l.Cancelations), slices.Clone(l.Refunds)
		if l.Cancelations == nil {
			l.Cancelations = []Cancelation{} // OR11 lists none as []
		}
		if l.Refunds == nil {
			l.Refunds = []Refund{}
		}
		for _, f := range []**float64{&l.Price, &l.PriceUnit, &l.ShippingPrice} {
			if *f != nil {
				v := **f
				*f = &v
			}
		}
	}
	if o.Customer != nil {
		c := *o.Customer
		if c.ShippingAddress != nil {
			a := *c.ShippingAddress
			c.ShippingAddress = &a
		}
		o.Customer = &c
	}
	return o
}
