// Package backmarket is the Back Market connector: it implements
// sync.Marketplace over Back Market's legacy /ws orders API.
//
// Back Market acts per order line: every accept and every ship is one
// POST /ws/orders/{order_id} naming the line's SKU (listing) and its new
// numeric state. There is no cancel call: merchants cancel in the back
// office (cancel_unsupported). Facts the reference marks UNCONFIRMED (the
// date filter's layout and time zone, the page size, a WAF answering 403
// when rate limiting, the User-Agent format) are Options.
package backmarket

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/pace"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Name is how Back Market is named in the words a merchant reads.
const Name = "Back Market"

// RateLimit is Back Market's rate limit on one account, as reported
// (UNCONFIRMED, shared/reference/platforms.md): about 200 requests in 10
// seconds across the API, with 429 (or 403 from its WAF, see
// Options.Forbidden403IsRateLimit) past it. The sync paces each
// connection by it (shared/pace).
var RateLimit = pace.Limit{Requests: 200, Per: 10 * time.Second}

// Line states as Back Market numbers them, for the update calls.
const (
	lineAccepted = 2
	lineShipped  = 3
	lineRefused  = 4

	lineRefundedBefore = 5 // refunded before shipping
	lineRefundedAfter  = 6 // refunded after shipping
)

// Options configure a Client. Zero fields take the defaults in parentheses.
type Options struct {
	// BaseURL is the API's origin, e.g. https://www.backmarket.fr (EU),
	// https://www.backmarket.com (US), https://ppr.backmarket.fr (preprod).
	// A trailing /ws is accepted. Required.
	BaseURL string
	// Token is the back-office API key, sent as-is after "Basic ".
	Token string
	// AcceptLanguage is the Accept-Language header ("fr-fr").
	AcceptLanguage string
	// UserAgent is the User-Agent header ("ordersync"). Back Market asks
	// integrations to identify themselves, reportedly as
	// "BM-<company>-<integration>;<email>" (UNCONFIRMED).
	UserAgent string
	// TrackingURLRequired makes Ship refuse a parcel without a tracking URL
	// (shipping_data_missing) instead of sending none. Off by default: the
	// reference has tracking_url optional.
	TrackingURLRequired bool
	// CarrierRequired makes Ship refuse a parcel without a carrier
	// ("shipper"). Off by default, as above.
	CarrierRequired bool
	// DateLayout is how the date_modification filter is written
	// ("2006-01-02 15:04:05", as community clients send it; UNCONFIRMED).
	DateLayout string
	// DateLocation is the time zone of the date filter and of dates
	// written without one (UTC; UNCONFIRMED).
	DateLocation *time.Location
	// PageSize, when positive, is sent as page-size; zero lets Back Market
	// choose.
	PageSize int
	// MaxPages bounds one listing, against a server that never stops
	// answering "next" (1000).
	MaxPages int
	// Forbidden403IsRateLimit classifies 403 as rate_limited rather than
	// auth_expired: Back Market's WAF reportedly answers 403 when called
	// too often (UNCONFIRMED). Off by default.
	Forbidden403IsRateLimit bool
	// RefuseAcceptedLines lets CancelLines refuse (new_state 4) a line
	// already accepted, not only one awaiting acceptance. The reference
	// shows the refusal only as the alternative to accepting; whether Back
	// Market takes it after acceptance is UNCONFIRMED, so it is off by
	// default, and a line cancelled in the store after acceptance is
	// explained as cancel_unsupported (cancel it in the back office).
	RefuseAcceptedLines bool
	// Now is the clock Retry-After dates are read against (time.Now).
	Now func() time.Time
}

// Client talks to one Back Market merchant account. It is safe for
// concurrent use; build it once per cold start.
type Client struct {
	hc   *http.Client
	base string
	opts Options
}

