// Package woocommerce is ordersync's connector to a merchant's WooCommerce
// store through the REST API v3 (/wp-json/wc/v3): it fetches and lists
// orders as events, and imports marketplace orders (CreateOrder, which
// finds an order it made before by its ImportedOrderMetaKey meta).
//
// It never retries: every failure comes back as a *syncerr.Error whose
// code tells the sync layer what to do (see sync.Storefront).
package woocommerce

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

// DefaultAPIPath is the REST API's path under the site URL.
const DefaultAPIPath = "/wp-json/wc/v3"

// DefaultTrackingMetaKey is the order meta key in which the WooCommerce
// Shipment Tracking extension keeps its tracking items (UNCONFIRMED: seen
// in third-party code only, hence Config.TrackingMetaKey).
const DefaultTrackingMetaKey = "_wc_shipment_tracking_items"

// MarketplaceOrderMetaKey is a visible order meta key naming a store
// order's marketplace order, as a merchant or another integration may set
// it: an order read from the API or a webhook that carries it (or
// ImportedOrderMetaKey, which ordersync's imports write) names its
// marketplace order as a claim, which the sync verifies.
const MarketplaceOrderMetaKey = "ordersync_marketplace_order_id"

const platformName = "WooCommerce"

// Config says how to reach one WooCommerce store.
type Config struct {
	// SiteURL is the WordPress site, e.g. https://shop.example.com.
	SiteURL string
	// APIPath is DefaultAPIPath when empty.
	APIPath string
	// ConsumerKey and ConsumerSecret are the REST API key pair, resolved
	// from the connection's credential reference. They are sent only as
	// HTTP Basic auth (the site must be served over HTTPS) and never
	// appear in errors.
	ConsumerKey, ConsumerSecret string
	// Connection is the ordersync connection id stamped on events.
	Connection string
	// PageSize is per_page for listing (default 50, at most 100).
	PageSize int
	// TrackingMetaKey is where parcels' tracking is read from;
	// DefaultTrackingMetaKey when empty.
	TrackingMetaKey string
	// MarketplaceName is the connection's marketplace (e.g. "Back Market"),
	// written on imported orders for the merchant; none when empty.
	MarketplaceName string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Client talks to one WooCommerce store. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	hc   *http.Client
}

var _ syncer.Storefront = (*Client)(nil)

// New returns a client for the store cfg describes, sending its requests
// through hc (the tuned client; http.DefaultClient when nil).
func New(cfg Config, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.SiteURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("woocommerce: site URL %q is not an absolute URL", cfg.SiteURL)
	}
	if cfg.ConsumerKey == "" || cfg.ConsumerSecret == "" {
		return nil, errors.New("woocommerce: no consumer key or secret")
	}
	if cfg.APIPath == "" {
		cfg.APIPath = DefaultAPIPath
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 100 {
		cfg.PageSize = 50
	}
	if cfg.TrackingMetaKey == "" {
		cfg.TrackingMetaKey = DefaultTrackingMetaKey
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{cfg: cfg, hc: hc, base: u.String() + "/" + strings.Trim(cfg.APIPath, "/")}, nil
}

func fail(code syncerr.Code, ref string, kv ...string) *syncerr.Error {
	return syncerr.E(code, append([]string{"marketplace", platformName, "order", ref}, kv...)...)
}

// apiError is WooCommerce's (WordPress REST) error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		// Params names each invalid parameter (rest_invalid_param,
		// rest_missing_callback_param), with a message as its value.
		Params map[string]any `json:"params"`
	} `json:"data"`
}

// get fetches path (with query) and decodes the JSON answer into out; it
// returns the response headers for paging.
func (c *Client) get(ctx context.Context, ref, path string, query url.Values, out any) (http.Header, error) {
	return c.do(ctx, http.MethodGet, ref, path, query, nil, out)
}

