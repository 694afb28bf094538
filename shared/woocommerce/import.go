package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// ImportedOrderMetaKey is the order meta key in which an order ordersync
// imported keeps its marketplace order id: the idempotency key CreateOrder
// looks for. The leading underscore makes it protected meta, which the
// order screen's custom fields box neither shows nor edits; the REST API
// still reads and writes it.
const ImportedOrderMetaKey = "_ordersync_marketplace_order_id"

// ImportedMarketplaceMetaKey is the order meta key naming the marketplace
// an imported order came from (Config.MarketplaceName), for the merchant.
const ImportedMarketplaceMetaKey = "_ordersync_marketplace"

// restCreatedVia is what WooCommerce sets as created_via on an order the
// REST API made. The field is read-only in the API: the caller cannot set
// its own, so ordersync's orders are known by the meta key above, and
// created_via only rules out checkout orders whose buyer forged the meta.
const restCreatedVia = "rest-api"

// CreateOrder imports marketplace order o into the store as a paid
// "processing" order (set_paid: the marketplace took the payment; stock is
// reduced) and returns the store's numeric order id and its name ("#" and
// its number, as orderName). The marketplace order id is the idempotency
// key: it is written as the order's
// ImportedOrderMetaKey meta, and an order already holding it is returned
// instead of a new one. The quantities ordered are written as
// OrderedLinesMetaKey, so that a line the merchant cuts later reads as a
// line cancel.
//
// WooCommerce cannot search orders by a meta value, so the order already
// imported is looked for among the orders created since the marketplace
// order was (less rules.ImportClockMargin), newest first, every page to the end. This
// is correct because no import of o can be older than o itself; and it is
// bounded because only open marketplace orders are imported, and those
// are days old at most (unaccepted ones expire): the search reads the
// store's orders of those days, 100 a page. In practice the repeat comes
// within minutes (the sync's claim on the import is leased, and a worker
// that stopped mid-call is retried when the lease ends), and its order is
// on the first page. Newest first, an order created while the pages are
// read pushes the others down a page: one may be read twice, none missed.
// Two concurrent imports of one order could both create it: the sync's
// claim keeps them apart.
//
// Each line's SKU must name exactly one product or variation (searched
// with /products?sku=): sku_not_found or sku_duplicate otherwise, naming
// the SKU. An order without a shipping address is address_missing. A
// write WooCommerce refuses is invalid_data naming the parameter.
func (c *Client) CreateOrder(ctx context.Context, o order.MarketplaceOrder) (id, name string, err error) {
	ref := o.ID
	if err := rules.CheckImportable(o); err != nil {
		return "", "", err.With("marketplace", platformName, "order", ref)
	}
	if id, name, err := c.importedOrder(ctx, o); err != nil || id != "" {
		return id, name, err
	}

	products := map[string]wcProduct{}
	var lines []map[string]any
	for _, l := range o.Lines {
		p, ok := products[l.SKU]
		if !ok {
			var err error
			if p, err = c.product(ctx, ref, l.SKU); err != nil {
				return "", "", err
			}
			products[l.SKU] = p
		}
		line := map[string]any{"product_id": p.ID, "quantity": l.Quantity}
		if p.Type == "variation" && p.ParentID > 0 {
			line["product_id"], line["variation_id"] = p.ParentID, p.ID
		}
		lines = append(lines, line)
	}

	meta := []map[string]any{{"key": ImportedOrderMetaKey, "value": o.ID}, {"key": OrderedLinesMetaKey, "value": orderedLines(o.Lines)}}
	if c.cfg.MarketplaceName != "" {
		meta = append(meta, map[string]any{"key": ImportedMarketplaceMetaKey, "value": c.cfg.MarketplaceName})
	}
	in := map[string]any{
		"status":     "processing",
		"set_paid":   true,
		"shipping":   address(*o.ShippingAddress),
		"line_items": lines,
		"meta_data":  meta,
	}
	if c.cfg.MarketplaceName != "" {
		in["payment_method_title"] = c.cfg.MarketplaceName
	}
	var created wcOrder
	if _, err := c.do(ctx, http.MethodPost, ref, "/orders", nil, in, &created); err != nil {
		return "", "", err
	}
	if created.ID <= 0 {
		// Created, maybe: the retry finds it by its meta.
		return "", "", fail(syncerr.MarketplaceUnavailable, ref).Wrap(fmt.Errorf("woocommerce: POST /orders answered an order without an id"))
	}
	id = strconv.FormatInt(created.ID, 10)
	return id, orderName(created.Number, id), nil
}

