// Package amazon is the Amazon connector: it implements sync.Marketplace
// over the Selling Partner API (SP-API) for merchant-fulfilled (MFN)
// orders.
//
// Reads use the Orders API v0: getOrders (LastUpdatedAfter, NextToken
// paging), getOrder, getOrderItems, and getOrderAddress, a restricted
// operation called with a restricted data token (Tokens API
// createRestrictedDataToken). An account whose app lacks the role for
// restricted data gets its orders without an address, marked
// AddressRestricted: their import is held as address_restricted.
//
// Shipping uses the Orders API's confirmShipment (POST
// /orders/v0/orders/{orderId}/shipmentConfirmation), one call per parcel
// naming its order items, carrier and tracking number, rather than the
// Feeds API (POST_ORDER_FULFILLMENT_DATA): it is synchronous (204, or an
// error body naming what is wrong) and per order, which fits the sync's
// one event → one call → one outcome, where a feed is a batch processed
// later whose result must be polled for. Amazon's own guidance recommends
// it for "synchronous acknowledgments, enhanced error messaging"
// (developer-docs.amazon.com/sp-api-blog, "How to confirm MFN Orders using
// SP-API"; developer-docs.amazon.com/sp-api/docs/confirm-the-shipment-status).
// The package reference id is derived from the store's parcel, so a parcel
// sent again edits the same package instead of adding one.
//
// There is no accept step: an MFN order is Unshipped (to ship) as soon as
// it is paid, so Accept is a no-op. There is no synchronous cancel: Amazon
// lets sellers cancel only through an order acknowledgement feed
// (POST_ORDER_ACKNOWLEDGEMENT_DATA) or Seller Central, so Cancel is
// cancel_unsupported, the remedy being the back office.
//
// Every call carries an LWA access token, obtained from the connection's
// refresh token (POST https://api.amazon.com/auth/o2/token,
// grant_type=refresh_token) and kept until shortly before it expires. A
// refused refresh token (invalid_grant) is auth_expired. A 429 is
// rate_limited, to be retried after the wait the x-amzn-RateLimit-Limit
// header implies (one request at the operation's rate), or Retry-After
// when sent.
package amazon

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Name is how Amazon is named in the words a merchant reads.
const Name = "Amazon"

// DefaultTokenURL is Login with Amazon's token endpoint.
const DefaultTokenURL = "https://api.amazon.com/auth/o2/token"

// Operations, as the SP-API names them; the rate limits are per operation.
const (
	opGetOrders       = "getOrders"
	opGetOrder        = "getOrder"
	opGetOrderItems   = "getOrderItems"
	opGetOrderAddress = "getOrderAddress"
	opConfirmShipment = "confirmShipment"
	opCreateRDT       = "createRestrictedDataToken"
	opToken           = "token"
)

// DefaultRates are the documented default rates (requests per second) of
// the operations the connector calls, used to size a 429's wait when
// Amazon sends no x-amzn-RateLimit-Limit header.
var DefaultRates = map[string]float64{
	opGetOrders: 0.0167, opGetOrder: 0.5, opGetOrderItems: 0.5, opGetOrderAddress: 0.5,
	opConfirmShipment: 2, opCreateRDT: 1,
}

// Options configure a Client. Zero fields take the defaults in parentheses.
type Options struct {
	// Endpoint is the SP-API regional endpoint, e.g.
	// https://sellingpartnerapi-eu.amazon.com. Required.
	Endpoint string
	// TokenURL is the LWA token endpoint (DefaultTokenURL).
	TokenURL string
	// ClientID and ClientSecret are the app's LWA credentials;
	// RefreshToken is the seller's authorisation of the app.
	ClientID, ClientSecret, RefreshToken string
	// MarketplaceIDs are the marketplaces listed (getOrders requires at
	// least one), e.g. A13V1IB3VIYZZH (amazon.fr).
	MarketplaceIDs []string
	// PageSize is getOrders' MaxResultsPerPage (100, the most allowed).
	PageSize int
	// MaxPages bounds one listing (1000).
	MaxPages int
	// UserAgent is the User-Agent header ("ordersync (Language=Go)", the
	// form Amazon asks for).
	UserAgent string
	// Now is the clock tokens expire by and Retry-After dates are read
	// against (time.Now).
	Now func() time.Time
	// Tokens, when set, keeps access tokens across clients (the sync builds
	// a client per event): one per app and refresh token, for its life.
	// Nil keeps them in the client only.
	Tokens *Tokens
}

