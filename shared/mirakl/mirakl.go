// Package mirakl is the Mirakl connector: it implements sync.Marketplace
// over the seller order API every Mirakl-run marketplace exposes (OR11
// list, OR21 accept, OR23 tracking, OR24 ship, OR29 cancel, OR30 cancel
// order lines, OR28 refund order lines).
//
// Mirakl accepts per line (OR21 lists every line) but ships whole orders
// (OR23 then OR24). Its refusals name an error code (ORDER_INVALID_STATE,
// …) that the connector maps to ordersync's codes; the code is looked for
// anywhere in the error body, since the classic API's error shape is
// UNCONFIRMED, and the mapping can be extended (Options.ErrorCodes).
package mirakl

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

// Name is how Mirakl is named in the words a merchant reads when the
// connection gives no marketplace name.
const Name = "Mirakl"

// RateLimit is the pace the sync keeps with one Mirakl shop account
// (shared/pace). Mirakl documents no number for the order calls: each API
// states a call frequency (OR21, OR23, OR24: at each update; OR11: at most
// once a minute when polling), and past its limits Mirakl answers 429 with
// Retry-After, which pauses the connection until then. This ceiling, 10
// requests a second, is ordersync's own (UNCONFIRMED as Mirakl's): enough
// for a batch of orders at once, polite in a backlog.
var RateLimit = pace.Limit{Requests: 100, Per: 10 * time.Second}

// ErrorCodes is the default mapping of Mirakl error codes to ordersync's.
// Options.ErrorCodes adds to it or overrides it.
var ErrorCodes = map[string]syncerr.Code{
	"ORDER_INVALID_STATE":                    syncerr.InvalidTransition,
	"ORDER_NOT_FOUND":                        syncerr.OrderNotFound,
	"VALIDATION_ERROR":                       syncerr.InvalidData,
	"ORDER_LINE_ACCEPTANCE_DECISION_MISSING": syncerr.InvalidData,
	"ORDER_PARTIAL_ACCEPTANCE_DISABLED":      syncerr.InvalidData,
	"ORDER_LINE_NOT_FOUND":                   syncerr.InvalidData,
	"ORDER_LINE_DUPLICATE_ID":                syncerr.InvalidData,
}

// Options configure a Client. Zero fields take the defaults in parentheses.
type Options struct {
	// BaseURL is the marketplace's Mirakl instance, e.g.
	// https://acme.mirakl.net. Required.
	BaseURL string
	// APIKey is the shop API key, sent as-is in Authorization (no Bearer).
	APIKey string
	// ShopID, when set, is sent as shop_id (users with several shops).
	ShopID string
	// MarketplaceName names the marketplace in merchants' messages
	// ("Mirakl").
	MarketplaceName string
	// CarrierCodes maps carrier names (matched without regard to case) to
	// the carrier codes this marketplace registers; OR23 sends a known
	// carrier as carrier_code (Mirakl builds the tracking URL) and any other
	// as carrier_name with carrier_url.
	CarrierCodes map[string]string
	// TrackingURLRequired makes Ship refuse a parcel of an unregistered
	// carrier without a tracking URL (shipping_data_missing).
	TrackingURLRequired bool
	// CarrierOptional lets Ship send tracking with no carrier at all. Off
	// by default: OR23 expects a carrier_code or a carrier_name.
	CarrierOptional bool
	// PageSize is OR11's max (100, Mirakl's largest).
	PageSize int
	// MaxPages bounds one listing (1000).
	MaxPages int
	// ErrorCodes adds Mirakl error codes to ErrorCodes, or overrides them.
	ErrorCodes map[string]syncerr.Code
	// MultiShipment ships each parcel with its own lines and tracking
	// through Mirakl's multiple shipments API (ST01, POST /api/shipments),
	// which the marketplace operator must have enabled (the connection's
	// split_parcels). Off, an order ships whole (OR23 then OR24).
	MultiShipment bool
	// CancelReasonCode is the cancelation reason code OR30 sends (the
	// connection's cancel_reason_code). Mirakl requires one and documents
	// no default: each operator lists its own (RE01). Empty, a line
	// cancelled once the order is accepted is cancel_unsupported.
	CancelReasonCode string
	// RefundReasonCode is the refund reason code OR28 sends (the
	// connection's refund_reason_code): the operator's reason of type
	// REFUND (RE01) for a refund or return the store made once the order
	// shipped. Mirakl requires one and documents no default. Empty, such a
	// refund is refund_unsupported.
	RefundReasonCode string
	// Now is the clock Retry-After dates are read against (time.Now).
	Now func() time.Time
}