// do sends one request, with in as its JSON body when not nil, and
// decodes the JSON answer into out; it returns the response headers.
func (c *Client) do(ctx context.Context, method, ref, path string, query url.Values, in, out any) (http.Header, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fail(syncerr.InvalidData, ref, "field", "request").Wrap(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fail(syncerr.InvalidData, ref, "field", "request").Wrap(err)
	}
	req.SetBasicAuth(c.cfg.ConsumerKey, c.cfg.ConsumerSecret)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	kv := []string{"marketplace", platformName, "order", ref}
	resp, err := httpclient.Do(c.hc, req, kv...)
	if err != nil {
		return nil, err
	}
	b, err := httpclient.ReadBody(resp, kv...)
	if err != nil {
		return nil, err
	}
	if err := classify(resp, b, ref); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("woocommerce: decoding %s: %w", path, err))
	}
	return resp.Header, nil
}

// classify turns a failed answer into a classified error, from the status
// and WooCommerce's error code, never from the message.
func classify(resp *http.Response, body []byte, ref string) error {
	if resp.StatusCode < 400 {
		return nil
	}
	var e apiError
	_ = json.Unmarshal(body, &e) // not every failure has a JSON body
	cause := httpclient.StatusError(resp, body)
	switch {
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return fail(syncerr.StoreDisconnected, ref).Wrap(cause)
	case resp.StatusCode == http.StatusNotFound && e.Code == "rest_no_route":
		// The API itself is gone: WooCommerce deactivated, or pretty
		// permalinks off. Only the merchant can fix it.
		return fail(syncerr.StoreDisconnected, ref).Wrap(cause)
	case resp.StatusCode == http.StatusNotFound:
		return fail(syncerr.OrderNotFound, ref).Wrap(cause)
	case resp.StatusCode == http.StatusBadRequest:
		// A refused write: WordPress names the parameters it refused.
		return fail(syncerr.InvalidData, ref, "field", e.field()).Wrap(cause)
	}
	return httpclient.Classify(resp, body, time.Now(), "marketplace", platformName, "order", ref)
}

// wcOrder mirrors the fields of a REST v3 order ordersync reads.
type wcOrder struct {
	ID              int64   `json:"id"`
	Number          string  `json:"number"`
	Status          string  `json:"status"`
	DateCreatedGMT  *string `json:"date_created_gmt"`
	DateModifiedGMT *string `json:"date_modified_gmt"`
	Shipping        struct {
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
	CreatedVia string   `json:"created_via"`
	MetaData   []wcMeta `json:"meta_data"`
	LineItems  []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	} `json:"line_items"`
}

type wcMeta struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// trackingItem is one Shipment Tracking item.
type trackingItem struct {
	TrackingProvider       string `json:"tracking_provider"`
	CustomTrackingProvider string `json:"custom_tracking_provider"`
	TrackingNumber         string `json:"tracking_number"`
	CustomTrackingLink     string `json:"custom_tracking_link"`
	TrackingID             string `json:"tracking_id"`
}

// Order fetches one store order by its numeric id. An unknown order is
// order_not_found.
func (c *Client) Order(ctx context.Context, id string) (order.Event, error) {
	if _, err := strconv.ParseUint(id, 10, 63); err != nil {
		return order.Event{}, fail(syncerr.OrderNotFound, id)
	}
	var o wcOrder
	if _, err := c.get(ctx, id, "/orders/"+id, nil, &o); err != nil {
		return order.Event{}, err
	}
	if want, _ := strconv.ParseInt(id, 10, 64); o.ID != want {
		// Not the order asked for, or no order at all: as a body that is
		// not JSON, the store is taken to be unwell.
		return order.Event{}, fail(syncerr.MarketplaceUnavailable, id).Wrap(fmt.Errorf("woocommerce: /orders/%s answered order %d", id, o.ID))
	}
	return c.event(o)
}

