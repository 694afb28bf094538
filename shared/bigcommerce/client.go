// Package bigcommerce is ordersync's connector to a merchant's BigCommerce
// store through the REST API v2 orders resources: it fetches and lists
// orders as events (BigCommerce webhooks carry only an order id, so every
// webhook is followed by Order), and imports marketplace orders
// (CreateOrder, with products found by SKU in the v3 catalog).
//
// It never retries: every failure comes back as a *syncerr.Error whose
// code tells the sync layer what to do (see sync.Storefront).
package bigcommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// DefaultBaseURL is BigCommerce's API host.
const DefaultBaseURL = "https://api.bigcommerce.com"

const platformName = "BigCommerce"

// Config says how to reach one BigCommerce store.
type Config struct {
	// BaseURL is DefaultBaseURL when empty.
	BaseURL string
	// StoreHash is the store's hash, as in /stores/{store_hash}/v2.
	StoreHash string
	// AccessToken is the API account's token, resolved from the
	// connection's credential reference. It is sent only as the
	// X-Auth-Token header and never appears in errors.
	AccessToken string
	// Connection is the ordersync connection id stamped on events.
	Connection string
	// PageSize is limit for listing (default 50, at most 250).
	PageSize int
	// ExternalSource is the external_source of imported orders, by which
	// CreateOrder knows its own; DefaultExternalSource when empty. An app
	// listed on the App Marketplace must put its app id here.
	ExternalSource string
	// MarketplaceName is the connection's marketplace (e.g. "Back
	// Market"), written on imported orders for the merchant.
	MarketplaceName string
}

// Client talks to one BigCommerce store. It is safe for concurrent use.
type Client struct {
	cfg      Config
	base, v3 string // the store's /v2 and /v3 roots
	hc       *http.Client
}

var _ syncer.Storefront = (*Client)(nil)

// New returns a client for the store cfg describes, sending its requests
// through hc (the tuned client; http.DefaultClient when nil).
func New(cfg Config, hc *http.Client) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("bigcommerce: base URL %q is not an absolute URL", cfg.BaseURL)
	}
	if cfg.StoreHash == "" || strings.ContainsAny(cfg.StoreHash, "/?#") {
		return nil, fmt.Errorf("bigcommerce: store hash %q is invalid", cfg.StoreHash)
	}
	if cfg.AccessToken == "" {
		return nil, errors.New("bigcommerce: no access token")
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 250 {
		cfg.PageSize = 50
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	if cfg.ExternalSource == "" {
		cfg.ExternalSource = DefaultExternalSource
	}
	root := u.String() + "/stores/" + cfg.StoreHash
	return &Client{cfg: cfg, hc: hc, base: root + "/v2", v3: root + "/v3"}, nil
}

func fail(code syncerr.Code, ref string, kv ...string) *syncerr.Error {
	return syncerr.E(code, append([]string{"marketplace", platformName, "order", ref}, kv...)...)
}

// get fetches path (under /v2) and decodes the JSON answer into out. It
// reports false for 204 No Content, BigCommerce's answer for an empty
// collection.
func (c *Client) get(ctx context.Context, ref, path string, query url.Values, out any) (bool, error) {
	return c.do(ctx, http.MethodGet, ref, c.base+path, query, nil, out)
}

// do sends one request to u, with in as its JSON body when not nil, and
// decodes the JSON answer into out. It reports false for an empty answer.
func (c *Client) do(ctx context.Context, method, ref, u string, query url.Values, in, out any) (bool, error) {
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rb io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return false, fail(syncerr.InvalidData, ref, "field", "request").Wrap(err)
		}
		rb = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rb)
	if err != nil {
		return false, fail(syncerr.InvalidData, ref, "field", "request").Wrap(err)
	}
	req.Header.Set("X-Auth-Token", c.cfg.AccessToken)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	kv := []string{"marketplace", platformName, "order", ref}
	resp, err := httpclient.Do(c.hc, req, kv...)
	if err != nil {
		return false, err
	}
	body, err := httpclient.ReadBody(resp, kv...)
	if err != nil {
		return false, err
	}
	if err := classify(resp, body, ref); err != nil {
		return false, err
	}
	if resp.StatusCode == http.StatusNoContent || len(strings.TrimSpace(string(body))) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return false, fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("bigcommerce: decoding %s: %w", req.URL.Path, err))
	}
	return true, nil
}

