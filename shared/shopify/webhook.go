package shopify

import (
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
)

// Shopify webhook header names, lower-cased (API Gateway v2 lower-cases
// header names; callers look them up case-insensitively).
const (
	HeaderHMAC        = "x-shopify-hmac-sha256"
	HeaderTopic       = "x-shopify-topic"
	HeaderEventID     = "x-shopify-event-id"
	HeaderWebhookID   = "x-shopify-webhook-id"
	HeaderShopDomain  = "x-shopify-shop-domain"
	HeaderTriggeredAt = "x-shopify-triggered-at"
)

// Webhook topics ParseWebhook reads. The order topics carry the REST Order
// JSON, the fulfillment topics the REST Fulfillment JSON (both unwrapped).
const (
	TopicOrdersCreate             = "orders/create"
	TopicOrdersUpdated            = "orders/updated"
	TopicOrdersCancelled          = "orders/cancelled"
	TopicOrdersFulfilled          = "orders/fulfilled"
	TopicOrdersPartiallyFulfilled = "orders/partially_fulfilled"
	TopicOrdersPaid               = "orders/paid"
	TopicFulfillmentsCreate       = "fulfillments/create"
	TopicFulfillmentsUpdate       = "fulfillments/update"
	// TopicRefundsCreate carries the REST Refund JSON (unwrapped).
	TopicRefundsCreate = "refunds/create"
)

// webhookOrder mirrors the fields of Shopify's REST Order JSON that
// ordersync reads; the rest of the payload is skipped.
type webhookOrder struct {
	ID                webhook.Text         `json:"id"`
	Name              string               `json:"name"`
	CreatedAt         webhook.Stamp        `json:"created_at"`
	UpdatedAt         webhook.Stamp        `json:"updated_at"`
	CancelledAt       webhook.Stamp        `json:"cancelled_at"`
	CancelReason      webhook.Text         `json:"cancel_reason"`
	FinancialStatus   webhook.Text         `json:"financial_status"`
	FulfillmentStatus webhook.Text         `json:"fulfillment_status"`
	Test              *bool                `json:"test"`
	NoteAttributes    []webhookAttribute   `json:"note_attributes"`
	SourceName        webhook.Text         `json:"source_name"`
	SourceIdentifier  webhook.Text         `json:"source_identifier"`
	LineItems         []webhookLineItem    `json:"line_items"`
	ShippingAddress   *webhookAddress      `json:"shipping_address"`
	Fulfillments      []webhookFulfillment `json:"fulfillments"`
	Refunds           []webhookRefund      `json:"refunds"`
}

// webhookRefund mirrors Shopify's REST Refund JSON, as an order's refunds
// and the refunds/create webhook carry it.
type webhookRefund struct {
	ID              webhook.Text            `json:"id"`
	OrderID         webhook.Text            `json:"order_id"`
	CreatedAt       webhook.Stamp           `json:"created_at"`
	ProcessedAt     webhook.Stamp           `json:"processed_at"`
	RefundLineItems []webhookRefundLineItem `json:"refund_line_items"`
}

type webhookRefundLineItem struct {
	LineItemID webhook.Text  `json:"line_item_id"`
	Quantity   webhook.Count `json:"quantity"`
	// RestockType is no_restock, cancel (the line was not fulfilled),
	// return (it was, and comes back) or legacy_restock.
	RestockType webhook.Text `json:"restock_type"`
	LineItem    struct {
		ID                webhook.Text `json:"id"`
		SKU               webhook.Text `json:"sku"`
		FulfillmentStatus webhook.Text `json:"fulfillment_status"`
	} `json:"line_item"`
}

type webhookAttribute struct {
	Name  webhook.Text `json:"name"`
	Value webhook.Text `json:"value"`
}

type webhookLineItem struct {
	ID       webhook.Text  `json:"id"`
	SKU      webhook.Text  `json:"sku"`
	Quantity webhook.Count `json:"quantity"`
	Name     webhook.Text  `json:"name"`
	Title    webhook.Text  `json:"title"`
}

