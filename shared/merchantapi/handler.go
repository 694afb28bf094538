package merchantapi

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/emf"
	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
)

// The routes, as the paths of API Gateway route keys (template.yaml's
// ApiFunction events). Paths are relative to the HTTP API.
const (
	RouteErrors      = "/connections/{connection}/errors"
	RouteOrder       = "/connections/{connection}/orders/{marketplaceOrderId}"
	RouteResync      = "/connections/{connection}/resync"
	RouteOrderResync = "/connections/{connection}/orders/{marketplaceOrderId}/resync"
	RouteOrderLink   = "/connections/{connection}/orders/{marketplaceOrderId}/link"
	RouteReports     = "/connections/{connection}/reports"
	// Orders by sync state, and bulk re-sync jobs (orders.go, jobs.go).
	RouteOrders = "/connections/{connection}/orders"
	RouteJobs   = "/connections/{connection}/jobs"
	RouteJob    = "/connections/{connection}/jobs/{job}"

	// RouteOrderFix fills in what the store did not send (tracking, a
	// shipping address) and re-sends the order.
	RouteOrderFix = "/connections/{connection}/orders/{marketplaceOrderId}/fix"
)

// The SKU alias routes (aliases.go). {sku} is a store SKU, URL-encoded.
const (
	RouteAliases = "/connections/{connection}/aliases"
	RouteAlias   = "/connections/{connection}/aliases/{sku}"
)

// Limits of the API.
const (
	// DefaultLimit and MaxLimit bound how many errors one listing returns.
	DefaultLimit = 20
	MaxLimit     = 100
	// MaxDays is how far back errors can be listed, and the default: the
	// store keeps them 7 days.
	MaxDays = 7
	// MaxOrders is how many orders one re-sync request may name, once
	// duplicates are dropped.
	MaxOrders = 100
	// DefaultReports and MaxReports bound how many drift reports one
	// listing returns: a day of hourly runs, and the week the store keeps.
	DefaultReports = 24
	MaxReports     = 7 * 24
	// MaxBodyBytes is the largest re-sync body accepted (decoded).
	MaxBodyBytes = 64 << 10
	// parallel bounds the store reads and enqueues of one re-sync.
	parallel = 8
	// retryAfter is sent with every 503.
	retryAfter = 5 * time.Second
)

// Config tunes a Handler. Zero values take the defaults.
type Config struct {
	// Now is the clock, default time.Now.
	Now func() time.Time
}

// Handler is the merchant API. It is safe for concurrent use.
type Handler struct {
	cfg     Config
	store   Store
	secrets Secrets
	queue   Queue
	log     *slog.Logger
	// jobs is the job worker's queue (WithJobs).
	jobs JobQueue
	// conns configures the connection routes (connections.go).
	conns Connections
	// routes is routeTable(), built once.
	routes map[string]route
}

// New builds a Handler. A nil log discards.
func New(cfg Config, store Store, secrets Secrets, q Queue, log *slog.Logger) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, store: store, secrets: secrets, queue: q, log: log, routes: routeTable()}
}

// route is one route's method and handler, called once the request is
// authenticated for the connection. A route with several methods lists
// them as an Allow header does ("PUT, DELETE").
type route struct {
	// method is the route's method, or its methods joined by ", " (as the
	// Allow header lists them).
	method string
	serve  func(h *Handler, ctx context.Context, c *call) events.APIGatewayV2HTTPResponse
}

// routeTable maps each route's path to its route. It is built by New,
// not held in a package variable: a variable's initializer would link
// every handler into every binary that imports this package (the store's
// adapters do), where the linker now drops them (issue 14).
func routeTable() map[string]route {
	return map[string]route{
		RouteErrors:      {http.MethodGet, (*Handler).listErrors},
		RouteOrder:       {http.MethodGet, (*Handler).showOrder},
		RouteResync:      {http.MethodPost, (*Handler).resyncMany},
		RouteOrderResync: {http.MethodPost, (*Handler).resyncOne},
		RouteOrderLink:   {http.MethodPost, (*Handler).linkOrder},
		RouteReports:     {http.MethodGet, (*Handler).listReports},
		// Orders by sync state, and bulk re-sync jobs.
		RouteOrders: {http.MethodGet, (*Handler).listOrders},
		RouteJobs:   {http.MethodGet + ", " + http.MethodPost, (*Handler).jobsRoute},
		RouteJob:    {http.MethodGet, (*Handler).showJob},
		// The connection routes (connections.go).
		RouteConnections:      {http.MethodPost, (*Handler).createConnection},
		RouteConnection:       {http.MethodGet + ", " + http.MethodPatch, (*Handler).connection},
		RouteConnectionPause:  {http.MethodPost, (*Handler).pauseConnection},
		RouteConnectionResume: {http.MethodPost, (*Handler).resumeConnection},
		RouteWebhookSecret:    {http.MethodPost, (*Handler).rotateWebhookSecret},
		RouteCredentials:      {http.MethodPut, (*Handler).putCredentials},
		// Fill in and re-send (fix.go).
		RouteOrderFix: {http.MethodPost, (*Handler).fixOrder},
		// An order's timeline (timeline.go).
		RouteOrderTimeline: {http.MethodGet, (*Handler).showTimeline},

		// SKU aliases (aliases.go): one path, two methods.
		RouteAliases: {http.MethodGet, (*Handler).listAliases},
		RouteAlias:   {http.MethodPut + ", " + http.MethodDelete, (*Handler).alias},
	}
}

