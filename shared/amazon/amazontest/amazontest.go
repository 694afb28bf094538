// Package amazontest is a fake of the Selling Partner API's Orders API v0
// (getOrders, getOrder, getOrderItems, getOrderAddress, confirmShipment),
// the Tokens API's createRestrictedDataToken and Login with Amazon's token
// endpoint, faithful enough to test the amazon connector.
//
// The fake keeps order state and enforces what Amazon documents: orders
// move Pending → Unshipped → PartiallyShipped → Shipped as items ship,
// and Canceled orders never ship; confirmShipment takes only Unshipped
// and PartiallyShipped orders (or an edit of a package already sent), a
// positive numeric packageReferenceId, a carrierCode (with a carrierName
// for "Other"), a tracking number and known order items. Every operation
// has its own token bucket (the documented default rate and burst) and a
// throttled request answers 429 with x-amzn-RateLimit-Limit; every answer
// carries x-amzn-RequestId. Errors answer in the SP-API's shape,
// {"errors":[{"code","message","details"}]}. Calls need an access token the
// fake's LWA endpoint issued (403 Unauthorized otherwise); getOrderAddress
// needs a restricted data token, which the fake refuses (403) to an
// account set up without the role, and for an order marked AddressRefused.
// Persist keeps the orders in a file (make run's sandbox). Fault switches work from Go (SetFault)
// and over HTTP under /_sandbox/ (no auth): POST/DELETE /_sandbox/faults,
// POST /_sandbox/orders ({"skus": [...]}: a new Unshipped order), PUT and
// GET /_sandbox/orders/{id}, GET /_sandbox/calls.
//
// Payload shapes follow Amazon's published samples (testdata/SOURCES.md).
package amazontest

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/testkit/marketplacetest"
)

// Order statuses (v0 OrderStatus) the fake moves through.
const (
	StatusPending          = "Pending"
	StatusUnshipped        = "Unshipped"
	StatusPartiallyShipped = "PartiallyShipped"
	StatusShipped          = "Shipped"
	StatusCanceled         = "Canceled"
)

// Order is an SP-API order as getOrder returns it (the fields the fake
// keeps), with its items and its full address, which the fake gives only
// through getOrderAddress. It mirrors the vendor's JSON and is declared
// independently of the connector's own types.
type Order struct {
	AmazonOrderID          string   `json:"AmazonOrderId"`
	PurchaseDate           string   `json:"PurchaseDate,omitempty"`
	LastUpdateDate         string   `json:"LastUpdateDate,omitempty"`
	OrderStatus            string   `json:"OrderStatus"`
	FulfillmentChannel     string   `json:"FulfillmentChannel,omitempty"`
	SalesChannel           string   `json:"SalesChannel,omitempty"`
	MarketplaceID          string   `json:"MarketplaceId"`
	NumberOfItemsShipped   int      `json:"NumberOfItemsShipped"`
	NumberOfItemsUnshipped int      `json:"NumberOfItemsUnshipped"`
	ShippingAddress        *Address `json:"ShippingAddress,omitempty"`

	Items    []OrderItem `json:"-"`
	Address  *Address    `json:"-"`
	Packages []Package   `json:"-"`
	// AddressRefused refuses restricted data tokens for this order's
	// address (403), as NoAddressRole does for every order: one account's
	// fake (the local system's) can then show both outcomes.
	AddressRefused bool `json:"-"`
}

// OrderItem is one item as getOrderItems returns it.
type OrderItem struct {
	ASIN            string `json:"ASIN"`
	OrderItemID     string `json:"OrderItemId"`
	SellerSKU       string `json:"SellerSKU"`
	Title           string `json:"Title,omitempty"`
	QuantityOrdered int    `json:"QuantityOrdered"`
	QuantityShipped int    `json:"QuantityShipped"`
}

