package bigcommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// DefaultExternalSource is the external_source of the orders ordersync
// imports.
const DefaultExternalSource = "ordersync"

// statusAwaitingFulfillment is status_id 11: paid, to be packed.
const statusAwaitingFulfillment = 11

// CreateOrder imports marketplace order o into the store as an Awaiting
// Fulfillment order (status_id 11: the marketplace took the payment) and
// returns the store's order id and its name ("#" and the id). The
// marketplace order id is the idempotency key: it is written as the order's external_order_id, with
// external_source Config.ExternalSource, and an order holding both is
// returned instead of a new one. (external_id, which BigCommerce never lets
// change, is read-only to the API, and no list filters by it.)
//
// The order already imported is looked for with GET /v2/orders filtered by
// external_order_id, and for safety by min_date_created (o's creation
// less rules.ImportClockMargin: no import of o is older than o), every page read and
// each order checked here, so a store that ignored the filter would cost
// pages, never a duplicate. Two concurrent imports of one order could both
// create it: the sync's claim keeps them apart.
//
// Each line's SKU must name exactly one catalogue variant (GET
// /v3/catalog/variants?sku=) or, failing that, one product (GET
// /v3/catalog/products?sku=): sku_not_found or sku_duplicate otherwise,
// naming the SKU. An order without a shipping address is address_missing.
// BigCommerce requires a billing address: the shipping address stands in,
// the only one the marketplace gives. A write BigCommerce refuses is
// invalid_data naming the field.
func (c *Client) CreateOrder(ctx context.Context, o order.MarketplaceOrder) (id, name string, err error) {
	ref := o.ID
	if err := rules.CheckImportable(o); err != nil {
		return "", "", err.With("marketplace", platformName, "order", ref)
	}
	if id, err := c.importedOrder(ctx, o); err != nil {
		return "", "", err
	} else if id != "" {
		return id, orderName(id), nil
	}

	items := map[string]catalogItem{}
	var products []map[string]any
	for _, l := range o.Lines {
		it, ok := items[l.SKU]
		if !ok {
			var err error
			if it, err = c.catalogItem(ctx, ref, l.SKU); err != nil {
				return "", "", err
			}
			items[l.SKU] = it
		}
		p := map[string]any{"product_id": it.ProductID, "quantity": l.Quantity}
		if it.VariantID > 0 {
			p["variant_id"] = it.VariantID
		}
		products = append(products, p)
	}

	addr := address(*o.ShippingAddress)
	in := map[string]any{
		"status_id":          statusAwaitingFulfillment,
		"customer_id":        0, // a guest: the buyer is the marketplace's customer
		"billing_address":    addr,
		"shipping_addresses": []map[string]any{addr},
		"products":           products,
		"external_source":    c.cfg.ExternalSource,
		"external_order_id":  o.ID,
	}
	if c.cfg.MarketplaceName != "" {
		// Where the buyer paid, in the order list's payment column. No
		// staff_notes: words a merchant reads live in the catalogue, not here.
		in["payment_method"] = c.cfg.MarketplaceName
	}
	var created bcOrder
	if _, err := c.do(ctx, http.MethodPost, ref, c.base+"/orders", nil, in, &created); err != nil {
		if e, ok := syncerr.As(err); ok && e.Code == syncerr.InvalidData && addressFields[e.Details["field"]] {
			return "", "", fail(syncerr.AddressInvalid, ref, "field", e.Details["field"]).Wrap(e)
		}
		return "", "", err
	}
	if created.ID <= 0 {
		// Created, maybe: the retry finds it by its external_order_id.
		return "", "", fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("bigcommerce: POST /orders answered an order without an id"))
	}
	id = strconv.FormatInt(created.ID, 10)
	return id, orderName(id), nil
}

// imported returns the marketplace order id an order ordersync imported
// carries.
func (c *Client) imported(o bcOrder) (string, bool) {
	if o.ExternalSource == nil || *o.ExternalSource != c.cfg.ExternalSource || o.ExternalOrderID == nil || *o.ExternalOrderID == "" {
		return "", false
	}
	return *o.ExternalOrderID, true
}

