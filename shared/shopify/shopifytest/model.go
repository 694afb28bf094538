// Package shopifytest is a fake Shopify Admin GraphQL API for tests: an
// http.Handler that keeps orders, fulfillment orders, fulfillments and
// product variants in memory and enforces the rules of Shopify's own that
// ordersync relies on.
//
// It does not parse GraphQL selections: it recognises the root field of
// each document (order, orders, productVariants, orderCreate,
// fulfillmentCreate) and answers with every field ordersync's client
// selects, in Shopify's response shapes (an order's refunds among them).
// Inputs are read from variables; refunds are made from Go (Refund), as
// a merchant makes them in the admin.
//
// As the sandbox store of make run it keeps its state in a file (Persist)
// and answers GET /_sandbox/orders and GET /_sandbox/variants (no auth)
// with what it holds.
package shopifytest

import (
	"strconv"
	"time"
)

// Order is an order as the fake holds it. Enum values are GraphQL's
// (PAID, OPEN, SUCCESS, CUSTOMER, …).
type Order struct {
	// ID is the numeric id, assigned by AddOrder and orderCreate.
	ID        string
	Name      string // "#1001"; assigned when empty
	CreatedAt time.Time
	UpdatedAt time.Time
	// CancelledAt is zero for an order not cancelled.
	CancelledAt  time.Time
	CancelReason string
	// FinancialStatus is displayFinancialStatus; PAID when empty.
	FinancialStatus  string
	Test             bool
	SourceIdentifier string
	CustomAttributes []Attribute
	ShippingAddress  *Address
	LineItems        []LineItem
	// FulfillmentOrders default to one OPEN fulfillment order holding every
	// line item (CLOSED for a cancelled order).
	FulfillmentOrders []FulfillmentOrder
	Fulfillments      []Fulfillment
	// Refunds are the order's refunds, oldest first (see Server.Refund).
	Refunds []Refund
}

// Refund is a refund of an order: money back for some line items, each
// with its restock type (CANCEL, RETURN, NO_RESTOCK; GraphQL's
// RefundLineItemRestockType). ID is assigned by Server.Refund.
type Refund struct {
	ID        string
	CreatedAt time.Time
	Lines     []RefundLine
}

// RefundLine is a quantity of one line item in a refund.
type RefundLine struct {
	LineItemID  string
	Quantity    int
	RestockType string
}

// Attribute is a custom attribute (REST note attribute).
type Attribute struct{ Key, Value string }

// Address is a MailingAddress.
type Address struct {
	FirstName, LastName, Company, Address1, Address2, City, Zip, ProvinceCode, CountryCode, Phone string
}

// LineItem is one order line; ID is assigned when empty.
type LineItem struct {
	ID        string
	SKU       string
	Title     string
	Quantity  int
	VariantID string
}

// FulfillmentOrder groups line items to fulfil from one location. Status
// is OPEN, IN_PROGRESS, CLOSED, CANCELLED, ON_HOLD, SCHEDULED or
// INCOMPLETE; only OPEN and IN_PROGRESS ones accept fulfillments.
type FulfillmentOrder struct {
	ID        string
	Status    string
	LineItems []FulfillmentOrderLineItem
}

// FulfillmentOrderLineItem is a line item's share of a fulfillment order.
type FulfillmentOrderLineItem struct {
	ID                string
	LineItemID        string
	TotalQuantity     int
	RemainingQuantity int
}

// Fulfillment is a recorded shipment; Status is SUCCESS or CANCELLED.
type Fulfillment struct {
	ID             string
	Status         string
	Tracking       []Tracking
	Lines          []FulfilledLine
	NotifyCustomer bool
}

// Tracking is a FulfillmentTrackingInfo.
type Tracking struct{ Company, Number, URL string }

// FulfilledLine is a quantity of one line item in a fulfillment.
type FulfilledLine struct {
	LineItemID string
	Quantity   int
}

// Variant is a product variant in the fake's catalogue.
type Variant struct {
	ID    string
	SKU   string
	Title string
}

// Throttle makes the fake answer Count requests with a GraphQL THROTTLED
// error carrying these cost figures, as Shopify does when the app's cost
// bucket is short of a query's requested cost.
type Throttle struct {
	RequestedCost float64
	Available     float64
	RestoreRate   float64
	Count         int
}

// displayFulfillmentStatus derives the order's fulfillment status from its
// fulfillment orders, as Shopify does.
func (o *Order) displayFulfillmentStatus() string {
	total, remaining, onHold := 0, 0, false
	for _, fo := range o.FulfillmentOrders {
		if fo.Status == "ON_HOLD" {
			onHold = true
		}
		if fo.Status == "CANCELLED" {
			continue
		}
		for _, li := range fo.LineItems {
			total += li.TotalQuantity
			remaining += li.RemainingQuantity
		}
	}
	switch {
	case total > 0 && remaining == 0:
		return "FULFILLED"
	case remaining < total:
		return "PARTIALLY_FULFILLED"
	case onHold:
		return "ON_HOLD"
	default:
		return "UNFULFILLED"
	}
}

func (o *Order) lineItem(id string) (LineItem, bool) {
	for _, li := range o.LineItems {
		if li.ID == id {
			return li, true
		}
	}
	return LineItem{}, false
}

func gid(kind, id string) string { return "gid://shopify/" + kind + "/" + id }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
