package ingest

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/emf"
	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/webhook"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultDedupTTL       = 72 * time.Hour // BigCommerce retries for ~48 h, Shopify for 4 h
	DefaultRetryAfter     = 10 * time.Second
	DefaultCleanupTimeout = 2 * time.Second
)

// Config tunes a Handler. Zero values take the defaults.
type Config struct {
	// MaxBodyBytes is the largest body accepted (decoded), default 1 MiB.
	MaxBodyBytes int64
	// DedupTTL is how long a delivered event id is remembered, default
	// 72 h: longer than any platform's retry schedule.
	DedupTTL time.Duration
	// Now is the clock, default time.Now.
	Now func() time.Time
	// Tolerance is how far a signed timestamp may be from Now, default
	// 5 minutes (Standard Webhooks, BigCommerce).
	Tolerance time.Duration
	// RetryAfter is sent with every 503, default 10 s.
	RetryAfter time.Duration
	// CleanupTimeout bounds Confirm and Release, which run even when the
	// request's context is done (so a timed-out enqueue still releases its
	// claim), default 2 s.
	CleanupTimeout time.Duration
	// BigCommerceHeaders names the headers BigCommerce signs with. It
	// signs per Standard Webhooks; the header names are not confirmed by
	// its docs, so they are configurable. Default webhook-id,
	// webhook-timestamp, webhook-signature.
	BigCommerceHeaders StandardHeaderNames
}

// StandardHeaderNames names the three headers of a Standard Webhooks
// delivery. Names are matched case-insensitively.
type StandardHeaderNames struct {
	ID, Timestamp, Signature string
}

// Handler is the webhook endpoint, POST /webhooks/{source}/{connection}.
// It is safe for concurrent use.
type Handler struct {
	cfg     Config
	conns   Connections
	secrets Secrets
	dedup   Deduper
	queue   Queue
	log     *slog.Logger
}

// New builds a Handler. A nil log discards. A nil dedup queues every
// delivery, redeliveries too, with no write before the answer: the sync
// deduplicates then, by the claims that name each marketplace call by its
// business identity (a duplicate message finds them made, or held), and by
// the order's newest store word (a duplicate changes nothing).
func New(cfg Config, conns Connections, secrets Secrets, dedup Deduper, q Queue, log *slog.Logger) *Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.DedupTTL <= 0 {
		cfg.DedupTTL = DefaultDedupTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = webhook.DefaultTolerance
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.CleanupTimeout <= 0 {
		cfg.CleanupTimeout = DefaultCleanupTimeout
	}
	bc := &cfg.BigCommerceHeaders
	bc.ID = cmp.Or(bc.ID, webhook.HeaderStandardID)
	bc.Timestamp = cmp.Or(bc.Timestamp, webhook.HeaderStandardTimestamp)
	bc.Signature = cmp.Or(bc.Signature, webhook.HeaderStandardSignature)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, conns: conns, secrets: secrets, dedup: dedup, queue: q, log: log}
}

// Codes the handler answers with, besides webhook's, in the "code" member
// of an error body or the "reason" member of a 200. The words of each are
// in httpapi's catalogue.
const (
	codeMethodNotAllowed  = "method_not_allowed"
	codeUnknownSource     = "unknown_source"
	codeUnknownConnection = "unknown_connection"
	codeBodyTooLarge      = "body_too_large"
	codeInvalidID         = "invalid_id"      // not an order.ValidID
	codeEventTooLarge     = "event_too_large" // what is kept of the order does not fit a queue message
	codeUnsupportedMedia  = "unsupported_media_type"
	codeMalformedBody     = "malformed_body" // isBase64Encoded but not base64
	codeUnavailable       = "unavailable"
	codeSecretUnavailable = "secret_unavailable"
	codeInFlight          = "in_flight"
	codePing              = "ping"
)

// delivery is one request as the handler reads it.
type delivery struct {
	source  order.Platform
	connID  string
	header  header
	body    []byte
	form    bool // form-encoded: only a WooCommerce ping may be
	request string
}