// Address is an SP-API address.
type Address struct {
	Name          string `json:"Name,omitempty"`
	AddressLine1  string `json:"AddressLine1,omitempty"`
	AddressLine2  string `json:"AddressLine2,omitempty"`
	City          string `json:"City,omitempty"`
	StateOrRegion string `json:"StateOrRegion,omitempty"`
	PostalCode    string `json:"PostalCode,omitempty"`
	CountryCode   string `json:"CountryCode,omitempty"`
	Phone         string `json:"Phone,omitempty"`
	AddressType   string `json:"AddressType,omitempty"`
}

// Package is one confirmed shipment, as confirmShipment received it.
type Package struct {
	PackageReferenceID string        `json:"packageReferenceId"`
	CarrierCode        string        `json:"carrierCode"`
	CarrierName        string        `json:"carrierName,omitempty"`
	TrackingNumber     string        `json:"trackingNumber"`
	ShipDate           string        `json:"shipDate"`
	OrderItems         []PackageItem `json:"orderItems"`
}

// PackageItem is an item quantity of a Package.
type PackageItem struct {
	OrderItemID string `json:"orderItemId"`
	Quantity    int    `json:"quantity"`
}

// MarketplaceFR is amazon.fr's marketplace id, the fake's default.
const MarketplaceFR = "A13V1IB3VIYZZH"

// Unshipped returns a paid MFN order (Unshipped) on marketplace amazon.fr
// with one item per SKU (quantity 1; item ids "<n>1", "<n>2", … derived
// from the order id) and a French address.
func Unshipped(id string, skus ...string) Order {
	o := Order{AmazonOrderID: id, OrderStatus: StatusUnshipped, FulfillmentChannel: "MFN",
		SalesChannel: "Amazon.fr", MarketplaceID: MarketplaceFR,
		Address: &Address{Name: "Victor Hugo", AddressLine1: "6 place des Vosges", City: "Paris",
			PostalCode: "75004", CountryCode: "FR", Phone: "+33 6 00 00 00 00", AddressType: "Residential"}}
	digits := strings.ReplaceAll(id, "-", "")
	for i, sku := range skus {
		o.Items = append(o.Items, OrderItem{ASIN: fmt.Sprintf("B0%08d", i+1), OrderItemID: fmt.Sprintf("%s%02d", digits, i+1),
			SellerSKU: sku, Title: "Item " + sku, QuantityOrdered: 1})
	}
	return o
}

// Call is one confirmShipment (or other state-changing) request the fake
// received, whatever it answered.
type Call struct {
	Operation string `json:"operation"`
	OrderID   string `json:"order_id"`
	Body      string `json:"body,omitempty"`
	Status    int    `json:"status"`
}

// Fault is a failure the fake answers with; see marketplacetest.Fault.
type Fault = marketplacetest.Fault

// Rate is an operation's usage plan: requests per second and burst.
type Rate struct {
	PerSecond float64
	Burst     float64
}

// DefaultRates are the documented default usage plans of the operations
// the fake serves (Orders API v0 and Tokens API rate limit pages).
var DefaultRates = map[string]Rate{
	"getOrders": {0.0167, 20}, "getOrder": {0.5, 30}, "getOrderItems": {0.5, 30},
	"getOrderAddress": {0.5, 30}, "confirmShipment": {2, 10}, "createRestrictedDataToken": {1, 10},
}

// Options configure a Server.
type Options struct {
	// ClientID, ClientSecret and RefreshToken are the LWA credentials the
	// token endpoint accepts; empty ones accept any non-empty value.
	ClientID, ClientSecret, RefreshToken string
	// NoAddressRole refuses restricted data tokens (403 Unauthorized), as
	// Amazon does for an app without the role for buyers' addresses.
	NoAddressRole bool
	// Rates override DefaultRates per operation; NoRateLimits disables
	// the token buckets.
	Rates        map[string]Rate
	NoRateLimits bool
	// TokenLife is how long an access token lives (1 h).
	TokenLife time.Duration
	// Now is the fake's clock (time.Now).
	Now func() time.Time
}

