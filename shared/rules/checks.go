package rules

import (
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// noPostalCode lists the countries (ISO 3166-1 alpha-2) whose addresses have
// no postal code, so that their orders are not held for lacking one.
var noPostalCode = map[string]bool{
	"AE": true, "AG": true, "AO": true, "AW": true, "BF": true, "BI": true,
	"BJ": true, "BO": true, "BS": true, "BW": true, "BZ": true, "CD": true,
	"CF": true, "CG": true, "CI": true, "CK": true, "CM": true, "DJ": true,
	"DM": true, "ER": true, "FJ": true, "GA": true, "GD": true, "GH": true,
	"GM": true, "GQ": true, "GY": true, "HK": true, "KI": true, "KM": true,
	"KN": true, "KP": true, "LY": true, "ML": true, "MO": true, "MR": true,
	"MW": true, "NR": true, "NU": true, "QA": true, "RW": true, "SB": true,
	"SC": true, "SL": true, "SR": true, "ST": true, "SY": true, "TD": true,
	"TF": true, "TG": true, "TK": true, "TL": true, "TO": true, "TV": true,
	"UG": true, "VU": true, "YE": true, "ZW": true,
}

// CheckAddress reports whether a can be shipped to. A nil address is
// address_missing (the order is held: often a test order). An address
// without its street line, city, postal code (where the country uses one)
// or country is address_invalid, with the "field" detail naming every part
// missing ("city and postal code").
func CheckAddress(a *order.Address) error {
	if a == nil {
		return syncerr.E(syncerr.AddressMissing)
	}
	var missing []string
	if blank(a.Line1) {
		missing = append(missing, "street address")
	}
	if blank(a.City) {
		missing = append(missing, "city")
	}
	country := strings.ToUpper(strings.TrimSpace(a.Country))
	if blank(a.PostalCode) && !noPostalCode[country] {
		missing = append(missing, "postal code")
	}
	if country == "" {
		missing = append(missing, "country")
	}
	if len(missing) > 0 {
		return syncerr.E(syncerr.AddressInvalid, "field", joinWords(missing))
	}
	return nil
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// Edit is a change to an order's content (not its status) asked for after
// the order was placed. Zero fields are not being changed.
type Edit struct {
	Address        *order.Address
	DeliveryMethod string
	Lines          []order.Line
}

// CheckEdit reports whether e may be made to an order now in status
// current. Orders are editable only while pending (pending payment or
// awaiting acceptance): otherwise order_not_editable, with "from" naming
// the status. Stock held for the order must be released first:
// inventory_held. Then a new address must pass CheckAddress, and every new
// line needs a SKU and a positive quantity (invalid_data).
func CheckEdit(current order.Status, inventoryHeld bool, e Edit) error {
	if current != order.StatusPendingPayment && current != order.StatusAwaitingAcceptance {
		return syncerr.E(syncerr.OrderNotEditable, "from", string(current))
	}
	if inventoryHeld {
		return syncerr.E(syncerr.InventoryHeld)
	}
	if e.Address != nil {
		if err := CheckAddress(e.Address); err != nil {
			return err
		}
	}
	for i, l := range e.Lines {
		switch {
		case blank(l.SKU):
			return syncerr.E(syncerr.InvalidData, "field", "SKU of line "+strconv.Itoa(i+1))
		case l.Quantity <= 0:
			return syncerr.E(syncerr.InvalidData, "field", "quantity of SKU "+strconv.Quote(l.SKU), "sku", l.SKU)
		}
	}
	return nil
}

// Product is a product on the side an order line must be matched to.
type Product struct {
	ID  string
	SKU string
	// Deleted marks a product removed from the catalogue; it never matches.
	Deleted bool
	// UpdatedAt is kept for reports; matching never picks by date.
	UpdatedAt time.Time
}

// MatchSKU finds the one live product an order line's SKU means: the
// product with exactly that SKU (surrounding spaces ignored), else the one
// with the SKU aliases maps it to (a merchant-defined alias for a renamed
// SKU). Deleted products never match, so a product deleted and recreated
// with the same SKU resolves to the live one. Several live products with
// the SKU are sku_duplicate, with the "products" detail listing their IDs:
// MatchSKU never guesses. No live product is sku_not_found. Both errors
// carry the order line's SKU in "sku".
func MatchSKU(sku string, aliases map[string]string, products []Product) (Product, error) {
	sku = strings.TrimSpace(sku)
	if sku == "" {
		return Product{}, syncerr.E(syncerr.SKUNotFound, "sku", sku)
	}
	tries := []string{sku}
	if alias := AliasOf(sku, aliases); alias != sku {
		tries = append(tries, alias)
	}
	for _, want := range tries {
		var live []Product
		for _, p := range products {
			if !p.Deleted && strings.TrimSpace(p.SKU) == want {
				live = append(live, p)
			}
		}
		switch len(live) {
		case 0:
			continue
		case 1:
			return live[0], nil
		default:
			ids := make([]string, len(live))
			for i, p := range live {
				ids[i] = p.ID
			}
			return Product{}, syncerr.E(syncerr.SKUDuplicate,
				"sku", want, "products", strings.Join(ids, ", "))
		}
	}
	return Product{}, syncerr.E(syncerr.SKUNotFound, "sku", sku)
}

// AliasOf returns the SKU aliases maps sku to (surrounding spaces ignored
// on both), or sku itself, trimmed, when it has no alias. It is how an
// order line's SKU is named on the other side where the merchant set an
// alias; MatchSKU tries sku first and then AliasOf(sku).
func AliasOf(sku string, aliases map[string]string) string {
	sku = strings.TrimSpace(sku)
	if alias := strings.TrimSpace(aliases[sku]); alias != "" {
		return alias
	}
	return sku
}