// Handle answers one API Gateway HTTP API (payload v2) request. It never
// returns an error: every outcome is an HTTP answer (see the package's
// README for the table), and a platform retries anything but a 2xx.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	d := delivery{
		source:  order.Platform(req.PathParameters["source"]),
		connID:  req.PathParameters["connection"],
		header:  header(req.Headers),
		request: req.RequestContext.RequestID,
	}
	if req.RequestContext.HTTP.Method != http.MethodPost {
		resp := h.reject(ctx, d, http.StatusMethodNotAllowed, codeMethodNotAllowed, "")
		resp.Headers["Allow"] = http.MethodPost
		return resp, nil
	}
	switch d.source {
	case order.Shopify, order.WooCommerce, order.BigCommerce, order.Standard:
	default:
		d.source = "" // not logged: it is whatever the caller typed
		return h.reject(ctx, d, http.StatusNotFound, codeUnknownSource, ""), nil
	}
	if d.connID == "" {
		return h.reject(ctx, d, http.StatusNotFound, codeUnknownConnection, ""), nil
	}
	if !order.ValidID(d.connID) {
		// Not looked up: no connection can have this id, and one with a
		// '#' would read another connection's keys.
		return h.reject(ctx, d, http.StatusBadRequest, codeInvalidID, fieldConnection), nil
	}

	body, err := httpapi.Body(req, h.cfg.MaxBodyBytes)
	switch {
	case errors.Is(err, httpapi.ErrBodyTooLarge):
		return h.reject(ctx, d, http.StatusRequestEntityTooLarge, codeBodyTooLarge, ""), nil
	case err != nil:
		return h.reject(ctx, d, http.StatusBadRequest, codeMalformedBody, ""), nil
	}
	d.body = body

	switch mediaType(d.header.get("content-type")) {
	case "application/json":
	case "application/x-www-form-urlencoded":
		if d.source != order.WooCommerce {
			return h.reject(ctx, d, http.StatusUnsupportedMediaType, codeUnsupportedMedia, ""), nil
		}
		d.form = true
	default:
		return h.reject(ctx, d, http.StatusUnsupportedMediaType, codeUnsupportedMedia, ""), nil
	}

	conn, err := h.conns.Connection(ctx, d.connID)
	switch {
	case errors.Is(err, order.ErrNotFound):
		return h.reject(ctx, d, http.StatusNotFound, codeUnknownConnection, ""), nil
	case err != nil:
		return h.unavailable(ctx, d, codeUnavailable, "connection lookup failed", err), nil
	case conn.Store.Platform != d.source:
		// Same answer as an unknown id: the URL names no such endpoint.
		return h.reject(ctx, d, http.StatusNotFound, codeUnknownConnection, ""), nil
	}

	if d.form {
		// WooCommerce's creation ping is unsigned and carries nothing.
		if woocommerce.IsWebhookPing(d.header.get("content-type"), d.body) {
			h.log.LogAttrs(ctx, slog.LevelInfo, "webhook ping answered", d.attrs()...)
			return reply(http.StatusOK, `{"status":"ignored","reason":"ping"}`), nil
		}
		return h.reject(ctx, d, http.StatusUnsupportedMediaType, codeUnsupportedMedia, ""), nil
	}

	secrets, err := h.resolveSecrets(ctx, conn)
	if err != nil {
		return h.unavailable(ctx, d, codeUnavailable, "webhook secret lookup failed", err), nil
	}
	if len(secrets) == 0 {
		// Our misconfiguration, not the sender's: ask it to retry while
		// someone fixes the connection, rather than refuse its events.
		return h.unavailable(ctx, d, codeSecretUnavailable, "connection has no usable webhook secret", nil), nil
	}

	e, err := h.read(d, secrets)
	if err != nil {
		var werr *webhook.Error
		errors.As(err, &werr)
		switch {
		case webhook.IsSignatureError(err):
			return h.reject(ctx, d, http.StatusUnauthorized, string(werr.Code), werr.Field), nil
		case webhook.CodeOf(err) == webhook.CodeTopicUnsupported:
			h.log.LogAttrs(ctx, slog.LevelInfo, "webhook ignored", append(d.attrs(), slog.String("code", string(werr.Code)))...)
			return reply(http.StatusOK, `{"status":"ignored","reason":"topic_unsupported"}`), nil
		case werr != nil:
			return h.reject(ctx, d, http.StatusBadRequest, string(werr.Code), werr.Field), nil
		}
		return h.reject(ctx, d, http.StatusBadRequest, string(webhook.CodeMalformedJSON), ""), nil
	}
	if field := invalidID(d, e); field != "" {
		return h.reject(ctx, d, http.StatusBadRequest, codeInvalidID, field), nil
	}
	e.Connection = conn.ID
	if e.OccurredAt.IsZero() {
		e.OccurredAt = h.cfg.Now().UTC()
	}
	// Before the claim: an event the queue can never take must be refused
	// now, not claimed, sent, released and answered 503 until the platform
	// gives up. An EncodedQueue sends this message; another encodes it again,
	// the same way.
	msg, err := order.EncodeMessage(e)
	if err != nil {
		if errors.Is(err, order.ErrEventTooLarge) {
			return h.reject(ctx, d, http.StatusRequestEntityTooLarge, codeEventTooLarge, ""), nil
		}
		// Not expected: an event is plain fields.
		return h.unavailable(ctx, d, codeUnavailable, "event encoding failed", err), nil
	}
	return h.enqueueOnce(ctx, d, e, msg), nil
}