// Server is the fake, an http.Handler. It is safe for concurrent use.
type Server struct {
	opts   Options
	faults marketplacetest.Switch
	mux    *http.ServeMux

	mu       sync.Mutex
	orders   map[string]*Order
	calls    []Call
	requests int
	tokens   map[string]time.Time // access token → expiry
	rdts     map[string]string    // restricted data token → the path it opens
	buckets  map[string]*bucket
	grants   int
	path     string      // the Persist file, if any
	saveErr  func(error) // hears of failures to write it
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a fake with no orders.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenLife <= 0 {
		opts.TokenLife = time.Hour
	}
	s := &Server{opts: opts, orders: map[string]*Order{}, tokens: map[string]time.Time{},
		rdts: map[string]string{}, buckets: map[string]*bucket{}}
	m := http.NewServeMux()
	m.HandleFunc("POST /auth/o2/token", s.lwa)
	m.HandleFunc("GET /orders/v0/orders", s.api("getOrders", s.list))
	m.HandleFunc("GET /orders/v0/orders/{id}", s.api("getOrder", s.getOrder))
	m.HandleFunc("GET /orders/v0/orders/{id}/orderItems", s.api("getOrderItems", s.getItems))
	m.HandleFunc("GET /orders/v0/orders/{id}/address", s.api("getOrderAddress", s.getAddress))
	m.HandleFunc("POST /orders/v0/orders/{id}/shipmentConfirmation", s.api("confirmShipment", s.confirm))
	m.HandleFunc("POST /tokens/2021-03-01/restrictedDataToken", s.api("createRestrictedDataToken", s.createRDT))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NotFound", "Resource not found", "")
	})
	m.HandleFunc("POST /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeError(w, http.StatusBadRequest, "InvalidInput", "body is not a JSON fault", "")
			return
		}
		s.SetFault(f)
		writeJSON(w, http.StatusOK, f)
	})
	m.HandleFunc("DELETE /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sandbox/orders", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			SKUs []string `json:"skus"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.SKUs) == 0 || slices.Contains(in.SKUs, "") {
			writeError(w, http.StatusBadRequest, "InvalidInput", `body must be {"skus": [...]}, at least one SKU, none empty`, "")
			return
		}
		o := s.Create(in.SKUs...)
		writeJSON(w, http.StatusCreated, map[string]any{"order": o, "OrderItems": o.Items})
	})
	m.HandleFunc("PUT /_sandbox/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Order
			Items          []OrderItem `json:"OrderItems"`
			Address        *Address    `json:"Address"`
			AddressRefused bool        `json:"AddressRefused"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeError(w, http.StatusBadRequest, "InvalidInput", "body is not an order", "")
			return
		}
		o := in.Order
		o.AmazonOrderID, o.Items, o.Address, o.AddressRefused = r.PathValue("id"), in.Items, in.Address, in.AddressRefused
		s.Seed(o)
		got, _ := s.Order(o.AmazonOrderID)
		writeJSON(w, http.StatusOK, got)
	})
	m.HandleFunc("GET /_sandbox/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, ok := s.Order(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "NotFound", "no such order", "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"order": o, "OrderItems": o.Items, "packages": o.Packages})
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
// with the same id. Empty dates are set to now, item counts and status
// follow the items' shipped quantities (a Pending or Canceled order keeps
// its status).
func (s *Server) Seed(o Order) {
	o = clone(o)
	now := s.stamp()
	o.PurchaseDate = cmp.Or(o.PurchaseDate, now)
	o.LastUpdateDate = cmp.Or(o.LastUpdateDate, now)
	o.MarketplaceID = cmp.Or(o.MarketplaceID, MarketplaceFR)
	o.OrderStatus = cmp.Or(o.OrderStatus, StatusUnshipped)
	recount(&o)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[o.AmazonOrderID] = &o
	s.save()
}