// Client talks to one Mirakl shop account. It is safe for concurrent use;
// build it once per cold start.
type Client struct {
	hc     *http.Client
	base   string
	opts   Options
	codes  map[string]syncerr.Code
	byLen  []string // codes, longest first, so no code matches inside another
	market string
}

// New returns a client that sends its requests with hc (see
// httpclient.New).
func New(hc *http.Client, opts Options) *Client {
	if opts.PageSize <= 0 || opts.PageSize > 100 {
		opts.PageSize = 100
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 1000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	codes := make(map[string]syncerr.Code, len(ErrorCodes)+len(opts.ErrorCodes))
	for k, v := range ErrorCodes {
		codes[k] = v
	}
	for k, v := range opts.ErrorCodes {
		codes[strings.ToUpper(k)] = v
	}
	byLen := make([]string, 0, len(codes))
	for k := range codes {
		byLen = append(byLen, k)
	}
	slices.SortFunc(byLen, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return &Client{hc: hc, base: strings.TrimRight(opts.BaseURL, "/"), opts: opts, codes: codes, byLen: byLen,
		market: cmp.Or(opts.MarketplaceName, Name)}
}

// Capabilities says what Mirakl's API allows: cancel (OR29, when
// can_cancel), lines cancelled before acceptance (OR21) and, with a
// reason code, after it (OR30), whole lines refunded once shipped (OR28,
// with a refund reason code), accept before ship, whole-order shipping,
// a tracking URL (carrier_url) for a carrier it knows no code for.
func (c *Client) Capabilities() order.Capabilities {
	return order.Capabilities{
		Cancel:      true,
		CancelLines: true, // OR21, refusing them, while the order awaits acceptance
		// OR30 once accepted, which needs a reason code: Mirakl has no
		// default.
		CancelAcceptedLines: c.opts.CancelReasonCode != "",
		// OR28 once shipped, which needs a reason code too.
		RefundLines:         c.opts.RefundReasonCode != "",
		AcceptRequired:      true,
		TrackingURL:         true, // carrier_url, for a carrier without a code
		TrackingURLRequired: c.opts.TrackingURLRequired,
		CarrierRequired:     !c.opts.CarrierOptional,
		PerLine:             c.opts.MultiShipment, // several parcels only through ST01
	}
}

// readOrder reads one order with OR11, as Mirakl states it;
// order_not_found when OR11 does not list it.
func (c *Client) readOrder(ctx context.Context, id string) (wireOrder, error) {
	var p wirePage
	if err := c.call(ctx, http.MethodGet, "/api/orders", url.Values{"order_ids": {id}}, nil, id, &p); err != nil {
		return wireOrder{}, err
	}
	i := slices.IndexFunc(p.Orders, func(w wireOrder) bool { return w.OrderID == id })
	if i < 0 {
		return wireOrder{}, syncerr.E(syncerr.OrderNotFound, "order", id, "marketplace", c.market)
	}
	return p.Orders[i], nil
}

// Order fetches one order (OR11 by order_ids). An order in a state the
// lifecycle does not know returns invalid_data.
func (c *Client) Order(ctx context.Context, id string) (order.MarketplaceOrder, error) {
	w, err := c.readOrder(ctx, id)
	if err != nil {
		return order.MarketplaceOrder{}, err
	}
	o, err := w.domain()
	if e, ok := syncerr.As(err); ok {
		return o, e.Wrap(fmt.Errorf("mirakl order %s", id))
	}
	return o, nil
}

// OrdersUpdatedSince lists orders updated at or after since (OR11 with
// start_update_date), paging with offset and max to the end, oldest
// first. Orders in a state the lifecycle does not know are listed with
// StatusUnknown (Order reports why).
func (c *Client) OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.MarketplaceOrder, error) {
	byID := map[string]order.MarketplaceOrder{}
	offset := 0
	for n := 0; ; n++ {
		if n >= c.opts.MaxPages {
			return nil, syncerr.E(syncerr.MarketplaceUnavailable, "marketplace", c.market).
				Wrap(fmt.Errorf("mirakl: listing orders: more than %d pages", c.opts.MaxPages))
		}
		q := url.Values{"offset": {strconv.Itoa(offset)}, "max": {strconv.Itoa(c.opts.PageSize)}}
		if !since.IsZero() {
			q.Set("start_update_date", since.UTC().Format(time.RFC3339))
		}
		var p wirePage
		if err := c.call(ctx, http.MethodGet, "/api/orders", q, nil, "", &p); err != nil {
			return nil, err
		}
		for _, w := range p.Orders {
			o, _ := w.domain() // unknown states stay StatusUnknown
			if o.ID == "" {
				continue // names no order: nothing can be done with it
			}
			if !o.UpdatedAt.IsZero() && o.UpdatedAt.Before(since) {
				continue
			}
			byID[o.ID] = o
		}
		offset += len(p.Orders)
		if len(p.Orders) == 0 || offset >= p.TotalCount {
			break
		}
	}
	out := make([]order.MarketplaceOrder, 0, len(byID))
	for _, o := range byID {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b order.MarketplaceOrder) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Accept accepts o with OR21, listing every line as accepted. An order
// already past acceptance is a no-op without a call; a cancelled or
// refused one is invalid_transition. When o carries no state it is read
// first. Mirakl's ORDER_INVALID_STATE is invalid_transition, unless a
// fresh read shows the order accepted meanwhile (a retry).
func (c *Client) Accept(ctx context.Context, o order.MarketplaceOrder) error {
	o, err := c.current(ctx, o)
	if err != nil {
		return err
	}
	switch {
	case rules.Terminal(o.Status):
		return c.refused(o, order.StatusAccepted)
	case rules.Rank(o.Status) >= rules.Rank(order.StatusAccepted):
		return nil
	}
	err = c.decide(ctx, o, true)
	if err != nil && c.settled(ctx, err, o.ID, func(now order.MarketplaceOrder) bool {
		return rules.Rank(now.Status) >= rules.Rank(order.StatusAccepted) && !rules.Terminal(now.Status)
	}) {
		return nil
	}
	return err
}

// decide sends OR21 with the same decision for every line.
func (c *Client) decide(ctx context.Context, o order.MarketplaceOrder, accepted bool) error {
	type decision struct {
		ID       string `json:"id"`
		Accepted bool   `json:"accepted"`
	}
	body := struct {
		OrderLines []decision `json:"order_lines"`
	}{}
	for _, l := range o.Lines {
		body.OrderLines = append(body.OrderLines, decision{ID: l.ID, Accepted: accepted})
	}
	to := order.StatusAccepted
	if !accepted {
		to = order.StatusRefused
	}
	return c.call(ctx, http.MethodPut, "/api/orders/"+url.PathEscape(o.ID)+"/accept", nil, body, o.ID, nil,
		"from", string(o.Status), "to", string(to))
}

// Ship sends the parcel's tracking (OR23) then ships the order (OR24).
// Mirakl ships whole orders: a parcel naming only some of the order's live
// lines is invalid_data. An order already shipped with the same tracking
// number is a no-op without a call; one shipped with another number gets
// the new tracking (OR23 only). When o carries no state it is read first.
// A cancelled or refused order is invalid_transition without a call; one
// Mirakl refuses to ship (not accepted, or still awaiting the debit) is
// invalid_transition.
//
// With Options.MultiShipment, the parcel is one shipment of its own lines
// (ST01, shipped at once), so an order may ship in several parcels, each
// with its tracking; lines shipped already are skipped without a call.
func (c *Client) Ship(ctx context.Context, o order.MarketplaceOrder, p order.Parcel) error {
	tracking, err := c.trackingBody(o.ID, p.Tracking)
	if err != nil {
		return err
	}
	o, err = c.current(ctx, o)
	if err != nil {
		return err
	}
	if c.opts.MultiShipment {
		return c.shipParcel(ctx, o, p, tracking)
	}
	if err := c.wholeOrder(o, p); err != nil {
		return err
	}
	same := rules.SameTrackingNumber(o.Tracking.Number, p.Tracking.Number)
	switch {
	case rules.Terminal(o.Status):
		return c.refused(o, order.StatusShipped)
	case o.Status == order.StatusDelivered || (o.Status == order.StatusShipped && same):
		return nil
	}
	path := "/api/orders/" + url.PathEscape(o.ID)
	kv := []string{"from", string(o.Status), "to", string(order.StatusShipped)}
	if !same {
		if err := c.call(ctx, http.MethodPut, path+"/tracking", nil, tracking, o.ID, nil, kv...); err != nil {
			return err
		}
	}
	if o.Status == order.StatusShipped {
		return nil // new tracking for a shipped order: nothing more to do
	}
	err = c.call(ctx, http.MethodPut, path+"/ship", nil, nil, o.ID, nil, kv...)
	if err != nil && c.settled(ctx, err, o.ID, func(now order.MarketplaceOrder) bool {
		return rules.Rank(now.Status) >= rules.Rank(order.StatusShipped) && !rules.Terminal(now.Status)
	}) {
		return nil
	}
	return err
}

// shipParcel creates one shipment of p's lines not shipped yet (all live
// lines when p names none) with ST01, shipped at once. Mirakl answers 201
// with shipment_errors for a shipment it refuses (the order not in
// SHIPPING, a quantity too large): invalid_transition when the order's
// state is at fault, else invalid_data.
func (c *Client) shipParcel(ctx context.Context, o order.MarketplaceOrder, p order.Parcel, t tracking) error {
	if rules.Terminal(o.Status) {
		return c.refused(o, order.StatusShipped)
	}
	type shipmentLine struct {
		OrderLineID string `json:"order_line_id"`
		Quantity    int    `json:"quantity"`
	}
	var lines []shipmentLine
	add := func(l order.MarketplaceLine, qty int) {
		if rules.Terminal(l.Status) || l.Status == order.StatusShipped || l.Status == order.StatusDelivered {
			return // ended, or shipped already: never twice
		}
		if qty <= 0 || qty > l.Quantity {
			qty = l.Quantity
		}
		if !slices.ContainsFunc(lines, func(s shipmentLine) bool { return s.OrderLineID == l.ID }) {
			lines = append(lines, shipmentLine{OrderLineID: l.ID, Quantity: qty})
		}
	}
	if len(p.Lines) == 0 {
		for _, l := range o.Lines {
			add(l, l.Quantity)
		}
	}
	for _, pl := range p.Lines {
		i := order.LineIndex(o.Lines, pl.MarketplaceLineID, pl.SKU, func(l order.MarketplaceLine) bool {
			return l.Status != order.StatusShipped && !rules.Terminal(l.Status)
		})
		if i < 0 {
			if slices.ContainsFunc(o.Lines, func(l order.MarketplaceLine) bool { return l.SKU == pl.SKU }) {
				continue // every line of the SKU shipped or ended
			}
			return syncerr.E(syncerr.SKUNotFound, "order", o.ID, "marketplace", c.market, "sku", pl.SKU)
		}
		add(o.Lines[i], pl.Quantity)
	}
	if len(lines) == 0 {
		return nil
	}
	type shipmentTracking struct {
		CarrierCode    string `json:"carrier_code,omitempty"`
		CarrierName    string `json:"carrier_name,omitempty"`
		TrackingNumber string `json:"tracking_number"`
		TrackingURL    string `json:"tracking_url,omitempty"`
	}
	type shipment struct {
		OrderID       string           `json:"order_id"`
		ShipmentLines []shipmentLine   `json:"shipment_lines"`
		Shipped       bool             `json:"shipped"`
		Tracking      shipmentTracking `json:"tracking"`
	}
	body := struct {
		Shipments []shipment `json:"shipments"`
	}{[]shipment{{OrderID: o.ID, ShipmentLines: lines, Shipped: true, Tracking: shipmentTracking{
		CarrierCode: t.CarrierCode, CarrierName: t.CarrierName, TrackingNumber: t.TrackingNumber, TrackingURL: t.CarrierURL}}}}
	var answer struct {
		ShipmentErrors []struct {
			OrderID string `json:"order_id"`
			Message string `json:"message"`
		} `json:"shipment_errors"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/shipments", nil, body, o.ID, &answer,
		"from", string(o.Status), "to", string(order.StatusShipped)); err != nil {
		return err
	}
	if len(answer.ShipmentErrors) == 0 {
		return nil
	}
	msg := answer.ShipmentErrors[0].Message
	err := fmt.Errorf("mirakl: ST01 refused the shipment of order %s: %s", o.ID, msg)
	if strings.Contains(strings.ToLower(msg), "status") || strings.Contains(strings.ToLower(msg), "state") {
		return syncerr.E(syncerr.InvalidTransition, "order", o.ID, "marketplace", c.market,
			"from", string(o.Status), "to", string(order.StatusShipped)).Wrap(err)
	}
	return syncerr.E(syncerr.InvalidData, "order", o.ID, "marketplace", c.market, "field", "shipment ("+msg+")").Wrap(err)
}

// Cancel cancels o with OR29 when Mirakl says it can (can_cancel: after
// acceptance, before shipping). An order still awaiting acceptance is
// refused instead (OR21 with every line refused), which is how a seller
// cancels it on Mirakl. An order already cancelled or refused is a no-op;
// any other order Mirakl says cannot be cancelled is invalid_transition
// without a call. When o carries no state it is read first. The reason is
// not sent: OR29 takes none.
func (c *Client) Cancel(ctx context.Context, o order.MarketplaceOrder, reason string) error {
	o, err := c.current(ctx, o)
	if err != nil {
		return err
	}
	switch {
	case o.Status == order.StatusCancelled || o.Status == order.StatusRefused:
		return nil
	case o.Status == order.StatusAwaitingAcceptance:
		return c.decide(ctx, o, false)
	case !o.CanCancel:
		return c.refused(o, order.StatusCancelled)
	}
	err = c.call(ctx, http.MethodPut, "/api/orders/"+url.PathEscape(o.ID)+"/cancel", nil, nil, o.ID, nil,
		"from", string(o.Status), "to", string(order.StatusCancelled))
	if err != nil && c.settled(ctx, err, o.ID, func(now order.MarketplaceOrder) bool {
		return now.Status == order.StatusCancelled
	}) {
		return nil
	}
	return err
}

// CancelLines cancels the lines named (by marketplace line id, else SKU),
// each whole. While the order awaits acceptance it refuses them with
// OR21: Mirakl decides every line at once, so the other lines are
// accepted by the same call (cancel_unsupported where the marketplace
// has no partial acceptance, ORDER_PARTIAL_ACCEPTANCE_DISABLED). Once
// accepted it cancels them with OR30 (see cancelAccepted). Lines already
// ended are skipped; when none is left to cancel, nothing is sent. A
// refusal ORDER_INVALID_STATE answers is done when a fresh read shows the
// lines ended (a retry).
func (c *Client) CancelLines(ctx context.Context, o order.MarketplaceOrder, lines []order.Line, reason string) error {
	o, err := c.current(ctx, o)
	if err != nil {
		return err
	}
	refuse := map[string]bool{}
	for _, pl := range lines {
		i := order.LineIndex(o.Lines, pl.MarketplaceLineID, pl.SKU, func(l order.MarketplaceLine) bool { return !rules.Terminal(l.Status) })
		if i < 0 {
			if slices.ContainsFunc(o.Lines, func(l order.MarketplaceLine) bool { return l.SKU == pl.SKU }) {
				continue // every line of the SKU ended already
			}
			return syncerr.E(syncerr.SKUNotFound, "order", o.ID, "marketplace", c.market, "sku", pl.SKU)
		}
		if !rules.Terminal(o.Lines[i].Status) {
			refuse[o.Lines[i].ID] = true
		}
	}
	if len(refuse) == 0 {
		return nil
	}
	if o.Status != order.StatusAwaitingAcceptance {
		return c.cancelAccepted(ctx, o.ID, refuse)
	}
	type decision struct {
		ID       string `json:"id"`
		Accepted bool   `json:"accepted"`
	}
	body := struct {
		OrderLines []decision `json:"order_lines"`
	}{}
	for _, l := range o.Lines {
		body.OrderLines = append(body.OrderLines, decision{ID: l.ID, Accepted: !refuse[l.ID]})
	}
	err = c.call(ctx, http.MethodPut, "/api/orders/"+url.PathEscape(o.ID)+"/accept", nil, body, o.ID, nil,
		"from", string(o.Status), "to", string(order.StatusCancelled))
	if err == nil {
		return nil
	}
	if e, ok := syncerr.As(err); ok && strings.Contains(strings.ToUpper(e.Error()), "ORDER_PARTIAL_ACCEPTANCE_DISABLED") {
		return syncerr.E(syncerr.CancelUnsupported, "order", o.ID, "marketplace", c.market).Wrap(err)
	}
	if c.settled(ctx, err, o.ID, func(now order.MarketplaceOrder) bool {
		for _, l := range now.Lines {
			if refuse[l.ID] && !rules.Terminal(l.Status) {
				return false
			}
		}
		return true
	}) {
		return nil
	}
	return err
}

// cancellable are the line states OR30 takes: accepted and not shipped
// (Mirakl: a non-debited order, or an unshipped one, by payment workflow).
var cancellable = map[string]bool{"WAITING_DEBIT": true, "WAITING_DEBIT_PAYMENT": true, "SHIPPING": true}

// cancelAccepted cancels whole lines of an accepted order with OR30 (PUT
// /api/orders/cancel), each with its quantity, the amounts Mirakl's own
// order states for it (price, shipping_price, their taxes, sent as
// written, in the order's currency and tax mode) and the connection's
// reason code. It reads the order first, so the amounts are Mirakl's
// latest. Where an amount is not known it sends nothing and answers
// cancel_unsupported: no reason code configured, a line without a price,
// a line cancelled or refunded in part before (what is left of its
// amounts is not stated). A line shipped, or in a state OR30 does not
// take, is invalid_transition. Mirakl's refusal of the call (the shop's
// partial cancelation not enabled by Mirakl, a reason code the operator
// does not know) is cancel_unsupported; ORDER_INVALID_STATE is done when
// a fresh read shows the lines ended.
func (c *Client) cancelAccepted(ctx context.Context, id string, lines map[string]bool) error {
	unsupported := func(why string) error {
		return syncerr.E(syncerr.CancelUnsupported, "order", id, "marketplace", c.market).
			Wrap(fmt.Errorf("mirakl: order %s: OR30 not sent: %s", id, why))
	}
	if c.opts.CancelReasonCode == "" {
		return unsupported("the connection has no cancel_reason_code")
	}
	w, err := c.readOrder(ctx, id)
	if err != nil {
		return err
	}
	body := struct {
		Cancelations []wireLineAmounts `json:"cancelations"`
		OrderTaxMode string            `json:"order_tax_mode,omitempty"`
	}{OrderTaxMode: w.OrderTaxMode}
	for _, l := range w.OrderLines {
		if !lines[l.OrderLineID] {
			continue
		}
		status, _ := State(l.OrderLineState)
		switch {
		case rules.Terminal(status):
			continue // ended since: a retry, or cancelled on Mirakl
		case !cancellable[strings.ToUpper(strings.TrimSpace(l.OrderLineState))]:
			return syncerr.E(syncerr.InvalidTransition, "order", id, "marketplace", c.market,
				"from", string(status), "to", string(order.StatusCancelled))
		case l.Price == nil || l.ShippingPrice == nil:
			return unsupported("order line " + l.OrderLineID + " states no price or shipping price: the amount to cancel is not known")
		case len(l.Cancelations) > 0 || len(l.Refunds) > 0:
			return unsupported("order line " + l.OrderLineID + " was cancelled or refunded in part: the amounts left are not stated")
		}
		body.Cancelations = append(body.Cancelations, w.amountsOf(l, c.opts.CancelReasonCode))
	}
	if len(body.Cancelations) == 0 {
		return nil
	}
	err = c.call(ctx, http.MethodPut, "/api/orders/cancel", nil, body, id, nil,
		"from", string(order.StatusAccepted), "to", string(order.StatusCancelled))
	switch syncerr.CodeOf(err) {
	case "":
		return nil
	case syncerr.InvalidTransition:
		if c.settled(ctx, err, id, func(now order.MarketplaceOrder) bool {
			return !slices.ContainsFunc(now.Lines, func(l order.MarketplaceLine) bool { return lines[l.ID] && !rules.Terminal(l.Status) })
		}) {
			return nil
		}
		return err
	case syncerr.InvalidData:
		// Mirakl refused the call itself: partial cancelation off for
		// the shop, or a reason code the operator does not list.
		return syncerr.E(syncerr.CancelUnsupported, "order", id, "marketplace", c.market).Wrap(err)
	}
	return err
}

// RefundLines refunds whole lines of a shipped order with OR28 (PUT
// /api/orders/refund), named by marketplace line id, else SKU: each with
// its quantity, the amounts Mirakl's own order states for it (price,
// shipping_price, their taxes, sent as written, in the order's currency
// and tax mode) and the connection's refund reason code. It reads the
// order first, so the amounts are Mirakl's latest and a line whose
// refunds (OR11) cover it already, quantity and amount (refundedWhole),
// is skipped, as a retry whose answer was lost; when none is left,
// nothing is sent. Where an amount is not known it sends nothing and
// answers refund_unsupported: no reason code configured, a line without a
// price or shipping price, a line refunded or cancelled in part before
// (what is left of its amounts is not stated). A line not shipped (not
// SHIPPED, TO_COLLECT, RECEIVED or CLOSED) is invalid_transition: before shipment a line is cancelled
// (OR30). Mirakl's refusal of the call (an amount above what is left, a
// reason code the operator does not list) is refund_unsupported;
// ORDER_INVALID_STATE is done when a fresh read shows the lines refunded.
// An answer that lists a refund for fewer lines than were sent made part
// of its change (syncerr.PartlyApplied): the caller reads the order.
func (c *Client) RefundLines(ctx context.Context, o order.MarketplaceOrder, lines []order.Line) error {
	id := o.ID
	unsupported := func(why string) error {
		return syncerr.E(syncerr.RefundUnsupported, "order", id, "marketplace", c.market).
			Wrap(fmt.Errorf("mirakl: order %s: OR28 not sent: %s", id, why))
	}
	if c.opts.RefundReasonCode == "" {
		return unsupported("the connection has no refund_reason_code")
	}
	w, err := c.readOrder(ctx, id)
	if err != nil {
		return err
	}
	now, _ := w.domain() // line statuses; an unknown state is refused below
	byID := map[string]wireLine{}
	for _, l := range w.OrderLines {
		byID[l.OrderLineID] = l
	}
	refund := map[string]bool{}
	for _, pl := range lines {
		k := order.LineIndex(now.Lines, pl.MarketplaceLineID, pl.SKU, func(l order.MarketplaceLine) bool {
			return !refund[l.ID] && !byID[l.ID].refundedWhole()
		})
		if k < 0 {
			if slices.ContainsFunc(now.Lines, func(l order.MarketplaceLine) bool { return l.SKU == pl.SKU }) {
				continue // every line of the SKU refunded already
			}
			return syncerr.E(syncerr.SKUNotFound, "order", id, "marketplace", c.market, "sku", pl.SKU)
		}
		refund[now.Lines[k].ID] = true
	}
	body := struct {
		Refunds      []wireLineAmounts `json:"refunds"`
		OrderTaxMode string            `json:"order_tax_mode,omitempty"`
	}{OrderTaxMode: w.OrderTaxMode}
	for _, l := range w.OrderLines {
		if !refund[l.OrderLineID] || l.refundedWhole() {
			continue // refunded since: a retry, or refunded on Mirakl
		}
		status, _ := State(l.OrderLineState)
		switch {
		case !refundStates[strings.ToUpper(strings.TrimSpace(l.OrderLineState))]:
			return syncerr.E(syncerr.InvalidTransition, "order", id, "marketplace", c.market,
				"from", string(status), "to", string(order.StatusRefunded))
		case l.Price == nil || l.ShippingPrice == nil:
			return unsupported("order line " + l.OrderLineID + " states no price or shipping price: the amount to refund is not known")
		case len(l.Refunds) > 0 || len(l.Cancelations) > 0:
			return unsupported("order line " + l.OrderLineID + " was refunded or cancelled in part: the amounts left are not stated")
		}
		body.Refunds = append(body.Refunds, w.amountsOf(l, c.opts.RefundReasonCode))
	}
	if len(body.Refunds) == 0 {
		return nil
	}
	type created struct {
		RefundID    string `json:"refund_id"`
		OrderLineID string `json:"order_line_id"`
	}
	var answer struct {
		Refunds []created `json:"refunds"`
	}
	err = c.call(ctx, http.MethodPut, "/api/orders/refund", nil, body, id, &answer,
		"from", string(now.Status), "to", string(order.StatusRefunded))
	switch syncerr.CodeOf(err) {
	case "":
		for _, r := range body.Refunds {
			if !slices.ContainsFunc(answer.Refunds, func(a created) bool { return a.OrderLineID == r.OrderLineID && a.RefundID != "" }) {
				return syncerr.PartlyApplied(syncerr.E(syncerr.MarketplaceUnavailable, "order", id, "marketplace", c.market).
					Wrap(fmt.Errorf("mirakl: OR28 answered no refund of order line %s", r.OrderLineID)))
			}
		}
		return nil
	case syncerr.InvalidTransition:
		if c.settled(ctx, err, id, func(now order.MarketplaceOrder) bool {
			for lineID := range refund {
				if !slices.ContainsFunc(now.Refunds, func(r order.Refund) bool {
					return slices.ContainsFunc(r.Lines, func(l order.Line) bool { return l.MarketplaceLineID == lineID })
				}) {
					return false
				}
			}
			return true
		}) {
			return nil
		}
		return err
	case syncerr.InvalidData:
		// Mirakl refused the call itself: an amount above what is left
		// (refunded on Mirakl meanwhile), or a reason code the operator
		// does not list.
		return syncerr.E(syncerr.RefundUnsupported, "order", id, "marketplace", c.market).Wrap(err)
	}
	return err
}

// refundStates are the line states ordersync refunds with OR28: the goods
// have left. Mirakl takes refunds once a line is debited (SHIPPING too),
// but a line not shipped is the store's cancel (OR30), never a refund.
var refundStates = map[string]bool{"SHIPPED": true, "TO_COLLECT": true, "RECEIVED": true, "CLOSED": true}

// tracking is OR23's body.
type tracking struct {
	CarrierCode    string `json:"carrier_code,omitempty"`
	CarrierName    string `json:"carrier_name,omitempty"`
	CarrierURL     string `json:"carrier_url,omitempty"`
	TrackingNumber string `json:"tracking_number"`
}

func (c *Client) trackingBody(id string, t order.Tracking) (tracking, error) {
	caps := c.Capabilities()
	code := ""
	for name, cc := range c.opts.CarrierCodes {
		if carrier := strings.TrimSpace(t.Carrier); carrier != "" && (strings.EqualFold(name, carrier) || strings.EqualFold(cc, carrier)) {
			code = cc
			// Mirakl builds the URL of a registered carrier.
			caps.TrackingURL, caps.TrackingURLRequired = false, false
		}
	}
	t, err := rules.CompleteTracking(t, caps)
	if e, ok := syncerr.As(err); ok {
		return tracking{}, withDetails(e, "order", id, "marketplace", c.market)
	}
	if err != nil {
		return tracking{}, err
	}
	if code != "" {
		return tracking{CarrierCode: code, TrackingNumber: t.Number}, nil
	}
	return tracking{CarrierName: t.Carrier, CarrierURL: t.URL, TrackingNumber: t.Number}, nil
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

// wholeOrder checks that p carries every live line of o, or names none.
func (c *Client) wholeOrder(o order.MarketplaceOrder, p order.Parcel) error {
	if len(p.Lines) == 0 {
		return nil
	}
	in := map[string]bool{}
	for _, pl := range p.Lines {
		i := order.LineIndex(o.Lines, pl.MarketplaceLineID, pl.SKU, nil)
		if i < 0 {
			return syncerr.E(syncerr.SKUNotFound, "order", o.ID, "marketplace", c.market, "sku", pl.SKU)
		}
		in[o.Lines[i].ID] = true
	}
	for _, l := range o.Lines {
		if !in[l.ID] && !rules.Terminal(l.Status) {
			return syncerr.E(syncerr.InvalidData, "order", o.ID, "marketplace", c.market,
				"field", "parcel lines ("+c.market+" ships whole orders: ship every line in one parcel)")
		}
	}
	return nil
}

// current returns o, read from Mirakl first when the caller only knew its
// id.
func (c *Client) current(ctx context.Context, o order.MarketplaceOrder) (order.MarketplaceOrder, error) {
	if o.State != "" && len(o.Lines) > 0 {
		return o, nil
	}
	return c.Order(ctx, o.ID)
}

// settled reports whether a refused call is in fact done: err is an
// invalid_transition and a fresh read shows the order as done says.
func (c *Client) settled(ctx context.Context, err error, id string, done func(order.MarketplaceOrder) bool) bool {
	if syncerr.CodeOf(err) != syncerr.InvalidTransition {
		return false
	}
	now, rerr := c.Order(ctx, id)
	return rerr == nil && done(now)
}

func (c *Client) refused(o order.MarketplaceOrder, to order.Status) error {
	return syncerr.E(syncerr.InvalidTransition, "order", o.ID, "marketplace", c.market,
		"from", string(o.Status), "to", string(to))
}

// call sends one request and decodes a successful answer into out (when
// not nil). extra are details added to a refusal named by a Mirakl error
// code (from and to, for ORDER_INVALID_STATE).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body any, id string, out any, extra ...string) error {
	kv := []string{"marketplace", c.market}
	if id != "" {
		kv = append(kv, "order", id)
	}
	if c.opts.ShopID != "" {
		if q == nil {
			q = url.Values{}
		}
		q.Set("shop_id", c.opts.ShopID)
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
	req.Header.Set("Authorization", c.opts.APIKey)
	req.Header.Set("Accept", "application/json")
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
	if e := c.classify(resp, b, kv, extra); e != nil {
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return syncerr.E(syncerr.MarketplaceUnavailable, kv...).
			Wrap(fmt.Errorf("mirakl: decoding %s %s: %w", method, path, err))
	}
	return nil
}

// classify maps a failed answer to an error: a Mirakl error code in the
// body of a 4xx decides (except for 401, 403 and 429, whose meaning is
// fixed); otherwise the status does, as httpclient.Classify says.
func (c *Client) classify(resp *http.Response, body []byte, kv, extra []string) *syncerr.Error {
	s := resp.StatusCode
	if s < 400 {
		return nil
	}
	if s < 500 && s != http.StatusUnauthorized && s != http.StatusForbidden && s != http.StatusTooManyRequests {
		if mc, code, ok := c.errorCode(body); ok {
			details := kv
			switch code {
			case syncerr.InvalidTransition:
				details = append(slices.Clone(kv), extra...)
			case syncerr.InvalidData:
				details = append(slices.Clone(kv), "field", "Mirakl "+mc)
			}
			return syncerr.E(code, details...).Wrap(httpclient.StatusError(resp, body))
		}
	}
	return httpclient.Classify(resp, body, c.opts.Now(), kv...)
}

// errorCode finds a known Mirakl error code in an error body, as a word
// of its own wherever it is (an identifier that begins with one, earlier
// in the body, does not hide it).
func (c *Client) errorCode(body []byte) (string, syncerr.Code, bool) {
	text := strings.ToUpper(string(body))
	for _, mc := range c.byLen {
		for at := 0; ; {
			i := strings.Index(text[at:], mc)
			if i < 0 {
				break
			}
			if wordAt(text, at+i, len(mc)) {
				return mc, c.codes[mc], true
			}
			at += i + 1
		}
	}
	return "", "", false
}

// wordAt reports whether text[i:i+n] stands alone: not part of a longer
// identifier.
func wordAt(text string, i, n int) bool {
	ident := func(b byte) bool { return b == '_' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' }
	return (i == 0 || !ident(text[i-1])) && (i+n == len(text) || !ident(text[i+n]))
}
