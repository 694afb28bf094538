package shopify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/webhook"
)

// orderFields selects what an event needs of an order. The connection
// sizes keep one page of PageSize orders under Shopify's 1000-point limit
// (UNCONFIRMED against a live shop since refunds were added: the refresh
// must see a refund whose webhook was lost, so an order's newest five
// refunds, ten lines each, are read).
const orderFields = `
fragment OrderFields on Order {
  id
  legacyResourceId
  name
  createdAt
  updatedAt
  cancelledAt
  cancelReason
  displayFinancialStatus
  displayFulfillmentStatus
  test
  sourceIdentifier
  customAttributes { key value }
  shippingAddress { firstName lastName name company address1 address2 city zip provinceCode countryCodeV2 phone }
  lineItems(first: 25) { nodes { id sku title quantity } }
  fulfillments(first: 5) {
    id
    status
    trackingInfo(first: 1) { company number url }
    fulfillmentLineItems(first: 25) { nodes { quantity lineItem { id sku } } }
  }
  refunds(first: 5) {
    id
    createdAt
    refundLineItems(first: 10) { nodes { quantity restockType lineItem { id sku } } }
  }
}`

const orderQuery = `query Order($id: ID!) {
  order(id: $id) { ...OrderFields }
}` + orderFields

const ordersQuery = `query Orders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}` + orderFields