// Create seeds a new Unshipped order (Unshipped) with one item per SKU
// under the next free sandbox id, 402-1000001-0000001 and on, bought now,
// and returns it: a buyer's purchase, as the sandbox's POST /_sandbox/orders
// makes one.
func (s *Server) Create(skus ...string) Order {
	s.mu.Lock()
	id := ""
	for n := len(s.orders) + 1; ; n++ {
		if id = fmt.Sprintf("402-%07d-%07d", 1000000+n, n); s.orders[id] == nil {
			break
		}
	}
	// Held while seeding, so that two creates never take the same id.
	o := Unshipped(id, skus...)
	o.PurchaseDate, o.LastUpdateDate = s.stamp(), s.stamp()
	recount(&o)
	c := clone(o)
	s.orders[id] = &c
	s.save()
	s.mu.Unlock()
	return o
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

// Calls returns every confirmShipment request received, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Requests returns how many SP-API requests (not LWA token requests) the
// fake received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Grants returns how many access tokens the LWA endpoint issued.
func (s *Server) Grants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants
}

// SetFault replaces the current fault with f. Faults apply to SP-API
// requests, not to the LWA endpoint.
func (s *Server) SetFault(f Fault) { s.faults.SetFault(f) }

// ClearFaults removes the current fault.
func (s *Server) ClearFaults() { s.faults.ClearFaults() }

// ExpireTokens makes every access token issued so far invalid, as if an
// hour had passed.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

func (s *Server) stamp() string { return s.opts.Now().UTC().Format(time.RFC3339) }

// recount sets the item counts from the items and, for an order that can
// ship, the status they imply.
func recount(o *Order) {
	shipped, unshipped := 0, 0
	for _, it := range o.Items {
		shipped += it.QuantityShipped
		unshipped += max(it.QuantityOrdered-it.QuantityShipped, 0)
	}
	o.NumberOfItemsShipped, o.NumberOfItemsUnshipped = shipped, unshipped
	switch o.OrderStatus {
	case StatusUnshipped, StatusPartiallyShipped, StatusShipped:
		switch {
		case shipped == 0:
			o.OrderStatus = StatusUnshipped
		case unshipped > 0:
			o.OrderStatus = StatusPartiallyShipped
		default:
			o.OrderStatus = StatusShipped
		}
	}
}

// lwa is Login with Amazon's token endpoint, refresh_token grant only.
func (s *Server) lwa(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "unreadable form"})
		return
	}
	f := r.PostForm
	match := func(want, got string) bool { return got != "" && (want == "" || want == got) }
	switch {
	case f.Get("grant_type") != "refresh_token":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "The authorization grant type is not supported by the authorization server"})
	case !match(s.opts.ClientID, f.Get("client_id")) || !match(s.opts.ClientSecret, f.Get("client_secret")):
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed"})
	case !match(s.opts.RefreshToken, f.Get("refresh_token")):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"})
	default:
		tok := "Atza|" + randomHex()
		s.mu.Lock()
		s.tokens[tok] = s.opts.Now().Add(s.opts.TokenLife)
		s.grants++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "refresh_token": f.Get("refresh_token"),
			"token_type": "bearer", "expires_in": int(s.opts.TokenLife.Seconds())})
	}
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

func (s *Server) rate(op string) Rate {
	if r, ok := s.opts.Rates[op]; ok {
		return r
	}
	return DefaultRates[op]
}

