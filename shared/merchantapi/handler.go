package merchantapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
)

// The routes, as the paths of API Gateway route keys (template.yaml's
// ApiFunction events). Paths are relative to the HTTP API.
const (
	RouteErrors      = "/connections/{connection}/errors"
	RouteOrder       = "/connections/{connection}/orders/{marketplaceOrderId}"
	RouteResync      = "/connections/{connection}/resync"
	RouteOrderResync = "/connections/{connection}/orders/{marketplaceOrderId}/resync"
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
	// MaxBodyBytes is the largest re-sync body accepted (decoded).
	MaxBodyBytes = 64 << 10
	// maxOrderIDBytes bounds a marketplace order id, maxConnectionIDBytes
	// a connection id (far below DynamoDB's key limit).
	maxOrderIDBytes      = 128
	maxConnectionIDBytes = 255
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
}

// New builds a Handler. A nil log discards.
func New(cfg Config, store Store, secrets Secrets, q Queue, log *slog.Logger) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, store: store, secrets: secrets, queue: q, log: log}
}

// route is one route's method and handler, called once the request is
// authenticated for the connection.
type route struct {
	method string
	serve  func(h *Handler, ctx context.Context, c *call) events.APIGatewayV2HTTPResponse
}

var routes = map[string]route{
	RouteErrors:      {http.MethodGet, (*Handler).listErrors},
	RouteOrder:       {http.MethodGet, (*Handler).showOrder},
	RouteResync:      {http.MethodPost, (*Handler).resyncMany},
	RouteOrderResync: {http.MethodPost, (*Handler).resyncOne},
}