// classify turns a failed answer into a classified error.
func classify(resp *http.Response, body []byte, ref string) error {
	if resp.StatusCode < 400 {
		return nil
	}
	cause := httpclient.StatusError(resp, body)
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		// 401: token revoked or app uninstalled; 403: a scope is missing.
		return fail(syncerr.StoreDisconnected, ref).Wrap(cause)
	case http.StatusTooManyRequests:
		// BigCommerce says how long until its window resets in
		// milliseconds; Retry-After is honoured if a proxy sends one.
		e := fail(syncerr.RateLimited, ref)
		ms, err := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Time-Reset-Ms"), 10, 64)
		if err == nil && ms > 0 && ms <= httpclient.MaxRetryAfter.Milliseconds() {
			e = e.After(time.Duration(ms) * time.Millisecond)
		} else if d, ok := httpclient.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			e = e.After(d)
		}
		return e.Wrap(cause)
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		// A refused write or filter: v2 names the field in its message,
		// v3 in its errors object.
		return fail(syncerr.InvalidData, ref, "field", errorField(body)).Wrap(cause)
	}
	return httpclient.Classify(resp, body, time.Now(), "marketplace", platformName, "order", ref)
}

type bcOrder struct {
	ID           int64  `json:"id"`
	DateCreated  string `json:"date_created"`
	DateModified string `json:"date_modified"`
	StatusID     int    `json:"status_id"`
	Status       string `json:"status"`
	// ExternalSource and ExternalOrderID mark an order ordersync imported.
	ExternalSource  *string `json:"external_source"`
	ExternalOrderID *string `json:"external_order_id"`
}

type bcProduct struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	SKU              string `json:"sku"`
	Quantity         int    `json:"quantity"`
	QuantityShipped  int    `json:"quantity_shipped"`
	QuantityRefunded int    `json:"quantity_refunded"`
}

type bcAddress struct {
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Company    string `json:"company"`
	Street1    string `json:"street_1"`
	Street2    string `json:"street_2"`
	City       string `json:"city"`
	State      string `json:"state"`
	Zip        string `json:"zip"`
	CountryISO string `json:"country_iso2"`
	Phone      string `json:"phone"`
}

type bcShipment struct {
	ID                    int64  `json:"id"`
	TrackingNumber        string `json:"tracking_number"`
	ShippingProvider      string `json:"shipping_provider"`
	TrackingCarrier       string `json:"tracking_carrier"`
	TrackingLink          string `json:"tracking_link"`
	GeneratedTrackingLink string `json:"generated_tracking_link"`
	Items                 []struct {
		OrderProductID int64 `json:"order_product_id"`
		Quantity       int   `json:"quantity"`
	} `json:"items"`
}

// Order fetches one store order with its products, shipping address and
// shipments (four calls). An unknown order is order_not_found.
func (c *Client) Order(ctx context.Context, id string) (order.Event, error) {
	if _, err := strconv.ParseUint(id, 10, 63); err != nil {
		return order.Event{}, fail(syncerr.OrderNotFound, id)
	}
	var o bcOrder
	found, err := c.get(ctx, id, "/orders/"+id, nil, &o)
	if err != nil {
		return order.Event{}, err
	}
	if !found {
		return order.Event{}, fail(syncerr.OrderNotFound, id)
	}
	if want, _ := strconv.ParseInt(id, 10, 64); o.ID != want {
		// Not the order asked for, or no order at all: as a body that is
		// not JSON, the store is taken to be unwell. Its sub-resources
		// are not read.
		return order.Event{}, fail(syncerr.MarketplaceUnavailable, id).Wrap(fmt.Errorf("bigcommerce: /orders/%s answered order %d", id, o.ID))
	}
	return c.complete(ctx, o)
}