// read verifies a delivery's signature and parses its body.
func (h *Handler) read(d delivery, secrets []string) (order.Event, error) {
	hd := d.header
	switch d.source {
	case order.Shopify:
		if err := shopify.VerifyWebhook(d.body, hd.get(shopify.HeaderHMAC), secrets); err != nil {
			return order.Event{}, err
		}
		topic := hd.get(shopify.HeaderTopic)
		if topic == "" {
			return order.Event{}, &webhook.Error{Code: webhook.CodeMissingHeader, Field: shopify.HeaderTopic}
		}
		// X-Shopify-Event-Id is the documented dedup key; older deliveries
		// lack it, and then the webhook id, stable across retries, stands in.
		id := hd.get(shopify.HeaderEventID)
		if id == "" {
			id = hd.get(shopify.HeaderWebhookID)
		}
		if id == "" {
			return order.Event{}, &webhook.Error{Code: webhook.CodeMissingHeader, Field: shopify.HeaderEventID}
		}
		e, err := shopify.ParseWebhook(topic, id, d.body)
		if err == nil && e.OccurredAt.IsZero() {
			if t, perr := time.Parse(time.RFC3339Nano, hd.get(shopify.HeaderTriggeredAt)); perr == nil {
				e.OccurredAt = t.UTC()
			}
		}
		return e, err

	case order.WooCommerce:
		if err := woocommerce.VerifyWebhook(d.body, hd.get(woocommerce.HeaderSignature), secrets); err != nil {
			return order.Event{}, err
		}
		topic := hd.get(woocommerce.HeaderTopic)
		if topic == "" {
			return order.Event{}, &webhook.Error{Code: webhook.CodeMissingHeader, Field: woocommerce.HeaderTopic}
		}
		deliveryID := hd.get(woocommerce.HeaderDeliveryID)
		if deliveryID == "" {
			return order.Event{}, &webhook.Error{Code: webhook.CodeMissingHeader, Field: woocommerce.HeaderDeliveryID}
		}
		return woocommerce.ParseWebhook(topic, deliveryID, d.body)

	case order.BigCommerce:
		n := h.cfg.BigCommerceHeaders
		sh := webhook.StandardHeaders{ID: hd.get(n.ID), Timestamp: hd.get(n.Timestamp), Signature: hd.get(n.Signature)}
		if err := webhook.VerifyStandard(d.body, sh, secrets, h.cfg.Now(), h.cfg.Tolerance); err != nil {
			return order.Event{}, err
		}
		return bigcommerce.ParseWebhook(d.body)

	case order.Standard:
		sh := webhook.StandardHeaders{
			ID:        hd.get(webhook.HeaderStandardID),
			Timestamp: hd.get(webhook.HeaderStandardTimestamp),
			Signature: hd.get(webhook.HeaderStandardSignature),
		}
		if err := webhook.VerifyStandard(d.body, sh, secrets, h.cfg.Now(), h.cfg.Tolerance); err != nil {
			return order.Event{}, err
		}
		return webhook.ParseStandard(sh.ID, d.body)
	}
	return order.Event{}, &webhook.Error{Code: webhook.CodeTopicUnsupported}
}

// Fields that invalid_id names besides headers: the URL's connection, and
// the event's order ids, in the event's words (each platform has its own
// name and place for them).
const (
	fieldConnection         = "connection"
	fieldStoreOrderID       = "store_order_id"
	fieldMarketplaceOrderID = "marketplace_order_id"
)