// Tokens keeps LWA access tokens by app and refresh token, so that the
// clients built for one connection share one token for its hour. Build it
// once per cold start (in main); it is safe for concurrent use.
type Tokens struct {
	mu sync.Mutex
	m  map[string]accessToken
}

type accessToken struct {
	token   string
	expires time.Time
}

// NewTokens returns an empty token cache.
func NewTokens() *Tokens { return &Tokens{m: map[string]accessToken{}} }

func (t *Tokens) get(key string, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.m[key]
	if !ok || !now.Before(a.expires) {
		return "", false
	}
	return a.token, true
}

func (t *Tokens) put(key, token string, expires time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, a := range t.m {
		if !expires.Before(a.expires.Add(time.Hour)) { // long expired: let it go
			delete(t.m, k)
		}
	}
	t.m[key] = accessToken{token, expires}
}

// forget drops key's token if it is still token.
func (t *Tokens) forget(key, token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[key].token == token {
		delete(t.m, key)
	}
}

// Client talks to one seller account. It is safe for concurrent use;
// build it once per connection and cold start (it keeps its access token).
type Client struct {
	hc   *http.Client
	base string
	opts Options
	key  string // the token cache's key: a hash of the LWA credentials

	mu sync.Mutex // one token refresh at a time
}

// New returns a client that sends its requests with hc (see
// httpclient.New).
func New(hc *http.Client, opts Options) *Client {
	opts.TokenURL = cmp.Or(opts.TokenURL, DefaultTokenURL)
	if opts.PageSize <= 0 || opts.PageSize > 100 {
		opts.PageSize = 100
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 1000
	}
	opts.UserAgent = cmp.Or(opts.UserAgent, "ordersync (Language=Go)")
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tokens == nil {
		opts.Tokens = NewTokens()
	}
	sum := sha256.Sum256([]byte(opts.TokenURL + "\x00" + opts.ClientID + "\x00" + opts.ClientSecret + "\x00" + opts.RefreshToken))
	return &Client{hc: hc, base: strings.TrimRight(opts.Endpoint, "/"), opts: opts, key: hex.EncodeToString(sum[:])}
}

// Capabilities says what the SP-API allows: no accept step, no cancel,
// shipment confirmation per order item with a carrier (required by every
// marketplace) and a tracking number; Amazon builds the tracking link.
func (c *Client) Capabilities() order.Capabilities {
	return order.Capabilities{Cancel: false, AcceptRequired: false, TrackingURL: false,
		CarrierRequired: true, PerLine: true}
}

