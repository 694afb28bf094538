package shopifytest

import (
	"strings"
	"time"
	"unicode"
)

// renderOrder is o as the Admin GraphQL API returns an Order node.
func renderOrder(o *Order) map[string]any {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	m := map[string]any{
		"id":                       gid("Order", o.ID),
		"legacyResourceId":         o.ID,
		"name":                     o.Name,
		"createdAt":                o.CreatedAt.UTC().Format(time.RFC3339),
		"updatedAt":                o.UpdatedAt.UTC().Format(time.RFC3339),
		"cancelledAt":              nil,
		"cancelReason":             nil,
		"displayFinancialStatus":   o.FinancialStatus,
		"displayFulfillmentStatus": o.displayFulfillmentStatus(),
		"test":                     o.Test,
		"sourceIdentifier":         null(o.SourceIdentifier),
		"shippingAddress":          nil,
	}
	if !o.CancelledAt.IsZero() {
		m["cancelledAt"] = o.CancelledAt.UTC().Format(time.RFC3339)
		m["cancelReason"] = null(o.CancelReason)
	}
	attrs := []any{}
	for _, a := range o.CustomAttributes {
		attrs = append(attrs, map[string]any{"key": a.Key, "value": a.Value})
	}
	m["customAttributes"] = attrs
	if a := o.ShippingAddress; a != nil {
		m["shippingAddress"] = map[string]any{
			"firstName": null(a.FirstName), "lastName": null(a.LastName),
			"name":    strings.TrimSpace(a.FirstName + " " + a.LastName),
			"company": null(a.Company), "address1": null(a.Address1), "address2": null(a.Address2),
			"city": null(a.City), "zip": null(a.Zip), "provinceCode": null(a.ProvinceCode),
			"countryCodeV2": null(a.CountryCode), "phone": null(a.Phone),
		}
	}
	lines := []any{}
	for _, li := range o.LineItems {
		lines = append(lines, renderLineItem(li))
	}
	m["lineItems"] = map[string]any{"nodes": lines}

	fulfillments := []any{}
	for _, f := range o.Fulfillments {
		tracking := []any{}
		for _, t := range f.Tracking {
			tracking = append(tracking, map[string]any{"company": null(t.Company), "number": null(t.Number), "url": null(t.URL)})
		}
		fl := []any{}
		for _, l := range f.Lines {
			li, _ := o.lineItem(l.LineItemID)
			fl = append(fl, map[string]any{"quantity": l.Quantity, "lineItem": renderLineItem(li)})
		}
		fulfillments = append(fulfillments, map[string]any{
			"id": gid("Fulfillment", f.ID), "status": f.Status, "trackingInfo": tracking,
			"fulfillmentLineItems": map[string]any{"nodes": fl},
		})
	}
	m["fulfillments"] = fulfillments

	refunds := []any{}
	for _, r := range o.Refunds {
		rl := []any{}
		for _, l := range r.Lines {
			li, _ := o.lineItem(l.LineItemID)
			rl = append(rl, map[string]any{"quantity": l.Quantity, "restockType": l.RestockType, "lineItem": renderLineItem(li)})
		}
		refunds = append(refunds, map[string]any{"id": gid("Refund", r.ID), "createdAt": r.CreatedAt.UTC().Format(time.RFC3339),
			"refundLineItems": map[string]any{"nodes": rl}})
	}
	m["refunds"] = refunds

	fos := []any{}
	for _, fo := range o.FulfillmentOrders {
		items := []any{}
		remaining := 0
		for _, fli := range fo.LineItems {
			li, _ := o.lineItem(fli.LineItemID)
			remaining += fli.RemainingQuantity
			items = append(items, map[string]any{
				"id": gid("FulfillmentOrderLineItem", fli.ID), "totalQuantity": fli.TotalQuantity,
				"remainingQuantity": fli.RemainingQuantity, "lineItem": renderLineItem(li),
			})
		}
		actions := []any{}
		switch fo.Status {
		case "OPEN", "IN_PROGRESS":
			if remaining > 0 {
				actions = append(actions, map[string]any{"action": "CREATE_FULFILLMENT"})
			}
			actions = append(actions, map[string]any{"action": "HOLD"}, map[string]any{"action": "MOVE"})
		case "ON_HOLD":
			actions = append(actions, map[string]any{"action": "RELEASE_HOLD"})
		}
		fos = append(fos, map[string]any{
			"id": gid("FulfillmentOrder", fo.ID), "status": fo.Status,
			"supportedActions": actions, "lineItems": map[string]any{"nodes": items},
		})
	}
	m["fulfillmentOrders"] = map[string]any{"nodes": fos}
	return m
}

func renderLineItem(li LineItem) map[string]any {
	var sku any
	if li.SKU != "" {
		sku = li.SKU
	}
	return map[string]any{"id": gid("LineItem", li.ID), "sku": sku, "title": li.Title, "quantity": li.Quantity}
}

// rootField is the first field of a GraphQL document's operation: the
// first name inside its first selection set.
func rootField(doc string) string {
	i := strings.IndexByte(doc, '{')
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeftFunc(doc[i+1:], unicode.IsSpace)
	end := strings.IndexFunc(rest, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
	})
	if end < 0 {
		return rest
	}
	return rest[:end]
}

// term is one field:value term of Shopify's search syntax.
type term struct {
	field, op, value string
}

// parseSearch reads the subset of Shopify's search syntax ordersync uses:
// space-separated field:value terms, the value optionally quoted with
// single or double quotes and preceded by a comparator (>, >=, <, <=).
func parseSearch(q string) ([]term, *graphQLError) {
	var out []term
	rest := strings.TrimSpace(q)
	for rest != "" {
		colon := strings.IndexByte(rest, ':')
		if colon <= 0 || strings.ContainsAny(rest[:colon], " '\"") {
			return nil, gqlErr("BAD_REQUEST", "shopifytest: cannot read search %q", q)
		}
		t := term{field: rest[:colon], op: ":"}
		rest = rest[colon+1:]
		for _, op := range []string{">=", "<=", ">", "<"} {
			if strings.HasPrefix(rest, op) {
				t.op, rest = op, rest[len(op):]
				break
			}
		}
		if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
			quote := rest[0]
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != quote; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return nil, gqlErr("BAD_REQUEST", "shopifytest: unterminated quote in search %q", q)
			}
			t.value, rest = b.String(), rest[i+1:]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			t.value, rest = rest[:end], rest[end:]
		}
		out = append(out, t)
		rest = strings.TrimSpace(rest)
	}
	return out, nil
}

// searchTime reads a date term's value: RFC 3339 or a bare date.
func searchTime(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// compareTime applies a date term to ts, at Shopify's one-second grain.
func (t term) compareTime(ts time.Time) bool {
	v, _ := searchTime(t.value) // checked when the search was read
	ts = ts.Truncate(time.Second)
	switch t.op {
	case ">=":
		return !ts.Before(v)
	case ">":
		return ts.After(v)
	case "<=":
		return !ts.After(v)
	case "<":
		return ts.Before(v)
	default:
		return ts.Equal(v)
	}
}
