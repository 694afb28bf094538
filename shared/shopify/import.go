package shopify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

const importedOrderQuery = `query ImportedOrder($query: String!) {
  orders(first: 10, query: $query) {
    nodes { id legacyResourceId name sourceIdentifier customAttributes { key value } }
  }
}`

const variantsQuery = `query VariantsBySKU($query: String!) {
  productVariants(first: 5, query: $query) { nodes { id sku } }
}`

const orderCreateMutation = `mutation OrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id legacyResourceId name }
    userErrors { field message code }
  }
}`

// CreateOrder imports marketplace order o into the store and returns the
// store's numeric order id and its name ("#1001"). The marketplace order id is the idempotency
// key: it is stored in the MarketplaceOrderAttribute custom attribute and
// as the order's source identifier, and an order already holding it is
// returned instead of a new one. Two concurrent imports of one order can
// still both create it (Shopify has no idempotency key on orderCreate):
// the sync must not run them concurrently.
//
// Each line's SKU must name exactly one product variant: sku_not_found or
// sku_duplicate otherwise. An order without a shipping address is
// address_missing; one Shopify refuses is address_invalid or invalid_data.
func (c *Client) CreateOrder(ctx context.Context, o order.MarketplaceOrder) (id, name string, err error) {
	ref := o.ID
	if err := rules.CheckImportable(o); err != nil {
		return "", "", err.With("marketplace", platformName, "order", ref)
	}
	if id, name, err := c.importedOrder(ctx, o.ID); err != nil || id != "" {
		return id, name, err
	}

	variants := map[string]string{} // SKU → variant global id
	var lines []map[string]any
	for _, l := range o.Lines {
		v, ok := variants[l.SKU]
		if !ok {
			var err error
			if v, err = c.variant(ctx, ref, l.SKU); err != nil {
				return "", "", err
			}
			variants[l.SKU] = v
		}
		lines = append(lines, map[string]any{"variantId": v, "quantity": l.Quantity})
	}

	input := map[string]any{
		"lineItems":        lines,
		"shippingAddress":  mailingAddress(*o.ShippingAddress),
		"customAttributes": []map[string]any{{"key": MarketplaceOrderAttribute, "value": o.ID}},
		"sourceIdentifier": o.ID,
		"sourceName":       SourceName,
		"financialStatus":  c.cfg.ImportFinancialStatus,
	}
	if !o.CreatedAt.IsZero() {
		input["processedAt"] = o.CreatedAt.UTC().Format(time.RFC3339)
	}
	options := map[string]any{
		"inventoryBehaviour":     c.cfg.ImportInventoryBehaviour,
		"sendReceipt":            false,
		"sendFulfillmentReceipt": false,
	}
	var res struct {
		OrderCreate struct {
			Order *struct {
				ID               string `json:"id"`
				LegacyResourceID string `json:"legacyResourceId"`
				Name             string `json:"name"`
			} `json:"order"`
			UserErrors []userError `json:"userErrors"`
		} `json:"orderCreate"`
	}
	if err := c.do(ctx, ref, orderCreateMutation, map[string]any{"order": input, "options": options}, &res); err != nil {
		return "", "", err
	}
	if ue := res.OrderCreate.UserErrors; len(ue) > 0 {
		cause := userErrorsCause("orderCreate", ue)
		f := ue[0].Field
		if i := slices.Index(f, "shippingAddress"); i >= 0 && i+1 < len(f) {
			return "", "", fail(syncerr.AddressInvalid, ref, "field", f[len(f)-1]).Wrap(cause)
		}
		return "", "", fail(syncerr.InvalidData, ref, "field", strings.Join(f, ".")).Wrap(cause)
	}
	created := res.OrderCreate.Order
	if created == nil {
		return "", "", fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("shopify: orderCreate returned neither an order nor errors"))
	}
	id, ok := orderID(created.LegacyResourceID, created.ID)
	if !ok {
		// Created, maybe: the retry finds it by its source identifier.
		return "", "", fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("shopify: orderCreate returned an order without an id"))
	}
	return id, created.Name, nil
}

// importedOrder returns the id of the store order already imported for
// marketplace order mpID, or "" when there is none.
func (c *Client) importedOrder(ctx context.Context, mpID string) (id, name string, err error) {
	var data struct {
		Orders struct {
			Nodes []gqlOrder `json:"nodes"`
		} `json:"orders"`
	}
	if err := c.do(ctx, mpID, importedOrderQuery, map[string]any{"query": c.cfg.ImportLookupQuery(mpID)}, &data); err != nil {
		return "", "", err
	}
	for _, o := range data.Orders.Nodes {
		// Only what the Admin API set: a buyer can write the attribute.
		if o.SourceIdentifier == mpID {
			id, ok := orderID(o.LegacyResourceID, o.ID)
			if !ok {
				// Imported already: never create it again.
				return "", "", fail(syncerr.MarketplaceUnavailable, mpID).Wrap(fmt.Errorf("shopify: the order imported for %s has no id", mpID))
			}
			return id, o.Name, nil
		}
	}
	return "", "", nil
}

// variant returns the global id of the one product variant with SKU sku.
func (c *Client) variant(ctx context.Context, ref, sku string) (string, error) {
	if sku == "" {
		return "", fail(syncerr.SKUNotFound, ref, "sku", sku)
	}
	var data struct {
		ProductVariants struct {
			Nodes []struct {
				ID  string `json:"id"`
				SKU string `json:"sku"`
			} `json:"nodes"`
		} `json:"productVariants"`
	}
	if err := c.do(ctx, ref, variantsQuery, map[string]any{"query": "sku:" + quoteSearch(sku)}, &data); err != nil {
		return "", err
	}
	var ids []string
	for _, v := range data.ProductVariants.Nodes {
		if v.SKU == sku { // the search may match loosely; only the exact SKU counts
			ids = append(ids, v.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", fail(syncerr.SKUNotFound, ref, "sku", sku)
	case 1:
		return ids[0], nil
	default:
		return "", fail(syncerr.SKUDuplicate, ref, "sku", sku)
	}
}

// mailingAddress is a as Shopify's MailingAddressInput.
func mailingAddress(a order.Address) map[string]any {
	first, last, _ := strings.Cut(strings.TrimSpace(a.Name), " ")
	if last == "" {
		first, last = "", first // Shopify requires a last name, not a first one
	}
	m := map[string]any{
		"firstName": first, "lastName": last, "company": a.Company,
		"address1": a.Line1, "address2": a.Line2, "city": a.City, "zip": a.PostalCode,
		"countryCode": strings.ToUpper(a.Country), "phone": a.Phone,
	}
	if a.Region != "" {
		m["provinceCode"] = a.Region
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}
