package merchantapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/webhook"
)

// The connection routes: the merchant's self-service of a connection.
// RouteConnections is authenticated by the provisioning key, the others by
// the connection's own API key.
const (
	RouteConnections      = "/connections"
	RouteConnection       = "/connections/{connection}"
	RouteConnectionPause  = "/connections/{connection}/pause"
	RouteConnectionResume = "/connections/{connection}/resume"
	RouteWebhookSecret    = "/connections/{connection}/webhook-secret"
	RouteCredentials      = "/connections/{connection}/credentials/{side}"
)

// Limits and policy of the connection routes.
const (
	// WebhookSecretGrace is how long a rotated webhook secret still signs.
	WebhookSecretGrace = 24 * time.Hour
	// FailingWindow, FailingRun: a connection is "failing" when, within
	// the last FailingWindow, the store's error list holds an auth failure
	// or at least FailingRun failures.
	FailingWindow = time.Hour
	FailingRun    = 3
	// MaxCredentialBytes bounds a platform credential.
	MaxCredentialBytes = 2048
	// maxNameRunes and maxEmailBytes bound a merchant's name and email.
	maxNameRunes  = 200
	maxEmailBytes = 254
	maxURLBytes   = 2048
	maxAccount    = 255
)

// Connections configures the connection routes (Handler.WithConnections).
type Connections struct {
	// Secrets stores the secrets the routes make: credentials, webhook
	// secrets and API keys (SSM SecureStrings on AWS).
	Secrets SecretWriter
	// Refresh asks the refresh to check a paused connection again.
	Refresh Refreshes
	// ProvisioningKeyRef names the secret that authenticates POST
	// /connections. Empty, or naming no secret, turns that route off.
	ProvisioningKeyRef string
	// RecheckAfter is how long after a new credential the refresh checks
	// it: longer than the functions' secret cache (secrets.Parameters.TTL),
	// so that every function reads the new one. Zero checks at once.
	RecheckAfter time.Duration
}

// WithConnections turns on the connection routes' writes. Without it they
// answer 503.
func (h *Handler) WithConnections(c Connections) *Handler {
	h.conns = c
	return h
}

// The connection routes' refusals.
var (
	errMalformedConnBody  = httpapi.Problem{Status: http.StatusBadRequest, Code: "malformed_body", Case: "connection"}
	errProvisioningOff    = httpapi.Problem{Status: http.StatusForbidden, Code: "provisioning_disabled"}
	errConnectionExists   = httpapi.Problem{Status: http.StatusConflict, Code: "connection_exists"}
	errConnectionChanged  = httpapi.Problem{Status: http.StatusConflict, Code: "connection_changed"}
	errInvalidSide        = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "side", Field: "side"}
	errCredentialMismatch = httpapi.Problem{Status: http.StatusBadRequest, Code: "credential_mismatch"}
)

// fieldProblem is a 400 about one JSON field: code invalid_field with the
// case naming what the field must be (text, email, url, new_id, missing).
func fieldProblem(kase, field string, args map[string]string) *httpapi.Problem {
	return &httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_field", Case: kase, Field: field, Args: args}
}

// unsupported is platform_unsupported for the platform named at field.
func unsupported(field string) *httpapi.Problem {
	return &httpapi.Problem{Status: http.StatusBadRequest, Code: "platform_unsupported", Field: field}
}

// badCredential refuses a credential that has not the form of platform's.
func badCredential(field string, p order.Platform) *httpapi.Problem {
	kase := "form"
	if p == order.Standard {
		kase = "none"
	}
	return &httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_credential", Case: kase, Field: field,
		Args: map[string]string{"platform": p.DisplayName()}}
}

// The platforms each side has an integration with.
var (
	storePlatforms       = map[order.Platform]bool{order.Shopify: true, order.WooCommerce: true, order.BigCommerce: true, order.Standard: true}
	marketplacePlatforms = map[order.Platform]bool{order.BackMarket: true, order.Mirakl: true, order.Amazon: true}
)

// needsBaseURL are the platforms whose API has no address ordersync knows.
var needsBaseURL = map[order.Platform]bool{order.WooCommerce: true, order.Mirakl: true}

