package webhook

import (
	"strings"

	"github.com/ordersync/ordersync/shared/order"
)

// StandardPayload is the JSON a generic Standard Webhooks source (a 3PL, a
// custom store) sends ordersync. It follows the envelope the Standard
// Webhooks spec recommends, {"type", "timestamp", "data"}, with data in
// ordersync's own words:
//
//	{
//	  "type": "order.shipped",                    // required, free text, kept as Topic
//	  "timestamp": "2026-11-22T10:00:00Z",        // RFC 3339, when it happened; optional
//	  "data": {                                   // required
//	    "store_order_id": "1001",                 // this or marketplace_order_id required
//	    "store_order_name": "#1001",
//	    "marketplace_order_id": "BM-123",
//	    "status": "shipped",                      // optional; one of order.Status
//	    "source_status": "dispatched",            // optional; the sender's own word
//	    "lines": [{"sku": "SKU-1", "quantity": 1}],
//	    "shipping_address": {"name": "…", "line1": "…", "city": "…", "postal_code": "…", "country": "FR"},
//	    "parcels": [{"id": "P1", "tracking": {"number": "…", "carrier": "…", "url": "…"},
//	                 "lines": [{"sku": "SKU-1", "quantity": 1}]}],
//	    "cancel_reason": "",
//	    "test": false
//	  }
//	}
//
// Lines, address and parcels use order.Line, order.Address and order.Parcel's
// JSON names.
type StandardPayload struct {
	Type      string               `json:"type"`
	Timestamp string               `json:"timestamp,omitempty"`
	Data      *StandardPayloadData `json:"data"`
}

// StandardPayloadData is the data member of a StandardPayload.
type StandardPayloadData struct {
	StoreOrderID       string         `json:"store_order_id,omitempty"`
	StoreOrderName     string         `json:"store_order_name,omitempty"`
	MarketplaceOrderID string         `json:"marketplace_order_id,omitempty"`
	Status             order.Status   `json:"status,omitempty"`
	SourceStatus       string         `json:"source_status,omitempty"`
	Lines              []order.Line   `json:"lines,omitempty"`
	ShippingAddress    *order.Address `json:"shipping_address,omitempty"`
	Parcels            []order.Parcel `json:"parcels,omitempty"`
	CancelReason       string         `json:"cancel_reason,omitempty"`
	Test               bool           `json:"test,omitempty"`
}

// standardWire is StandardPayload as read, with a lenient timestamp.
type standardWire struct {
	Type      string               `json:"type"`
	Timestamp Stamp                `json:"timestamp"`
	Data      *StandardPayloadData `json:"data"`
}

// ParseStandard reads a StandardPayload body into an event whose
// SourceEventID is webhookID (the webhook-id header, the same on every
// retry of one message). The caller sets Connection, and OccurredAt when the
// payload has no timestamp.
//
// It returns an *Error coded malformed_json, missing_field (type, data, an
// order id) or invalid_field (an unknown status, a negative quantity).
func ParseStandard(webhookID string, body []byte) (order.Event, error) {
	var p standardWire
	if err := Decode(body, &p); err != nil {
		return order.Event{}, err
	}
	switch {
	case strings.TrimSpace(p.Type) == "":
		return order.Event{}, E(CodeMissingField, "type")
	case p.Data == nil:
		return order.Event{}, E(CodeMissingField, "data")
	case p.Data.StoreOrderID == "" && p.Data.MarketplaceOrderID == "":
		return order.Event{}, E(CodeMissingField, "data.store_order_id")
	case !knownStatus(p.Data.Status):
		return order.Event{}, E(CodeInvalidField, "data.status")
	}
	d := p.Data
	for _, l := range d.Lines {
		if l.Quantity < 0 {
			return order.Event{}, E(CodeInvalidField, "data.lines.quantity")
		}
	}
	for _, parcel := range d.Parcels {
		for _, l := range parcel.Lines {
			if l.Quantity < 0 {
				return order.Event{}, E(CodeInvalidField, "data.parcels.lines.quantity")
			}
		}
	}
	return order.Event{
		Source:        order.Standard,
		SourceEventID: webhookID,
		Topic:         strings.TrimSpace(p.Type),
		OccurredAt:    FirstTime(p.Timestamp),
		Order: order.Ref{
			StoreOrderID:       d.StoreOrderID,
			StoreOrderName:     d.StoreOrderName,
			MarketplaceOrderID: d.MarketplaceOrderID,
		},
		Status:          d.Status,
		SourceStatus:    d.SourceStatus,
		Lines:           d.Lines,
		ShippingAddress: d.ShippingAddress,
		Parcels:         d.Parcels,
		CancelReason:    d.CancelReason,
		Test:            d.Test,
	}, nil
}

func knownStatus(s order.Status) bool {
	switch s {
	case order.StatusUnknown, order.StatusPendingPayment, order.StatusAwaitingAcceptance, order.StatusAccepted,
		order.StatusPartiallyShipped, order.StatusShipped, order.StatusDelivered, order.StatusCancelled,
		order.StatusRefused, order.StatusRefunded:
		return true
	}
	return false
}
