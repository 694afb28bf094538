package webhook

import (
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/order"
)

// BigCommerce scopes ParseBigCommerce reads. Every BigCommerce webhook is
// thin (an id and, for statusUpdated, the new status id): the sync fetches
// the order.
const (
	BigCommerceOrderCreated       = "store/order/created"
	BigCommerceOrderUpdated       = "store/order/updated"
	BigCommerceOrderStatusUpdated = "store/order/statusUpdated"
	BigCommerceOrderRefundCreated = "store/order/refund/created"
	BigCommerceShipmentCreated    = "store/shipment/created"
	BigCommerceShipmentUpdated    = "store/shipment/updated"
)

// bigCommerceWebhook mirrors a BigCommerce webhook body.
type bigCommerceWebhook struct {
	Scope   string `json:"scope"`
	StoreID Text   `json:"store_id"`
	Data    struct {
		Type    Text `json:"type"`
		ID      Text `json:"id"`
		OrderID Text `json:"orderId"` // shipment scopes
		Status  *struct {
			PreviousStatusID *Count `json:"previous_status_id"`
			NewStatusID      *Count `json:"new_status_id"`
		} `json:"status"`
	} `json:"data"`
	Hash      Text  `json:"hash"`
	CreatedAt Stamp `json:"created_at"` // Unix seconds
}

// ParseBigCommerce reads a BigCommerce webhook body into an event asking the
// sync to fetch the order. Its SourceEventID is the payload's hash, which a
// repeated delivery repeats; Topic is the scope; OccurredAt is created_at.
// Status is set only by store/order/statusUpdated (from new_status_id), and
// a status id ordersync cannot map leaves it unknown with SourceStatus kept.
// The caller sets Connection.
//
// It returns an *Error coded topic_unsupported for other scopes (archived
// orders, messages, products), and malformed_json, invalid_field or
// missing_field (hash, data.id, data.orderId) for bodies it cannot use.
func ParseBigCommerce(body []byte) (order.Event, error) {
	var w bigCommerceWebhook
	if err := Decode(body, &w); err != nil {
		return order.Event{}, err
	}
	var orderID Text
	switch w.Scope {
	case BigCommerceOrderCreated, BigCommerceOrderUpdated, BigCommerceOrderStatusUpdated, BigCommerceOrderRefundCreated:
		orderID = w.Data.ID
		if orderID == "" {
			return order.Event{}, E(CodeMissingField, "data.id")
		}
	case BigCommerceShipmentCreated, BigCommerceShipmentUpdated:
		orderID = w.Data.OrderID
		if orderID == "" {
			return order.Event{}, E(CodeMissingField, "data.orderId")
		}
	case "":
		return order.Event{}, E(CodeMissingField, "scope")
	default:
		return order.Event{}, E(CodeTopicUnsupported, "scope")
	}
	if strings.TrimSpace(string(w.Hash)) == "" {
		return order.Event{}, E(CodeMissingField, "hash")
	}
	e := order.Event{
		Source:        order.BigCommerce,
		SourceEventID: strings.TrimSpace(string(w.Hash)),
		Topic:         w.Scope,
		OccurredAt:    FirstTime(w.CreatedAt),
		// BigCommerce shows an order by its id ("Order #250").
		Order: order.Ref{StoreOrderID: string(orderID), StoreOrderName: string(orderID)},
		Fetch: true,
	}
	if st := w.Data.Status; st != nil && st.NewStatusID != nil {
		id := int(*st.NewStatusID)
		e.SourceStatus = strconv.Itoa(id)
		if s, err := bigcommerce.Status(id); err == nil {
			e.Status = s
		}
	}
	return e, nil
}
