// Package shopify is ordersync's connector to a merchant's Shopify store
// through the Admin GraphQL API: it fetches and lists orders as events,
// imports marketplace orders, and records shipments (fulfillments) a
// marketplace reports.
//
// It never retries: every failure comes back as a *syncerr.Error whose
// code tells the sync layer what to do (see sync.Storefront).
package shopify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// DefaultAPIVersion is the Admin API version used when Config leaves it
// empty. Shopify supports each stable version for at least a year.
const DefaultAPIVersion = "2026-07"

// MarketplaceOrderAttribute is the order custom attribute ("additional
// details", REST note_attributes) in which an imported order shows the
// marketplace order id it came from, for the merchant's staff. A buyer can
// write custom attributes too (cart attributes), so ordersync never links
// an order by it: an order naming a marketplace order only there is a
// claim (order.Ref.ClaimedMarketplaceOrderID).
const MarketplaceOrderAttribute = "ordersync_marketplace_order_id"

// SourceName is the source_name CreateOrder gives the orders it imports,
// with the marketplace order id as their source_identifier: both are set
// only through the Admin API, never by a buyer, so an order that carries
// them names its marketplace order.
const SourceName = "ordersync"

// platformName is how merchants read the platform's name in messages.
const platformName = "Shopify"

// Config says how to reach one Shopify store.
type Config struct {
	// ShopURL is the shop's base URL, e.g. https://example.myshopify.com.
	ShopURL string
	// APIVersion is the Admin API version; DefaultAPIVersion when empty.
	APIVersion string
	// AccessToken is the Admin API access token, resolved from the
	// connection's credential reference. It is sent only as the
	// X-Shopify-Access-Token header and never appears in errors.
	AccessToken string
	// Connection is the ordersync connection id stamped on events.
	Connection string
	// PageSize is how many orders one page of OrdersUpdatedSince asks for
	// (default 5: an order with its lines and fulfillments costs about 160
	// points, and one query may cost at most 1000).
	PageSize int
	// NotifyCustomer asks Shopify to email the customer when Fulfill records
	// a shipment. Off by default: the marketplace already tells its buyer.
	NotifyCustomer bool
	// ImportLookupQuery builds the order search that finds an order already
	// imported for a marketplace order id. The default searches
	// source_identifier, which CreateOrder sets (UNCONFIRMED that the orders
	// search supports this filter on every API version, hence configurable).
	// Whatever the search returns, only an order whose custom attribute or
	// source identifier holds the id counts as a match.
	ImportLookupQuery func(marketplaceOrderID string) string
	// ImportFinancialStatus is the financial status of imported orders
	// (default PAID: the marketplace collected the payment).
	ImportFinancialStatus string
	// ImportInventoryBehaviour is orderCreate's inventoryBehaviour (default
	// DECREMENT_IGNORING_POLICY: the marketplace already sold the item).
	ImportInventoryBehaviour string
}

// Client talks to one Shopify store. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	hc       *http.Client
}

var _ syncer.Storefront = (*Client)(nil)

// New returns a client for the store cfg describes, sending its requests
// through hc (the tuned client; http.DefaultClient when nil).
func New(cfg Config, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.ShopURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("shopify: shop URL %q is not an absolute URL", cfg.ShopURL)
	}
	if cfg.AccessToken == "" {
		return nil, errors.New("shopify: no access token")
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 5
	}
	if cfg.ImportLookupQuery == nil {
		cfg.ImportLookupQuery = func(id string) string { return "source_identifier:" + quoteSearch(id) }
	}
	if cfg.ImportFinancialStatus == "" {
		cfg.ImportFinancialStatus = "PAID"
	}
	if cfg.ImportInventoryBehaviour == "" {
		cfg.ImportInventoryBehaviour = "DECREMENT_IGNORING_POLICY"
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{cfg: cfg, hc: hc,
		endpoint: u.String() + "/admin/api/" + url.PathEscape(cfg.APIVersion) + "/graphql.json"}, nil
}

// quoteSearch quotes a value for Shopify's search syntax.
func quoteSearch(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// gqlError is one entry of a GraphQL response's top-level errors.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// queryCost is a response's extensions.cost.
type queryCost struct {
	RequestedQueryCost float64  `json:"requestedQueryCost"`
	ActualQueryCost    *float64 `json:"actualQueryCost"`
	ThrottleStatus     struct {
		MaximumAvailable   float64 `json:"maximumAvailable"`
		CurrentlyAvailable float64 `json:"currentlyAvailable"`
		RestoreRate        float64 `json:"restoreRate"`
	} `json:"throttleStatus"`
}

type gqlResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions struct {
		Cost *queryCost `json:"cost"`
	} `json:"extensions"`
}

