package syncerr

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// declaredCodes reads the Code constants from syncerr.go itself, so that a
// code added there without a catalogue entry fails this test.
func declaredCodes(t *testing.T) map[Code]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "syncerr.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := make(map[Code]string)
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for i, name := range v.Names {
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s: not a string literal", name.Name)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				codes[Code(s)] = name.Name
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("found no Code constants in syncerr.go")
	}
	return codes
}

func TestEveryCodeHasAnEntry(t *testing.T) {
	declared := declaredCodes(t)
	for code, name := range declared {
		t.Run(name, func(t *testing.T) {
			e, ok := catalogue[code]
			if !ok {
				t.Fatalf("%s (%q) has no entry in catalogue.json", name, code)
			}
			if e.Code != code {
				t.Errorf("entry code = %q, want %q", e.Code, code)
			}
		})
	}
	for code := range catalogue {
		if _, ok := declared[code]; !ok {
			t.Errorf("catalogue.json lists %q, which no Code constant declares", code)
		}
	}
	if got, want := len(Codes()), len(declared); got != want {
		t.Errorf("len(Codes()) = %d, want %d", got, want)
	}
}

// kinds pins each code's kind: the kind decides what the system does, so
// changing one in catalogue.json must be a deliberate change here too.
var kinds = map[Code]Kind{
	ShippingDataMissing: Permanent, InvalidTransition: Permanent, CancelUnsupported: Permanent,
	SKUNotFound: Permanent, SKUDuplicate: Permanent, AddressMissing: Permanent, AddressInvalid: Permanent,
	OrderNotEditable: Permanent, InventoryHeld: Permanent, RateLimited: Transient,
	MarketplaceUnavailable: Transient, AuthExpired: Auth, StoreDisconnected: Auth,
	PlatformUnsupported: Permanent, OrderNotFound: Permanent, InvalidData: Permanent, InternalError: Permanent,
	ConnectionPaused:     Auth,
	MarketplaceOutOfStep: Transient,
	AddressRestricted:    Permanent,
}

func TestKinds(t *testing.T) {
	for code, want := range kinds {
		t.Run(string(code), func(t *testing.T) {
			if got := Lookup(code).Kind; got != want {
				t.Errorf("kind = %q, want %q", got, want)
			}
		})
	}
}

// TestATransientRemedyIsForAFailureThatOutlastedItsRetries: a merchant
// reads a transient failure (in an email, in the errors list) only once
// the quick retries gave up, so its remedy must not say there is nothing
// to do (a black-box try read "Nothing to do: ordersync retries
// automatically" beside "ordersync retried 3 times before giving up"), and
// must name the re-sync its action is.
func TestATransientRemedyIsForAFailureThatOutlastedItsRetries(t *testing.T) {
	for code, kind := range kinds {
		if kind != Transient {
			continue
		}
		e := Lookup(code)
		if strings.Contains(strings.ToLower(e.Remedy), "nothing to do") {
			t.Errorf("%s: remedy %q tells the merchant there is nothing to do", code, e.Remedy)
		}
		if !strings.Contains(e.Remedy, "re-sync") {
			t.Errorf("%s: remedy %q does not name the re-sync", code, e.Remedy)
		}
	}
}

// placeholders are the details failures carry; the catalogue's "about" text
// lists them for support staff.
var placeholders = []string{"code", "order", "missing", "from", "to", "sku", "products", "parcel",
	"line", "marketplace", "tracking", "others", "platform", "field", "value", "retry_after"}