// Routes lists the API's route paths, for wiring and for the test that
// holds template.yaml to them.
func Routes() []string {
	return []string{RouteErrors, RouteOrder, RouteResync, RouteOrderResync}
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
	rt, ok := routes[path]
	if !ok {
		return c.fail(errUnknownRoute)
	}
	c.route = path
	if c.req.RequestContext.HTTP.Method != rt.method {
		resp := c.fail(errMethodNotAllowed)
		resp.Headers["Allow"] = rt.method
		return resp
	}
	// No key, no lookup: an anonymous caller learns nothing, not even
	// whether the connection exists.
	token, ok := bearer(headerValue(c.req.Headers, "authorization"))
	if !ok {
		resp := c.fail(errUnauthenticated)
		resp.Headers["WWW-Authenticate"] = `Bearer realm="ordersync"`
		return resp
	}
	if c.connID == "" || len(c.connID) > maxConnectionIDBytes {
		return c.fail(errUnknownConnection) // longer than any id: not worth a lookup DynamoDB refuses
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

// apiKeys returns the connection's API keys that exist. A ref that is not
// found is skipped (a rotation left it behind); any other error is
// returned.
func (h *Handler) apiKeys(ctx context.Context, conn order.Connection) ([]string, error) {
	out := make([]string, 0, len(conn.APIKeyRefs))
	for _, ref := range conn.APIKeyRefs {
		s, err := h.secrets.Secret(ctx, ref)
		switch {
		case errors.Is(err, order.ErrNotFound):
			h.log.LogAttrs(ctx, slog.LevelWarn, "api key ref not found",
				slog.String("connection", conn.ID), slog.String("secret_ref", ref))
		case err != nil:
			return nil, err
		case s != "":
			out = append(out, s)
		}
	}
	return out, nil
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

// headerValue reads API Gateway's header map case-insensitively. HTTP APIs
// lower-case names already, so the exact lookup nearly always hits.
func headerValue(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// problem is a refusal: a status, and a code with the words a caller reads.
// None quotes the request.
type problem struct {
	status        int
	code, message string
}

// The refusals, kept together so their words can be reviewed in one place.
var (
	errUnknownRoute      = problem{http.StatusNotFound, "unknown_route", "no such route"}
	errMethodNotAllowed  = problem{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route (see the Allow header)"}
	errUnauthenticated   = problem{http.StatusUnauthorized, "unauthorized", "send the connection's API key as Authorization: Bearer <key>"}
	errWrongKey          = problem{http.StatusUnauthorized, "unauthorized", "this API key is not valid for this connection"}
	errAPIDisabled       = problem{http.StatusForbidden, "api_disabled", "the merchant API is not enabled for this connection: it has no API key; ask ordersync support for one"}
	errUnknownConnection = problem{http.StatusNotFound, "unknown_connection", "unknown connection"}
	errOrderNotFound     = problem{http.StatusNotFound, "order_not_found", "ordersync holds no order with this marketplace order id on this connection"}
	errNoOrderFound      = problem{http.StatusNotFound, "order_not_found", "ordersync holds none of these marketplace order ids on this connection; nothing was queued"}
	errLimit             = problem{http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("limit must be a whole number from 1 to %d", MaxLimit)}
	errDays              = problem{http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("days must be a whole number from 1 to %d (errors are kept %d days)", MaxDays, MaxDays)}
	errBodyTooLarge      = problem{http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)}
	errMalformedBody     = problem{http.StatusBadRequest, "malformed_body", `body must be a JSON object {"orders": ["<marketplace order id>", ...]} and nothing else`}
	errNoOrders          = problem{http.StatusBadRequest, "invalid_orders", "orders must name at least one marketplace order id"}
	errTooManyOrders     = problem{http.StatusBadRequest, "invalid_orders", fmt.Sprintf("orders may name at most %d different marketplace order ids", MaxOrders)}
	errInvalidOrderID    = problem{http.StatusBadRequest, "invalid_orders", fmt.Sprintf("every marketplace order id must be 1 to %d characters, without spaces, control characters, '#' or '/'", maxOrderIDBytes)}
	errUnavailable       = problem{http.StatusServiceUnavailable, "unavailable", "temporarily unavailable; retry later (a re-sync may be repeated safely)"}
)

// fail answers p.
func (c *call) fail(p problem) events.APIGatewayV2HTTPResponse {
	c.code = p.code
	type apiError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	return reply(p.status, struct {
		Error apiError `json:"error"`
	}{apiError{p.code, p.message}})
}

// unavailable answers 503 with Retry-After; err (ours, not the caller's)
// is logged once, on the request's line.
func (c *call) unavailable(err error) events.APIGatewayV2HTTPResponse {
	c.err = err
	resp := c.fail(errUnavailable)
	resp.Headers["Retry-After"] = strconv.Itoa(int(retryAfter / time.Second))
	return resp
}

// reply answers v as JSON. Answers name a merchant's orders: no cache
// keeps them.
func reply(status int, v any) events.APIGatewayV2HTTPResponse {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<key>" reads better than "\u003ckey\u003e"; nothing here is HTML
	body := ""
	if err := enc.Encode(v); err != nil { // the views are plain fields: never
		status, body = http.StatusInternalServerError, `{"error":{"code":"internal","message":"internal error"}}`
	} else {
		body = strings.TrimSuffix(b.String(), "\n")
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       body,
	}
}

// logCall writes the request's one log line: what was asked and how it
// ended, never a header or the body.
func (h *Handler) logCall(ctx context.Context, c *call, status int) {
	attrs := make([]slog.Attr, 0, 8+len(c.attrs))
	if c.route != "" {
		attrs = append(attrs, slog.String("route", c.req.RequestContext.HTTP.Method+" "+c.route))
	}
	if c.connID != "" && len(c.connID) <= maxConnectionIDBytes {
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
	switch {
	case status >= 500:
		level, msg = slog.LevelError, "merchant api unavailable"
		if c.err != nil {
			attrs = append(attrs, slog.Any("err", c.err))
		}
	case status >= 400:
		level, msg = slog.LevelWarn, "merchant api refused"
	}
	h.log.LogAttrs(ctx, level, msg, attrs...)
}