// allow takes a token from op's bucket. It is called with s.mu held.
func (s *Server) allow(op string) bool {
	if s.opts.NoRateLimits {
		return true
	}
	r := s.rate(op)
	if r.Burst <= 0 {
		return true
	}
	now := s.opts.Now()
	b, ok := s.buckets[op]
	if !ok {
		b = &bucket{tokens: r.Burst, at: now}
		s.buckets[op] = b
	}
	b.tokens = math.Min(r.Burst, b.tokens+now.Sub(b.at).Seconds()*r.PerSecond)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (s *Server) api(op string, h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		sw := &marketplacetest.StatusWriter{ResponseWriter: w}
		sw.Header().Set("x-amzn-RequestId", randomHex())
		sw.Header().Set("x-amzn-RateLimit-Limit", strconv.FormatFloat(s.rate(op).PerSecond, 'g', -1, 64))
		if op == "confirmShipment" {
			defer func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.calls = append(s.calls, Call{Operation: op, OrderID: r.PathValue("id"), Body: string(body), Status: sw.Code()})
			}()
		}
		if s.faults.Apply(sw, r, writeFault) {
			return
		}
		s.mu.Lock()
		ok := s.allow(op)
		s.mu.Unlock()
		if !ok {
			writeError(sw, http.StatusTooManyRequests, "QuotaExceeded", "You exceeded your quota for the requested resource.", "")
			return
		}
		if !s.authorized(r, op) {
			writeError(sw, http.StatusForbidden, "Unauthorized", "Access to requested resource is denied.",
				"The access token you provided is revoked, malformed or invalid.")
			return
		}
		h(sw, r, body)
	}
}

// authorized checks the request's x-amz-access-token: an LWA access token
// still valid, or for getOrderAddress a restricted data token for its path.
func (s *Server) authorized(r *http.Request, op string) bool {
	tok := r.Header.Get("x-amz-access-token")
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == "getOrderAddress" {
		return tok != "" && s.rdts[tok] == r.URL.Path
	}
	exp, ok := s.tokens[tok]
	return ok && s.opts.Now().Before(exp)
}