// New returns a client that sends its requests with hc (see
// httpclient.New).
func New(hc *http.Client, opts Options) *Client {
	if opts.AcceptLanguage == "" {
		opts.AcceptLanguage = "fr-fr"
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "ordersync"
	}
	if opts.DateLayout == "" {
		opts.DateLayout = "2006-01-02 15:04:05"
	}
	if opts.DateLocation == nil {
		opts.DateLocation = time.UTC
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 1000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	base = strings.TrimSuffix(base, "/ws")
	return &Client{hc: hc, base: base, opts: opts}
}

// Capabilities says what Back Market's API allows: accept and ship per
// line, accept before ship, no cancel of the order, a line refused while
// it awaits acceptance (after it too where Options allow), a tracking URL
// with a shipment.
func (c *Client) Capabilities() order.Capabilities {
	return order.Capabilities{
		Cancel:              false,
		CancelLines:         true,
		CancelAcceptedLines: c.opts.RefuseAcceptedLines,
		AcceptRequired:      true,
		TrackingURL:         true, // tracking_url, optional
		TrackingURLRequired: c.opts.TrackingURLRequired,
		CarrierRequired:     c.opts.CarrierRequired,
		PerLine:             true,
	}
}

// Order fetches one order (GET /ws/orders/{id}). An order in a state the
// lifecycle does not know returns invalid_data.
func (c *Client) Order(ctx context.Context, id string) (order.MarketplaceOrder, error) {
	var w wireOrder
	if err := c.call(ctx, http.MethodGet, "/ws/orders/"+url.PathEscape(id), nil, nil, id, &w); err != nil {
		return order.MarketplaceOrder{}, err
	}
	if got := w.OrderID.String(); got != id {
		// Not the order asked for, or no order at all: as a body that is
		// not JSON. Acting on it would update another order.
		return order.MarketplaceOrder{}, syncerr.E(syncerr.MarketplaceUnavailable, "marketplace", Name, "order", id).
			Wrap(fmt.Errorf("back market: order %s answered as order %q", id, got))
	}
	o, err := w.domain(c.opts.DateLocation)
	if err != nil {
		if e, ok := syncerr.As(err); ok {
			return o, e.Wrap(fmt.Errorf("back market order %s", id))
		}
		return o, err
	}
	return o, nil
}

// OrdersUpdatedSince lists orders modified at or after since, following
// the pages to the end (GET /ws/orders?date_modification=…&page=…), oldest
// first. Orders in a state the lifecycle does not know are listed with
// StatusUnknown (Order reports why).
func (c *Client) OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.MarketplaceOrder, error) {
	byID := map[string]order.MarketplaceOrder{}
	page := 1
	for n := 0; ; n++ {
		if n >= c.opts.MaxPages {
			return nil, syncerr.E(syncerr.MarketplaceUnavailable, "marketplace", Name).
				Wrap(fmt.Errorf("back market: listing orders: more than %d pages", c.opts.MaxPages))
		}
		q := url.Values{"page": {strconv.Itoa(page)}}
		if !since.IsZero() {
			q.Set("date_modification", since.In(c.opts.DateLocation).Format(c.opts.DateLayout))
		}
		if c.opts.PageSize > 0 {
			q.Set("page-size", strconv.Itoa(c.opts.PageSize))
		}
		var p wirePage
		if err := c.call(ctx, http.MethodGet, "/ws/orders", q, nil, "", &p); err != nil {
			return nil, err
		}
		for _, w := range p.Results {
			o, _ := w.domain(c.opts.DateLocation) // unknown states stay StatusUnknown
			if o.ID == "" {
				continue // names no order: nothing can be done with it
			}
			if !o.UpdatedAt.IsZero() && o.UpdatedAt.Before(since) {
				continue // the filter's exact meaning is unconfirmed: enforce "at or after"
			}
			byID[o.ID] = o
		}
		if p.Next == nil || *p.Next == "" || len(p.Results) == 0 {
			break
		}
		page = nextPage(*p.Next, page)
	}
	out := make([]order.MarketplaceOrder, 0, len(byID))
	for _, o := range byID {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b order.MarketplaceOrder) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(len(a.ID), len(b.ID)), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// nextPage reads the page number from a "next" link. The link itself is
// never followed: it could name another host, and the token must only go
// to BaseURL.
func nextPage(next string, page int) int {
	if u, err := url.Parse(next); err == nil {
		if n, err := strconv.Atoi(u.Query().Get("page")); err == nil && n > page {
			return n
		}
	}
	return page + 1
}

// Accept accepts every line of o awaiting acceptance, one POST per line
// ({order_id, new_state: 2, sku}). Lines already accepted (or further on)
// are skipped without a call, so accepting an accepted order is a no-op.
// When o carries no lines it is read first. A refusal is invalid_transition
// unless a fresh read shows the line accepted meanwhile.
func (c *Client) Accept(ctx context.Context, o order.MarketplaceOrder) error {
	o, err := c.withLines(ctx, o)
	if err != nil {
		return err
	}
	var todo []order.MarketplaceLine
	live := false
	for _, l := range o.Lines {
		switch {
		case l.Status == order.StatusAwaitingAcceptance:
			todo = append(todo, l)
		case rules.Rank(l.Status) > rules.Rank(order.StatusAwaitingAcceptance) && !rules.Terminal(l.Status):
			live = true
		}
	}
	if len(todo) == 0 {
		if live {
			return nil
		}
		return c.refused(o.ID, o.Status, order.StatusAccepted)
	}
	for i, l := range todo {
		err := c.update(ctx, o.ID, update{NewState: lineAccepted, SKU: l.SKU}, l.Status, order.StatusAccepted)
		if err == nil {
			continue
		}
		if c.settled(ctx, err, o.ID, l.SKU, func(now order.MarketplaceLine) bool {
			return rules.Rank(now.Status) >= rules.Rank(order.StatusAccepted) && !rules.Terminal(now.Status)
		}) {
			continue
		}
		return cut(err, i)
	}
	return nil
}

// cut marks the error of a per-line call that failed after made lines
// were changed: part of the change was made.
func cut(err error, made int) error {
	if made > 0 {
		return syncerr.PartlyApplied(err)
	}
	return err
}

// Ship marks the parcel's lines shipped, one POST per line ({order_id,
// new_state: 3, sku, tracking_number, tracking_url, shipper}); a parcel
// naming no lines ships every line not cancelled or refunded. A parcel
// without a tracking number (or carrier, or URL, where Options require
// them and no known carrier gives one) is shipping_data_missing. A line
// already shipped with the same tracking number is skipped without a call.
// When o carries no lines it is read first. A line that ended (cancelled,
// refunded) is invalid_transition without a call; a line Back Market
// refuses to ship (not accepted yet) is invalid_transition.
func (c *Client) Ship(ctx context.Context, o order.MarketplaceOrder, p order.Parcel) error {
	tracking, err := c.completeTracking(o.ID, p.Tracking)
	if err != nil {
		return err
	}
	p.Tracking = tracking
	o, err = c.withLines(ctx, o)
	if err != nil {
		return err
	}
	targets, err := parcelLines(o, p)
	if err != nil {
		return err
	}
	made := 0
	for _, l := range targets {
		if shippedWith(l, o, p.Tracking) {
			continue
		}
		if rules.Terminal(l.Status) {
			return cut(c.refused(o.ID, l.Status, order.StatusShipped), made)
		}
		u := update{NewState: lineShipped, SKU: l.SKU, TrackingNumber: p.Tracking.Number,
			TrackingURL: p.Tracking.URL, Shipper: p.Tracking.Carrier}
		err := c.update(ctx, o.ID, u, l.Status, order.StatusShipped)
		if err == nil {
			made++
			continue
		}
		if c.settled(ctx, err, o.ID, l.SKU, func(now order.MarketplaceLine) bool {
			return now.Status == order.StatusShipped && rules.SameTrackingNumber(now.Tracking.Number, p.Tracking.Number)
		}) {
			made++
			continue
		}
		return cut(err, made)
	}
	return nil
}

// Cancel returns cancel_unsupported without calling Back Market, which
// offers integrations no cancel call.
func (c *Client) Cancel(ctx context.Context, o order.MarketplaceOrder, reason string) error {
	return syncerr.E(syncerr.CancelUnsupported, "order", o.ID, "marketplace", Name)
}

// CancelLines refuses the lines named (by marketplace line id, else SKU),
// one POST per line ({order_id, new_state: 4, sku}). A line already
// cancelled or refunded is skipped without a call; a line awaiting
// acceptance is refused; an accepted one only with
// Options.RefuseAcceptedLines, else cancel_unsupported without a call; a
// shipped one is invalid_transition. When o carries no lines it is read
// first. A refusal Back Market answers 400 is invalid_transition unless
// a fresh read shows the line ended meanwhile (a retry).
func (c *Client) CancelLines(ctx context.Context, o order.MarketplaceOrder, lines []order.Line, reason string) error {
	o, err := c.withLines(ctx, o)
	if err != nil {
		return err
	}
	targets, err := parcelLines(o, order.Parcel{Lines: lines})
	if err != nil {
		return err
	}
	made := 0
	for _, l := range targets {
		switch {
		case rules.Terminal(l.Status):
			continue
		case l.Status == order.StatusAccepted && !c.opts.RefuseAcceptedLines:
			return cut(syncerr.E(syncerr.CancelUnsupported, "order", o.ID, "marketplace", Name,
				"line", strconv.Itoa(max(l.Quantity, 1))+" × "+l.SKU, "sku", l.SKU), made)
		case l.Status != order.StatusAwaitingAcceptance && l.Status != order.StatusAccepted:
			return cut(c.refused(o.ID, l.Status, order.StatusCancelled), made)
		}
		err := c.update(ctx, o.ID, update{NewState: lineRefused, SKU: l.SKU}, l.Status, order.StatusCancelled)
		if err == nil || c.settled(ctx, err, o.ID, l.SKU, func(now order.MarketplaceLine) bool { return rules.Terminal(now.Status) }) {
			made++
			continue
		}
		return cut(err, made)
	}
	return nil
}

// completeTracking checks t against what this account requires, deriving
// a missing URL from a known carrier (rules.CompleteTracking).
func (c *Client) completeTracking(id string, t order.Tracking) (order.Tracking, error) {
	t, err := rules.CompleteTracking(t, c.Capabilities())
	if e, ok := syncerr.As(err); ok {
		return t, withDetails(e, "order", id, "marketplace", Name)
	}
	return t, err
}

// withDetails returns a copy of e with kv added to its details (existing
// ones kept).
func withDetails(e *syncerr.Error, kv ...string) *syncerr.Error {
	c := *e
	c.Details = make(map[string]string, len(e.Details)+len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		c.Details[kv[i]] = kv[i+1]
	}
	for k, v := range e.Details {
		c.Details[k] = v
	}
	return &c
}

// parcelLines returns the lines of o that p carries, matched by the
// marketplace line id, then by SKU.
func parcelLines(o order.MarketplaceOrder, p order.Parcel) ([]order.MarketplaceLine, error) {
	if len(p.Lines) == 0 {
		var out []order.MarketplaceLine
		for _, l := range o.Lines {
			if !rules.Terminal(l.Status) {
				out = append(out, l)
			}
		}
		if len(out) == 0 {
			return nil, syncerr.E(syncerr.InvalidTransition, "order", o.ID, "marketplace", Name,
				"from", string(o.Status), "to", string(order.StatusShipped))
		}
		return out, nil
	}
	var out []order.MarketplaceLine
	for _, pl := range p.Lines {
		i := order.LineIndex(o.Lines, pl.MarketplaceLineID, pl.SKU, nil)
		if i < 0 {
			return nil, syncerr.E(syncerr.SKUNotFound, "order", o.ID, "marketplace", Name, "sku", pl.SKU)
		}
		if !slices.ContainsFunc(out, func(l order.MarketplaceLine) bool { return l.ID == o.Lines[i].ID }) {
			out = append(out, o.Lines[i])
		}
	}
	return out, nil
}

// shippedWith reports whether l already shipped with tracking t.
func shippedWith(l order.MarketplaceLine, o order.MarketplaceOrder, t order.Tracking) bool {
	if l.Status != order.StatusShipped && l.Status != order.StatusDelivered {
		return false
	}
	return rules.SameTrackingNumber(cmp.Or(l.Tracking.Number, o.Tracking.Number), t.Number)
}

// withLines returns o, read from Back Market first when it carries no
// lines (the caller only knew its id).
func (c *Client) withLines(ctx context.Context, o order.MarketplaceOrder) (order.MarketplaceOrder, error) {
	if len(o.Lines) > 0 {
		return o, nil
	}
	return c.Order(ctx, o.ID)
}

// settled reports whether a refused update is in fact done: err is an
// invalid_transition and a fresh read shows line sku as done says. The
// passed order may be stale (a retry after a partial success).
func (c *Client) settled(ctx context.Context, err error, id, sku string, done func(order.MarketplaceLine) bool) bool {
	if syncerr.CodeOf(err) != syncerr.InvalidTransition {
		return false
	}
	now, rerr := c.Order(ctx, id)
	if rerr != nil {
		return false
	}
	i := slices.IndexFunc(now.Lines, func(l order.MarketplaceLine) bool { return l.SKU == sku })
	if i < 0 {
		return false
	}
	l := now.Lines[i]
	if l.Tracking == (order.Tracking{}) {
		l.Tracking = now.Tracking
	}
	return done(l)
}

func (c *Client) refused(id string, from, to order.Status) error {
	return syncerr.E(syncerr.InvalidTransition, "order", id, "marketplace", Name,
		"from", string(from), "to", string(to))
}

// update is the body of POST /ws/orders/{order_id}.
type update struct {
	OrderID        json.RawMessage `json:"order_id"`
	NewState       int             `json:"new_state"`
	SKU            string          `json:"sku"`
	TrackingNumber string          `json:"tracking_number,omitempty"`
	TrackingURL    string          `json:"tracking_url,omitempty"`
	Shipper        string          `json:"shipper,omitempty"`
}

// update sends one line update. Back Market answers 400 when the line's
// state does not allow the move: that is invalid_transition from → to.
func (c *Client) update(ctx context.Context, id string, u update, from, to order.Status) error {
	u.OrderID = orderIDJSON(id)
	refusal := syncerr.E(syncerr.InvalidTransition, "order", id, "marketplace", Name,
		"from", string(from), "to", string(to), "sku", u.SKU)
	return c.call(ctx, http.MethodPost, "/ws/orders/"+url.PathEscape(id), nil, u, id, nil, refusal)
}

// orderIDJSON writes a numeric order id as a JSON number, as Back Market
// sends it, and anything else as a string.
func orderIDJSON(id string) json.RawMessage {
	if _, err := strconv.ParseUint(id, 10, 64); err == nil {
		return json.RawMessage(id)
	}
	b, _ := json.Marshal(id) // a string always marshals
	return b
}

// call sends one request and decodes a successful answer into out (when
// not nil). on400, when given, is the error a 400 or 422 stands for.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body any, id string, out any, on400 ...*syncerr.Error) error {
	kv := []string{"marketplace", Name}
	if id != "" {
		kv = append(kv, "order", id)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return syncerr.E(syncerr.InvalidData, kv...).Wrap(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return syncerr.E(syncerr.InvalidData, append(kv, "field", "marketplace base URL")...).Wrap(err)
	}
	req.Header.Set("Authorization", "Basic "+c.opts.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", c.opts.AcceptLanguage)
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpclient.Do(c.hc, req, kv...)
	if err != nil {
		return err
	}
	b, err := httpclient.ReadBody(resp, kv...)
	if err != nil {
		return err
	}
	switch {
	case (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity) && len(on400) > 0:
		return on400[0].Wrap(httpclient.StatusError(resp, b))
	case resp.StatusCode == http.StatusForbidden && c.opts.Forbidden403IsRateLimit:
		e := syncerr.E(syncerr.RateLimited, kv...)
		if d, ok := httpclient.ParseRetryAfter(resp.Header.Get("Retry-After"), c.opts.Now()); ok {
			e = e.After(d)
		}
		return e.Wrap(httpclient.StatusError(resp, b))
	}
	if e := httpclient.Classify(resp, b, c.opts.Now(), kv...); e != nil {
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		// A 2xx that is not the JSON we expect: a proxy's page, an outage.
		return syncerr.E(syncerr.MarketplaceUnavailable, kv...).
			Wrap(fmt.Errorf("back market: decoding %s %s: %w", method, path, err))
	}
	return nil
}
