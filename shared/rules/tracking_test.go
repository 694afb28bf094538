package rules

import (
	"net/url"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestCompleteTracking(t *testing.T) {
	all := order.Capabilities{CarrierRequired: true, TrackingURLRequired: true}
	tests := []struct {
		name    string
		in      order.Tracking
		caps    order.Capabilities
		want    order.Tracking
		missing string // set when shipping_data_missing is expected
	}{
		{"complete", order.Tracking{Number: "1Z999", Carrier: "UPS", URL: "https://x.test/1Z999"}, all,
			order.Tracking{Number: "1Z999", Carrier: "UPS", URL: "https://x.test/1Z999"}, ""},
		{"number only where nothing else is needed", order.Tracking{Number: " 42 "}, order.Capabilities{},
			order.Tracking{Number: "42"}, ""},
		{"missing tracking number", order.Tracking{Carrier: "UPS", URL: "https://x.test"}, all,
			order.Tracking{Carrier: "UPS", URL: "https://x.test"}, "tracking number"},
		{"missing carrier", order.Tracking{Number: "42", URL: "https://x.test/42"}, all,
			order.Tracking{Number: "42", URL: "https://x.test/42"}, "carrier"},
		{"carrier not required", order.Tracking{Number: "42"}, order.Capabilities{TrackingURLRequired: false},
			order.Tracking{Number: "42"}, ""},
		{"missing tracking url with unknown carrier", order.Tracking{Number: "42", Carrier: "Pigeon Post"}, all,
			order.Tracking{Number: "42", Carrier: "Pigeon Post"}, "tracking URL"},
		{"missing tracking url with ambiguous carrier", order.Tracking{Number: "42", Carrier: "DPD"}, all,
			order.Tracking{Number: "42", Carrier: "DPD"}, "tracking URL"},
		{"tracking url derived from carrier", order.Tracking{Number: "1Z 999", Carrier: "ups"}, all,
			order.Tracking{Number: "1Z 999", Carrier: "ups", URL: "https://www.ups.com/track?tracknum=1Z999"}, ""},
		{"royal mail url strips spaces", order.Tracking{Number: "AB 1234 5678 GB", Carrier: "Royal-Mail"}, all,
			order.Tracking{Number: "AB 1234 5678 GB", Carrier: "Royal-Mail",
				URL: "https://www.royalmail.com/track-your-item#/tracking-results/AB12345678GB"}, ""},
		{"url escapes the number", order.Tracking{Number: "a&b", Carrier: "La Poste"}, all,
			order.Tracking{Number: "a&b", Carrier: "La Poste", URL: "https://www.laposte.fr/outils/suivre-vos-envois?code=a%26b"}, ""},
		{"url not derived where not needed", order.Tracking{Number: "42", Carrier: "UPS"}, order.Capabilities{CarrierRequired: true},
			order.Tracking{Number: "42", Carrier: "UPS"}, ""},
		// Marketplaces that take a URL without requiring one (Back Market,
		// Mirakl for a carrier it has no code for): the buyer gets a link.
		{"url derived where the marketplace takes one", order.Tracking{Number: "1Z 999", Carrier: "UPS"}, order.Capabilities{TrackingURL: true},
			order.Tracking{Number: "1Z 999", Carrier: "UPS", URL: "https://www.ups.com/track?tracknum=1Z999"}, ""},
		{"a store's url kept where the marketplace takes one", order.Tracking{Number: "42", Carrier: "UPS", URL: "https://shop.test/t/42"}, order.Capabilities{TrackingURL: true},
			order.Tracking{Number: "42", Carrier: "UPS", URL: "https://shop.test/t/42"}, ""},
		{"unknown carrier sent without url where one is only taken", order.Tracking{Number: "42", Carrier: "Pigeon Post"}, order.Capabilities{TrackingURL: true},
			order.Tracking{Number: "42", Carrier: "Pigeon Post"}, ""},
		{"no url derived without a number where one is only taken", order.Tracking{Carrier: "UPS"}, order.Capabilities{TrackingURL: true},
			order.Tracking{Carrier: "UPS"}, "tracking number"},
		{"missing number and carrier", order.Tracking{}, all, order.Tracking{}, "tracking number, carrier and tracking URL"},
		{"missing number with known carrier reports only the number", order.Tracking{Carrier: "GLS"}, all,
			order.Tracking{Carrier: "GLS"}, "tracking number"},
		{"blank number is missing", order.Tracking{Number: "  ", Carrier: "GLS"}, order.Capabilities{},
			order.Tracking{Carrier: "GLS"}, "tracking number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CompleteTracking(tt.in, tt.caps)
			if got != tt.want {
				t.Errorf("tracking = %+v, want %+v", got, tt.want)
			}
			if tt.missing == "" {
				checkErr(t, err, "", nil)
				return
			}
			checkErr(t, err, syncerr.ShippingDataMissing, map[string]string{"missing": tt.missing})
		})
	}
}

func TestCarrierTemplates(t *testing.T) {
	if len(carriers) == 0 {
		t.Fatal("carriers.json holds no carrier")
	}
	for name, c := range carriers {
		u, err := url.Parse(c.TrackingURL("ABC123"))
		if err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("%s (%s): tracking URL %q: %v", name, c.Name, c.TrackingURL("ABC123"), err)
		}
	}
	for _, name := range []string{"DPD", "DHL"} {
		if _, ok := LookupCarrier(name); ok {
			t.Errorf("LookupCarrier(%q) matched: an ambiguous name must not be guessed", name)
		}
	}
}

func TestParseCarriersRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"not json", `{`},
		{"no name", `{"carriers":[{"url":"https://x.test/{n}"}]}`},
		{"no placeholder", `{"carriers":[{"name":"X","url":"https://x.test/"}]}`},
		{"name claimed twice", `{"carriers":[{"name":"X","url":"https://x.test/{n}"},{"name":"Y","names":["x"],"url":"https://y.test/{n}"}]}`},
		{"empty alias", `{"carriers":[{"name":"X","names":["--"],"url":"https://x.test/{n}"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCarriers([]byte(tt.doc)); err == nil {
				t.Errorf("ParseCarriers(%s) = nil error, want one", tt.doc)
			}
		})
	}
}

func TestSameTrackingNumber(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"equal", "1Z999AA1", "1Z999AA1", true},
		{"case does not matter", "1z999aa1", "1Z999AA1", true},
		{"spaces inside do not matter", "1Z 999 AA1", "1Z999AA1", true},
		{"surrounding spaces do not matter", " 1Z999AA1\n", "1Z999AA1", true},
		{"any white space is no part of a number", "AB\t1234\u00a05678 GB", "ab12345678gb", true},
		{"different numbers", "1Z999AA1", "1Z999AA2", false},
		{"a prefix is another number", "1Z999", "1Z999AA1", false},
		{"empty matches nothing", "", "1Z999AA1", false},
		{"two empty numbers are not one", "", "", false},
		{"blank is empty", "  ", " ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameTrackingNumber(tt.a, tt.b); got != tt.want {
				t.Errorf("SameTrackingNumber(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := SameTrackingNumber(tt.b, tt.a); got != tt.want {
				t.Errorf("SameTrackingNumber(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}
