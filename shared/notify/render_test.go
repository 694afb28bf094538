package notify

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	"testing"
	"text/template"
)

// The renderer writes, for every template and every value, the bytes
// text/template and html/template write: the syntax support staff know,
// the escaping html/template does. (The test binary may link them; the
// functions' binaries may not: see infra/templatecheck's deps test.)
func TestRenderMatchesTextAndHTMLTemplate(t *testing.T) {
	hostile := `#1001<script>alert("x")</script> & 'single' +1 ` + "\x00"
	entry := func(s string) fields {
		return fields{"OrderName": s, "MarketplaceOrderID": "MP-" + s, "Marketplace": "Back Market", "Code": "sku_not_found",
			"Title": "SKU " + s, "Action": ""}
	}
	withAction := entry(hostile)
	withAction["Action"] = "POST https://api.test/connections/a<b>/orders/1/resync"
	email := func(v string, retried bool, action string) fields {
		return fields{"Title": "Title " + v, "Cause": "Cause " + v, "Remedy": "Remedy " + v, "Code": "code",
			"OrderName": v, "StoreOrderID": "1001", "MarketplaceOrderID": "MP-1", "Marketplace": "Mirakl",
			"MerchantName": v, "Connection": "acme", "Action": action, "ErrorsURL": "/connections/acme/errors",
			"Retried": retried, "Attempts": 3, "Import": false}
	}
	imported := func(action string) fields {
		f := email("Ada", true, action)
		f["Import"], f["StoreOrderID"] = true, "unknown"
		return f
	}
	digest := func(v string, entries []fields, more int) fields {
		return fields{"MerchantName": v, "Connection": "acme", "Marketplace": "Back Market", "Hour": "2026-12-02 10:00",
			"HourEnd": "11:00", "After": 10, "Count": len(entries) + more, "Entries": entries, "More": more, "ErrorsURL": "/e"}
	}
	cases := []struct {
		name, file string
		f          fields
	}{
		{"email plain", "email", email("Ada", false, "")},
		{"email hostile with action", "email", email(hostile, true, "POST /x?a=<b>&c='d'")},
		{"email empty values", "email", email("", false, "")},
		{"email of an import with action", "email", imported("PUT /connections/acme/aliases/<store SKU>")},
		{"email of an import without", "email", imported("")},
		{"digest one entry", "digest", digest("Ada", []fields{entry("1")}, 0)},
		{"digest hostile entries and more", "digest", digest(hostile, []fields{entry(hostile), withAction, entry("")}, 7)},
		{"digest no entries", "digest", digest("Ada", []fields{}, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// text/template and html/template read the lists as []map.
			data := map[string]any{}
			for k, v := range c.f {
				if l, ok := v.([]fields); ok {
					m := make([]map[string]any, len(l))
					for i, e := range l {
						m[i] = e
					}
					v = m
				}
				data[k] = v
			}
			for _, html := range []bool{false, true} {
				name := c.file + ".txt.tmpl"
				if html {
					name = c.file + ".html.tmpl"
				}
				var want bytes.Buffer
				var err error
				if html {
					err = htmltemplate.Must(htmltemplate.ParseFS(templates, name)).Execute(&want, data)
				} else {
					err = template.Must(template.ParseFS(templates, name)).Execute(&want, data)
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := load(name, html).execute(c.f)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got != want.String() {
					t.Errorf("%s:\n got %q\nwant %q", name, got, want.String())
				}
			}
		})
	}
}

// What the renderer does not know is refused when a template is read,
// with the template's name: a template edited beyond it fails the tests,
// not an email.
func TestParsePageRefuses(t *testing.T) {
	for _, c := range []struct {
		name, src string
		html      bool
		want      string
	}{
		{"a pipeline", `{{.Title | printf "%q"}}`, false, "not one of the actions"},
		{"a function", `{{len .Entries}}`, false, "not one of the actions"},
		{"with", `{{with .Title}}x{{end}}`, false, "not one of the actions"},
		{"an unclosed if", `{{if .Action}}x`, false, "without its {{end}}"},
		{"an end alone", `x{{end}}`, false, "outside an if"},
		{"an unclosed action", `x{{.Title`, false, "unclosed action"},
		{"a value in an attribute", `<a href="{{.Action}}">fix</a>`, true, "inside a tag"},
		{"a value in a tag", `<td {{.Code}}>`, true, "inside a tag"},
		{"an if opening a tag", `{{if .Action}}<a {{end}}href=x>`, true, "opens or closes a tag"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parsePage("t", c.src, c.html)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("parsePage(%q) = %v, want an error with %q", c.src, err, c.want)
			}
		})
	}
	// The same value in an element's text is fine.
	if _, err := parsePage("t", `<p><code>{{.Action}}</code></p>`, true); err != nil {
		t.Errorf("a value in text: %v", err)
	}
	// A missing field is an error when rendering, not an empty line.
	p := mustParse("t", `Hello {{.Name}}`, false)
	if _, err := p.execute(fields{}); err == nil || !strings.Contains(err.Error(), "no field Name") {
		t.Errorf("execute without Name = %v, want no field Name", err)
	}
}