// Order fetches one order and its items (getOrder, getOrderItems) and,
// while it is still to ship, its shipping address (getOrderAddress). An
// order whose address the app may not read comes without one, marked
// AddressRestricted. An order in a status the lifecycle does not know
// returns invalid_data.
func (c *Client) Order(ctx context.Context, id string) (order.MarketplaceOrder, error) {
	kv := []string{"marketplace", Name, "order", id}
	var resp wireOrderResponse
	if _, err := c.call(ctx, opGetOrder, http.MethodGet, "/orders/v0/orders/"+url.PathEscape(id), nil, nil, "", &resp, kv); err != nil {
		return order.MarketplaceOrder{}, err
	}
	if resp.Payload == nil || resp.Payload.AmazonOrderID != id {
		got := ""
		if resp.Payload != nil {
			got = resp.Payload.AmazonOrderID
		}
		// Not the order asked for: acting on it would update another order.
		return order.MarketplaceOrder{}, syncerr.E(syncerr.MarketplaceUnavailable, kv...).
			Wrap(fmt.Errorf("amazon: order %s answered as order %q", id, got))
	}
	w := *resp.Payload
	items, err := c.items(ctx, id)
	if err != nil {
		return order.MarketplaceOrder{}, err
	}
	o, serr := w.domain(items)
	if w.OrderStatus == "Unshipped" || w.OrderStatus == "PartiallyShipped" {
		a, err := c.address(ctx, id)
		switch {
		case syncerr.CodeOf(err) == syncerr.AddressRestricted:
			o.AddressRestricted = true
		case err != nil:
			return order.MarketplaceOrder{}, err
		default:
			o.ShippingAddress = a
		}
	}
	if serr != nil {
		if e, ok := syncerr.As(serr); ok {
			return o, e.With(kv...).Wrap(fmt.Errorf("amazon order %s", id))
		}
		return o, serr
	}
	return o, nil
}

// items lists an order's items (getOrderItems), following NextToken.
func (c *Client) items(ctx context.Context, id string) ([]wireItem, error) {
	kv := []string{"marketplace", Name, "order", id}
	var out []wireItem
	next := ""
	for n := 0; ; n++ {
		if n >= c.opts.MaxPages {
			return nil, syncerr.E(syncerr.MarketplaceUnavailable, kv...).
				Wrap(fmt.Errorf("amazon: items of order %s: more than %d pages", id, c.opts.MaxPages))
		}
		var q url.Values
		if next != "" {
			q = url.Values{"NextToken": {next}}
		}
		var resp wireItemsResponse
		if _, err := c.call(ctx, opGetOrderItems, http.MethodGet, "/orders/v0/orders/"+url.PathEscape(id)+"/orderItems", q, nil, "", &resp, kv); err != nil {
			return nil, err
		}
		out = append(out, resp.Payload.OrderItems...)
		if resp.Payload.NextToken == "" || resp.Payload.NextToken == next {
			return out, nil
		}
		next = resp.Payload.NextToken
	}
}

// address reads an order's shipping address with a restricted data token.
// A role that may not read it (403) is address_restricted.
func (c *Client) address(ctx context.Context, id string) (*order.Address, error) {
	kv := []string{"marketplace", Name, "order", id}
	path := "/orders/v0/orders/" + url.PathEscape(id) + "/address"
	var rdt wireRDTResponse
	req := wireRDTRequest{RestrictedResources: []wireRestrictedResource{{Method: http.MethodGet, Path: path}}}
	if _, err := c.call(ctx, opCreateRDT, http.MethodPost, "/tokens/2021-03-01/restrictedDataToken", nil, req, "", &rdt, kv); err != nil {
		return nil, restricted(err, kv)
	}
	if rdt.RestrictedDataToken == "" {
		return nil, syncerr.E(syncerr.MarketplaceUnavailable, kv...).
			Wrap(errors.New("amazon: createRestrictedDataToken answered no token"))
	}
	var resp wireAddressResponse
	if _, err := c.call(ctx, opGetOrderAddress, http.MethodGet, path, nil, nil, rdt.RestrictedDataToken, &resp, kv); err != nil {
		return nil, restricted(err, kv)
	}
	return resp.Payload.ShippingAddress.domain(), nil
}

// restricted turns the 403 of a restricted operation into
// address_restricted: the app is authorised, only not for buyers'
// addresses (pausing the connection would stop what it may do).
func restricted(err error, kv []string) error {
	var se interface{ HTTPStatus() int }
	if errors.As(err, &se) && se.HTTPStatus() == http.StatusForbidden {
		return syncerr.E(syncerr.AddressRestricted, kv...).Wrap(err)
	}
	return err
}