// invalidID returns where the first id of e that is not an order.ValidID
// came from, or "" when every id is valid. The order ids come first: a
// WooCommerce event id contains the order id.
func invalidID(d delivery, e order.Event) string {
	switch {
	case e.Order.StoreOrderID != "" && !order.ValidID(e.Order.StoreOrderID):
		return fieldStoreOrderID
	case e.Order.MarketplaceOrderID != "" && !order.ValidID(e.Order.MarketplaceOrderID),
		e.Order.ClaimedMarketplaceOrderID != "" && !order.ValidID(e.Order.ClaimedMarketplaceOrderID):
		return fieldMarketplaceOrderID
	case !order.ValidID(e.SourceEventID):
		switch d.source {
		case order.Shopify:
			if d.header.get(shopify.HeaderEventID) == "" {
				return shopify.HeaderWebhookID
			}
			return shopify.HeaderEventID
		case order.WooCommerce:
			return woocommerce.HeaderDeliveryID
		case order.BigCommerce:
			return "hash"
		}
		return webhook.HeaderStandardID
	}
	return ""
}

// enqueue sends e, whose order.EncodeMessage is body.
func (h *Handler) enqueue(ctx context.Context, e order.Event, body string) error {
	if q, ok := h.queue.(EncodedQueue); ok {
		return q.EnqueueEncoded(ctx, e, body)
	}
	return h.queue.Enqueue(ctx, e)
}

// enqueueOnce claims the event's dedup key, queues the event (body, its
// encoding) and confirms; with no deduper, it queues the event.
func (h *Handler) enqueueOnce(ctx context.Context, d delivery, e order.Event, body string) events.APIGatewayV2HTTPResponse {
	if h.dedup == nil {
		if err := h.enqueue(ctx, e, body); err != nil {
			return h.unavailable(ctx, d, codeUnavailable, "enqueue failed", err)
		}
		return h.accepted(ctx, d, e)
	}
	key := DedupKey(e)
	res, err := h.dedup.Claim(ctx, key, h.cfg.DedupTTL)
	if err != nil {
		return h.unavailable(ctx, d, codeUnavailable, "dedup claim failed", err)
	}
	switch res {
	case Duplicate:
		h.log.LogAttrs(ctx, slog.LevelInfo, "webhook duplicate", append(d.attrs(), eventAttrs(e)...)...)
		return reply(http.StatusOK, `{"status":"duplicate"}`)
	case InFlight:
		// Never 200 here: if the other delivery fails, this one is the retry.
		return h.unavailable(ctx, d, codeInFlight, "webhook in flight", nil)
	case Claimed:
	default:
		return h.unavailable(ctx, d, codeUnavailable, "dedup claim returned an unknown result", nil)
	}

	if err := h.enqueue(ctx, e, body); err != nil {
		cctx, cancel := h.cleanupContext(ctx)
		defer cancel()
		if rerr := h.dedup.Release(cctx, key); rerr != nil {
			// The claim goes stale after the deduper's in-flight window;
			// until then retries get 503 in_flight, never a false 200.
			h.log.LogAttrs(ctx, slog.LevelError, "dedup release failed", append(d.attrs(), slog.Any("err", rerr))...)
		}
		return h.unavailable(ctx, d, codeUnavailable, "enqueue failed", err)
	}

	cctx, cancel := h.cleanupContext(ctx)
	defer cancel()
	if err := h.dedup.Confirm(cctx, key, e); err != nil {
		// The event is queued: answer 202. A redelivery may be queued
		// again once the claim goes stale; the sync is idempotent.
		h.log.LogAttrs(ctx, slog.LevelWarn, "dedup confirm failed", append(d.attrs(), slog.Any("err", err))...)
	}
	return h.accepted(ctx, d, e)
}

// accepted answers 202 for a queued event.
func (h *Handler) accepted(ctx context.Context, d delivery, e order.Event) events.APIGatewayV2HTTPResponse {
	h.log.LogAttrs(ctx, slog.LevelInfo, "webhook accepted", append(append(d.attrs(), eventAttrs(e)...),
		emf.LogAttrs(h.cfg.Now(), "webhook", nil, emf.Count("webhook_accepted", 1))...)...)
	return reply(http.StatusAccepted, `{"status":"accepted"}`)
}

