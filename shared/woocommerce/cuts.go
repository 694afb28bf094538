package woocommerce

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// OrderedLinesMetaKey is the order meta key in which an order ordersync
// imported keeps the quantities ordered, SKU by SKU (a JSON list of
// {"sku", "quantity"}): WooCommerce keeps no trace of a line's quantity
// before a merchant edits it, so this is what a cut is measured against.
// Protected meta, as ImportedOrderMetaKey.
const OrderedLinesMetaKey = "_ordersync_ordered_lines"

// orderedLine is one entry of OrderedLinesMetaKey's value.
type orderedLine struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// orderedLines is the OrderedLinesMetaKey value of an import of lines.
func orderedLines(lines []order.MarketplaceLine) []orderedLine {
	var out []orderedLine
	for _, l := range lines {
		sku := strings.TrimSpace(l.SKU)
		if i := slices.IndexFunc(out, func(o orderedLine) bool { return o.SKU == sku }); i >= 0 {
			out[i].Quantity += l.Quantity
			continue
		}
		out = append(out, orderedLine{SKU: sku, Quantity: l.Quantity})
	}
	slices.SortFunc(out, func(a, b orderedLine) int { return strings.Compare(a.SKU, b.SKU) })
	return out
}

// cuts reads the quantities a merchant cut from an order ordersync
// imported (created through the REST API, with OrderedLinesMetaKey's
// value raw) as line cancels: per SKU, the quantity ordered less what
// the order's lines hold now (a line removed holds none), one refund of
// kind cancel each, "cut/<sku>", whose newer picture replaces the older
// as the cut grows. Any other order, or meta that does not read, gives
// none: an order a checkout made may carry meta its buyer wrote.
func cuts(createdVia string, raw json.RawMessage, lines []order.Line, at time.Time) []order.Refund {
	if createdVia != restCreatedVia || len(raw) == 0 {
		return nil
	}
	var ordered []orderedLine
	if json.Unmarshal(raw, &ordered) != nil {
		return nil
	}
	now := map[string]int{}
	for _, l := range lines {
		now[strings.TrimSpace(l.SKU)] += l.Quantity
	}
	var out []order.Refund
	for _, o := range ordered {
		if cut := o.Quantity - now[o.SKU]; o.SKU != "" && cut > 0 {
			out = append(out, order.Refund{ID: "cut/" + o.SKU, Kind: order.RefundCancel, At: at,
				Lines: []order.Line{{SKU: o.SKU, Quantity: cut}}})
		}
	}
	slices.SortFunc(out, func(a, b order.Refund) int { return strings.Compare(a.ID, b.ID) })
	return out
}