// do posts one GraphQL document and decodes its data into out. ref names
// the order concerned, for the merchant's message.
func (c *Client) do(ctx context.Context, ref, query string, vars map[string]any, out any) error {
	payload, err := json.Marshal(struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables,omitempty"`
	}{query, vars})
	if err != nil {
		return fail(syncerr.InvalidData, ref, "field", "request").Wrap(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
	if err != nil {
		return fail(syncerr.InvalidData, ref, "field", "request").Wrap(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.cfg.AccessToken)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("shopify: %w", err))
	}
	body, err := httpclient.ReadBody(resp, "marketplace", platformName, "order", ref)
	if err != nil {
		return err
	}
	if err := classifyStatus(resp, body, ref); err != nil {
		return err
	}
	var r gqlResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("shopify: decoding response: %w", err))
	}
	if len(r.Errors) > 0 {
		return classifyGraphQL(r, ref)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("shopify: decoding data: %w", err))
	}
	return nil
}

// fail builds a classified error naming the platform and the order.
func fail(code syncerr.Code, ref string, kv ...string) *syncerr.Error {
	return syncerr.E(code, append([]string{"marketplace", platformName, "order", ref}, kv...)...)
}

// classifyStatus turns a non-2xx answer into a classified error.
func classifyStatus(resp *http.Response, body []byte, ref string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	cause := fmt.Errorf("shopify: %w", httpclient.StatusError(resp, body))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		d, _ := httpclient.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return fail(syncerr.RateLimited, ref).After(d).Wrap(cause)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden,
		resp.StatusCode == http.StatusPaymentRequired, resp.StatusCode == http.StatusLocked:
		// 402: the shop is frozen (unpaid); 423: locked. Either way only
		// the merchant can restore access.
		return fail(syncerr.StoreDisconnected, ref).Wrap(cause)
	case resp.StatusCode >= 500:
		return fail(syncerr.MarketplaceUnavailable, ref).Wrap(cause)
	case resp.StatusCode == http.StatusNotFound:
		// The GraphQL endpoint itself is missing: a retired API version or
		// a shop that no longer exists. Retrying cannot help.
		return fail(syncerr.StoreDisconnected, ref).Wrap(cause)
	default:
		return fail(syncerr.InvalidData, ref, "field", "request").Wrap(cause)
	}
}

// classifyGraphQL turns a response with top-level errors into a classified
// error, acting on extensions.code, never on the message.
func classifyGraphQL(r gqlResponse, ref string) error {
	// Codes only: messages may quote the order's customer, and errors are
	// logged.
	codes := make([]string, 0, len(r.Errors))
	for _, e := range r.Errors {
		codes = append(codes, cmp.Or(e.Extensions.Code, "error"))
	}
	cause := fmt.Errorf("shopify: graphql: %s", strings.Join(codes, ", "))
	for _, e := range r.Errors {
		switch e.Extensions.Code {
		case "THROTTLED":
			return fail(syncerr.RateLimited, ref).After(throttleDelay(r.Extensions.Cost)).Wrap(cause)
		case "ACCESS_DENIED":
			// A missing scope: the merchant must re-grant the app's access.
			return fail(syncerr.StoreDisconnected, ref).Wrap(cause)
		case "INVALID_VARIABLE", "argumentLiteralsIncompatible", "BAD_REQUEST":
			return fail(syncerr.InvalidData, ref, "field", "request").Wrap(cause)
		}
	}
	return fail(syncerr.MarketplaceUnavailable, ref).Wrap(cause)
}

// throttleDelay is how long until the cost bucket holds the requested cost
// again: (requested - available) / restoreRate, rounded up to the
// millisecond; one second when the answer carries no usable figures
// (including a delay over httpclient.MaxRetryAfter, which would overflow).
func throttleDelay(c *queryCost) time.Duration {
	if c == nil || c.ThrottleStatus.RestoreRate <= 0 {
		return time.Second
	}
	need := c.RequestedQueryCost - c.ThrottleStatus.CurrentlyAvailable
	if need <= 0 {
		return time.Second
	}
	ms := math.Ceil(need / c.ThrottleStatus.RestoreRate * 1000)
	if !(ms <= float64(httpclient.MaxRetryAfter.Milliseconds())) {
		return time.Second
	}
	return time.Duration(ms) * time.Millisecond
}

// orderGID turns a store order id (numeric, as webhooks and events carry
// it, or already global) into a GraphQL global id; ok is false when id
// cannot name a Shopify order.
func orderGID(id string) (gid string, ok bool) {
	if strings.HasPrefix(id, "gid://shopify/Order/") {
		return id, isDigits(strings.TrimPrefix(id, "gid://shopify/Order/"))
	}
	return "gid://shopify/Order/" + id, isDigits(id)
}

// orderID is an order's numeric id, from its legacyResourceId or else its
// global id; ok is false when neither holds one.
func orderID(legacyResourceID, gid string) (id string, ok bool) {
	if legacyResourceID != "" {
		return legacyResourceID, isDigits(legacyResourceID)
	}
	id = legacyID(gid)
	return id, isDigits(id)
}

// legacyID is the numeric tail of a global id.
func legacyID(gid string) string {
	return gid[strings.LastIndexByte(gid, '/')+1:]
}

func isDigits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// platform is the order.Platform this package connects.
const platform = order.Shopify