// gqlOrder mirrors the OrderFields selection.
type gqlOrder struct {
	ID                       string     `json:"id"`
	LegacyResourceID         string     `json:"legacyResourceId"`
	Name                     string     `json:"name"`
	CreatedAt                time.Time  `json:"createdAt"`
	UpdatedAt                time.Time  `json:"updatedAt"`
	CancelledAt              *time.Time `json:"cancelledAt"`
	CancelReason             string     `json:"cancelReason"`
	DisplayFinancialStatus   string     `json:"displayFinancialStatus"`
	DisplayFulfillmentStatus string     `json:"displayFulfillmentStatus"`
	Test                     bool       `json:"test"`
	SourceIdentifier         string     `json:"sourceIdentifier"`
	CustomAttributes         []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"customAttributes"`
	ShippingAddress *gqlAddress `json:"shippingAddress"`
	LineItems       struct {
		Nodes []gqlLineItem `json:"nodes"`
	} `json:"lineItems"`
	Fulfillments []gqlFulfillment `json:"fulfillments"`
	Refunds      []gqlRefund      `json:"refunds"`
}

// gqlRefund is one of an order's refunds.
type gqlRefund struct {
	ID              string    `json:"id"`
	CreatedAt       time.Time `json:"createdAt"`
	RefundLineItems struct {
		Nodes []struct {
			Quantity int `json:"quantity"`
			// RestockType is CANCEL, RETURN, NO_RESTOCK or LEGACY_RESTOCK.
			RestockType string `json:"restockType"`
			LineItem    struct {
				ID  string `json:"id"`
				SKU string `json:"sku"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"refundLineItems"`
}

// refunds reads r as the webhooks read the same refund's REST JSON (see
// webhookRefunds), so that both name it alike and it is recorded once:
// its numeric id, GraphQL's restock types lower-cased, a line fulfilled
// when one of the order's parcels holds it.
func (r gqlRefund) refunds(fulfilled map[string]bool) []order.Refund {
	w := webhookRefund{ID: webhook.Text(legacyID(r.ID)), CreatedAt: webhook.Stamp(r.CreatedAt)}
	for _, n := range r.RefundLineItems.Nodes {
		li := webhookRefundLineItem{LineItemID: webhook.Text(legacyID(n.LineItem.ID)), Quantity: webhook.Count(n.Quantity),
			RestockType: webhook.Text(strings.ToLower(n.RestockType))}
		li.LineItem.ID, li.LineItem.SKU = li.LineItemID, webhook.Text(n.LineItem.SKU)
		w.RefundLineItems = append(w.RefundLineItems, li)
	}
	return webhookRefunds(w, fulfilled)
}

type gqlAddress struct {
	FirstName     string `json:"firstName"`
	LastName      string `json:"lastName"`
	Name          string `json:"name"`
	Company       string `json:"company"`
	Address1      string `json:"address1"`
	Address2      string `json:"address2"`
	City          string `json:"city"`
	Zip           string `json:"zip"`
	ProvinceCode  string `json:"provinceCode"`
	CountryCodeV2 string `json:"countryCodeV2"`
	Phone         string `json:"phone"`
}

type gqlLineItem struct {
	ID       string `json:"id"`
	SKU      string `json:"sku"`
	Title    string `json:"title"`
	Quantity int    `json:"quantity"`
}

type gqlFulfillment struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	TrackingInfo []struct {
		Company string `json:"company"`
		Number  string `json:"number"`
		URL     string `json:"url"`
	} `json:"trackingInfo"`
	FulfillmentLineItems struct {
		Nodes []struct {
			Quantity int `json:"quantity"`
			LineItem struct {
				ID  string `json:"id"`
				SKU string `json:"sku"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"fulfillmentLineItems"`
}

// Order fetches one store order, by its numeric id (as webhooks carry it)
// or its global id. An unknown order is order_not_found.
func (c *Client) Order(ctx context.Context, id string) (order.Event, error) {
	gid, ok := orderGID(id)
	if !ok {
		return order.Event{}, fail(syncerr.OrderNotFound, id)
	}
	var data struct {
		Order *gqlOrder `json:"order"`
	}
	if err := c.do(ctx, id, orderQuery, map[string]any{"id": gid}, &data); err != nil {
		return order.Event{}, err
	}
	if data.Order == nil {
		return order.Event{}, fail(syncerr.OrderNotFound, id)
	}
	if got, _ := orderID(data.Order.LegacyResourceID, data.Order.ID); got != legacyID(gid) {
		// Not the order asked for, or no order at all: as an answer that
		// is not JSON, the store is taken to be unwell.
		return order.Event{}, fail(syncerr.MarketplaceUnavailable, id).Wrap(fmt.Errorf("shopify: order %s answered as order %q", id, got))
	}
	return c.event(*data.Order)
}

// OrdersUpdatedSince lists store orders updated at or after since, oldest
// first, following Shopify's cursor paging to the end.
func (c *Client) OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.Event, error) {
	search := "updated_at:>=" + quoteSearch(since.UTC().Format(time.RFC3339))
	var out []order.Event
	var after any // nil: the first page
	for {
		var data struct {
			Orders struct {
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
				Nodes []gqlOrder `json:"nodes"`
			} `json:"orders"`
		}
		vars := map[string]any{"first": c.cfg.PageSize, "after": after, "query": search}
		if err := c.do(ctx, "", ordersQuery, vars, &data); err != nil {
			return nil, err
		}
		for _, o := range data.Orders.Nodes {
			if o.UpdatedAt.Before(since) {
				continue // the search matches on whole seconds
			}
			ev, err := c.event(o)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		p := data.Orders.PageInfo
		if !p.HasNextPage || p.EndCursor == "" {
			break
		}
		after = p.EndCursor
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out, nil
}

// event maps a Shopify order onto the internal event.
func (c *Client) event(o gqlOrder) (order.Event, error) {
	id, ok := orderID(o.LegacyResourceID, o.ID)
	if !ok {
		return order.Event{}, fail(syncerr.MarketplaceUnavailable, "").Wrap(errors.New("shopify: an order without an id"))
	}
	// Status reads GraphQL's display statuses lower-cased as well as the
	// REST words, so Shopify's own values pass through: a status added
	// later is reported (invalid_data), not guessed.
	financial, fulfillment := strings.ToLower(o.DisplayFinancialStatus), strings.ToLower(o.DisplayFulfillmentStatus)
	status, err := Status(financial, fulfillment, o.CancelledAt != nil)
	if err != nil {
		return order.Event{}, fail(syncerr.InvalidData, id, "field", "status").Wrap(fmt.Errorf("shopify: order %s: %w", id, err))
	}
	ev := order.Event{
		Connection:    c.cfg.Connection,
		Source:        platform,
		SourceEventID: "order/" + id + "@" + o.UpdatedAt.UTC().Format(time.RFC3339Nano),
		OccurredAt:    o.UpdatedAt,
		Order:         order.Ref{StoreOrderID: id, StoreOrderName: o.Name, ClaimedMarketplaceOrderID: marketplaceOrderID(o)},
		Status:        status,
		SourceStatus:  strings.TrimSuffix(financial+"/"+fulfillment, "/"),
		Test:          o.Test,
	}
	if o.CancelledAt != nil {
		ev.CancelReason = strings.ToLower(o.CancelReason)
	}
	for _, li := range o.LineItems.Nodes {
		ev.Lines = append(ev.Lines, order.Line{SKU: li.SKU, Quantity: li.Quantity, StoreLineID: legacyID(li.ID), Title: li.Title})
	}
	if a := o.ShippingAddress; a != nil {
		name := a.Name
		if name == "" {
			name = strings.TrimSpace(a.FirstName + " " + a.LastName)
		}
		ev.ShippingAddress = &order.Address{Name: name, Company: a.Company, Line1: a.Address1, Line2: a.Address2,
			City: a.City, PostalCode: a.Zip, Region: a.ProvinceCode, Country: a.CountryCodeV2, Phone: a.Phone}
	}
	for _, f := range o.Fulfillments {
		if f.Status != "SUCCESS" {
			continue // cancelled, failed or still open: no parcel left the warehouse
		}
		p := order.Parcel{ID: legacyID(f.ID)}
		if len(f.TrackingInfo) > 0 {
			t := f.TrackingInfo[0]
			p.Tracking = order.Tracking{Number: t.Number, Carrier: t.Company, URL: t.URL}
		}
		for _, n := range f.FulfillmentLineItems.Nodes {
			p.Lines = append(p.Lines, order.Line{SKU: n.LineItem.SKU, Quantity: n.Quantity, StoreLineID: legacyID(n.LineItem.ID)})
		}
		ev.Parcels = append(ev.Parcels, p)
	}
	fulfilled := map[string]bool{}
	for _, p := range ev.Parcels {
		for _, l := range p.Lines {
			fulfilled[l.StoreLineID] = true
		}
	}
	for _, r := range o.Refunds {
		ev.Refunds = append(ev.Refunds, r.refunds(fulfilled)...)
	}
	return ev, nil
}

// marketplaceOrderID is the marketplace order id o's custom attribute
// names: a claim only, since a buyer can write it.
func marketplaceOrderID(o gqlOrder) string {
	for _, a := range o.CustomAttributes {
		if a.Key == MarketplaceOrderAttribute {
			return a.Value
		}
	}
	return ""
}