// Routes lists the API's route paths, for wiring and for the test that
// holds template.yaml to them.
func Routes() []string {
	return slices.Sorted(maps.Keys(routeTable()))
}

// call is one request as the handler works on it, and what its log line
// says about it.
type call struct {
	req    events.APIGatewayV2HTTPRequest
	route  string
	connID string
	conn   order.Connection
	code   string // the error code answered, if any
	err    error  // ordersync's own failure behind a 503
	attrs  []slog.Attr
}

// Handle answers one API Gateway HTTP API (payload v2) request. It never
// returns an error: every outcome is a JSON answer (see README.md).
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	c := &call{req: req, connID: req.PathParameters["connection"]}
	resp := h.serve(ctx, c)
	h.logCall(ctx, c, resp.StatusCode)
	return resp, nil
}

// serve routes, authenticates and answers. Checks run in this order; the
// first that fails answers.
func (h *Handler) serve(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	_, path, _ := strings.Cut(c.req.RouteKey, " ")
	rt, ok := h.routes[path]
	if !ok {
		return c.fail(errUnknownRoute)
	}
	c.route = path
	if !allows(rt.method, c.req.RequestContext.HTTP.Method) {
		resp := c.fail(errMethodNotAllowed)
		resp.Headers["Allow"] = rt.method
		return resp
	}
	// No key, no lookup: an anonymous caller learns nothing, not even
	// whether the connection exists.
	token, ok := bearer(httpapi.Header(c.req.Headers, "authorization"))
	if !ok {
		resp := c.fail(errUnauthenticated)
		resp.Headers["WWW-Authenticate"] = `Bearer realm="ordersync"`
		return resp
	}
	if path == RouteConnections {
		// No connection yet: the provisioning key opens it.
		return h.provisioned(ctx, c, token, rt)
	}
	if c.connID == "" {
		return c.fail(errUnknownConnection)
	}
	if !order.ValidID(c.connID) {
		// Not looked up: no connection has this id, and one with a '#'
		// would read another connection's keys.
		return c.fail(errInvalidConnectionID)
	}
	conn, err := h.store.Connection(ctx, c.connID)
	switch {
	case errors.Is(err, order.ErrNotFound):
		return c.fail(errUnknownConnection)
	case err != nil:
		return c.unavailable(fmt.Errorf("connection lookup: %w", err))
	}
	keys, err := h.apiKeys(ctx, conn)
	if err != nil {
		return c.unavailable(fmt.Errorf("api key lookup: %w", err))
	}
	if len(keys) == 0 {
		return c.fail(errAPIDisabled)
	}
	if !matches(token, keys) {
		resp := c.fail(errWrongKey)
		resp.Headers["WWW-Authenticate"] = `Bearer realm="ordersync", error="invalid_token"`
		return resp
	}
	c.conn = conn
	return rt.serve(h, ctx, c)
}

// apiKeys returns the connection's API keys that exist, logging the refs
// a rotation left behind.
func (h *Handler) apiKeys(ctx context.Context, conn order.Connection) ([]string, error) {
	return httpapi.ResolveSecrets(ctx, h.secrets, conn.APIKeyRefs, func(ref string) {
		h.log.LogAttrs(ctx, slog.LevelWarn, "api key ref not found",
			slog.String("connection", conn.ID), slog.String("secret_ref", ref))
	})
}

// matches reports whether token is one of keys, in time that depends on
// neither (digests of equal length, every key compared).
func matches(token string, keys []string) bool {
	t := sha256.Sum256([]byte(token))
	ok := 0
	for _, k := range keys {
		d := sha256.Sum256([]byte(k))
		ok |= subtle.ConstantTimeCompare(t[:], d[:])
	}
	return ok == 1
}