// importedOrder returns the id of the store order already imported for
// o, or "" when there is none (see CreateOrder for the search).
func (c *Client) importedOrder(ctx context.Context, o order.MarketplaceOrder) (id, name string, err error) {
	after := rules.ImportedNoEarlierThan(o, c.now())
	for page := 1; ; page++ {
		q := url.Values{
			"after":         {after.UTC().Format("2006-01-02T15:04:05")},
			"dates_are_gmt": {"true"},
			"orderby":       {"date"},
			"order":         {"desc"},
			"per_page":      {"100"},
			"page":          {strconv.Itoa(page)},
		}
		var orders []wcOrder
		h, err := c.get(ctx, o.ID, "/orders", q, &orders)
		if err != nil {
			return "", "", err
		}
		for _, so := range orders {
			if so.CreatedVia != restCreatedVia || metaString(so.MetaData, ImportedOrderMetaKey) != o.ID {
				continue
			}
			if so.ID <= 0 {
				// Imported already: never create it again.
				return "", "", fail(syncerr.MarketplaceUnavailable, o.ID).Wrap(fmt.Errorf("woocommerce: the order imported for %s has no id", o.ID))
			}
			id = strconv.FormatInt(so.ID, 10)
			return id, orderName(so.Number, id), nil
		}
		total, err := strconv.Atoi(h.Get("X-WP-TotalPages"))
		if err != nil {
			total = page // no header: stop on a short page
			if len(orders) == 100 {
				total = page + 1
			}
		}
		if page >= total || len(orders) == 0 {
			return "", "", nil
		}
	}
}

// wcProduct mirrors the fields of a REST v3 product (or variation) that
// the import reads.
type wcProduct struct {
	ID       int64  `json:"id"`
	ParentID int64  `json:"parent_id"`
	SKU      string `json:"sku"`
	Type     string `json:"type"`
}

// product returns the one product or variation whose SKU is sku.
func (c *Client) product(ctx context.Context, ref, sku string) (wcProduct, error) {
	if strings.TrimSpace(sku) == "" {
		return wcProduct{}, fail(syncerr.SKUNotFound, ref, "sku", sku)
	}
	var found []wcProduct
	if _, err := c.get(ctx, ref, "/products", url.Values{"sku": {sku}, "per_page": {"10"}}, &found); err != nil {
		return wcProduct{}, err
	}
	var match []wcProduct
	for _, p := range found {
		// A comma in sku asks for several SKUs: only the exact one counts.
		if p.SKU == sku && p.ID > 0 && !slices.ContainsFunc(match, func(m wcProduct) bool { return m.ID == p.ID }) {
			match = append(match, p)
		}
	}
	switch len(match) {
	case 0:
		return wcProduct{}, fail(syncerr.SKUNotFound, ref, "sku", sku)
	case 1:
		return match[0], nil
	default:
		return wcProduct{}, fail(syncerr.SKUDuplicate, ref, "sku", sku)
	}
}

// address is a as a REST v3 order address.
func address(a order.Address) map[string]any {
	first, last, _ := strings.Cut(strings.TrimSpace(a.Name), " ")
	return map[string]any{
		"first_name": first, "last_name": strings.TrimSpace(last), "company": a.Company,
		"address_1": a.Line1, "address_2": a.Line2, "city": a.City, "state": a.Region,
		"postcode": a.PostalCode, "country": strings.ToUpper(a.Country), "phone": a.Phone,
	}
}

// metaString is the string value of meta key k, or "".
func metaString(meta []wcMeta, k string) string {
	for _, m := range meta {
		if m.Key == k {
			var v string
			if json.Unmarshal(m.Value, &v) == nil {
				return v
			}
		}
	}
	return ""
}

// field names what a refused write got wrong: the parameter WordPress
// named, or the order as a whole.
func (e apiError) field() string {
	if len(e.Data.Params) > 0 {
		keys := make([]string, 0, len(e.Data.Params))
		for k := range e.Data.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return strings.Join(keys, ", ")
	}
	if strings.Contains(e.Code, "product") {
		return "line_items"
	}
	return "order"
}

func (c *Client) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}
