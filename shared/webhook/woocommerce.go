package webhook

import (
	"encoding/json"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

// WooCommerce webhook header names, lower-cased.
const (
	HeaderWooCommerceSignature  = "x-wc-webhook-signature"
	HeaderWooCommerceTopic      = "x-wc-webhook-topic"
	HeaderWooCommerceDeliveryID = "x-wc-webhook-delivery-id"
	HeaderWooCommerceWebhookID  = "x-wc-webhook-id"
	HeaderWooCommerceSource     = "x-wc-webhook-source"
)

// WooCommerce topics ParseWooCommerce reads (payload: the REST API v3 order).
const (
	WooCommerceOrderCreated  = "order.created"
	WooCommerceOrderUpdated  = "order.updated"
	WooCommerceOrderRestored = "order.restored"
)

// wooOrder mirrors the fields of WooCommerce's REST v3 order that ordersync
// reads.
type wooOrder struct {
	ID              Text          `json:"id"`
	Number          Text          `json:"number"`
	Status          Text          `json:"status"`
	DateCreatedGMT  Stamp         `json:"date_created_gmt"`
	DateModified    Stamp         `json:"date_modified"`
	DateModifiedGMT Stamp         `json:"date_modified_gmt"`
	MetaData        []wooMeta     `json:"meta_data"`
	LineItems       []wooLineItem `json:"line_items"`
	Shipping        *wooAddress   `json:"shipping"`
}

type wooMeta struct {
	Key   Text            `json:"key"`
	Value json.RawMessage `json:"value"` // any JSON; read only for the keys we want
}

type wooLineItem struct {
	ID       Text  `json:"id"`
	Name     Text  `json:"name"`
	SKU      Text  `json:"sku"`
	Quantity Count `json:"quantity"`
}

type wooAddress struct {
	FirstName Text `json:"first_name"`
	LastName  Text `json:"last_name"`
	Company   Text `json:"company"`
	Address1  Text `json:"address_1"`
	Address2  Text `json:"address_2"`
	City      Text `json:"city"`
	State     Text `json:"state"`
	Postcode  Text `json:"postcode"`
	Country   Text `json:"country"`
	Phone     Text `json:"phone"`
}

// ParseWooCommerce reads the body of a WooCommerce order webhook of topic
// (X-WC-Webhook-Topic: order.created, order.updated, order.restored) into an
// event. Its SourceEventID is deliveryID (X-WC-Webhook-Delivery-ID), the
// order id and date_modified_gmt joined by ":": WooCommerce's delivery ids
// are a hash of the webhook and the current second, so two orders changed in
// one second share one. The caller sets Connection.
//
// WooCommerce core has no tracking fields, so the event has no parcels; a
// status ordersync cannot map (a custom one) leaves Status unknown with
// SourceStatus kept. It returns an *Error coded topic_unsupported for other
// topics (order.deleted among them: its body is only an id), and
// malformed_json, invalid_field or missing_field for bodies it cannot use.
func ParseWooCommerce(topic, deliveryID string, body []byte) (order.Event, error) {
	topic = strings.ToLower(strings.TrimSpace(topic))
	switch topic {
	case WooCommerceOrderCreated, WooCommerceOrderUpdated, WooCommerceOrderRestored:
	default:
		return order.Event{}, E(CodeTopicUnsupported, HeaderWooCommerceTopic)
	}
	var o wooOrder
	if err := Decode(body, &o); err != nil {
		return order.Event{}, err
	}
	if o.ID == "" || o.ID == "0" {
		return order.Event{}, E(CodeMissingField, "id")
	}
	modified := FirstTime(o.DateModifiedGMT, o.DateModified)
	if modified.IsZero() {
		return order.Event{}, E(CodeMissingField, "date_modified_gmt")
	}
	e := order.Event{
		Source:        order.WooCommerce,
		SourceEventID: deliveryID + ":" + string(o.ID) + ":" + strconv.FormatInt(modified.Unix(), 10),
		Topic:         topic,
		OccurredAt:    modified,
		Order:         order.Ref{StoreOrderID: string(o.ID), StoreOrderName: FirstText(o.Number, o.ID)},
		SourceStatus:  string(o.Status),
		Lines:         wooLines(o.LineItems),
	}
	if s, err := woocommerce.Status(string(o.Status)); err == nil {
		e.Status = s
	}
	for _, m := range o.MetaData {
		if string(m.Key) != MarketplaceOrderIDKey {
			continue
		}
		var v Text
		if json.Unmarshal(m.Value, &v) == nil {
			e.Order.MarketplaceOrderID = strings.TrimSpace(string(v))
		}
	}
	if a := o.Shipping; a != nil && *a != (wooAddress{}) {
		e.ShippingAddress = &order.Address{
			Name:       string(JoinName(a.FirstName, a.LastName)),
			Company:    string(a.Company),
			Line1:      string(a.Address1),
			Line2:      string(a.Address2),
			City:       string(a.City),
			PostalCode: string(a.Postcode),
			Region:     string(a.State),
			Country:    strings.ToUpper(string(a.Country)),
			Phone:      string(a.Phone),
		}
	}
	return e, nil
}

func wooLines(items []wooLineItem) []order.Line {
	if len(items) == 0 {
		return nil
	}
	lines := make([]order.Line, len(items))
	for i, li := range items {
		lines[i] = order.Line{
			SKU:         strings.TrimSpace(string(li.SKU)),
			Quantity:    int(li.Quantity),
			StoreLineID: string(li.ID),
			Title:       string(li.Name),
		}
	}
	return lines
}

// IsWooCommercePing reports whether a delivery is the unsigned ping
// WooCommerce sends when a webhook is created or its URL changes: a
// form-encoded body holding only webhook_id=<number>. It should be answered
// 200 and otherwise ignored.
func IsWooCommercePing(contentType string, body []byte) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" || len(body) > 64 {
		return false
	}
	v, err := url.ParseQuery(string(body))
	if err != nil || len(v) != 1 || len(v["webhook_id"]) != 1 {
		return false
	}
	_, err = strconv.ParseUint(v.Get("webhook_id"), 10, 64)
	return err == nil
}
