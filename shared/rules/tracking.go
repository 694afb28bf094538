package rules

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Carrier is one carrier ordersync can build a tracking URL for.
type Carrier struct {
	// Name is how ordersync writes the carrier.
	Name string `json:"name"`
	// Names are the spellings that mean this carrier.
	Names []string `json:"names"`
	// URL is the tracking page, with {n} standing for the tracking number.
	URL string `json:"url"`
}

//go:embed carriers.json
var carriersJSON []byte

// carriers is read once from carriers.json, keyed by normalised name; it
// never changes after init.
var carriers = mustParseCarriers(carriersJSON)

func mustParseCarriers(b []byte) map[string]Carrier {
	m, err := ParseCarriers(b)
	if err != nil {
		panic(fmt.Sprintf("rules: carriers.json: %v", err)) // caught by the package's tests
	}
	return m
}

// ParseCarriers reads a carrier document and returns its carriers keyed by
// normalised name. It fails on a carrier without a name or a URL holding
// {n}, and on a name claimed by two carriers.
func ParseCarriers(b []byte) (map[string]Carrier, error) {
	var doc struct {
		Carriers []Carrier `json:"carriers"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	m := make(map[string]Carrier)
	for _, c := range doc.Carriers {
		if c.Name == "" || !strings.Contains(c.URL, "{n}") {
			return nil, fmt.Errorf("carrier %q: a name and a URL with {n} are required", c.Name)
		}
		if _, err := url.Parse(strings.ReplaceAll(c.URL, "{n}", "0")); err != nil {
			return nil, fmt.Errorf("carrier %q: %w", c.Name, err)
		}
		for _, n := range append([]string{c.Name}, c.Names...) {
			k := carrierKey(n)
			if k == "" {
				return nil, fmt.Errorf("carrier %q: an empty name", c.Name)
			}
			if other, dup := m[k]; dup && other.Name != c.Name {
				return nil, fmt.Errorf("name %q means both %q and %q", n, other.Name, c.Name)
			}
			m[k] = c
		}
	}
	return m, nil
}

// carrierKey folds a carrier name for matching: lower case, letters and
// digits only ("DHL-Express" and "dhl express" match).
func carrierKey(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// LookupCarrier returns the carrier a name means, if ordersync knows it.
func LookupCarrier(name string) (Carrier, bool) {
	c, ok := carriers[carrierKey(name)]
	return c, ok
}

// TrackingURL builds the carrier's tracking page for number. The number
// loses its spaces (Royal Mail's site wants none; no carrier needs them)
// and is URL-escaped.
func (c Carrier) TrackingURL(number string) string {
	return strings.ReplaceAll(c.URL, "{n}", url.QueryEscape(compactNumber(number)))
}

// SameTrackingNumber reports whether a and b are one tracking number, as
// carriers read them: white space anywhere is not part of a number ("1Z 999
// AA1" is "1Z999AA1") and case does not matter. A blank number is no
// number and matches nothing, not even another blank one: a line shipped
// without tracking was not shipped "with this tracking". The planner and
// every marketplace connector use it to tell a parcel already shipped from
// a new one, so a sync repeated after a timeout sends nothing twice.
func SameTrackingNumber(a, b string) bool {
	a, b = compactNumber(a), compactNumber(b)
	return a != "" && strings.EqualFold(a, b)
}

// compactNumber drops every white space from a tracking number.
func compactNumber(number string) string { return strings.Join(strings.Fields(number), "") }

// CompleteTracking returns t trimmed and made complete for a marketplace
// with caps, or a shipping_data_missing error whose "missing" detail names
// exactly what the merchant must add: the tracking number always, the
// carrier where caps.CarrierRequired, the tracking URL where
// caps.TrackingURLRequired. A missing URL is derived from a known carrier's
// template rather than reported, wherever the marketplace takes one
// (caps.TrackingURL, or requires one), so that the buyer gets a link; a URL
// the store sent is never replaced, and none is derived where the
// marketplace takes none (it builds its own). CompleteTracking is pure and
// idempotent.
func CompleteTracking(t order.Tracking, caps order.Capabilities) (order.Tracking, error) {
	t, missing := completeTracking(t, caps)
	if len(missing) > 0 {
		return t, syncerr.E(syncerr.ShippingDataMissing, "missing", joinWords(missing))
	}
	return t, nil
}

// completeTracking is CompleteTracking returning the words for what is
// missing, so that Plan can add a parcel's missing lines to them.
func completeTracking(t order.Tracking, caps order.Capabilities) (order.Tracking, []string) {
	t = order.Tracking{
		Number:  strings.TrimSpace(t.Number),
		Carrier: strings.TrimSpace(t.Carrier),
		URL:     strings.TrimSpace(t.URL),
	}
	var missing []string
	if t.Number == "" {
		missing = append(missing, missingNumber)
	}
	if caps.CarrierRequired && t.Carrier == "" {
		missing = append(missing, missingCarrier)
	}
	if (caps.TrackingURL || caps.TrackingURLRequired) && t.URL == "" {
		c, known := LookupCarrier(t.Carrier)
		switch {
		case known && t.Number != "":
			t.URL = c.TrackingURL(t.Number)
		case !known && caps.TrackingURLRequired:
			missing = append(missing, missingURL)
		}
		// A known carrier without a number: the URL follows once the
		// number is added, so only the number is reported.
	}
	return t, missing
}

// The words of shipping_data_missing's "missing" detail. They read in the
// catalogue's sentences ("the shipment is missing its {missing}").
const (
	missingNumber  = "tracking number"
	missingCarrier = "carrier"
	missingURL     = "tracking URL"
	missingLines   = "lines"
)

// joinWords joins words as a merchant reads them: "a", "a and b",
// "a, b and c".
func joinWords(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	default:
		return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
	}
}