// bearer returns the token of an "Authorization: Bearer <token>" value
// (the scheme is case-insensitive).
func bearer(v string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// The refusals, kept together. Their words are in httpapi's catalogue,
// with the webhooks'; none quotes the request.
var (
	errUnknownRoute      = httpapi.Problem{Status: http.StatusNotFound, Code: "unknown_route"}
	errMethodNotAllowed  = httpapi.Problem{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed"}
	errUnauthenticated   = httpapi.Problem{Status: http.StatusUnauthorized, Code: "unauthorized"}
	errWrongKey          = httpapi.Problem{Status: http.StatusUnauthorized, Code: "unauthorized", Case: "wrong_key"}
	errAPIDisabled       = httpapi.Problem{Status: http.StatusForbidden, Code: "api_disabled"}
	errUnknownConnection = httpapi.Problem{Status: http.StatusNotFound, Code: "unknown_connection"}
	errOrderNotFound     = httpapi.Problem{Status: http.StatusNotFound, Code: "order_not_found"}
	errNoOrderFound      = httpapi.Problem{Status: http.StatusNotFound, Code: "order_not_found", Case: "resync"}
	errLimit             = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "limit", Args: maxArg(MaxLimit)}
	errDays              = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "days", Args: maxArg(MaxDays)}
	errReportLimit       = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "limit", Args: maxArg(MaxReports)}
	errBodyTooLarge      = httpapi.Problem{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Args: map[string]string{"max_bytes": strconv.Itoa(MaxBodyBytes)}}
	errMalformedBody     = httpapi.Problem{Status: http.StatusBadRequest, Code: "malformed_body", Case: "resync"}
	errNoOrders          = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_orders", Case: "none"}
	errTooManyOrders     = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_orders", Case: "too_many", Args: maxArg(MaxOrders)}
	errInvalidOrderID    = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_orders", Case: "invalid_id", Args: maxArg(order.MaxIDBytes)}
	// The path's ids, named by their route parameter.
	errInvalidConnectionID = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_id", Field: "connection", Args: maxArg(order.MaxIDBytes)}
	errInvalidPathOrderID  = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_id", Field: "marketplaceOrderId", Args: maxArg(order.MaxIDBytes)}
	errMalformedLink       = httpapi.Problem{Status: http.StatusBadRequest, Code: "malformed_body", Case: "link"}
	errInvalidStoreID      = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "store_order_id", Args: maxArg(order.MaxIDBytes)}
	errLinkedElsewhere     = httpapi.Problem{Status: http.StatusConflict, Code: "link_conflict"}
	errUnavailable         = httpapi.Problem{Status: http.StatusServiceUnavailable, Code: "unavailable", Case: "merchant_api"}
	errInternal            = httpapi.Problem{Status: http.StatusInternalServerError, Code: "internal"}
)

// maxArg fills a message's {max}.
func maxArg(n int) map[string]string { return map[string]string{"max": strconv.Itoa(n)} }

// fail answers p.
func (c *call) fail(p httpapi.Problem) events.APIGatewayV2HTTPResponse {
	c.code = p.Code
	return noStore(p.Response())
}

// unavailable answers 503 with Retry-After; err (ours, not the caller's)
// is logged once, on the request's line.
func (c *call) unavailable(err error) events.APIGatewayV2HTTPResponse {
	c.err = err
	resp := c.fail(errUnavailable)
	resp.Headers["Retry-After"] = strconv.Itoa(int(retryAfter / time.Second))
	return resp
}

// reply answers v as JSON.
func reply(status int, v any) events.APIGatewayV2HTTPResponse {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<key>" reads better than "\u003ckey\u003e"; nothing here is HTML
	if err := enc.Encode(v); err != nil {
		// The views are plain fields: never.
		return noStore(errInternal.Response())
	}
	return noStore(events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       strings.TrimSuffix(b.String(), "\n"),
	})
}

// noStore marks an answer not to be cached: answers name a merchant's
// orders.
func noStore(resp events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse {
	resp.Headers["Cache-Control"] = "no-store"
	return resp
}

// logCall writes the request's one log line: what was asked and how it
// ended, never a header or the body.
func (h *Handler) logCall(ctx context.Context, c *call, status int) {
	attrs := make([]slog.Attr, 0, 8+len(c.attrs))
	if c.route != "" {
		attrs = append(attrs, slog.String("route", c.req.RequestContext.HTTP.Method+" "+c.route))
	}
	if order.ValidID(c.connID) { // nothing a caller typed that could garble the line
		attrs = append(attrs, slog.String("connection", c.connID))
	}
	if id := c.req.RequestContext.RequestID; id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	attrs = append(attrs, slog.Int("status", status))
	if c.code != "" {
		attrs = append(attrs, slog.String("code", c.code))
	}
	attrs = append(attrs, c.attrs...)
	level, msg := slog.LevelInfo, "merchant api answered"
	metric, dims := "api_answered", []emf.Dimension(nil)
	switch {
	case status >= 500:
		level, msg, metric = slog.LevelError, "merchant api unavailable", "api_unavailable"
		if c.err != nil {
			attrs = append(attrs, slog.Any("err", c.err))
		}
	case status >= 400:
		level, msg, metric = slog.LevelWarn, "merchant api refused", "api_refused"
		dims = []emf.Dimension{{Name: "error_code", Value: cmp.Or(c.code, strconv.Itoa(status))}}
	}
	attrs = append(attrs, emf.LogAttrs(h.cfg.Now(), "api", dims, emf.Count(metric, 1))...)
	h.log.LogAttrs(ctx, level, msg, attrs...)
}
