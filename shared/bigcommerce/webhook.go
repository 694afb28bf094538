package bigcommerce

import (
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
)

// Webhook scopes ParseWebhook reads. Every BigCommerce webhook is thin (an
// id and, for statusUpdated, the new status id): the sync fetches the
// order. BigCommerce signs its webhooks per Standard Webhooks
// (webhook.VerifyStandard).
const (
	ScopeOrderCreated       = "store/order/created"
	ScopeOrderUpdated       = "store/order/updated"
	ScopeOrderStatusUpdated = "store/order/statusUpdated"
	ScopeOrderRefundCreated = "store/order/refund/created"
	ScopeShipmentCreated    = "store/shipment/created"
	ScopeShipmentUpdated    = "store/shipment/updated"
)

// webhookBody mirrors a BigCommerce webhook body.
type webhookBody struct {
	Scope   string       `json:"scope"`
	StoreID webhook.Text `json:"store_id"`
	Data    struct {
		Type    webhook.Text `json:"type"`
		ID      webhook.Text `json:"id"`
		OrderID webhook.Text `json:"orderId"` // shipment scopes
		Status  *struct {
			PreviousStatusID *webhook.Count `json:"previous_status_id"`
			NewStatusID      *webhook.Count `json:"new_status_id"`
		} `json:"status"`
	} `json:"data"`
	Hash      webhook.Text  `json:"hash"`
	CreatedAt webhook.Stamp `json:"created_at"` // Unix seconds
}

// ParseWebhook reads a BigCommerce webhook body into an event asking the
// sync to fetch the order. Its SourceEventID is the payload's hash, which a
// repeated delivery repeats; Topic is the scope; OccurredAt is created_at.
// Status is set only by store/order/statusUpdated (from new_status_id), and
// a status id ordersync cannot map leaves it unknown with SourceStatus kept.
// The caller sets Connection.
//
// It returns a *webhook.Error coded topic_unsupported for other scopes
// (archived orders, messages, products), and malformed_json, invalid_field
// or missing_field (hash, data.id, data.orderId) for bodies it cannot use.
func ParseWebhook(body []byte) (order.Event, error) {
	var w webhookBody
	if err := webhook.Decode(body, &w); err != nil {
		return order.Event{}, err
	}
	var orderID webhook.Text
	switch w.Scope {
	case ScopeOrderCreated, ScopeOrderUpdated, ScopeOrderStatusUpdated, ScopeOrderRefundCreated:
		orderID = w.Data.ID
		if orderID == "" {
			return order.Event{}, webhook.E(webhook.CodeMissingField, "data.id")
		}
	case ScopeShipmentCreated, ScopeShipmentUpdated:
		orderID = w.Data.OrderID
		if orderID == "" {
			return order.Event{}, webhook.E(webhook.CodeMissingField, "data.orderId")
		}
	case "":
		return order.Event{}, webhook.E(webhook.CodeMissingField, "scope")
	default:
		return order.Event{}, webhook.E(webhook.CodeTopicUnsupported, "scope")
	}
	if strings.TrimSpace(string(w.Hash)) == "" {
		return order.Event{}, webhook.E(webhook.CodeMissingField, "hash")
	}
	e := order.Event{
		Source:        order.BigCommerce,
		SourceEventID: strings.TrimSpace(string(w.Hash)),
		Topic:         w.Scope,
		OccurredAt:    webhook.FirstTime(w.CreatedAt),
		Order:         order.Ref{StoreOrderID: string(orderID), StoreOrderName: orderName(string(orderID))},
		Fetch:         true,
	}
	if st := w.Data.Status; st != nil && st.NewStatusID != nil {
		id := int(*st.NewStatusID)
		e.SourceStatus = strconv.Itoa(id)
		if s, err := Status(id); err == nil {
			e.Status = s
		}
	}
	return e, nil
}

// orderName is how BigCommerce shows an order: by its id ("Order #250").
// Webhooks and the API's reads name an order alike, so the merchant finds
// it by one name and its listing entry (gsi5) is not moved from one to
// the other.
func orderName(id string) string { return "#" + id }
