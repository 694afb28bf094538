package webhook

import (
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
)

// MarketplaceOrderIDKey is the Shopify note attribute and WooCommerce
// meta_data key ordersync writes on the orders it imports from a
// marketplace; a webhook carrying it names the marketplace order directly.
const MarketplaceOrderIDKey = "ordersync_marketplace_order_id"

// Shopify webhook header names, lower-cased (API Gateway v2 lower-cases
// header names; callers look them up case-insensitively).
const (
	HeaderShopifyHMAC        = "x-shopify-hmac-sha256"
	HeaderShopifyTopic       = "x-shopify-topic"
	HeaderShopifyEventID     = "x-shopify-event-id"
	HeaderShopifyWebhookID   = "x-shopify-webhook-id"
	HeaderShopifyShopDomain  = "x-shopify-shop-domain"
	HeaderShopifyTriggeredAt = "x-shopify-triggered-at"
)

// Shopify topics ParseShopify reads. The order topics carry the REST Order
// JSON, the fulfillment topics the REST Fulfillment JSON (both unwrapped).
const (
	ShopifyOrdersCreate        = "orders/create"
	ShopifyOrdersUpdated       = "orders/updated"
	ShopifyOrdersCancelled     = "orders/cancelled"
	ShopifyOrdersFulfilled     = "orders/fulfilled"
	ShopifyOrdersPartiallyFulf = "orders/partially_fulfilled"
	ShopifyOrdersPaid          = "orders/paid"
	ShopifyFulfillmentsCreate  = "fulfillments/create"
	ShopifyFulfillmentsUpdate  = "fulfillments/update"
)

// shopifyOrder mirrors the fields of Shopify's REST Order JSON that
// ordersync reads; the rest of the payload is skipped.
type shopifyOrder struct {
	ID                Text                 `json:"id"`
	Name              string               `json:"name"`
	CreatedAt         Stamp                `json:"created_at"`
	UpdatedAt         Stamp                `json:"updated_at"`
	CancelledAt       Stamp                `json:"cancelled_at"`
	CancelReason      Text                 `json:"cancel_reason"`
	FinancialStatus   Text                 `json:"financial_status"`
	FulfillmentStatus Text                 `json:"fulfillment_status"`
	Test              *bool                `json:"test"`
	NoteAttributes    []shopifyAttribute   `json:"note_attributes"`
	LineItems         []shopifyLineItem    `json:"line_items"`
	ShippingAddress   *shopifyAddress      `json:"shipping_address"`
	Fulfillments      []shopifyFulfillment `json:"fulfillments"`
}

type shopifyAttribute struct {
	Name  Text `json:"name"`
	Value Text `json:"value"`
}

type shopifyLineItem struct {
	ID       Text  `json:"id"`
	SKU      Text  `json:"sku"`
	Quantity Count `json:"quantity"`
	Name     Text  `json:"name"`
	Title    Text  `json:"title"`
}

type shopifyAddress struct {
	Name         Text `json:"name"`
	FirstName    Text `json:"first_name"`
	LastName     Text `json:"last_name"`
	Company      Text `json:"company"`
	Address1     Text `json:"address1"`
	Address2     Text `json:"address2"`
	City         Text `json:"city"`
	Zip          Text `json:"zip"`
	Province     Text `json:"province"`
	ProvinceCode Text `json:"province_code"`
	CountryCode  Text `json:"country_code"`
	Phone        Text `json:"phone"`
}

// shopifyFulfillment mirrors Shopify's REST Fulfillment JSON.
type shopifyFulfillment struct {
	ID              Text              `json:"id"`
	OrderID         Text              `json:"order_id"`
	Name            Text              `json:"name"` // "#1001.2": order name, a dot, a sequence
	Status          Text              `json:"status"`
	CreatedAt       Stamp             `json:"created_at"`
	UpdatedAt       Stamp             `json:"updated_at"`
	TrackingCompany Text              `json:"tracking_company"`
	TrackingNumber  Text              `json:"tracking_number"`
	TrackingNumbers []Text            `json:"tracking_numbers"`
	TrackingURL     Text              `json:"tracking_url"`
	TrackingURLs    []Text            `json:"tracking_urls"`
	LineItems       []shopifyLineItem `json:"line_items"`
}

// ParseShopify reads the body of a Shopify webhook of topic (the
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
// It returns an *Error coded topic_unsupported for other topics, and
// malformed_json, invalid_field or missing_field for bodies it cannot use.
func ParseShopify(topic, eventID string, body []byte) (order.Event, error) {
	topic = strings.ToLower(strings.TrimSpace(topic))
	switch topic {
	case ShopifyOrdersCreate, ShopifyOrdersUpdated, ShopifyOrdersCancelled, ShopifyOrdersFulfilled,
		ShopifyOrdersPartiallyFulf, ShopifyOrdersPaid:
		return parseShopifyOrder(topic, eventID, body)
	case ShopifyFulfillmentsCreate, ShopifyFulfillmentsUpdate:
		return parseShopifyFulfillment(topic, eventID, body)
	}
	return order.Event{}, E(CodeTopicUnsupported, HeaderShopifyTopic)
}