func TestPlaceholdersAreKnown(t *testing.T) {
	re := regexp.MustCompile(`\{([^{}]*)\}`)
	known := strings.Join(placeholders, " ")
	about, err := os.ReadFile("catalogue.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range placeholders {
		if p != "code" && !strings.Contains(string(about), p+",") && !strings.Contains(string(about), p+")") {
			t.Errorf("catalogue.json's about text does not list placeholder %q", p)
		}
	}
	for code, e := range catalogue {
		for _, text := range []string{e.Title, e.Cause, e.Remedy} {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				if !strings.Contains(" "+known+" ", " "+m[1]+" ") {
					t.Errorf("%s: unknown placeholder {%s} in %q", code, m[1], text)
				}
			}
			if strings.Count(text, "{") != strings.Count(text, "}") {
				t.Errorf("%s: unbalanced braces in %q", code, text)
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"not json", `{"entries": [`},
		{"no code", `{"entries":[{"kind":"permanent","title":"t","cause":"c","remedy":"r","action":null}]}`},
		{"bad kind", `{"entries":[{"code":"x","kind":"sometimes","title":"t","cause":"c","remedy":"r","action":null}]}`},
		{"no remedy", `{"entries":[{"code":"x","kind":"permanent","title":"t","cause":"c","action":null}]}`},
		{"listed twice", `{"entries":[{"code":"x","kind":"permanent","title":"t","cause":"c","remedy":"r","action":null},{"code":"x","kind":"permanent","title":"t","cause":"c","remedy":"r","action":null}]}`},
		{"no action", `{"entries":[{"code":"x","kind":"permanent","title":"t","cause":"c","remedy":"r"}]}`},
		{"action method", `{"entries":[{"code":"x","kind":"permanent","title":"t","cause":"c","remedy":"r","action":{"method":"FETCH","route":"/connections/{connection}/resync"}}]}`},
		{"action outside the connection", `{"entries":[{"code":"x","kind":"permanent","title":"t","cause":"c","remedy":"r","action":{"method":"POST","route":"/resync"}}]}`},
		{"action unknown parameter", `{"entries":[{"code":"x","kind":"permanent","title":"t","cause":"c","remedy":"r","action":{"method":"POST","route":"/connections/{connection}/orders/{order}/resync"}}]}`},
		{"action empty segment", `{"entries":[{"code":"x","kind":"permanent","title":"t","cause":"c","remedy":"r","action":{"method":"POST","route":"/connections/{connection}//resync"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.doc)); err == nil {
				t.Errorf("Parse(%s) = nil error, want one", tt.doc)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		cause string
	}{
		{"shipping data missing", E(ShippingDataMissing, "order", "#1001", "marketplace", "Back Market", "missing", "tracking number and carrier"),
			"Order #1001 was not marked shipped on Back Market: the shipment is missing its tracking number and carrier."},
		{"invalid transition", E(InvalidTransition, "order", "#7", "marketplace", "Mirakl", "from", "cancelled", "to", "shipped"),
			`Order #7 cannot go from "cancelled" to "shipped" on Mirakl: the marketplace only moves an order forward (to accept, then waiting for fulfilment, then fulfilled), and never out of cancelled or refused.`},
		{"address invalid", E(AddressInvalid, "order", "#8", "field", "city and postal code"),
			"Order #8 has a shipping address without its city and postal code."},
		{"missing detail reads as unknown", E(SKUNotFound, "order", "#9"),
			`Order #9 has SKU "(unknown sku)", which matches no product on the other side.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(tt.err).Cause; got != tt.cause {
				t.Errorf("cause = %q\nwant    %q", got, tt.cause)
			}
		})
	}
}

// actions pins each code's action: the route a merchant is sent to must be
// a deliberate choice (shared/merchantapi checks that each one exists).
var actions = map[Code]string{
	ShippingDataMissing:    "POST /connections/{connection}/orders/{marketplaceOrderId}/fix",
	InvalidTransition:      "POST /connections/{connection}/orders/{marketplaceOrderId}/resync",
	CancelUnsupported:      "",
	RefundUnsupported:      "",
	ParcelsUnsupported:     "",
	SKUNotFound:            "PUT /connections/{connection}/aliases/{sku}",
	SKUDuplicate:           "POST /connections/{connection}/orders/{marketplaceOrderId}/resync",
	AddressMissing:         "POST /connections/{connection}/orders/{marketplaceOrderId}/fix",
	AddressInvalid:         "POST /connections/{connection}/orders/{marketplaceOrderId}/fix",
	OrderNotEditable:       "",
	InventoryHeld:          "",
	RateLimited:            "POST /connections/{connection}/orders/{marketplaceOrderId}/resync",
	MarketplaceUnavailable: "POST /connections/{connection}/orders/{marketplaceOrderId}/resync",
	AuthExpired:            "PUT /connections/{connection}/credentials/marketplace",
	StoreDisconnected:      "PUT /connections/{connection}/credentials/store",
	ConnectionPaused:       "POST /connections/{connection}/resume",
	PlatformUnsupported:    "",
	OrderNotFound:          "POST /connections/{connection}/orders/{marketplaceOrderId}/resync",
	InvalidData:            "POST /connections/{connection}/orders/{marketplaceOrderId}/resync",
	InternalError:          "POST /connections/{connection}/orders/{marketplaceOrderId}/resync",
	OrderLinkUnverified:    "POST /connections/{connection}/orders/{marketplaceOrderId}/link",
	MarketplaceOutOfStep:   "POST /connections/{connection}/orders/{marketplaceOrderId}/resync",
	AddressRestricted:      "POST /connections/{connection}/orders/{marketplaceOrderId}/fix",
}

func TestActions(t *testing.T) {
	for code := range declaredCodes(t) {
		t.Run(string(code), func(t *testing.T) {
			want, ok := actions[code]
			if !ok {
				t.Fatalf("%s: no action pinned in this test", code)
			}
			got := ""
			if a := Lookup(code).Action; a != nil {
				got = a.String()
			}
			if got != want {
				t.Errorf("action = %q, want %q", got, want)
			}
		})
	}
}

func TestActionFill(t *testing.T) {
	route := Action{Method: "PUT", Route: "/connections/{connection}/orders/{marketplaceOrderId}/aliases/{sku}"}
	tests := []struct {
		name     string
		vars     map[string]string
		want     string
		complete bool
	}{
		{"all", map[string]string{"connection": "acme", "marketplaceOrderId": "7001", "sku": "AB-1"},
			"/connections/acme/orders/7001/aliases/AB-1", true},
		{"escaped as one segment", map[string]string{"connection": "acme", "marketplaceOrderId": "70/01?x", "sku": "a b/<c>"},
			"/connections/acme/orders/70%2F01%3Fx/aliases/a%20b%2F%3Cc%3E", true},
		{"missing stays", map[string]string{"connection": "acme", "sku": ""},
			"/connections/acme/orders/{marketplaceOrderId}/aliases/{sku}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := route.Fill(tt.vars)
			if got.Route != tt.want || got.Complete() != tt.complete || got.Method != "PUT" {
				t.Errorf("Fill = %+v (complete %v), want %q (complete %v)", got, got.Complete(), tt.want, tt.complete)
			}
		})
	}
}

func TestExplainFillsTheActionFromTheFailure(t *testing.T) {
	x := Explain(E(SKUNotFound, "order", "#9", "sku", "AB 1"))
	if x.Action == nil || x.Action.Route != "/connections/{connection}/aliases/AB%201" {
		t.Errorf("action = %+v, want the sku filled and the connection left", x.Action)
	}
	if x := Explain(E(CancelUnsupported, "order", "#9")); x.Action != nil {
		t.Errorf("cancel_unsupported action = %+v, want none", x.Action)
	}
}

func TestWithAddsDetailsAndKeepsItsOwn(t *testing.T) {
	e := E(InvalidData, "field", "lines")
	got := e.With("marketplace", "WooCommerce", "order", "7001", "field", "other")
	want := map[string]string{"field": "lines", "marketplace": "WooCommerce", "order": "7001"}
	if !maps.Equal(got.Details, want) {
		t.Errorf("With: details %v, want %v", got.Details, want)
	}
	if len(e.Details) != 1 {
		t.Errorf("With changed its receiver: %v", e.Details)
	}
}

// refreshPlaceholders are those a refresh job's failure fills: the words
// speak of a connection, never of one order.
var refreshPlaceholders = map[string]bool{"code": true, "platform": true}

func TestRefreshWords(t *testing.T) {
	if len(refreshWords) == 0 {
		t.Fatal("catalogue.json has no refresh words")
	}
	re := regexp.MustCompile(`\{([^{}]*)\}`)
	for code, w := range refreshWords {
		if code != "" {
			if _, ok := catalogue[code]; !ok {
				t.Errorf("refresh words for %q, which the catalogue does not list", code)
			}
		}
		for _, text := range []string{w.Title, w.Cause, w.Remedy} {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				if !refreshPlaceholders[m[1]] {
					t.Errorf("refresh %q: placeholder {%s} in %q: a refresh failure fills only %v", code, m[1], text, refreshPlaceholders)
				}
			}
		}
	}
	if _, ok := refreshWords[""]; !ok {
		t.Error("no default refresh words (code \"\"), for a code without words of its own")
	}
}

func TestParseRefreshRejects(t *testing.T) {
	known := map[Code]Entry{"x": {Code: "x"}}
	tests := []struct {
		name string
		doc  string
	}{
		{"not json", `{"refresh": {"entries": [`},
		{"none", `{}`},
		{"no default", `{"refresh":{"entries":[{"code":"x","title":"t","cause":"c","remedy":"r"}]}}`},
		{"unknown code", `{"refresh":{"entries":[{"code":"","title":"t","cause":"c","remedy":"r"},{"code":"y","title":"t","cause":"c","remedy":"r"}]}}`},
		{"no remedy", `{"refresh":{"entries":[{"code":"","title":"t","cause":"c"}]}}`},
		{"listed twice", `{"refresh":{"entries":[{"code":"","title":"t","cause":"c","remedy":"r"},{"code":"","title":"t","cause":"c","remedy":"r"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseRefresh([]byte(tt.doc), known); err == nil {
				t.Errorf("parseRefresh(%s) = nil error, want one", tt.doc)
			}
		})
	}
}

func TestExplainRefresh(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code Code
		want Code // whose words: the code's own, or the default ("")
	}{
		{"a marketplace down", fmt.Errorf("refresh acme: list marketplace orders: %w", E(MarketplaceUnavailable, "status", "503")), MarketplaceUnavailable, MarketplaceUnavailable},
		{"an unclassified error", errors.New("dynamodb: throttled"), MarketplaceUnavailable, MarketplaceUnavailable},
		{"a platform not supported", E(PlatformUnsupported, "platform", "Etsy"), PlatformUnsupported, PlatformUnsupported},
		{"a code without refresh words", E(SKUDuplicate, "sku", "A-1"), SKUDuplicate, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := ExplainRefresh(tt.err)
			if x.Code != tt.code || x.Kind != Lookup(tt.code).Kind {
				t.Errorf("code, kind = %q, %q; want %q, %q", x.Code, x.Kind, tt.code, Lookup(tt.code).Kind)
			}
			w := refreshWords[tt.want]
			if want := fill(w.Title, map[string]string{"code": string(tt.code)}); x.Title != want {
				t.Errorf("title %q, want %q", x.Title, want)
			}
			for _, text := range []string{x.Title, x.Cause, x.Remedy} {
				if text == "" || strings.ContainsAny(text, "{}") || strings.Contains(text, "(unknown") || strings.Contains(text, tt.err.Error()) {
					t.Errorf("%q: want the catalogue's words, filled, without the error's text", text)
				}
			}
			if tt.want == "" && !strings.Contains(x.Cause+x.Remedy, string(tt.code)) {
				t.Errorf("default words %q / %q do not name the code %q", x.Cause, x.Remedy, tt.code)
			}
		})
	}
	if got := ExplainRefresh(E(PlatformUnsupported, "platform", "Etsy")).Cause; !strings.Contains(got, "Etsy") {
		t.Errorf("cause %q does not name the platform", got)
	}
}