// OrdersUpdatedSince lists store orders modified at or after since, oldest
// first, following BigCommerce's pages to the end. Each order costs three
// more calls (products, shipping addresses, shipments).
func (c *Client) OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.Event, error) {
	var out []order.Event
	for page := 1; ; page++ {
		q := url.Values{
			"min_date_modified": {since.UTC().Format(time.RFC3339)},
			"sort":              {"id:asc"}, // stable while orders change between pages
			"limit":             {strconv.Itoa(c.cfg.PageSize)},
			"page":              {strconv.Itoa(page)},
		}
		var orders []bcOrder
		found, err := c.get(ctx, "", "/orders", q, &orders)
		if err != nil {
			return nil, err
		}
		for _, o := range orders {
			if t, ok := date(o.DateModified); ok && t.Before(since) {
				continue
			}
			ev, err := c.complete(ctx, o)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		if !found || len(orders) < c.cfg.PageSize {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out, nil
}

// complete fetches what the order resource only links to and maps it all
// onto the internal event.
func (c *Client) complete(ctx context.Context, o bcOrder) (order.Event, error) {
	if o.ID <= 0 {
		return order.Event{}, fail(syncerr.MarketplaceUnavailable, "").Wrap(errors.New("bigcommerce: an order without an id"))
	}
	id := strconv.FormatInt(o.ID, 10)
	var products []bcProduct
	if _, err := c.get(ctx, id, "/orders/"+id+"/products", url.Values{"limit": {"250"}}, &products); err != nil {
		return order.Event{}, err
	}
	var addresses []bcAddress
	if _, err := c.get(ctx, id, "/orders/"+id+"/shipping_addresses", nil, &addresses); err != nil {
		return order.Event{}, err
	}
	var shipments []bcShipment
	if _, err := c.get(ctx, id, "/orders/"+id+"/shipments", url.Values{"limit": {"250"}}, &shipments); err != nil {
		return order.Event{}, err
	}
	return c.event(o, products, addresses, shipments)
}

// event maps a BigCommerce order and its sub-resources onto the event.
func (c *Client) event(o bcOrder, products []bcProduct, addresses []bcAddress, shipments []bcShipment) (order.Event, error) {
	id := strconv.FormatInt(o.ID, 10)
	status, err := Status(o.StatusID)
	if err != nil {
		return order.Event{}, fail(syncerr.InvalidData, id, "field", "status").Wrap(fmt.Errorf("bigcommerce: order %s: %w", id, err))
	}
	at, ok := date(o.DateModified)
	if !ok {
		at, _ = date(o.DateCreated)
	}
	ev := order.Event{
		Connection:    c.cfg.Connection,
		Source:        order.BigCommerce,
		SourceEventID: "order/" + id + "@" + at.Format(time.RFC3339),
		OccurredAt:    at,
		Order:         order.Ref{StoreOrderID: id, StoreOrderName: orderName(id)},
		Status:        status,
		SourceStatus:  o.Status,
	}
	if mk, ok := c.imported(o); ok {
		// A claim, as for the other stores: other apps write these fields too.
		ev.Order.ClaimedMarketplaceOrderID = mk
	}
	skus := map[int64]string{}
	for _, p := range products {
		skus[p.ID] = p.SKU
		ev.Lines = append(ev.Lines, order.Line{SKU: p.SKU, Quantity: p.Quantity, StoreLineID: strconv.FormatInt(p.ID, 10), Title: p.Name})
	}
	if len(addresses) > 0 {
		a := addresses[0] // ordersync ships one parcel set per order: the first address
		ev.ShippingAddress = &order.Address{Name: strings.TrimSpace(a.FirstName + " " + a.LastName), Company: a.Company,
			Line1: a.Street1, Line2: a.Street2, City: a.City, PostalCode: a.Zip, Region: a.State,
			Country: a.CountryISO, Phone: a.Phone}
	}
	for _, s := range shipments {
		carrier := s.TrackingCarrier
		if carrier == "" {
			carrier = s.ShippingProvider
		}
		link := s.TrackingLink
		if link == "" {
			link = s.GeneratedTrackingLink
		}
		p := order.Parcel{ID: strconv.FormatInt(s.ID, 10), Tracking: order.Tracking{Number: s.TrackingNumber, Carrier: carrier, URL: link}}
		for _, it := range s.Items {
			p.Lines = append(p.Lines, order.Line{SKU: skus[it.OrderProductID], Quantity: it.Quantity,
				StoreLineID: strconv.FormatInt(it.OrderProductID, 10)})
		}
		ev.Parcels = append(ev.Parcels, p)
	}
	ev.Refunds = refunds(products, at)
	return ev, nil
}

// refunds reads the products' quantity_refunded, BigCommerce's running
// total of each line's refunded items: those beyond what shipped were
// cancelled before shipping, the rest refunded after. Being totals, they
// are named "quantity_refunded/cancel" and "quantity_refunded/refund", so
// that a newer picture replaces the older (rules.Apply).
func refunds(products []bcProduct, at time.Time) []order.Refund {
	cancel := order.Refund{ID: "quantity_refunded/cancel", Kind: order.RefundCancel, At: at}
	refund := order.Refund{ID: "quantity_refunded/refund", Kind: order.RefundRefund, At: at}
	for _, p := range products {
		n := min(p.QuantityRefunded, p.Quantity)
		if n <= 0 {
			continue
		}
		id := strconv.FormatInt(p.ID, 10)
		unshipped := min(n, max(p.Quantity-p.QuantityShipped, 0))
		if unshipped > 0 {
			cancel.Lines = append(cancel.Lines, order.Line{SKU: p.SKU, Quantity: unshipped, StoreLineID: id})
		}
		if n > unshipped {
			refund.Lines = append(refund.Lines, order.Line{SKU: p.SKU, Quantity: n - unshipped, StoreLineID: id})
		}
	}
	var out []order.Refund
	for _, r := range []order.Refund{cancel, refund} {
		if len(r.Lines) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// date reads a v2 date (RFC 1123 with a numeric zone) as UTC. A date that
// is not one, or whose UTC year is outside 0 to 9999 (the zone may push it
// there), is unreadable: it could not travel on the sync queue as JSON.
func date(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC1123Z, s)
	if y := t.UTC().Year(); err != nil || y < 0 || y > 9999 {
		return time.Time{}, false
	}
	return t.UTC(), true
}
