package mirakl

import (
	"cmp"
	"encoding/json"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// wirePage is OR11's answer.
type wirePage struct {
	Orders     []wireOrder `json:"orders"`
	TotalCount int         `json:"total_count"`
}

// wireOrder is a Mirakl order as OR11 returns it (the fields we use).
type wireOrder struct {
	OrderID             string        `json:"order_id"`
	OrderState          string        `json:"order_state"`
	CanCancel           bool          `json:"can_cancel"`
	CreatedDate         string        `json:"created_date"`
	LastUpdatedDate     string        `json:"last_updated_date"`
	ShippingCarrierCode string        `json:"shipping_carrier_code"`
	ShippingCompany     string        `json:"shipping_company"`
	ShippingTracking    string        `json:"shipping_tracking"`
	ShippingTrackingURL string        `json:"shipping_tracking_url"`
	CurrencyISOCode     string        `json:"currency_iso_code"`
	OrderTaxMode        string        `json:"order_tax_mode"`
	Customer            *wireCustomer `json:"customer"`
	OrderLines          []wireLine    `json:"order_lines"`
}

type wireLine struct {
	OrderLineID    string       `json:"order_line_id"`
	OrderLineState string       `json:"order_line_state"`
	OfferSKU       string       `json:"offer_sku"`
	Quantity       int          `json:"quantity"`
	Refunds        []wireRefund `json:"refunds"`
	// The line's amounts, as Mirakl states them (kept as written, never
	// recomputed): price is the offer part (quantity × price_unit),
	// shipping_price its shipping; taxes and shipping_taxes the tax in
	// them by code. Nil when absent or null.
	Price         *json.Number      `json:"price"`
	ShippingPrice *json.Number      `json:"shipping_price"`
	Taxes         []wireTax         `json:"taxes"`
	ShippingTaxes []wireTax         `json:"shipping_taxes"`
	Cancelations  []json.RawMessage `json:"cancelations"`
}

// wireTax is one tax amount of an order line, as OR11 gives it and OR30
// takes it.
type wireTax struct {
	Amount json.Number `json:"amount"`
	Code   string      `json:"code"`
}

// wireRefund is one refund of an order line (OR11's order_lines[].refunds).
type wireRefund struct {
	ID          string       `json:"id"`
	Quantity    int          `json:"quantity"`
	Amount      *json.Number `json:"amount"`
	CreatedDate string       `json:"created_date"`
}

// refundedWhole reports whether l's refunds cover the whole line: its
// quantity and, where the line states a price, that amount. Mirakl calls
// a refund's quantity informative (its own fixture refunds a line of 1
// for 20.00 of 89.00 with quantity 1), so the amount decides too.
func (l wireLine) refundedWhole() bool {
	if len(l.Refunds) == 0 {
		return false
	}
	qty, amount := 0, 0.0
	for _, r := range l.Refunds {
		qty += max(r.Quantity, 0)
		if r.Amount != nil {
			v, _ := r.Amount.Float64()
			amount += v
		}
	}
	if qty < l.Quantity {
		return false
	}
	if l.Price == nil {
		return true
	}
	price, err := l.Price.Float64()
	return err != nil || amount >= price-0.005 // within the cent
}

type wireCustomer struct {
	ShippingAddress *wireAddress `json:"shipping_address"`
}

type wireAddress struct {
	Firstname      string `json:"firstname"`
	Lastname       string `json:"lastname"`
	Company        string `json:"company"`
	Street1        string `json:"street_1"`
	Street2        string `json:"street_2"`
	ZipCode        string `json:"zip_code"`
	City           string `json:"city"`
	State          string `json:"state"`
	Country        string `json:"country"`
	CountryISOCode string `json:"country_iso_code"`
	Phone          string `json:"phone"`
}

// domain converts w to ordersync's terms. The error, if any, is the first
// state the lifecycle does not know (invalid_data); the order is returned
// complete anyway, with StatusUnknown where a state was not understood.
func (w wireOrder) domain() (order.MarketplaceOrder, error) {
	o := order.MarketplaceOrder{
		ID:    w.OrderID,
		State: w.OrderState,
		Tracking: order.Tracking{Number: w.ShippingTracking, URL: w.ShippingTrackingURL,
			Carrier: cmp.Or(strings.TrimSpace(w.ShippingCompany), strings.TrimSpace(w.ShippingCarrierCode))},
		CreatedAt: parseTime(w.CreatedDate),
		UpdatedAt: parseTime(w.LastUpdatedDate),
		CanCancel: w.CanCancel,
	}
	status, firstErr := State(w.OrderState)
	o.Status = status
	for _, wl := range w.OrderLines {
		s, err := State(wl.OrderLineState)
		if firstErr == nil {
			firstErr = err
		}
		l := order.MarketplaceLine{ID: wl.OrderLineID, SKU: wl.OfferSKU, Quantity: wl.Quantity,
			Status: s, State: wl.OrderLineState, RefundedInPart: len(wl.Refunds) > 0 && !wl.refundedWhole()}
		if s == order.StatusShipped || s == order.StatusDelivered {
			l.Tracking = o.Tracking // Mirakl keeps one tracking per order
		}
		o.Lines = append(o.Lines, l)
		for _, r := range wl.Refunds {
			// Mirakl refunds a line after acceptance whether or not it
			// shipped (OR28); before shipping it cancels (OR29, OR30).
			if r.ID != "" {
				o.Refunds = append(o.Refunds, order.Refund{ID: "refund/" + r.ID, Kind: order.RefundRefund, At: parseTime(r.CreatedDate),
					Lines: []order.Line{{SKU: l.SKU, Quantity: r.Quantity, MarketplaceLineID: l.ID}}})
			}
		}
	}
	// The order state has no "partially shipped" or "partially
	// cancelled" (multiple shipments, a line refused): the lines tell.
	statuses := make([]order.Status, len(o.Lines))
	for i, l := range o.Lines {
		statuses[i] = l.Status
	}
	if r := rules.Rollup(statuses); r == order.StatusPartiallyShipped || r == order.StatusPartiallyCancelled {
		o.Status = r
	}
	if w.Customer != nil && w.Customer.ShippingAddress != nil {
		a := w.Customer.ShippingAddress
		o.ShippingAddress = &order.Address{
			Name:    strings.TrimSpace(a.Firstname + " " + a.Lastname),
			Company: a.Company, Line1: a.Street1, Line2: a.Street2, City: a.City, PostalCode: a.ZipCode,
			Region: a.State, Country: country(a.CountryISOCode, a.Country), Phone: a.Phone,
		}
	}
	return o, firstErr
}

// parseTime reads a Mirakl date (ISO 8601, UTC). An unreadable date is
// the zero time: dates inform, they never block a sync.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// alpha3 maps the ISO 3166-1 alpha-3 codes Mirakl sends (country_iso_code)
// to the alpha-2 codes ordersync keeps, for the countries Mirakl-run
// marketplaces serve. Anything else is left empty rather than guessed.
var alpha3 = map[string]string{
	"AUT": "AT", "BEL": "BE", "BGR": "BG", "HRV": "HR", "CYP": "CY", "CZE": "CZ", "DNK": "DK", "EST": "EE",
	"FIN": "FI", "FRA": "FR", "DEU": "DE", "GRC": "GR", "HUN": "HU", "IRL": "IE", "ITA": "IT", "LVA": "LV",
	"LTU": "LT", "LUX": "LU", "MLT": "MT", "NLD": "NL", "POL": "PL", "PRT": "PT", "ROU": "RO", "SVK": "SK",
	"SVN": "SI", "ESP": "ES", "SWE": "SE", "GBR": "GB", "CHE": "CH", "NOR": "NO", "ISL": "IS", "LIE": "LI",
	"MCO": "MC", "AND": "AD", "USA": "US", "CAN": "CA", "MEX": "MX", "BRA": "BR", "AUS": "AU", "NZL": "NZ",
	"JPN": "JP", "CHN": "CN", "KOR": "KR", "IND": "IN", "SGP": "SG", "ZAF": "ZA", "TUR": "TR", "ARE": "AE",
	"GLP": "GP", "MTQ": "MQ", "GUF": "GF", "REU": "RE", "MYT": "YT",
}

// countryNames maps the country names Mirakl sends when country_iso_code
// is null (as in its own fixtures), in English and the local language.
var countryNames = map[string]string{
	"FRANCE": "FR", "GERMANY": "DE", "DEUTSCHLAND": "DE", "SPAIN": "ES", "ESPAÑA": "ES", "ITALY": "IT",
	"ITALIA": "IT", "BELGIUM": "BE", "BELGIQUE": "BE", "NETHERLANDS": "NL", "NEDERLAND": "NL",
	"UNITED KINGDOM": "GB", "PORTUGAL": "PT", "AUSTRIA": "AT", "ÖSTERREICH": "AT", "SWITZERLAND": "CH",
	"SUISSE": "CH", "LUXEMBOURG": "LU", "IRELAND": "IE", "POLAND": "PL", "POLSKA": "PL",
	"UNITED STATES": "US",
}

// country returns the alpha-2 code for an address's country_iso_code, or
// failing that its country name; empty when neither is known.
func country(isoCode, name string) string {
	code := strings.ToUpper(strings.TrimSpace(isoCode))
	if len(code) == 2 {
		return code
	}
	if c, ok := alpha3[code]; ok {
		return c
	}
	return countryNames[strings.ToUpper(strings.TrimSpace(name))]
}

// wireLineAmounts is one line of OR30's cancelations and of OR28's refunds
// (the two take the same fields): a whole line, for the amounts Mirakl's
// order states.
type wireLineAmounts struct {
	OrderLineID     string      `json:"order_line_id"`
	Quantity        int         `json:"quantity"`
	Amount          json.Number `json:"amount"`
	ShippingAmount  json.Number `json:"shipping_amount"`
	ReasonCode      string      `json:"reason_code"`
	CurrencyISOCode string      `json:"currency_iso_code,omitempty"`
	Taxes           []wireTax   `json:"taxes,omitempty"`
	ShippingTaxes   []wireTax   `json:"shipping_taxes,omitempty"`
}

// amountsOf is the whole of line l of w, with reason; l's price and
// shipping price must be stated (the callers check).
func (w wireOrder) amountsOf(l wireLine, reason string) wireLineAmounts {
	return wireLineAmounts{OrderLineID: l.OrderLineID, Quantity: l.Quantity, Amount: *l.Price, ShippingAmount: *l.ShippingPrice,
		ReasonCode: reason, CurrencyISOCode: w.CurrencyISOCode, Taxes: l.Taxes, ShippingTaxes: l.ShippingTaxes}
}