// importedOrder returns the id of the store order already imported for
// o, or "" when there is none.
func (c *Client) importedOrder(ctx context.Context, o order.MarketplaceOrder) (string, error) {
	since := rules.ImportedNoEarlierThan(o, time.Now())
	for page := 1; ; page++ {
		q := url.Values{
			"external_order_id": {o.ID},
			"min_date_created":  {since.UTC().Format(time.RFC3339)},
			"sort":              {"id:desc"},
			"limit":             {"250"},
			"page":              {strconv.Itoa(page)},
		}
		var orders []bcOrder
		found, err := c.get(ctx, o.ID, "/orders", q, &orders)
		if err != nil {
			return "", err
		}
		for _, so := range orders {
			if mk, ok := c.imported(so); ok && mk == o.ID {
				if so.ID <= 0 {
					// Imported already: never create it again.
					return "", fail(syncerr.MarketplaceUnavailable, o.ID).Wrap(fmt.Errorf("bigcommerce: the order imported for %s has no id", o.ID))
				}
				return strconv.FormatInt(so.ID, 10), nil
			}
		}
		if !found || len(orders) < 250 {
			return "", nil
		}
	}
}

// catalogItem is what an order product names: a product, and its variant
// when the SKU is a variant's.
type catalogItem struct {
	ProductID, VariantID int64
}

// catalogItem returns the one variant, or product, whose SKU is sku.
func (c *Client) catalogItem(ctx context.Context, ref, sku string) (catalogItem, error) {
	if strings.TrimSpace(sku) == "" {
		return catalogItem{}, fail(syncerr.SKUNotFound, ref, "sku", sku)
	}
	var variants struct {
		Data []struct {
			ID        int64  `json:"id"`
			ProductID int64  `json:"product_id"`
			SKU       string `json:"sku"`
		} `json:"data"`
	}
	if _, err := c.do(ctx, http.MethodGet, ref, c.v3+"/catalog/variants", url.Values{"sku": {sku}, "limit": {"10"}}, nil, &variants); err != nil {
		return catalogItem{}, err
	}
	var match []catalogItem
	for _, v := range variants.Data {
		if v.SKU == sku && v.ProductID > 0 {
			match = append(match, catalogItem{ProductID: v.ProductID, VariantID: v.ID})
		}
	}
	if len(match) == 0 {
		var products struct {
			Data []struct {
				ID  int64  `json:"id"`
				SKU string `json:"sku"`
			} `json:"data"`
		}
		if _, err := c.do(ctx, http.MethodGet, ref, c.v3+"/catalog/products", url.Values{"sku": {sku}, "limit": {"10"}}, nil, &products); err != nil {
			return catalogItem{}, err
		}
		for _, p := range products.Data {
			if p.SKU == sku && p.ID > 0 {
				match = append(match, catalogItem{ProductID: p.ID})
			}
		}
	}
	switch len(match) {
	case 0:
		return catalogItem{}, fail(syncerr.SKUNotFound, ref, "sku", sku)
	case 1:
		return match[0], nil
	default:
		return catalogItem{}, fail(syncerr.SKUDuplicate, ref, "sku", sku)
	}
}

// address is a as a v2 order address.
func address(a order.Address) map[string]any {
	first, last, _ := strings.Cut(strings.TrimSpace(a.Name), " ")
	m := map[string]any{
		"first_name": first, "last_name": strings.TrimSpace(last), "company": a.Company,
		"street_1": a.Line1, "street_2": a.Line2, "city": a.City, "state": a.Region,
		"zip": a.PostalCode, "country_iso2": strings.ToUpper(a.Country), "phone": a.Phone,
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// addressFields are the fields of a v2 address: a write refused for one
// of them is address_invalid.
var addressFields = map[string]bool{"first_name": true, "last_name": true, "street_1": true, "street_2": true,
	"city": true, "state": true, "zip": true, "country": true, "country_iso2": true, "phone": true, "email": true}

// v2Field finds the field a v2 error message names ("The field 'zip' is
// invalid."): only an identifier is taken, never the message's other words.
var v2Field = regexp.MustCompile(`field '([A-Za-z0-9_.\[\]]{1,64})'`)

// errorField names what a refused request got wrong: the field a v2 error
// array's message names, the keys of a v3 errors object, or the order.
func errorField(body []byte) string {
	var v2 []struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v2) == nil {
		for _, e := range v2 {
			if m := v2Field.FindStringSubmatch(e.Message); m != nil {
				return m[1]
			}
		}
		return "order"
	}
	var v3 struct {
		Errors map[string]any `json:"errors"`
	}
	if json.Unmarshal(body, &v3) == nil && len(v3.Errors) > 0 {
		keys := make([]string, 0, len(v3.Errors))
		for k := range v3.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return strings.Join(keys, ", ")
	}
	return "order"
}