type webhookAddress struct {
	Name         webhook.Text `json:"name"`
	FirstName    webhook.Text `json:"first_name"`
	LastName     webhook.Text `json:"last_name"`
	Company      webhook.Text `json:"company"`
	Address1     webhook.Text `json:"address1"`
	Address2     webhook.Text `json:"address2"`
	City         webhook.Text `json:"city"`
	Zip          webhook.Text `json:"zip"`
	Province     webhook.Text `json:"province"`
	ProvinceCode webhook.Text `json:"province_code"`
	CountryCode  webhook.Text `json:"country_code"`
	Phone        webhook.Text `json:"phone"`
}

// webhookFulfillment mirrors Shopify's REST Fulfillment JSON.
type webhookFulfillment struct {
	ID              webhook.Text      `json:"id"`
	OrderID         webhook.Text      `json:"order_id"`
	Name            webhook.Text      `json:"name"` // "#1001.2": order name, a dot, a sequence
	Status          webhook.Text      `json:"status"`
	CreatedAt       webhook.Stamp     `json:"created_at"`
	UpdatedAt       webhook.Stamp     `json:"updated_at"`
	TrackingCompany webhook.Text      `json:"tracking_company"`
	TrackingNumber  webhook.Text      `json:"tracking_number"`
	TrackingNumbers []webhook.Text    `json:"tracking_numbers"`
	TrackingURL     webhook.Text      `json:"tracking_url"`
	TrackingURLs    []webhook.Text    `json:"tracking_urls"`
	LineItems       []webhookLineItem `json:"line_items"`
}

// ParseWebhook reads the body of a Shopify webhook of topic (the
// X-Shopify-Topic header) into an event. eventID (X-Shopify-Event-Id) becomes
// the event's SourceEventID; the caller sets Connection, and OccurredAt when
// the payload carries no time (it is the order's or fulfillment's updated_at).
//
// Order topics (orders/create, orders/updated, orders/cancelled,
// orders/fulfilled, orders/partially_fulfilled, orders/paid) give the order's
// status, lines, shipping address and one parcel per fulfillment that was not
// cancelled or failed. A status Shopify has and ordersync cannot map leaves
// Status unknown, with SourceStatus kept, rather than losing the event.
//
// Fulfillment topics (fulfillments/create, fulfillments/update) give one
// parcel, or none when the fulfillment was cancelled or failed; their Status
// is unknown (the payload does not say whether the order is now fully
// shipped) and SourceStatus is the fulfillment's status. Missing tracking is
// passed through as empty, not refused: the sync reports it.
//
// It returns a *webhook.Error coded topic_unsupported for other topics, and
// malformed_json, invalid_field or missing_field for bodies it cannot use.
func ParseWebhook(topic, eventID string, body []byte) (order.Event, error) {
	topic = strings.ToLower(strings.TrimSpace(topic))
	switch topic {
	case TopicOrdersCreate, TopicOrdersUpdated, TopicOrdersCancelled, TopicOrdersFulfilled,
		TopicOrdersPartiallyFulfilled, TopicOrdersPaid:
		return parseOrderWebhook(topic, eventID, body)
	case TopicFulfillmentsCreate, TopicFulfillmentsUpdate:
		return parseFulfillmentWebhook(topic, eventID, body)
	case TopicRefundsCreate:
		return parseRefundWebhook(topic, eventID, body)
	}
	return order.Event{}, webhook.E(webhook.CodeTopicUnsupported, HeaderTopic)
}

