package woocommerce

import (
	"encoding/json"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
)

// WooCommerce webhook header names, lower-cased (API Gateway v2 lower-cases
// header names; callers look them up case-insensitively).
const (
	HeaderSignature  = "x-wc-webhook-signature"
	HeaderTopic      = "x-wc-webhook-topic"
	HeaderDeliveryID = "x-wc-webhook-delivery-id"
	HeaderWebhookID  = "x-wc-webhook-id"
	HeaderSource     = "x-wc-webhook-source"
)

// Topics ParseWebhook reads (payload: the REST API v3 order).
const (
	TopicOrderCreated  = "order.created"
	TopicOrderUpdated  = "order.updated"
	TopicOrderRestored = "order.restored"
)

// webhookOrder mirrors the fields of WooCommerce's REST v3 order that a
// webhook parse reads.
type webhookOrder struct {
	ID              webhook.Text      `json:"id"`
	Number          webhook.Text      `json:"number"`
	Status          webhook.Text      `json:"status"`
	DateCreatedGMT  webhook.Stamp     `json:"date_created_gmt"`
	DateModified    webhook.Stamp     `json:"date_modified"`
	DateModifiedGMT webhook.Stamp     `json:"date_modified_gmt"`
	CreatedVia      webhook.Text      `json:"created_via"`
	MetaData        []webhookMeta     `json:"meta_data"`
	LineItems       []webhookLineItem `json:"line_items"`
	Shipping        *webhookAddress   `json:"shipping"`
	// Refunds are the order's refunds ({id, reason, total}): WooCommerce's
	// order names no lines for them.
	Refunds []struct {
		ID webhook.Text `json:"id"`
	} `json:"refunds"`
}

type webhookMeta struct {
	Key   webhook.Text    `json:"key"`
	Value json.RawMessage `json:"value"` // any JSON; read only for the keys we want
}

type webhookLineItem struct {
	ID       webhook.Text  `json:"id"`
	Name     webhook.Text  `json:"name"`
	SKU      webhook.Text  `json:"sku"`
	Quantity webhook.Count `json:"quantity"`
}

type webhookAddress struct {
	FirstName webhook.Text `json:"first_name"`
	LastName  webhook.Text `json:"last_name"`
	Company   webhook.Text `json:"company"`
	Address1  webhook.Text `json:"address_1"`
	Address2  webhook.Text `json:"address_2"`
	City      webhook.Text `json:"city"`
	State     webhook.Text `json:"state"`
	Postcode  webhook.Text `json:"postcode"`
	Country   webhook.Text `json:"country"`
	Phone     webhook.Text `json:"phone"`
}

// ParseWebhook reads the body of a WooCommerce order webhook of topic
// (X-WC-Webhook-Topic: order.created, order.updated, order.restored) into an
// event. Its SourceEventID is deliveryID (X-WC-Webhook-Delivery-ID), the
// order id and date_modified_gmt joined by ":": WooCommerce's delivery ids
// are a hash of the webhook and the current second, so two orders changed in
// one second share one. The caller sets Connection.
//
// WooCommerce core has no tracking fields, so the event has no parcels; a
// status ordersync cannot map (a custom one) leaves Status unknown with
// SourceStatus kept. It returns a *webhook.Error coded topic_unsupported for
// other topics (order.deleted among them: its body is only an id), and
// malformed_json, invalid_field or missing_field for bodies it cannot use.
func ParseWebhook(topic, deliveryID string, body []byte) (order.Event, error) {
	topic = strings.ToLower(strings.TrimSpace(topic))
	switch topic {
	case TopicOrderCreated, TopicOrderUpdated, TopicOrderRestored:
	default:
		return order.Event{}, webhook.E(webhook.CodeTopicUnsupported, HeaderTopic)
	}
	var o webhookOrder
	if err := webhook.Decode(body, &o); err != nil {
		return order.Event{}, err
	}
	if o.ID == "" || o.ID == "0" {
		return order.Event{}, webhook.E(webhook.CodeMissingField, "id")
	}
	modified := webhook.FirstTime(o.DateModifiedGMT, o.DateModified)
	if modified.IsZero() {
		return order.Event{}, webhook.E(webhook.CodeMissingField, "date_modified_gmt")
	}
	e := order.Event{
		Source:        order.WooCommerce,
		SourceEventID: deliveryID + ":" + string(o.ID) + ":" + strconv.FormatInt(modified.Unix(), 10),
		Topic:         topic,
		OccurredAt:    modified,
		Order:         order.Ref{StoreOrderID: string(o.ID), StoreOrderName: orderName(string(o.Number), string(o.ID))},
		SourceStatus:  string(o.Status),
		Lines:         webhookLines(o.LineItems),
	}
	if s, err := Status(string(o.Status)); err == nil {
		e.Status = s
	}
	for _, r := range o.Refunds {
		// Money given back, lines unknown (the order JSON does not list
		// them): recorded, and explained once the order has shipped.
		if r.ID != "" {
			e.Refunds = append(e.Refunds, order.Refund{ID: "refund/" + string(r.ID), Kind: order.RefundRefund, At: modified})
		}
	}
	for _, m := range o.MetaData {
		if string(m.Key) == OrderedLinesMetaKey {
			// A line the merchant cut, or removed: cancelled.
			e.Refunds = append(e.Refunds, cuts(string(o.CreatedVia), m.Value, e.Lines, modified)...)
			continue
		}
		if k := string(m.Key); k != MarketplaceOrderMetaKey && k != ImportedOrderMetaKey {
			continue
		}
		var v webhook.Text
		if json.Unmarshal(m.Value, &v) == nil {
			// A claim: order meta is not proof ordersync made the order.
			e.Order.ClaimedMarketplaceOrderID = strings.TrimSpace(string(v))
		}
	}
	if a := o.Shipping; a != nil && *a != (webhookAddress{}) {
		e.ShippingAddress = &order.Address{
			Name:       string(webhook.JoinName(a.FirstName, a.LastName)),
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
			Title:       string(li.Name),
		}
	}
	return lines
}

// IsWebhookPing reports whether a delivery is the unsigned ping WooCommerce
// sends when a webhook is created or its URL changes: a form-encoded body
// holding only webhook_id=<number>. It should be answered 200 and otherwise
// ignored.
func IsWebhookPing(contentType string, body []byte) bool {
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

// VerifyWebhook checks an X-WC-Webhook-Signature header value: the base64
// HMAC-SHA256 of the delivered body keyed with the webhook's secret (see
// webhook.VerifyBodyHMAC for rotation, empty secrets and the errors).
// WooCommerce's scheme carries no signed timestamp.
func VerifyWebhook(body []byte, signature string, secrets []string) error {
	return webhook.VerifyBodyHMAC(body, signature, secrets, HeaderSignature)
}

// SignWebhook returns the X-WC-Webhook-Signature value WooCommerce would
// send for body under secret. It exists for tests and fake platforms.
func SignWebhook(body []byte, secret string) string { return webhook.SignBodyHMAC(body, secret) }

// orderName is how WooCommerce shows an order ("#1001"): its number, or
// its id where no plugin gives it another number. Webhooks and the REST
// reads name an order alike, so the merchant finds it by one name and its
// listing entry (gsi5) is not moved from one to the other.
func orderName(number, id string) string {
	return "#" + webhook.FirstText(webhook.Text(number), webhook.Text(id))
}