// DedupKey is the key an event is deduplicated on: connection, source, topic
// and the platform's event id. The topic is part of it because Shopify may
// reuse one event id across topics (an update that also fulfils); retries
// of one delivery always repeat it.
func DedupKey(e order.Event) string {
	return e.Connection + "/" + string(e.Source) + "/" + e.Topic + "/" + e.SourceEventID
}

// resolveSecrets returns the connection's webhook secrets that exist,
// logging the refs a rotation left behind.
func (h *Handler) resolveSecrets(ctx context.Context, conn order.Connection) ([]string, error) {
	// A secret a rotation replaced signs only until its grace period ends.
	refs := webhook.ActiveSecretRefs(conn, h.cfg.Now())
	return httpapi.ResolveSecrets(ctx, h.secrets, refs, func(ref string) {
		h.log.LogAttrs(ctx, slog.LevelWarn, "webhook secret ref not found",
			slog.String("connection", conn.ID), slog.String("secret_ref", ref))
	})
}

func (h *Handler) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), h.cfg.CleanupTimeout)
}

// reject answers a 4xx. It logs the code and the field at fault, never the
// body.
func (h *Handler) reject(ctx context.Context, d delivery, status int, code, field string) events.APIGatewayV2HTTPResponse {
	attrs := append(d.attrs(), slog.Int("status", status), slog.String("code", code))
	if field != "" {
		attrs = append(attrs, slog.String("field", field))
	}
	attrs = append(attrs, emf.LogAttrs(h.cfg.Now(), "webhook", []emf.Dimension{{Name: "reason", Value: code}}, emf.Count("webhook_rejected", 1))...)
	h.log.LogAttrs(ctx, slog.LevelWarn, "webhook rejected", attrs...)
	return h.problem(status, code, field).Response()
}

// unavailable answers 503 with Retry-After, logging err (ours, not the
// sender's) once, here.
func (h *Handler) unavailable(ctx context.Context, d delivery, code, msg string, err error) events.APIGatewayV2HTTPResponse {
	attrs := append(d.attrs(), slog.Int("status", http.StatusServiceUnavailable), slog.String("code", code))
	level := slog.LevelInfo // in flight: expected under concurrent redelivery
	if err != nil || code != codeInFlight {
		level = slog.LevelError
	}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	h.log.LogAttrs(ctx, level, msg, attrs...)
	resp := h.problem(http.StatusServiceUnavailable, code, "").Response()
	resp.Headers["Retry-After"] = strconv.Itoa(int((h.cfg.RetryAfter + time.Second - 1) / time.Second))
	return resp
}

func (d delivery) attrs() []slog.Attr {
	a := make([]slog.Attr, 0, 8)
	if d.source != "" {
		a = append(a, slog.String("source", string(d.source)))
	}
	if order.ValidID(d.connID) { // nothing a caller typed that could garble a log line
		a = append(a, slog.String("connection", d.connID))
	}
	if d.request != "" {
		a = append(a, slog.String("request_id", d.request))
	}
	return a
}

// eventAttrs are what may be logged about an accepted event: identifiers
// and the status, nothing personal (no address, no lines).
func eventAttrs(e order.Event) []slog.Attr {
	return []slog.Attr{
		slog.String("topic", e.Topic),
		slog.String("source_event_id", e.SourceEventID),
		slog.String("store_order_id", e.Order.StoreOrderID),
		slog.String("status", string(e.Status)),
	}
}

func reply(status int, body string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       body,
	}
}

// problem is the refusal with code, and the field at fault if one is.
func (h *Handler) problem(status int, code, field string) httpapi.Problem {
	return httpapi.Problem{Status: status, Code: code, Field: field, Args: map[string]string{
		"max_bytes":   strconv.FormatInt(h.cfg.MaxBodyBytes, 10),
		"queue_bytes": strconv.Itoa(order.MaxMessageBodyBytes),
		"max":         strconv.Itoa(order.MaxIDBytes),
	}}
}

// mediaType returns the lower-cased media type of a Content-Type value,
// without parameters (charset).
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, "application/json"):
		return "application/json"
	case strings.EqualFold(mt, "application/x-www-form-urlencoded"):
		return "application/x-www-form-urlencoded"
	}
	return strings.ToLower(mt)
}

// header reads API Gateway's header map case-insensitively, values
// trimmed.
type header map[string]string

func (h header) get(name string) string { return strings.TrimSpace(httpapi.Header(h, name)) }