func parseOrderWebhook(topic, eventID string, body []byte) (order.Event, error) {
	var o webhookOrder
	if err := decodeOrder(body, &o); err != nil {
		return order.Event{}, err
	}
	if o.ID == "" {
		return order.Event{}, webhook.E(webhook.CodeMissingField, "id")
	}
	cancelled := !o.CancelledAt.Time().IsZero()
	financial, fulfillment := string(o.FinancialStatus), string(o.FulfillmentStatus)
	e := order.Event{
		Source:        order.Shopify,
		SourceEventID: eventID,
		Topic:         topic,
		OccurredAt:    webhook.FirstTime(o.UpdatedAt, o.CreatedAt),
		Order:         order.Ref{StoreOrderID: string(o.ID), StoreOrderName: o.Name},
		SourceStatus:  sourceStatus(financial, fulfillment, cancelled),
		Lines:         webhookLines(o.LineItems),
		CancelReason:  string(o.CancelReason),
		Test:          o.Test != nil && *o.Test,
	}
	if s, err := Status(financial, fulfillment, cancelled); err == nil {
		e.Status = s
	}
	// Only what the Admin API set names the marketplace order; a note
	// attribute, which a buyer can write, is a claim.
	if string(o.SourceName) == SourceName {
		e.Order.MarketplaceOrderID = strings.TrimSpace(string(o.SourceIdentifier))
	}
	for _, a := range o.NoteAttributes {
		if string(a.Name) == MarketplaceOrderAttribute {
			e.Order.ClaimedMarketplaceOrderID = strings.TrimSpace(string(a.Value))
		}
	}
	if a := o.ShippingAddress; a != nil {
		e.ShippingAddress = &order.Address{
			Name:       webhook.FirstText(a.Name, webhook.JoinName(a.FirstName, a.LastName)),
			Company:    string(a.Company),
			Line1:      string(a.Address1),
			Line2:      string(a.Address2),
			City:       string(a.City),
			PostalCode: string(a.Zip),
			Region:     webhook.FirstText(a.ProvinceCode, a.Province),
			Country:    strings.ToUpper(string(a.CountryCode)),
			Phone:      string(a.Phone),
		}
	}
	for _, f := range o.Fulfillments {
		if fulfillmentVoid(f.Status) {
			continue
		}
		e.Parcels = append(e.Parcels, webhookParcel(f))
	}
	fulfilled := map[string]bool{}
	for _, p := range e.Parcels {
		for _, l := range p.Lines {
			fulfilled[l.StoreLineID] = true
		}
	}
	for _, r := range o.Refunds {
		e.Refunds = append(e.Refunds, webhookRefunds(r, fulfilled)...)
	}
	return e, nil
}

func parseRefundWebhook(topic, eventID string, body []byte) (order.Event, error) {
	var r webhookRefund
	if err := decodeRefund(body, &r); err != nil {
		return order.Event{}, err
	}
	if r.OrderID == "" {
		return order.Event{}, webhook.E(webhook.CodeMissingField, "order_id")
	}
	if r.ID == "" {
		return order.Event{}, webhook.E(webhook.CodeMissingField, "id")
	}
	return order.Event{
		Source:        order.Shopify,
		SourceEventID: eventID,
		Topic:         topic,
		OccurredAt:    webhook.FirstTime(r.ProcessedAt, r.CreatedAt),
		Order:         order.Ref{StoreOrderID: string(r.OrderID)},
		Refunds:       webhookRefunds(r, nil),
	}, nil
}

// webhookRefunds reads one Shopify refund as ordersync's refunds, one per
// kind its lines make: a line refunded before it was fulfilled (restock
// type cancel, or a line neither marked fulfilled nor in one of the
// order's fulfillments, fulfilled by store line id) is cancelled; one fulfilled is
// returned when restocked (return, legacy_restock), else refunded. Each
// is named by the refund's id and kind, the same from an order's payload
// and from refunds/create. A refund of no line (money only: shipping, a
// gesture) is not one ordersync can act on or explain per line: skipped.
func webhookRefunds(r webhookRefund, fulfilledLines map[string]bool) []order.Refund {
	if r.ID == "" {
		return nil
	}
	at := map[order.RefundKind]int{}
	var out []order.Refund
	for _, li := range r.RefundLineItems {
		if li.Quantity <= 0 {
			continue
		}
		lineID := string(cmpText(li.LineItemID, li.LineItem.ID))
		fulfilled := strings.EqualFold(string(li.LineItem.FulfillmentStatus), "fulfilled") || fulfilledLines[lineID]
		kind := order.RefundRefund
		switch restock := strings.ToLower(string(li.RestockType)); {
		case restock == "cancel", !fulfilled && restock != "return":
			kind = order.RefundCancel
		case restock == "return", restock == "legacy_restock":
			kind = order.RefundReturn
		}
		i, ok := at[kind]
		if !ok {
			i = len(out)
			at[kind] = i
			out = append(out, order.Refund{ID: string(r.ID) + "/" + string(kind), Kind: kind,
				At: webhook.FirstTime(r.ProcessedAt, r.CreatedAt)})
		}
		out[i].Lines = append(out[i].Lines, order.Line{SKU: strings.TrimSpace(string(li.LineItem.SKU)),
			Quantity: int(li.Quantity), StoreLineID: lineID})
	}
	return out
}

func cmpText(a, b webhook.Text) webhook.Text {
	if a != "" {
		return a
	}
	return b
}