func parseShopifyOrder(topic, eventID string, body []byte) (order.Event, error) {
	var o shopifyOrder
	if err := Decode(body, &o); err != nil {
		return order.Event{}, err
	}
	if o.ID == "" {
		return order.Event{}, E(CodeMissingField, "id")
	}
	cancelled := !o.CancelledAt.Time().IsZero()
	financial, fulfillment := string(o.FinancialStatus), string(o.FulfillmentStatus)
	e := order.Event{
		Source:        order.Shopify,
		SourceEventID: eventID,
		Topic:         topic,
		OccurredAt:    FirstTime(o.UpdatedAt, o.CreatedAt),
		Order:         order.Ref{StoreOrderID: string(o.ID), StoreOrderName: o.Name},
		SourceStatus:  shopifySourceStatus(financial, fulfillment, cancelled),
		Lines:         shopifyLines(o.LineItems),
		CancelReason:  string(o.CancelReason),
		Test:          o.Test != nil && *o.Test,
	}
	if s, err := shopify.Status(financial, fulfillment, cancelled); err == nil {
		e.Status = s
	}
	for _, a := range o.NoteAttributes {
		if string(a.Name) == MarketplaceOrderIDKey {
			e.Order.MarketplaceOrderID = strings.TrimSpace(string(a.Value))
		}
	}
	if a := o.ShippingAddress; a != nil {
		e.ShippingAddress = &order.Address{
			Name:       FirstText(a.Name, JoinName(a.FirstName, a.LastName)),
			Company:    string(a.Company),
			Line1:      string(a.Address1),
			Line2:      string(a.Address2),
			City:       string(a.City),
			PostalCode: string(a.Zip),
			Region:     FirstText(a.ProvinceCode, a.Province),
			Country:    strings.ToUpper(string(a.CountryCode)),
			Phone:      string(a.Phone),
		}
	}
	for _, f := range o.Fulfillments {
		if shopifyFulfillmentVoid(f.Status) {
			continue
		}
		e.Parcels = append(e.Parcels, shopifyParcel(f))
	}
	return e, nil
}

func parseShopifyFulfillment(topic, eventID string, body []byte) (order.Event, error) {
	var f shopifyFulfillment
	if err := Decode(body, &f); err != nil {
		return order.Event{}, err
	}
	if f.OrderID == "" {
		return order.Event{}, E(CodeMissingField, "order_id")
	}
	if f.ID == "" {
		return order.Event{}, E(CodeMissingField, "id")
	}
	e := order.Event{
		Source:        order.Shopify,
		SourceEventID: eventID,
		Topic:         topic,
		OccurredAt:    FirstTime(f.UpdatedAt, f.CreatedAt),
		Order:         order.Ref{StoreOrderID: string(f.OrderID), StoreOrderName: shopifyOrderName(string(f.Name))},
		SourceStatus:  string(f.Status),
	}
	if !shopifyFulfillmentVoid(f.Status) {
		e.Parcels = []order.Parcel{shopifyParcel(f)}
	}
	return e, nil
}

// shopifyFulfillmentVoid reports whether a fulfillment status means no
// parcel left (REST Fulfillment status: pending, open, success, cancelled,
// error, failure).
func shopifyFulfillmentVoid(status Text) bool {
	switch strings.ToLower(string(status)) {
	case "cancelled", "error", "failure":
		return true
	}
	return false
}

func shopifyParcel(f shopifyFulfillment) order.Parcel {
	p := order.Parcel{
		ID: string(f.ID),
		Tracking: order.Tracking{
			Number:  strings.TrimSpace(string(f.TrackingNumber)),
			Carrier: strings.TrimSpace(string(f.TrackingCompany)),
			URL:     strings.TrimSpace(string(f.TrackingURL)),
		},
		Lines: shopifyLines(f.LineItems),
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

func shopifyLines(items []shopifyLineItem) []order.Line {
	if len(items) == 0 {
		return nil
	}
	lines := make([]order.Line, len(items))
	for i, li := range items {
		lines[i] = order.Line{
			SKU:         strings.TrimSpace(string(li.SKU)),
			Quantity:    int(li.Quantity),
			StoreLineID: string(li.ID),
			Title:       FirstText(li.Name, li.Title),
		}
	}
	return lines
}

// shopifySourceStatus renders Shopify's status words for messages, e.g.
// "paid/fulfilled" or "refunded/unfulfilled/cancelled".
func shopifySourceStatus(financial, fulfillment string, cancelled bool) string {
	if fulfillment == "" {
		fulfillment = "unfulfilled" // REST sends null for an unfulfilled order
	}
	s := financial + "/" + fulfillment
	if cancelled {
		s += "/cancelled"
	}
	return s
}

// shopifyOrderName derives the order name from a fulfillment name
// ("#1001.2" -> "#1001"), or "" when the name has not that shape.
func shopifyOrderName(fulfillmentName string) string {
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