// OrdersUpdatedSince lists store orders modified at or after since, oldest
// first, following WooCommerce's page numbers to the end.
func (c *Client) OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.Event, error) {
	var out []order.Event
	for page := 1; ; page++ {
		q := url.Values{
			// modified_after is exclusive and has a one-second grain: ask
			// from a second earlier and filter here.
			"modified_after": {since.UTC().Add(-time.Second).Format("2006-01-02T15:04:05")},
			"dates_are_gmt":  {"true"},
			"orderby":        {"id"}, // stable while orders change between pages
			"order":          {"asc"},
			"per_page":       {strconv.Itoa(c.cfg.PageSize)},
			"page":           {strconv.Itoa(page)},
		}
		var orders []wcOrder
		h, err := c.get(ctx, "", "/orders", q, &orders)
		if err != nil {
			return nil, err
		}
		for _, o := range orders {
			ev, err := c.event(o)
			if err != nil {
				return nil, err
			}
			if !ev.OccurredAt.Before(since) {
				out = append(out, ev)
			}
		}
		total, err := strconv.Atoi(h.Get("X-WP-TotalPages"))
		if err != nil {
			total = page // no header: stop on a short page
			if len(orders) == c.cfg.PageSize {
				total = page + 1
			}
		}
		if page >= total || len(orders) == 0 {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out, nil
}

// gmt reads WooCommerce's *_gmt dates (no zone, UTC).
func gmt(s *string) (time.Time, bool) {
	if s == nil || *s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02T15:04:05", *s)
	return t, err == nil
}

// event maps a WooCommerce order onto the internal event.
func (c *Client) event(o wcOrder) (order.Event, error) {
	if o.ID <= 0 {
		// JSON, but not an order (a plugin's or a proxy's answer): as a
		// body that is not JSON, the store is taken to be unwell.
		return order.Event{}, fail(syncerr.MarketplaceUnavailable, "").Wrap(fmt.Errorf("woocommerce: an order without an id"))
	}
	id := strconv.FormatInt(o.ID, 10)
	status, err := Status(o.Status)
	if err != nil {
		return order.Event{}, fail(syncerr.InvalidData, id, "field", "status").Wrap(fmt.Errorf("woocommerce: order %s: %w", id, err))
	}
	at, ok := gmt(o.DateModifiedGMT)
	if !ok {
		at, _ = gmt(o.DateCreatedGMT)
	}
	ev := order.Event{
		Connection:    c.cfg.Connection,
		Source:        order.WooCommerce,
		SourceEventID: "order/" + id + "@" + at.Format(time.RFC3339),
		OccurredAt:    at,
		Order:         order.Ref{StoreOrderID: id, StoreOrderName: orderName(o.Number, id)},
		Status:        status,
		SourceStatus:  o.Status,
	}
	for _, li := range o.LineItems {
		ev.Lines = append(ev.Lines, order.Line{SKU: li.SKU, Quantity: li.Quantity,
			StoreLineID: strconv.FormatInt(li.ID, 10), Title: li.Name})
	}
	if s := o.Shipping; s.Address1 != "" || s.City != "" || s.Country != "" {
		ev.ShippingAddress = &order.Address{Name: strings.TrimSpace(s.FirstName + " " + s.LastName), Company: s.Company,
			Line1: s.Address1, Line2: s.Address2, City: s.City, PostalCode: s.Postcode, Region: s.State,
			Country: s.Country, Phone: s.Phone}
	}
	for _, m := range o.MetaData {
		switch m.Key {
		case MarketplaceOrderMetaKey, ImportedOrderMetaKey:
			var v string
			if json.Unmarshal(m.Value, &v) == nil {
				ev.Order.ClaimedMarketplaceOrderID = v // a claim, as in webhooks
			}
		case OrderedLinesMetaKey:
			// A line the merchant cut, or removed: cancelled.
			ev.Refunds = append(ev.Refunds, cuts(o.CreatedVia, m.Value, ev.Lines, at)...)
		case c.cfg.TrackingMetaKey:
			var items []trackingItem
			if json.Unmarshal(m.Value, &items) != nil {
				continue // another plugin's shape: no parcels rather than a failure
			}
			for _, t := range items {
				carrier := t.TrackingProvider
				if carrier == "" {
					carrier = t.CustomTrackingProvider
				}
				ev.Parcels = append(ev.Parcels, order.Parcel{ID: t.TrackingID,
					Tracking: order.Tracking{Number: t.TrackingNumber, Carrier: carrier, URL: t.CustomTrackingLink}})
			}
		}
	}
	return ev, nil
}
