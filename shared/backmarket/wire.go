package backmarket

import (
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// wirePage is one page of GET /ws/orders.
type wirePage struct {
	Count    int         `json:"count"`
	Next     *string     `json:"next"`
	Previous *string     `json:"previous"`
	Results  []wireOrder `json:"results"`
}

// wireOrder is a Back Market order as /ws returns it (the fields we use).
// Ids are json.Number: documented as integers, accepted as strings too.
type wireOrder struct {
	OrderID          json.Number  `json:"order_id"`
	State            int          `json:"state"`
	TrackingNumber   string       `json:"tracking_number"`
	TrackingURL      string       `json:"tracking_url"`
	Shipper          string       `json:"shipper"`
	ShipperDisplay   string       `json:"shipper_display"`
	DateCreation     string       `json:"date_creation"`
	DateModification string       `json:"date_modification"`
	ShippingAddress  *wireAddress `json:"shipping_address"`
	OrderLines       []wireLine   `json:"orderlines"`
}

type wireLine struct {
	ID       json.Number `json:"id"`
	State    int         `json:"state"`
	Listing  string      `json:"listing"`
	Quantity int         `json:"quantity"`
}

type wireAddress struct {
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Company     string `json:"company"`
	Street      string `json:"street"`
	Street2     string `json:"street2"`
	PostalCode  string `json:"postalCode"`
	City        string `json:"city"`
	State       string `json:"state"`
	Country     string `json:"country"`
	PhoneNumber string `json:"phoneNumber"`
}

// domain converts w to ordersync's terms. The error, if any, is the first
// state the lifecycle does not know (invalid_data); the order is returned
// complete anyway, with StatusUnknown where a state was not understood.
func (w wireOrder) domain(loc *time.Location) (order.MarketplaceOrder, error) {
	o := order.MarketplaceOrder{
		ID:    w.OrderID.String(),
		State: itoa(w.State),
		Tracking: order.Tracking{Number: w.TrackingNumber, URL: w.TrackingURL,
			Carrier: cmp.Or(w.Shipper, w.ShipperDisplay)},
		CreatedAt: parseTime(w.DateCreation, loc),
		UpdatedAt: parseTime(w.DateModification, loc),
	}
	status, firstErr := OrderState(w.State)
	o.Status = status
	lineStatuses := make([]order.Status, 0, len(w.OrderLines))
	for _, wl := range w.OrderLines {
		s, err := LineState(wl.State)
		if firstErr == nil {
			firstErr = err
		}
		l := order.MarketplaceLine{ID: wl.ID.String(), SKU: wl.Listing, Quantity: wl.Quantity,
			Status: s, State: itoa(wl.State)}
		if s == order.StatusShipped || s == order.StatusDelivered {
			l.Tracking = o.Tracking // Back Market keeps one tracking per order
		}
		o.Lines = append(o.Lines, l)
		lineStatuses = append(lineStatuses, s)
		// A line refunded is Back Market's only word on a refund: before
		// shipping it ends the line like a cancel, after it is a return.
		switch wl.State {
		case lineRefundedBefore, lineRefundedAfter:
			kind := order.RefundRefund
			if wl.State == lineRefundedBefore {
				kind = order.RefundCancel
			}
			o.Refunds = append(o.Refunds, order.Refund{ID: "line/" + l.ID, Kind: kind,
				Lines: []order.Line{{SKU: l.SKU, Quantity: l.Quantity, MarketplaceLineID: l.ID}}})
		}
	}
	// The order state has no "partially shipped" or "partially
	// cancelled": the lines tell.
	if r := rules.Rollup(lineStatuses); r == order.StatusPartiallyShipped || r == order.StatusPartiallyCancelled {
		o.Status = r
	}
	if a := w.ShippingAddress; a != nil {
		o.ShippingAddress = &order.Address{
			Name:    strings.TrimSpace(a.FirstName + " " + a.LastName),
			Company: a.Company, Line1: a.Street, Line2: a.Street2, City: a.City,
			PostalCode: a.PostalCode, Region: a.State, Country: strings.ToUpper(a.Country), Phone: a.PhoneNumber,
		}
	}
	return o, firstErr
}

func itoa(n int) string { return strconv.Itoa(n) }

// timeLayouts are the date layouts Back Market is seen to use: RFC 3339
// with or without fractions, and the same without a zone.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}

// parseTime reads a Back Market date; one without a zone is in loc. An
// unreadable date is the zero time: dates inform, they never block a sync.
func parseTime(s string, loc *time.Location) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	for _, l := range timeLayouts[1:] {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