// credentialForms are the shapes of each platform's credential: a Shopify
// Admin API token; WooCommerce's "consumer_key:consumer_secret"; the
// others' opaque tokens, which must not look like either of those.
var credentialForms = map[order.Platform]*regexp.Regexp{
	order.Shopify:     regexp.MustCompile(`^shp(at|ca|pa|ss)_[A-Za-z0-9]{16,}$`),
	order.WooCommerce: regexp.MustCompile(`^ck_[A-Za-z0-9]{16,}:cs_[A-Za-z0-9]{16,}$`),
	order.BigCommerce: regexp.MustCompile(`^[A-Za-z0-9]{16,}$`),
	order.BackMarket:  regexp.MustCompile(`^[A-Za-z0-9+/=_.-]{16,}$`),
	order.Mirakl:      regexp.MustCompile(`^[A-Za-z0-9-]{16,}$`),
	// An LWA refresh token, as Seller Central's authorisation gives it.
	order.Amazon: regexp.MustCompile(`^Atzr\|[A-Za-z0-9+/=_.|-]{16,}$`),
}

// validCredential reports whether v has the form of p's credentials.
func validCredential(p order.Platform, v string) bool {
	re, ok := credentialForms[p]
	if !ok || len(v) > MaxCredentialBytes {
		return false
	}
	if p != order.Shopify && p != order.WooCommerce && (strings.HasPrefix(v, "shp") || strings.HasPrefix(v, "ck_")) {
		return false // a Shopify or WooCommerce credential given for another platform
	}
	return re.MatchString(v)
}

// newIDPattern is the form of an id a new connection may take: its
// secrets are SSM parameters named after it, which allow only these.
var newIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// endpointIn is one side of a connection in a request.
type endpointIn struct {
	Platform order.Platform `json:"platform"`
	BaseURL  string         `json:"base_url"`
	Account  string         `json:"account"`
	// SplitParcels, CancelReasonCode, RefundReasonCode: see
	// order.Endpoint (the marketplace side only).
	SplitParcels     bool   `json:"split_parcels,omitempty"`
	CancelReasonCode string `json:"cancel_reason_code,omitempty"`
	RefundReasonCode string `json:"refund_reason_code,omitempty"`
}

// createIn is the body of POST /connections.
type createIn struct {
	ID            string                    `json:"id"`
	MerchantName  string                    `json:"merchant_name"`
	MerchantEmail string                    `json:"merchant_email"`
	Store         *endpointIn               `json:"store"`
	Marketplace   *endpointIn               `json:"marketplace"`
	ImportOrders  bool                      `json:"import_orders"`
	Credentials   map[order.Platform]string `json:"credentials"`
}

// patchIn is the body of PATCH /connections/{connection}: each field
// present is changed.
type patchIn struct {
	MerchantName  *string `json:"merchant_name"`
	MerchantEmail *string `json:"merchant_email"`
	ImportOrders  *bool   `json:"import_orders"`
	Store         *struct {
		BaseURL *string `json:"base_url"`
	} `json:"store"`
	Marketplace *struct {
		BaseURL *string `json:"base_url"`
	} `json:"marketplace"`
}

// endpointView is one side of a connection as the API shows it: never a
// credential, nor the name of its secret.
type endpointView struct {
	Platform      order.Platform `json:"platform"`
	BaseURL       string         `json:"base_url,omitempty"`
	Account       string         `json:"account,omitempty"`
	SplitParcels  bool           `json:"split_parcels,omitempty"`
	CancelReason  string         `json:"cancel_reason_code,omitempty"`
	RefundReason  string         `json:"refund_reason_code,omitempty"`
	CredentialSet bool           `json:"credential_set"`
}

// healthView is the connection's health, the "Connection issues" banner.
type healthView struct {
	// Status is active, paused or failing.
	Status string `json:"status"`
	// Reason: why it is paused (merchant, auth_expired,
	// store_disconnected), or the newest failure's code when failing.
	Reason string `json:"reason,omitempty"`
	// Since: when it was paused, or the oldest recent failure.
	Since time.Time `json:"since,omitzero"`
	// RecentFailures counts the failures of the last FailingWindow.
	RecentFailures int `json:"recent_failures,omitempty"`
}