// nextToken is the fake's NextToken: the offset and the query it pages.
type nextToken struct {
	Offset int    `json:"o"`
	After  string `json:"a"`
	Field  string `json:"f"`
	Size   int    `json:"n"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	mkts := splitList(q.Get("MarketplaceIds"))
	if len(mkts) == 0 {
		writeError(w, http.StatusBadRequest, "InvalidInput", "Missing required parameter MarketplaceIds", "")
		return
	}
	var page nextToken
	if v := q.Get("NextToken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || json.Unmarshal(b, &page) != nil {
			writeError(w, http.StatusBadRequest, "InvalidInput", "Invalid NextToken", "")
			return
		}
	} else {
		created, updated := q.Get("CreatedAfter"), q.Get("LastUpdatedAfter")
		switch {
		case (created == "") == (updated == ""):
			writeError(w, http.StatusBadRequest, "InvalidInput", "Exactly one of CreatedAfter and LastUpdatedAfter must be specified", "")
			return
		case updated != "":
			page.After, page.Field = updated, "LastUpdateDate"
		default:
			page.After, page.Field = created, "PurchaseDate"
		}
		if _, err := time.Parse(time.RFC3339Nano, page.After); err != nil {
			writeError(w, http.StatusBadRequest, "InvalidInput", page.Field+" filter is not an ISO 8601 date", "")
			return
		}
		page.Size = 100
		if v := q.Get("MaxResultsPerPage"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				writeError(w, http.StatusBadRequest, "InvalidInput", "MaxResultsPerPage must be between 1 and 100", "")
				return
			}
			page.Size = n
		}
	}
	after, _ := time.Parse(time.RFC3339Nano, page.After)
	s.mu.Lock()
	var all []Order
	for _, o := range s.orders {
		field := o.LastUpdateDate
		if page.Field == "PurchaseDate" {
			field = o.PurchaseDate
		}
		at, _ := time.Parse(time.RFC3339Nano, field)
		if !slices.Contains(mkts, o.MarketplaceID) || at.Before(after) {
			continue
		}
		all = append(all, public(*o))
	}
	s.mu.Unlock()
	// Amazon documents no order; the fake lists by purchase date, so that
	// a connector must sort by update itself.
	slices.SortFunc(all, func(a, b Order) int {
		return cmp.Or(strings.Compare(a.PurchaseDate, b.PurchaseDate), strings.Compare(a.AmazonOrderID, b.AmazonOrderID))
	})
	from := min(page.Offset, len(all))
	to := min(from+page.Size, len(all))
	payload := map[string]any{"Orders": nonNil(all[from:to])}
	if to < len(all) {
		next := page
		next.Offset = to
		b, _ := json.Marshal(next) // a struct of strings and ints always marshals
		payload["NextToken"] = base64.RawURLEncoding.EncodeToString(b)
	} else {
		payload["LastUpdatedBefore"] = s.stamp()
	}
	writeJSON(w, http.StatusOK, map[string]any{"payload": payload})
}

func nonNil(o []Order) []Order {
	if o == nil {
		return []Order{}
	}
	return o
}

// public is the order as getOrder shows it to an app without a restricted
// data token: the address without what identifies the buyer.
func public(o Order) Order {
	o = clone(o)
	o.ShippingAddress = nil
	if a := o.Address; a != nil {
		o.ShippingAddress = &Address{City: a.City, StateOrRegion: a.StateOrRegion, PostalCode: a.PostalCode, CountryCode: a.CountryCode}
	}
	return o
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
		writeError(w, http.StatusNotFound, "NotFound", "Order not found", "AmazonOrderId "+r.PathValue("id"))
		return nil
	}
	return o
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	o := s.order(w, r)
	var p Order
	if o != nil {
		p = public(*o)
	}
	s.mu.Unlock()
	if o != nil {
		writeJSON(w, http.StatusOK, map[string]any{"payload": p})
	}
}

func (s *Server) getItems(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	o := s.order(w, r)
	var items []OrderItem
	if o != nil {
		items = slices.Clone(o.Items)
	}
	s.mu.Unlock()
	if o != nil {
		if items == nil {
			items = []OrderItem{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"payload": map[string]any{"AmazonOrderId": r.PathValue("id"), "OrderItems": items}})
	}
}

func (s *Server) getAddress(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	o := s.order(w, r)
	var a *Address
	if o != nil && o.Address != nil {
		c := *o.Address
		a = &c
	}
	s.mu.Unlock()
	if o != nil {
		writeJSON(w, http.StatusOK, map[string]any{"payload": map[string]any{"AmazonOrderId": r.PathValue("id"), "ShippingAddress": a}})
	}
}

func (s *Server) createRDT(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		RestrictedResources []struct {
			Method string `json:"method"`
			Path   string `json:"path"`
		} `json:"restrictedResources"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.RestrictedResources) != 1 ||
		req.RestrictedResources[0].Method != http.MethodGet || !strings.HasPrefix(req.RestrictedResources[0].Path, "/orders/v0/orders/") {
		writeError(w, http.StatusBadRequest, "InvalidInput", "restrictedResources must name one GET of an order resource", "")
		return
	}
	s.mu.Lock()
	id, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(req.RestrictedResources[0].Path, "/orders/v0/orders/"), "/address"))
	o := s.orders[id]
	refused := o != nil && o.AddressRefused
	s.mu.Unlock()
	if s.opts.NoAddressRole || refused {
		writeError(w, http.StatusForbidden, "Unauthorized", "Access to requested resource is denied.",
			"The application is not authorized for the restricted role required.")
		return
	}
	tok := "Atz.sprdt|" + randomHex()
	s.mu.Lock()
	s.rdts[tok] = req.RestrictedResources[0].Path
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"restrictedDataToken": tok, "expiresIn": 3600})
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		MarketplaceID string  `json:"marketplaceId"`
		PackageDetail Package `json:"packageDetail"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidInput", "The request body is not a ConfirmShipmentRequest", "")
		return
	}
	p := req.PackageDetail
	ref, err := strconv.ParseUint(p.PackageReferenceID, 10, 64)
	switch {
	case req.MarketplaceID == "":
		writeError(w, http.StatusBadRequest, "InvalidInput", "marketplaceId is required", "")
		return
	case err != nil || ref == 0:
		writeError(w, http.StatusBadRequest, "InvalidInput", "packageReferenceId must be a positive number", "")
		return
	case p.CarrierCode == "":
		writeError(w, http.StatusBadRequest, "InvalidInput", "carrierCode is required", "")
		return
	case p.CarrierCode == "Other" && p.CarrierName == "":
		writeError(w, http.StatusBadRequest, "InvalidInput", "carrierName is required when carrierCode is Other", "")
		return
	case strings.TrimSpace(p.TrackingNumber) == "":
		writeError(w, http.StatusBadRequest, "InvalidInput", "trackingNumber is required", "")
		return
	case len(p.OrderItems) == 0:
		writeError(w, http.StatusBadRequest, "InvalidInput", "orderItems is required", "")
		return
	}
	if _, err := time.Parse(time.RFC3339Nano, p.ShipDate); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidInput", "shipDate must be an ISO 8601 date", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.order(w, r)
	if o == nil {
		return
	}
	if req.MarketplaceID != o.MarketplaceID {
		writeError(w, http.StatusBadRequest, "InvalidInput", "marketplaceId does not match the order", "")
		return
	}
	edit := slices.IndexFunc(o.Packages, func(x Package) bool { return x.PackageReferenceID == p.PackageReferenceID })
	if edit < 0 && o.OrderStatus != StatusUnshipped && o.OrderStatus != StatusPartiallyShipped {
		writeError(w, http.StatusBadRequest, "InvalidInput", "The order is not in a status that allows shipment confirmation",
			"OrderStatus "+o.OrderStatus)
		return
	}
	if edit >= 0 {
		// The same package again: its details are edited, nothing ships twice.
		o.Packages[edit] = p
		o.LastUpdateDate = s.stamp()
		s.save()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	items := slices.Clone(o.Items)
	for _, pi := range p.OrderItems {
		i := slices.IndexFunc(items, func(it OrderItem) bool { return it.OrderItemID == pi.OrderItemID })
		if i < 0 {
			writeError(w, http.StatusBadRequest, "InvalidInput", "Unknown orderItemId", "orderItemId "+pi.OrderItemID)
			return
		}
		if pi.Quantity < 1 || items[i].QuantityShipped+pi.Quantity > items[i].QuantityOrdered {
			writeError(w, http.StatusBadRequest, "InvalidInput", "quantity exceeds the quantity left to ship", "orderItemId "+pi.OrderItemID)
			return
		}
		items[i].QuantityShipped += pi.Quantity
	}
	o.Items = items
	o.Packages = append(o.Packages, p)
	recount(o)
	o.LastUpdateDate = s.stamp()
	s.save()
	w.WriteHeader(http.StatusNoContent)
}

func writeFault(w http.ResponseWriter, f Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		writeError(w, f.Status, "QuotaExceeded", "You exceeded your quota for the requested resource.", "")
	case f.Status >= 500:
		writeError(w, f.Status, "ServiceUnavailable", "Service temporarily unavailable.", "")
	case f.Status == http.StatusForbidden || f.Status == http.StatusUnauthorized:
		writeError(w, f.Status, "Unauthorized", "Access to requested resource is denied.", "")
	case f.Status == http.StatusBadRequest:
		writeError(w, f.Status, "InvalidInput", "Request refused (sandbox fault).", "")
	default:
		writeError(w, f.Status, "InternalFailure", http.StatusText(f.Status), "")
	}
}

// writeError answers in the SP-API's error shape.
func writeError(w http.ResponseWriter, status int, code, msg, details string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"code": code, "message": msg, "details": details}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

func clone(o Order) Order {
	o.Items = slices.Clone(o.Items)
	o.Packages = slices.Clone(o.Packages)
	if o.Address != nil {
		a := *o.Address
		o.Address = &a
	}
	if o.ShippingAddress != nil {
		a := *o.ShippingAddress
		o.ShippingAddress = &a
	}
	return o
}