func parseFulfillmentWebhook(topic, eventID string, body []byte) (order.Event, error) {
	var f webhookFulfillment
	if err := decodeFulfillment(body, &f); err != nil {
		return order.Event{}, err
	}
	if f.OrderID == "" {
		return order.Event{}, webhook.E(webhook.CodeMissingField, "order_id")
	}
	if f.ID == "" {
		return order.Event{}, webhook.E(webhook.CodeMissingField, "id")
	}
	e := order.Event{
		Source:        order.Shopify,
		SourceEventID: eventID,
		Topic:         topic,
		OccurredAt:    webhook.FirstTime(f.UpdatedAt, f.CreatedAt),
		Order:         order.Ref{StoreOrderID: string(f.OrderID), StoreOrderName: webhookOrderName(string(f.Name))},
		SourceStatus:  string(f.Status),
	}
	if !fulfillmentVoid(f.Status) {
		e.Parcels = []order.Parcel{webhookParcel(f)}
	}
	return e, nil
}

// fulfillmentVoid reports whether a fulfillment status means no
// parcel left (REST Fulfillment status: pending, open, success, cancelled,
// error, failure).
func fulfillmentVoid(status webhook.Text) bool {
	switch strings.ToLower(string(status)) {
	case "cancelled", "error", "failure":
		return true
	}
	return false
}

func webhookParcel(f webhookFulfillment) order.Parcel {
	p := order.Parcel{
		ID: string(f.ID),
		Tracking: order.Tracking{
			Number:  strings.TrimSpace(string(f.TrackingNumber)),
			Carrier: strings.TrimSpace(string(f.TrackingCompany)),
			URL:     strings.TrimSpace(string(f.TrackingURL)),
		},
		Lines: webhookLines(f.LineItems),
	}
	// One parcel per fulfillment: when Shopify lists several numbers, the
	// first stands for the fulfillment, as tracking_number does.
	if p.Tracking.Number == "" && len(f.TrackingNumbers) > 0 {
		p.Tracking.Number = strings.TrimSpace(string(f.TrackingNumbers[0]))
	}
	if p.Tracking.URL == "" && len(f.TrackingURLs) > 0 {
		p.Tracking.URL = strings.TrimSpace(string(f.TrackingURLs[0]))
	}
	return p
}

func webhookLines(items []webhookLineItem) []order.Line {
	if len(items) == 0 {
		return nil
	}
	lines := make([]order.Line, len(items))
	for i, li := range items {
		lines[i] = order.Line{
			SKU:         strings.TrimSpace(string(li.SKU)),
			Quantity:    int(li.Quantity),
			StoreLineID: string(li.ID),
			Title:       webhook.FirstText(li.Name, li.Title),
		}
	}
	return lines
}

// sourceStatus renders Shopify's status words for messages, e.g.
// "paid/fulfilled" or "refunded/unfulfilled/cancelled".
func sourceStatus(financial, fulfillment string, cancelled bool) string {
	if fulfillment == "" {
		fulfillment = "unfulfilled" // REST sends null for an unfulfilled order
	}
	s := financial + "/" + fulfillment
	if cancelled {
		s += "/cancelled"
	}
	return s
}

// webhookOrderName derives the order name from a fulfillment name
// ("#1001.2" -> "#1001"), or "" when the name has not that shape.
func webhookOrderName(fulfillmentName string) string {
	i := strings.LastIndexByte(fulfillmentName, '.')
	if i <= 0 || i == len(fulfillmentName)-1 {
		return ""
	}
	for _, r := range fulfillmentName[i+1:] {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return fulfillmentName[:i]
}

// VerifyWebhook checks an X-Shopify-Hmac-Sha256 header value: the base64
// HMAC-SHA256 of the raw body, keyed with the app's client secret (see
// webhook.VerifyBodyHMAC for rotation, empty secrets and the errors).
// Shopify's scheme carries no signed timestamp: retries of one event, hours
// apart, carry the same signature.
func VerifyWebhook(body []byte, signature string, secrets []string) error {
	return webhook.VerifyBodyHMAC(body, signature, secrets, HeaderHMAC)
}

// SignWebhook returns the X-Shopify-Hmac-Sha256 value Shopify would send for
// body under secret. It exists for tests and fake platforms.
func SignWebhook(body []byte, secret string) string { return webhook.SignBodyHMAC(body, secret) }