// connectionView is a connection as the API shows it.
type connectionView struct {
	ID            string       `json:"id"`
	MerchantName  string       `json:"merchant_name"`
	MerchantEmail string       `json:"merchant_email"`
	Store         endpointView `json:"store"`
	Marketplace   endpointView `json:"marketplace"`
	ImportOrders  bool         `json:"import_orders"`
	Health        healthView   `json:"health"`
}

func viewOf(c order.Connection, h healthView) connectionView {
	ep := func(e order.Endpoint) endpointView {
		return endpointView{Platform: e.Platform, BaseURL: e.BaseURL, Account: e.Account, SplitParcels: e.SplitParcels,
			CancelReason: e.CancelReasonCode, RefundReason: e.RefundReasonCode, CredentialSet: e.CredentialRef != ""}
	}
	return connectionView{ID: c.ID, MerchantName: c.MerchantName, MerchantEmail: c.MerchantEmail,
		Store: ep(c.Store), Marketplace: ep(c.Marketplace), ImportOrders: c.ImportOrders, Health: h}
}

// health says how conn is: paused (and why, since when), failing (an auth
// failure, or a run of FailingRun failures, in the store's error list of
// the last FailingWindow), or active.
func (h *Handler) health(ctx context.Context, conn order.Connection) (healthView, error) {
	if conn.Paused {
		return healthView{Status: "paused", Reason: cmpOr(conn.PausedCode, string(syncerr.AuthExpired)), Since: conn.PausedAt.UTC()}, nil
	}
	recs, err := h.store.RecentErrors(ctx, conn.ID, h.cfg.Now().UTC().Add(-FailingWindow), MaxLimit)
	if err != nil {
		return healthView{}, err
	}
	auth := false
	for _, r := range recs {
		auth = auth || r.Kind == string(syncerr.Auth)
	}
	if !auth && len(recs) < FailingRun {
		return healthView{Status: "active", RecentFailures: len(recs)}, nil
	}
	return healthView{Status: "failing", Reason: recs[0].Code, Since: recs[len(recs)-1].At.UTC(), RecentFailures: len(recs)}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// answerConnection answers status with the connection as stored now and
// its health, with extra fields merged at the top level.
func (h *Handler) answerConnection(ctx context.Context, c *call, status int, id string, extra map[string]any) events.APIGatewayV2HTTPResponse {
	conn, err := h.store.Connection(ctx, id)
	if err != nil {
		return c.unavailable(fmt.Errorf("connection read: %w", err))
	}
	hv, err := h.health(ctx, conn)
	if err != nil {
		return c.unavailable(fmt.Errorf("connection health: %w", err))
	}
	c.attrs = append(c.attrs, slog.String("health", hv.Status))
	out := map[string]any{"connection": viewOf(conn, hv)}
	for k, v := range extra {
		out[k] = v
	}
	return reply(status, out)
}

// showConnection answers GET /connections/{connection}.
func (h *Handler) showConnection(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	return h.answerConnection(ctx, c, http.StatusOK, c.conn.ID, nil)
}

// connection serves GET and PATCH of /connections/{connection}.
func (h *Handler) connection(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	if c.req.RequestContext.HTTP.Method == http.MethodPatch {
		return h.patchConnection(ctx, c)
	}
	return h.showConnection(ctx, c)
}

// provisioned authenticates token as the provisioning key, then serves rt.
func (h *Handler) provisioned(ctx context.Context, c *call, token string, rt route) events.APIGatewayV2HTTPResponse {
	if h.conns.ProvisioningKeyRef == "" {
		return c.fail(errProvisioningOff)
	}
	keys, err := httpapi.ResolveSecrets(ctx, h.secrets, []string{h.conns.ProvisioningKeyRef}, nil)
	if err != nil {
		return c.unavailable(fmt.Errorf("provisioning key lookup: %w", err))
	}
	if len(keys) == 0 {
		return c.fail(errProvisioningOff)
	}
	if !matches(token, keys) {
		resp := c.fail(errWrongKey)
		resp.Headers["WWW-Authenticate"] = `Bearer realm="ordersync", error="invalid_token"`
		return resp
	}
	return rt.serve(h, ctx, c)
}

// decodeStrict reads body as exactly one JSON object into v: UTF-8, no
// unknown field, nothing after it.
func decodeStrict(body []byte, v any) *httpapi.Problem {
	if !utf8.Valid(body) {
		return &errMalformedConnBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &errMalformedConnBody
	}
	if _, err := dec.Token(); err != io.EOF {
		return &errMalformedConnBody
	}
	return nil
}

// checkText checks a required line of text of at most max runes.
func checkText(v, field string, max int) *httpapi.Problem {
	n := utf8.RuneCountInString(v)
	if strings.TrimSpace(v) == "" || n > max {
		return fieldProblem("text", field, maxArg(max))
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fieldProblem("text", field, maxArg(max))
		}
	}
	return nil
}