// OrdersUpdatedSince lists the orders of Options.MarketplaceIDs changed at
// or after since (getOrders with LastUpdatedAfter, then NextToken), oldest
// first, each with its items. Addresses are not read: Order reads one
// where an import needs it. A connection naming no marketplace is
// invalid_data.
func (c *Client) OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.MarketplaceOrder, error) {
	kv := []string{"marketplace", Name}
	if len(c.opts.MarketplaceIDs) == 0 {
		return nil, syncerr.E(syncerr.InvalidData, "marketplace", Name, "field", "Amazon marketplace id of the connection")
	}
	if since.IsZero() {
		since = c.opts.Now().Add(-30 * 24 * time.Hour) // getOrders requires a date
	}
	byID := map[string]order.MarketplaceOrder{}
	next := ""
	for n := 0; ; n++ {
		if n >= c.opts.MaxPages {
			return nil, syncerr.E(syncerr.MarketplaceUnavailable, kv...).
				Wrap(fmt.Errorf("amazon: listing orders: more than %d pages", c.opts.MaxPages))
		}
		q := url.Values{"MarketplaceIds": {strings.Join(c.opts.MarketplaceIDs, ",")}}
		if next != "" {
			q.Set("NextToken", next)
		} else {
			q.Set("LastUpdatedAfter", since.UTC().Format(time.RFC3339))
			q.Set("MaxResultsPerPage", strconv.Itoa(c.opts.PageSize))
		}
		var p wireOrdersPage
		if _, err := c.call(ctx, opGetOrders, http.MethodGet, "/orders/v0/orders", q, nil, "", &p, kv); err != nil {
			return nil, err
		}
		for _, w := range p.Payload.Orders {
			if w.AmazonOrderID == "" {
				continue
			}
			o, _ := w.domain(nil) // unknown statuses stay StatusUnknown
			if !o.UpdatedAt.IsZero() && o.UpdatedAt.Before(since) {
				continue
			}
			byID[o.ID] = o
		}
		if p.Payload.NextToken == "" || p.Payload.NextToken == next {
			break
		}
		next = p.Payload.NextToken
	}
	out := make([]order.MarketplaceOrder, 0, len(byID))
	for _, o := range byID {
		items, err := c.items(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		w := wireOrder{AmazonOrderID: o.ID, OrderStatus: o.State}
		full, _ := w.domain(items)
		o.Lines = full.Lines
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b order.MarketplaceOrder) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Accept is a no-op that makes no call: Amazon has no accept step for MFN
// orders, which are Unshipped (ready to ship) once paid. An order still
// Pending (payment not authorised) or ended is invalid_transition.
func (c *Client) Accept(ctx context.Context, o order.MarketplaceOrder) error {
	if o.Status == order.StatusPendingPayment || rules.Terminal(o.Status) {
		return syncerr.E(syncerr.InvalidTransition, "order", o.ID, "marketplace", Name,
			"from", string(o.Status), "to", string(order.StatusAccepted))
	}
	return nil
}

// Cancel returns cancel_unsupported without calling Amazon: the SP-API
// has no synchronous seller cancellation (only an acknowledgement feed),
// so the merchant cancels in Seller Central.
func (c *Client) Cancel(ctx context.Context, o order.MarketplaceOrder, reason string) error {
	return syncerr.E(syncerr.CancelUnsupported, "order", o.ID, "marketplace", Name)
}

// Ship confirms the shipment of the parcel's items (all items not shipped
// yet when it names none) with one confirmShipment call. Items already
// shipped in full are skipped, so shipping a shipped order again makes no
// call. A parcel without a tracking number or carrier is
// shipping_data_missing, and an order Pending or Canceled is
// invalid_transition, both without a call. When o carries no lines it is
// read first.
func (c *Client) Ship(ctx context.Context, o order.MarketplaceOrder, p order.Parcel) error {
	t, err := rules.CompleteTracking(p.Tracking, c.Capabilities())
	if e, ok := syncerr.As(err); ok {
		return e.With("order", o.ID, "marketplace", Name)
	}
	if len(o.Lines) == 0 {
		if o, err = c.Order(ctx, o.ID); err != nil {
			return err
		}
	}
	if o.Status == order.StatusPendingPayment || rules.Terminal(o.Status) {
		return c.refused(o.ID, o.Status)
	}
	items, err := parcelItems(o, p)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return nil // every item of the parcel has shipped
	}
	marketplaceID := cmp.Or(c.marketplaceOf(ctx, o), firstOf(c.opts.MarketplaceIDs))
	code, name := carrierCode(t.Carrier)
	body := shipmentConfirmation{MarketplaceID: marketplaceID, PackageDetail: packageDetail{
		PackageReferenceID: packageReference(o.ID, p), CarrierCode: code, CarrierName: name,
		TrackingNumber: t.Number, ShipDate: c.opts.Now().UTC().Format(time.RFC3339), OrderItems: items}}
	kv := []string{"marketplace", Name, "order", o.ID}
	status, err := c.call(ctx, opConfirmShipment, http.MethodPost,
		"/orders/v0/orders/"+url.PathEscape(o.ID)+"/shipmentConfirmation", nil, body, "", nil, kv)
	if err != nil && status == http.StatusBadRequest {
		// Refused: a wrong state, or data Amazon will not take. A fresh
		// read tells which.
		if now, rerr := c.Order(ctx, o.ID); rerr == nil && (rules.Terminal(now.Status) || now.Status == order.StatusPendingPayment) {
			return c.refused(o.ID, now.Status)
		}
		if e, ok := syncerr.As(err); ok && e.Code == syncerr.InvalidData {
			return e.With("field", "shipment confirmation of order "+o.ID)
		}
	}
	return err
}

// marketplaceOf is the marketplace an order was placed on, which
// confirmShipment names. The order as passed does not carry it, so it
// is read when the connection lists more than one.
func (c *Client) marketplaceOf(ctx context.Context, o order.MarketplaceOrder) string {
	if len(c.opts.MarketplaceIDs) == 1 {
		return c.opts.MarketplaceIDs[0]
	}
	var resp wireOrderResponse
	kv := []string{"marketplace", Name, "order", o.ID}
	if _, err := c.call(ctx, opGetOrder, http.MethodGet, "/orders/v0/orders/"+url.PathEscape(o.ID), nil, nil, "", &resp, kv); err != nil || resp.Payload == nil {
		return ""
	}
	return resp.Payload.MarketplaceID
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func (c *Client) refused(id string, from order.Status) error {
	return syncerr.E(syncerr.InvalidTransition, "order", id, "marketplace", Name,
		"from", string(from), "to", string(order.StatusShipped))
}

// parcelItems returns the items p ships that have not shipped in full,
// matched by order item id, then by SKU; a parcel naming none ships every
// item left. A line matching no item is sku_not_found.
func parcelItems(o order.MarketplaceOrder, p order.Parcel) ([]packageItem, error) {
	var out []packageItem
	add := func(l order.MarketplaceLine, qty int) {
		if l.Status == order.StatusShipped || l.Status == order.StatusDelivered {
			return
		}
		if qty <= 0 || qty > l.Quantity {
			qty = l.Quantity
		}
		if i := slices.IndexFunc(out, func(it packageItem) bool { return it.OrderItemID == l.ID }); i >= 0 {
			out[i].Quantity = min(out[i].Quantity+qty, l.Quantity)
			return
		}
		out = append(out, packageItem{OrderItemID: l.ID, Quantity: qty})
	}
	if len(p.Lines) == 0 {
		for _, l := range o.Lines {
			add(l, l.Quantity)
		}
		return out, nil
	}
	for _, pl := range p.Lines {
		i := order.LineIndex(o.Lines, pl.MarketplaceLineID, pl.SKU, nil)
		if i < 0 {
			return nil, syncerr.E(syncerr.SKUNotFound, "order", o.ID, "marketplace", Name, "sku", pl.SKU)
		}
		add(o.Lines[i], pl.Quantity)
	}
	return out, nil
}

// packageReference is the parcel's packageReferenceId, which Amazon wants
// a positive number: the store's parcel id when it is one, else a number
// derived from it (or from the tracking number). The same parcel always
// gets the same reference, so sending it again edits the package.
func packageReference(orderID string, p order.Parcel) string {
	id := cmp.Or(strings.TrimSpace(p.ID), strings.TrimSpace(p.Tracking.Number), orderID)
	if n, err := strconv.ParseUint(id, 10, 63); err == nil && n > 0 {
		return strconv.FormatUint(n, 10)
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return strconv.FormatUint(uint64(h.Sum32())+1, 10)
}

// carrierCodes are Amazon CarrierCode values for the carriers ordersync
// knows (rules.LookupCarrier's names). UNCONFIRMED per marketplace: Amazon
// publishes the list per marketplace; any other carrier is sent as
// "Other" with its name, which every marketplace accepts.
var carrierCodes = map[string]string{
	"UPS": "UPS", "USPS": "USPS", "FedEx": "FedEx", "DHL Express": "DHL", "Colissimo": "Colissimo",
	"Chronopost": "Chronopost", "DPD France": "DPD", "DPD Germany": "DPD", "GLS": "GLS", "Royal Mail": "Royal Mail",
}

func carrierCode(carrier string) (code, name string) {
	if c, ok := rules.LookupCarrier(carrier); ok {
		if code, ok := carrierCodes[c.Name]; ok {
			return code, ""
		}
	}
	return "Other", carrier
}

// accessToken returns a valid LWA access token, refreshing it when it is
// missing or about to expire.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	if tok, ok := c.opts.Tokens.get(c.key, now); ok {
		return tok, nil
	}
	kv := []string{"marketplace", Name}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.opts.RefreshToken},
		"client_id": {c.opts.ClientID}, "client_secret": {c.opts.ClientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", syncerr.E(syncerr.InvalidData, append(kv, "field", "Amazon token URL")...).Wrap(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	resp, err := httpclient.Do(c.hc, req, kv...)
	if err != nil {
		return "", err
	}
	b, err := httpclient.ReadBody(resp, kv...)
	if err != nil {
		return "", err
	}
	var t wireToken
	_ = json.Unmarshal(b, &t) // an unreadable body is classified by status below
	switch {
	case t.Error == "invalid_grant" || t.Error == "invalid_client" || t.Error == "unauthorized_client":
		// The seller revoked the app, or the refresh token is not one.
		return "", syncerr.E(syncerr.AuthExpired, kv...).Wrap(fmt.Errorf("amazon: lwa token: %s (http %d)", t.Error, resp.StatusCode))
	case resp.StatusCode >= 400:
		if e := c.classify(resp, b, opToken, kv); e != nil {
			if e.Code == syncerr.InvalidData {
				e = syncerr.E(syncerr.AuthExpired, kv...).Wrap(e.Err)
			}
			return "", e
		}
	case t.AccessToken == "":
		return "", syncerr.E(syncerr.MarketplaceUnavailable, kv...).Wrap(errors.New("amazon: lwa token: no access_token in the answer"))
	}
	life := time.Duration(t.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	c.opts.Tokens.put(c.key, t.AccessToken, now.Add(life-min(life/10, time.Minute)))
	return t.AccessToken, nil
}

// forget drops the access token after Amazon refused it, so the next call
// gets a new one.
func (c *Client) forget(token string) { c.opts.Tokens.forget(c.key, token) }

// call sends one SP-API request with the access token (or token, when
// given: a restricted data token) and decodes a successful answer into
// out (when not nil). It returns the HTTP status answered (0 when none).
func (c *Client) call(ctx context.Context, op, method, path string, q url.Values, body any, token string, out any, kv []string) (int, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, syncerr.E(syncerr.InvalidData, kv...).Wrap(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, syncerr.E(syncerr.InvalidData, append(kv, "field", "Amazon endpoint")...).Wrap(err)
	}
	access := token
	if access == "" {
		if access, err = c.accessToken(ctx); err != nil {
			return 0, err
		}
	}
	req.Header.Set("x-amz-access-token", access)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpclient.Do(c.hc, req, kv...)
	if err != nil {
		return 0, err
	}
	b, err := httpclient.ReadBody(resp, kv...)
	if err != nil {
		return resp.StatusCode, err
	}
	if e := c.classify(resp, b, op, kv); e != nil {
		if e.Code == syncerr.AuthExpired && token == "" && op != opCreateRDT {
			c.forget(access)
		}
		return resp.StatusCode, e
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.StatusCode, syncerr.E(syncerr.MarketplaceUnavailable, kv...).
			Wrap(fmt.Errorf("amazon: decoding %s: %w", op, err))
	}
	return resp.StatusCode, nil
}

// errorCodes maps the SP-API's error codes onto the catalogue's; a code
// not listed is classified by its HTTP status.
var errorCodes = map[string]syncerr.Code{
	"InvalidInput":       syncerr.InvalidData,
	"InvalidSignature":   syncerr.AuthExpired,
	"Unauthorized":       syncerr.AuthExpired,
	"AccessDenied":       syncerr.AuthExpired,
	"Forbidden":          syncerr.AuthExpired,
	"NotFound":           syncerr.OrderNotFound,
	"QuotaExceeded":      syncerr.RateLimited,
	"TooManyRequests":    syncerr.RateLimited,
	"InternalFailure":    syncerr.MarketplaceUnavailable,
	"ServiceUnavailable": syncerr.MarketplaceUnavailable,
}

// classify returns the error a response stands for, or nil below 400: the
// SP-API error body's code where the catalogue knows it, else the HTTP
// status (httpclient.Classify). A rate_limited error asks to wait one
// request's time at the operation's rate (x-amzn-RateLimit-Limit, else
// the documented default), or what Retry-After says.
func (c *Client) classify(resp *http.Response, body []byte, op string, kv []string) *syncerr.Error {
	if resp.StatusCode < 400 {
		return nil
	}
	e := httpclient.Classify(resp, body, c.opts.Now(), kv...)
	var eb wireErrors
	if json.Unmarshal(body, &eb) == nil && len(eb.Errors) > 0 {
		if code, ok := errorCodes[eb.Errors[0].Code]; ok && code != e.Code && resp.StatusCode != http.StatusTooManyRequests {
			e = syncerr.E(code, kv...).Wrap(e.Err)
		}
		e = e.Wrap(fmt.Errorf("%w (%s)", e.Err, loggable(eb.Errors[0].Code)))
	}
	if e.Code == syncerr.RateLimited && e.RetryAfter == 0 {
		e = e.After(rateWait(resp.Header.Get("x-amzn-RateLimit-Limit"), DefaultRates[op]))
	}
	return e
}

// rateWait is how long one request takes to be allowed again at a rate
// of rate requests per second (the header's, else def): at least a second.
func rateWait(header string, def float64) time.Duration {
	rate, err := strconv.ParseFloat(strings.TrimSpace(header), 64)
	if err != nil || !(rate > 0) {
		rate = def
	}
	if !(rate > 0) {
		return time.Second
	}
	secs := math.Ceil(1 / rate)
	return time.Duration(min(max(secs, 1), httpclient.MaxRetryAfter.Seconds())) * time.Second
}

// loggable keeps an SP-API error code fit for a log: short, printable,
// no spaces (a code never names a buyer; a message might, so none is kept).
func loggable(code string) string {
	if len(code) > 64 {
		return "?"
	}
	for i := 0; i < len(code); i++ {
		if ch := code[i]; ch <= ' ' || ch > '~' || ch == '@' {
			return "?"
		}
	}
	return code
}
