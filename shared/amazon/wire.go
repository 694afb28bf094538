package amazon

import (
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// The SP-API Orders v0 payloads, the fields the connector uses, spelled as
// Amazon spells them (models/orders-api-model/ordersV0.json).

// wireError is one entry of an SP-API error body:
// {"errors":[{"code","message","details"}]}.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details string `json:"details"`
}

type wireErrors struct {
	Errors []wireError `json:"errors"`
}

type wireOrdersPage struct {
	Payload struct {
		Orders    []wireOrder `json:"Orders"`
		NextToken string      `json:"NextToken"`
	} `json:"payload"`
}

type wireOrderResponse struct {
	Payload *wireOrder `json:"payload"`
}

type wireOrder struct {
	AmazonOrderID          string       `json:"AmazonOrderId"`
	PurchaseDate           string       `json:"PurchaseDate"`
	LastUpdateDate         string       `json:"LastUpdateDate"`
	OrderStatus            string       `json:"OrderStatus"`
	FulfillmentChannel     string       `json:"FulfillmentChannel"`
	MarketplaceID          string       `json:"MarketplaceId"`
	NumberOfItemsShipped   int          `json:"NumberOfItemsShipped"`
	NumberOfItemsUnshipped int          `json:"NumberOfItemsUnshipped"`
	ShippingAddress        *wireAddress `json:"ShippingAddress"`
}

type wireItemsResponse struct {
	Payload struct {
		AmazonOrderID string     `json:"AmazonOrderId"`
		OrderItems    []wireItem `json:"OrderItems"`
		NextToken     string     `json:"NextToken"`
	} `json:"payload"`
}

type wireItem struct {
	ASIN            string `json:"ASIN"`
	OrderItemID     string `json:"OrderItemId"`
	SellerSKU       string `json:"SellerSKU"`
	QuantityOrdered int    `json:"QuantityOrdered"`
	QuantityShipped int    `json:"QuantityShipped"`
}

type wireAddressResponse struct {
	Payload struct {
		AmazonOrderID   string       `json:"AmazonOrderId"`
		ShippingAddress *wireAddress `json:"ShippingAddress"`
	} `json:"payload"`
}

type wireAddress struct {
	Name          string `json:"Name"`
	CompanyName   string `json:"CompanyName"`
	AddressLine1  string `json:"AddressLine1"`
	AddressLine2  string `json:"AddressLine2"`
	AddressLine3  string `json:"AddressLine3"`
	City          string `json:"City"`
	County        string `json:"County"`
	StateOrRegion string `json:"StateOrRegion"`
	PostalCode    string `json:"PostalCode"`
	CountryCode   string `json:"CountryCode"`
	Phone         string `json:"Phone"`
}

// shipmentConfirmation is the body of confirmShipment.
type shipmentConfirmation struct {
	MarketplaceID string        `json:"marketplaceId"`
	PackageDetail packageDetail `json:"packageDetail"`
}

type packageDetail struct {
	PackageReferenceID string        `json:"packageReferenceId"`
	CarrierCode        string        `json:"carrierCode"`
	CarrierName        string        `json:"carrierName,omitempty"`
	TrackingNumber     string        `json:"trackingNumber"`
	ShipDate           string        `json:"shipDate"`
	OrderItems         []packageItem `json:"orderItems"`
}

type packageItem struct {
	OrderItemID string `json:"orderItemId"`
	Quantity    int    `json:"quantity"`
}

type wireRDTRequest struct {
	RestrictedResources []wireRestrictedResource `json:"restrictedResources"`
}

type wireRestrictedResource struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

type wireRDTResponse struct {
	RestrictedDataToken string `json:"restrictedDataToken"`
	ExpiresIn           int    `json:"expiresIn"`
}

type wireToken struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// domain converts w and its items to ordersync's terms. The error, if any,
// is an OrderStatus the lifecycle does not know (invalid_data); the order
// is returned complete anyway, with StatusUnknown.
func (w wireOrder) domain(items []wireItem) (order.MarketplaceOrder, error) {
	o := order.MarketplaceOrder{
		ID:        w.AmazonOrderID,
		State:     w.OrderStatus,
		CreatedAt: parseTime(w.PurchaseDate),
		UpdatedAt: parseTime(w.LastUpdateDate),
	}
	status, err := Status(w.OrderStatus)
	o.Status = status
	for _, it := range items {
		l := order.MarketplaceLine{ID: it.OrderItemID, SKU: it.SellerSKU, Quantity: it.QuantityOrdered,
			State: w.OrderStatus, Status: lineStatus(status, it)}
		o.Lines = append(o.Lines, l)
	}
	return o, err
}

// lineStatus is an order item's status: Amazon gives items no status of
// their own, only the quantities ordered and shipped.
func lineStatus(orderStatus order.Status, it wireItem) order.Status {
	switch {
	case orderStatus == order.StatusCancelled || orderStatus == order.StatusPendingPayment || orderStatus == order.StatusUnknown:
		return orderStatus
	case it.QuantityOrdered > 0 && it.QuantityShipped >= it.QuantityOrdered:
		return order.StatusShipped
	case it.QuantityShipped > 0:
		return order.StatusPartiallyShipped
	case orderStatus == order.StatusShipped:
		return order.StatusShipped // an order shipped whole, its items not counted
	}
	return order.StatusAccepted
}

func (a *wireAddress) domain() *order.Address {
	if a == nil {
		return nil
	}
	line2 := strings.TrimSpace(strings.Join([]string{a.AddressLine2, a.AddressLine3}, " "))
	return &order.Address{Name: a.Name, Company: a.CompanyName, Line1: a.AddressLine1, Line2: line2,
		City: a.City, PostalCode: a.PostalCode, Region: a.StateOrRegion, Country: strings.ToUpper(a.CountryCode),
		Phone: a.Phone}
}

// parseTime reads an SP-API ISO 8601 date; an unreadable one is the zero
// time: dates inform, they never block a sync.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