// checkEmail checks a bare address, as name@example.com.
func checkEmail(v, field string) *httpapi.Problem {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || len(v) > maxEmailBytes || strings.ContainsAny(v, "\r\n\"") {
		return fieldProblem("email", field, nil)
	}
	return nil
}

// checkURL checks a platform's base URL: absolute https (http only for a
// loopback host, for local runs), a host, no user, query or fragment.
func checkURL(v, field string) *httpapi.Problem {
	bad := fieldProblem("url", field, nil)
	if len(v) > maxURLBytes {
		return bad
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.ContainsAny(v, " \t\r\n") {
		return bad
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return bad
}

// checkEndpoint checks one side of a new connection.
func checkEndpoint(e *endpointIn, side string, known map[order.Platform]bool) *httpapi.Problem {
	if e == nil {
		return fieldProblem("missing", side, nil)
	}
	if !known[e.Platform] {
		return unsupported(side + ".platform")
	}
	if e.BaseURL != "" || needsBaseURL[e.Platform] {
		if p := checkURL(e.BaseURL, side+".base_url"); p != nil {
			return p
		}
	}
	if e.Account != "" && (len(e.Account) > maxAccount || !order.ValidID(e.Account)) {
		return fieldProblem("text", side+".account", maxArg(maxAccount))
	}
	return nil
}

// secretRef names a new secret of connection id: kind and a random part,
// so that a failed creation never overwrites another's secrets.
func secretRef(id, kind string) string {
	return "connections/" + id + "/" + kind + "-" + randomHex(8)
}

// ownsRef reports whether ref is one the API made for connection id.
func ownsRef(id, ref string) bool { return strings.HasPrefix(ref, "connections/"+id+"/") }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// createConnection answers POST /connections: a new connection, its
// secrets stored first and the connection item last, so that a failure
// leaves no connection naming a missing secret. The answer carries the
// API key and the webhook secret, once.
func (h *Handler) createConnection(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	body, p := requestBody(c.req)
	if p != nil {
		return c.fail(*p)
	}
	var in createIn
	if p := decodeStrict(body, &in); p != nil {
		return c.fail(*p)
	}
	if p := checkCreate(&in); p != nil {
		return c.fail(*p)
	}
	if h.conns.Secrets == nil {
		return c.unavailable(errors.New("connection routes: no secret writer"))
	}
	id := in.ID
	if id == "" {
		id = "conn-" + randomHex(8)
	}
	c.connID = id
	switch _, err := h.store.Connection(ctx, id); {
	case err == nil:
		return c.fail(errConnectionExists)
	case !errors.Is(err, order.ErrNotFound):
		return c.unavailable(fmt.Errorf("connection lookup: %w", err))
	}
	conn := order.Connection{ID: id, MerchantName: in.MerchantName, MerchantEmail: in.MerchantEmail, ImportOrders: in.ImportOrders,
		Store: order.Endpoint{Platform: in.Store.Platform, BaseURL: in.Store.BaseURL, Account: in.Store.Account},
		Marketplace: order.Endpoint{Platform: in.Marketplace.Platform, BaseURL: in.Marketplace.BaseURL, Account: in.Marketplace.Account,
			SplitParcels: in.Marketplace.SplitParcels, CancelReasonCode: strings.TrimSpace(in.Marketplace.CancelReasonCode),
			RefundReasonCode: strings.TrimSpace(in.Marketplace.RefundReasonCode)}}
	apiKey, whsec := "osk_"+randomHex(24), "whsec_"+randomHex(24)
	writes := []struct {
		ref, value string
		set        func(ref string)
	}{
		{secretRef(id, "api"), apiKey, func(ref string) { conn.APIKeyRefs = []string{ref} }},
		{secretRef(id, "webhook"), whsec, func(ref string) { conn.WebhookSecretRefs = []string{ref} }},
	}
	if v, ok := in.Credentials[conn.Store.Platform]; ok {
		writes = append(writes, struct {
			ref, value string
			set        func(ref string)
		}{secretRef(id, "store"), v, func(ref string) { conn.Store.CredentialRef = ref }})
	}
	if v, ok := in.Credentials[conn.Marketplace.Platform]; ok {
		writes = append(writes, struct {
			ref, value string
			set        func(ref string)
		}{secretRef(id, "marketplace"), v, func(ref string) { conn.Marketplace.CredentialRef = ref }})
	}
	for _, w := range writes {
		if err := h.conns.Secrets.PutParameter(ctx, w.ref, w.value); err != nil {
			return c.unavailable(fmt.Errorf("secret write: %w", err)) // names the ref, never the value
		}
		w.set(w.ref)
	}
	switch err := h.store.CreateConnection(ctx, conn); {
	case errors.Is(err, order.ErrConflict):
		// Created meanwhile; the secrets written name no connection.
		return c.fail(errConnectionExists)
	case err != nil:
		return c.unavailable(fmt.Errorf("connection create: %w", err))
	}
	return h.answerConnection(ctx, c, http.StatusCreated, id, map[string]any{"api_key": apiKey, "webhook_secret": whsec})
}

// checkCreate checks a POST /connections body.
func checkCreate(in *createIn) *httpapi.Problem {
	if in.ID != "" && !newIDPattern.MatchString(in.ID) {
		return fieldProblem("new_id", "id", nil)
	}
	if p := checkText(in.MerchantName, "merchant_name", maxNameRunes); p != nil {
		return p
	}
	if p := checkEmail(in.MerchantEmail, "merchant_email"); p != nil {
		return p
	}
	if p := checkEndpoint(in.Store, "store", storePlatforms); p != nil {
		return p
	}
	if p := checkEndpoint(in.Marketplace, "marketplace", marketplacePlatforms); p != nil {
		return p
	}
	for platform, v := range in.Credentials {
		field := "credentials." + string(platform)
		if platform != in.Store.Platform && platform != in.Marketplace.Platform {
			p := errCredentialMismatch
			p.Field = field
			return &p
		}
		if !validCredential(platform, v) {
			return badCredential(field, platform)
		}
	}
	return nil
}

// patchConnection answers PATCH /connections/{connection}.
func (h *Handler) patchConnection(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	body, p := requestBody(c.req)
	if p != nil {
		return c.fail(*p)
	}
	var in patchIn
	if p := decodeStrict(body, &in); p != nil {
		return c.fail(*p)
	}
	apply := func(conn *order.Connection) *httpapi.Problem {
		if v := in.MerchantName; v != nil {
			if p := checkText(*v, "merchant_name", maxNameRunes); p != nil {
				return p
			}
			conn.MerchantName = *v
		}
		if v := in.MerchantEmail; v != nil {
			if p := checkEmail(*v, "merchant_email"); p != nil {
				return p
			}
			conn.MerchantEmail = *v
		}
		if v := in.ImportOrders; v != nil {
			conn.ImportOrders = *v
		}
		for _, s := range []struct {
			name string
			in   *struct {
				BaseURL *string `json:"base_url"`
			}
			ep *order.Endpoint
		}{{"store", in.Store, &conn.Store}, {"marketplace", in.Marketplace, &conn.Marketplace}} {
			if s.in == nil || s.in.BaseURL == nil {
				continue
			}
			v := *s.in.BaseURL
			if v != "" || needsBaseURL[s.ep.Platform] {
				if p := checkURL(v, s.name+".base_url"); p != nil {
					return p
				}
			}
			s.ep.BaseURL = v
		}
		return nil
	}
	if resp, ok := h.update(ctx, c, apply); !ok {
		return resp
	}
	return h.answerConnection(ctx, c, http.StatusOK, c.conn.ID, nil)
}

// update applies change to the connection and saves it, reading it again
// once if a pause or resume came in meanwhile. ok is false when resp
// answers (a refusal or a failure).
func (h *Handler) update(ctx context.Context, c *call, change func(*order.Connection) *httpapi.Problem) (resp events.APIGatewayV2HTTPResponse, ok bool) {
	conn := c.conn
	for try := 0; ; try++ {
		if p := change(&conn); p != nil {
			return c.fail(*p), false
		}
		err := h.store.SaveConnection(ctx, conn)
		switch {
		case err == nil:
			return resp, true
		case errors.Is(err, order.ErrConflict) && try == 0:
			if conn, err = h.store.Connection(ctx, c.conn.ID); err != nil {
				return c.unavailable(fmt.Errorf("connection read: %w", err)), false
			}
		case errors.Is(err, order.ErrConflict):
			return c.fail(errConnectionChanged), false
		default:
			return c.unavailable(fmt.Errorf("connection save: %w", err)), false
		}
	}
}

// pauseConnection answers POST /connections/{connection}/pause: syncs wait
// until the merchant resumes it. A connection paused already stays paused
// for its reason.
func (h *Handler) pauseConnection(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	if p := h.noBody(c); p != nil {
		return c.fail(*p)
	}
	if !c.conn.Paused {
		if err := h.store.PauseConnection(ctx, c.conn.ID, order.PausedByMerchant); err != nil {
			return c.unavailable(fmt.Errorf("pause: %w", err))
		}
	}
	return h.answerConnection(ctx, c, http.StatusOK, c.conn.ID, nil)
}

// noBody refuses a body on a route that takes none (beyond "{}").
func (h *Handler) noBody(c *call) *httpapi.Problem {
	body, p := requestBody(c.req)
	if p != nil {
		return p
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var in struct{}
	return decodeStrict(body, &in)
}

// resumeConnection answers POST /connections/{connection}/resume. A
// merchant's pause ends at once; a pause for refused credentials ends
// once the refresh finds them taken again. Either way the refresh then
// re-syncs the orders the pause held (refresh.TopicResumed), as on a
// reconnect: the API only asks it to run now.
func (h *Handler) resumeConnection(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	if p := h.noBody(c); p != nil {
		return c.fail(*p)
	}
	if !c.conn.Paused {
		return h.answerConnection(ctx, c, http.StatusOK, c.conn.ID, nil)
	}
	if c.conn.PausedCode == order.PausedByMerchant {
		if err := h.store.ResumeConnection(ctx, c.conn.ID); err != nil {
			return c.unavailable(fmt.Errorf("resume: %w", err))
		}
	}
	return h.recheck(ctx, c, 0)
}

// recheck asks the refresh to run the connection after delay (checking its
// credentials, resuming it, re-syncing held orders) and answers 202.
func (h *Handler) recheck(ctx context.Context, c *call, delay time.Duration) events.APIGatewayV2HTTPResponse {
	if h.conns.Refresh == nil {
		return c.unavailable(errors.New("connection routes: no refresh queue"))
	}
	at := h.cfg.Now().UTC()
	if err := h.conns.Refresh.RefreshSoon(ctx, refresh.Job{Connection: c.conn.ID, At: at}, delay); err != nil {
		// A merchant's pause has ended: the hourly refresh re-syncs its
		// orders anyway; repeating the request is harmless.
		return c.unavailable(fmt.Errorf("refresh job: %w", err))
	}
	c.attrs = append(c.attrs, slog.Bool("refresh_queued", true))
	return h.answerConnection(ctx, c, http.StatusAccepted, c.conn.ID, map[string]any{"resync_at": at.Add(delay).Truncate(time.Second)})
}

// rotateWebhookSecret answers POST /connections/{connection}/webhook-secret:
// a new secret, answered once; the ones it replaces sign for
// WebhookSecretGrace more (old_secret_valid_until). Refs whose grace ended
// are dropped from the connection.
func (h *Handler) rotateWebhookSecret(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	if p := h.noBody(c); p != nil {
		return c.fail(*p)
	}
	if h.conns.Secrets == nil {
		return c.unavailable(errors.New("connection routes: no secret writer"))
	}
	now := h.cfg.Now().UTC()
	until := now.Add(WebhookSecretGrace).Truncate(time.Second)
	ref, secret := secretRef(c.conn.ID, "webhook"), "whsec_"+randomHex(24)
	if err := h.conns.Secrets.PutParameter(ctx, ref, secret); err != nil {
		return c.unavailable(fmt.Errorf("secret write: %w", err))
	}
	resp, ok := h.update(ctx, c, func(conn *order.Connection) *httpapi.Problem {
		active := webhook.ActiveSecretRefs(*conn, now)
		expiry := map[string]time.Time{}
		for _, r := range active {
			if t, ok := conn.WebhookSecretExpiry[r]; ok && t.Before(until) {
				expiry[r] = t
			} else {
				expiry[r] = until
			}
		}
		conn.WebhookSecretRefs, conn.WebhookSecretExpiry = append(active, ref), expiry
		return nil
	})
	if !ok {
		return resp
	}
	return h.answerConnection(ctx, c, http.StatusOK, c.conn.ID, map[string]any{"webhook_secret": secret, "old_secret_valid_until": until})
}

// putCredentials answers PUT /connections/{connection}/credentials/{side}
// with {"credential": "..."}: stored as the side's secret (never in the
// store, never answered, never logged). A connection paused because that
// side refused its credential is then checked again by the refresh,
// which resumes it and re-syncs its held orders.
func (h *Handler) putCredentials(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	side := c.req.PathParameters["side"]
	var ep order.Endpoint
	var pausedFor string
	switch side {
	case "store":
		ep, pausedFor = c.conn.Store, string(syncerr.StoreDisconnected)
	case "marketplace":
		ep, pausedFor = c.conn.Marketplace, string(syncerr.AuthExpired)
	default:
		return c.fail(errInvalidSide)
	}
	body, p := requestBody(c.req)
	if p != nil {
		return c.fail(*p)
	}
	var in struct {
		Credential string `json:"credential"`
	}
	if p := decodeStrict(body, &in); p != nil {
		return c.fail(*p)
	}
	if !validCredential(ep.Platform, in.Credential) {
		return c.fail(*badCredential("credential", ep.Platform))
	}
	if h.conns.Secrets == nil {
		return c.unavailable(errors.New("connection routes: no secret writer"))
	}
	ref := ep.CredentialRef
	if !ownsRef(c.conn.ID, ref) {
		// An operator's ref, outside the API's path: a new one, named
		// on the connection once written.
		ref = secretRef(c.conn.ID, side)
	}
	if err := h.conns.Secrets.PutParameter(ctx, ref, in.Credential); err != nil {
		return c.unavailable(fmt.Errorf("credential write: %w", err))
	}
	c.attrs = append(c.attrs, slog.String("side", side))
	if ref != ep.CredentialRef {
		resp, ok := h.update(ctx, c, func(conn *order.Connection) *httpapi.Problem {
			if side == "store" {
				conn.Store.CredentialRef = ref
			} else {
				conn.Marketplace.CredentialRef = ref
			}
			return nil
		})
		if !ok {
			return resp
		}
	}
	if c.conn.Paused && cmpOr(c.conn.PausedCode, string(syncerr.AuthExpired)) == pausedFor {
		return h.recheck(ctx, c, h.conns.RecheckAfter)
	}
	return h.answerConnection(ctx, c, http.StatusOK, c.conn.ID, nil)
}

// allows reports whether method is one of methods ("GET" or "GET, PATCH").
func allows(methods, method string) bool {
	for m := range strings.SplitSeq(methods, ", ") {
		if m == method {
			return true
		}
	}
	return false
}
