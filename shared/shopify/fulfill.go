package shopify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

const fulfillmentOrdersQuery = `query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    displayFulfillmentStatus
    fulfillments(first: 20) { status trackingInfo(first: 5) { number } }
    fulfillmentOrders(first: 10) {
      nodes {
        id
        status
        supportedActions { action }
        lineItems(first: 50) { nodes { id remainingQuantity lineItem { id sku } } }
      }
    }
  }
}`

const fulfillmentCreateMutation = `mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}`

type gqlFulfillmentOrder struct {
	ID               string `json:"id"`
	Status           string `json:"status"`
	SupportedActions []struct {
		Action string `json:"action"`
	} `json:"supportedActions"`
	LineItems struct {
		Nodes []struct {
			ID                string `json:"id"`
			RemainingQuantity int    `json:"remainingQuantity"`
			LineItem          struct {
				ID  string `json:"id"`
				SKU string `json:"sku"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"lineItems"`
}

func (fo gqlFulfillmentOrder) canFulfill() bool {
	return slices.ContainsFunc(fo.SupportedActions, func(a struct {
		Action string `json:"action"`
	}) bool {
		return a.Action == "CREATE_FULFILLMENT"
	})
}

// userError is one entry of a mutation payload's userErrors.
type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

// foLine is one fulfillment order line item chosen for a fulfillment.
type foLine struct {
	ID       string `json:"id"`
	Quantity int    `json:"quantity"`
}

// Fulfill records a shipment of the store order storeOrderID: the parcel's
// lines (matched by store line id, else by SKU; a zero quantity means all
// that remains of the line), or everything still to ship when the parcel
// names no lines, with the parcel's tracking.
//
// It is idempotent on the tracking number: when a fulfillment with the
// parcel's tracking number exists already, Fulfill does nothing. It
// returns invalid_transition when nothing the parcel names can be
// fulfilled (fulfillment orders closed, on hold, or already fulfilled), or
// when Shopify refuses the fulfillment; sku_not_found for a line the order
// does not have; invalid_data for tracking Shopify refuses; and the
// transport classes (rate_limited, store_disconnected,
// marketplace_unavailable) as every call.
func (c *Client) Fulfill(ctx context.Context, storeOrderID string, p order.Parcel) error {
	gid, ok := orderGID(storeOrderID)
	if !ok {
		return fail(syncerr.OrderNotFound, storeOrderID)
	}
	var data struct {
		Order *struct {
			DisplayFulfillmentStatus string `json:"displayFulfillmentStatus"`
			Fulfillments             []struct {
				Status       string `json:"status"`
				TrackingInfo []struct {
					Number string `json:"number"`
				} `json:"trackingInfo"`
			} `json:"fulfillments"`
			FulfillmentOrders struct {
				Nodes []gqlFulfillmentOrder `json:"nodes"`
			} `json:"fulfillmentOrders"`
		} `json:"order"`
	}
	if err := c.do(ctx, storeOrderID, fulfillmentOrdersQuery, map[string]any{"id": gid}, &data); err != nil {
		return err
	}
	o := data.Order
	if o == nil {
		return fail(syncerr.OrderNotFound, storeOrderID)
	}
	if n := p.Tracking.Number; n != "" {
		for _, f := range o.Fulfillments {
			if f.Status == "CANCELLED" {
				continue
			}
			for _, t := range f.TrackingInfo {
				if t.Number == n {
					return nil // this parcel is recorded already
				}
			}
		}
	}
	refused := func(cause error) error {
		return fail(syncerr.InvalidTransition, storeOrderID,
			"from", strings.ToLower(o.DisplayFulfillmentStatus), "to", "fulfilled").Wrap(cause)
	}

	byFO, err := allocate(o.FulfillmentOrders.Nodes, p.Lines, storeOrderID, refused)
	if err != nil {
		return err
	}
	groups := make([]map[string]any, 0, len(byFO))
	for _, fo := range o.FulfillmentOrders.Nodes {
		if lines := byFO[fo.ID]; len(lines) > 0 {
			groups = append(groups, map[string]any{"fulfillmentOrderId": fo.ID, "fulfillmentOrderLineItems": lines})
		}
	}
	input := map[string]any{
		"lineItemsByFulfillmentOrder": groups,
		"notifyCustomer":              c.cfg.NotifyCustomer,
	}
	if t := p.Tracking; t.Number != "" || t.URL != "" || t.Carrier != "" {
		tracking := map[string]any{}
		if t.Carrier != "" {
			tracking["company"] = t.Carrier
		}
		if t.Number != "" {
			tracking["number"] = t.Number
		}
		if t.URL != "" {
			tracking["url"] = t.URL
		}
		input["trackingInfo"] = tracking
	}
	var res struct {
		FulfillmentCreate struct {
			Fulfillment *struct {
				ID string `json:"id"`
			} `json:"fulfillment"`
			UserErrors []userError `json:"userErrors"`
		} `json:"fulfillmentCreate"`
	}
	if err := c.do(ctx, storeOrderID, fulfillmentCreateMutation, map[string]any{"fulfillment": input}, &res); err != nil {
		return err
	}
	if ue := res.FulfillmentCreate.UserErrors; len(ue) > 0 {
		cause := userErrorsCause("fulfillmentCreate", ue)
		for _, e := range ue {
			if slices.Contains(e.Field, "trackingInfo") {
				return fail(syncerr.InvalidData, storeOrderID, "field", "tracking "+strings.Join(e.Field[slices.Index(e.Field, "trackingInfo"):], ".")).Wrap(cause)
			}
		}
		// Everything else Shopify refuses here is about the fulfillment
		// orders' state (closed, on hold, quantity already fulfilled).
		return refused(cause)
	}
	if res.FulfillmentCreate.Fulfillment == nil {
		return fail(syncerr.MarketplaceUnavailable, storeOrderID).Wrap(fmt.Errorf("shopify: fulfillmentCreate returned neither a fulfillment nor errors"))
	}
	return nil
}

// allocate chooses fulfillment order line items for the parcel's lines,
// from fulfillment orders that support CREATE_FULFILLMENT, keyed by
// fulfillment order id.
func allocate(fos []gqlFulfillmentOrder, lines []order.Line, ref string, refused func(error) error) (map[string][]foLine, error) {
	open := make([]gqlFulfillmentOrder, 0, len(fos))
	for _, fo := range fos {
		if fo.canFulfill() {
			open = append(open, fo)
		}
	}
	out := map[string][]foLine{}
	if len(lines) == 0 {
		for _, fo := range open {
			for _, li := range fo.LineItems.Nodes {
				if li.RemainingQuantity > 0 {
					out[fo.ID] = append(out[fo.ID], foLine{ID: li.ID, Quantity: li.RemainingQuantity})
				}
			}
		}
		if len(out) == 0 {
			return nil, refused(fmt.Errorf("shopify: no fulfillment order of order %s can be fulfilled", ref))
		}
		return out, nil
	}
	known := func(l order.Line) bool {
		for _, fo := range fos {
			for _, li := range fo.LineItems.Nodes {
				if matches(l, li.LineItem.ID, li.LineItem.SKU) {
					return true
				}
			}
		}
		return false
	}
	taken := map[string]int{} // fulfillment order line item id → quantity already allocated
	for _, l := range lines {
		if !known(l) {
			return nil, fail(syncerr.SKUNotFound, ref, "sku", l.SKU)
		}
		want, got := l.Quantity, 0 // want <= 0: all that remains of the line
		for _, fo := range open {
			for _, li := range fo.LineItems.Nodes {
				if want > 0 && got == want {
					break
				}
				if !matches(l, li.LineItem.ID, li.LineItem.SKU) {
					continue
				}
				q := li.RemainingQuantity - taken[li.ID]
				if want > 0 {
					q = min(q, want-got)
				}
				if q <= 0 {
					continue
				}
				taken[li.ID] += q
				got += q
				out[fo.ID] = append(out[fo.ID], foLine{ID: li.ID, Quantity: q})
			}
		}
		if got == 0 || (want > 0 && got < want) {
			return nil, refused(fmt.Errorf("shopify: order %s: %d of %q asked, %d can be fulfilled", ref, max(want, 1), l.SKU, got))
		}
	}
	if len(out) == 0 {
		return nil, refused(fmt.Errorf("shopify: order %s: nothing of the parcel remains to fulfil", ref))
	}
	return out, nil
}

// matches says whether parcel line l names the order line item with
// global id gid and SKU sku.
func matches(l order.Line, gid, sku string) bool {
	if l.StoreLineID != "" {
		return l.StoreLineID == gid || l.StoreLineID == legacyID(gid)
	}
	return l.SKU != "" && l.SKU == sku
}

// userErrorsCause renders userErrors for the wrapped error.
func userErrorsCause(op string, ue []userError) error {
	parts := make([]string, 0, len(ue))
	for _, e := range ue {
		parts = append(parts, fmt.Sprintf("%s: %s", strings.Join(e.Field, "."), e.Message))
	}
	return fmt.Errorf("shopify: %s: %s", op, strings.Join(parts, "; "))
}
