package notify

import (
	"fmt"
	"strconv"
	"strings"
)

// The emails' templates are read by this small renderer, not by
// text/template and html/template: those reach methods by name through
// reflection, which makes the linker keep every exported method of every
// type in the binary (the sync's binary was 21 MB instead of 13). The
// *.tmpl files keep text/template's syntax, restricted to what they use:
//
//	{{.Field}}                         a value (HTML-escaped in an HTML template)
//	{{if .Field}} … {{else}} … {{end}} a non-empty string, non-zero number, true, a non-empty list
//	{{range .Field}} … {{end}}         each entry of a list; inside, {{.Field}} is the entry's
//	{{/* comment */}}
//	{{- and -}}                        trim the white space before or after, as text/template does
//
// Anything else is an error when the package loads (the tests load it).
// In an HTML template a value may stand only in an element's text, never
// inside a tag, where escaping for text would not be enough; that too is
// refused when loading. notify's tests render every template beside
// text/template and html/template and require the same bytes.

// fields are the values a template reads: string, int, bool, or []fields
// for range.
type fields map[string]any

// page is a parsed template.
type page struct {
	name  string
	html  bool
	nodes []node
}

// node is text, a value, an if or a range.
type node struct {
	text  string // text, when field is ""
	field string
	kind  byte   // 0 text or value, 'i' if, 'r' range
	then  []node // if's and range's body
	other []node // if's else
}

func mustParse(name, src string, html bool) *page {
	p, err := parsePage(name, src, html)
	if err != nil {
		panic(err)
	}
	return p
}

// parsePage parses src, the template called name.
func parsePage(name, src string, html bool) (*page, error) {
	var toks []token
	for len(src) > 0 {
		i := strings.Index(src, "{{")
		if i < 0 {
			toks = append(toks, token{text: src})
			break
		}
		toks = append(toks, token{text: src[:i]})
		src = src[i+2:]
		j := strings.Index(src, "}}")
		if j < 0 {
			return nil, fmt.Errorf("notify: %s: unclosed action", name)
		}
		act := src[:j]
		src = src[j+2:]
		t := token{action: true}
		if strings.HasPrefix(act, "- ") {
			t.trimLeft, act = true, act[2:]
		}
		if strings.HasSuffix(act, " -") {
			t.trimRight, act = true, act[:len(act)-2]
		}
		t.text = strings.TrimSpace(act)
		toks = append(toks, t)
	}
	// The trim markers, as text/template applies them.
	for i, t := range toks {
		if !t.action {
			continue
		}
		if t.trimLeft && i > 0 {
			toks[i-1].text = strings.TrimRight(toks[i-1].text, " \t\r\n")
		}
		if t.trimRight && i+1 < len(toks) {
			toks[i+1].text = strings.TrimLeft(toks[i+1].text, " \t\r\n")
		}
	}
	p := &page{name: name, html: html}
	nodes, rest, end, err := p.parse(toks, "")
	if err != nil {
		return nil, err
	}
	if end != "" || len(rest) > 0 {
		return nil, fmt.Errorf("notify: %s: {{%s}} without its if or range", name, end)
	}
	p.nodes = nodes
	if html {
		if err := p.checkInTextOnly(nodes, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

type token struct {
	text                string
	action              bool
	trimLeft, trimRight bool
}

// parse reads nodes until {{else}} or {{end}} (returned as end) or the
// tokens' end.
func (p *page) parse(toks []token, in string) (nodes []node, rest []token, end string, err error) {
	for len(toks) > 0 {
		t := toks[0]
		toks = toks[1:]
		if !t.action {
			if t.text != "" {
				nodes = append(nodes, node{text: t.text})
			}
			continue
		}
		word, arg, _ := strings.Cut(t.text, " ")
		switch {
		case strings.HasPrefix(t.text, "/*") && strings.HasSuffix(t.text, "*/"):
		case t.text == "else" || t.text == "end":
			if in == "" || (t.text == "else" && in != "if") {
				return nil, nil, "", fmt.Errorf("notify: %s: {{%s}} outside an if", p.name, t.text)
			}
			return nodes, toks, t.text, nil
		case (word == "if" || word == "range") && isField(arg):
			n := node{field: arg[1:], kind: word[0]}
			var end string
			if n.then, toks, end, err = p.parse(toks, word); err != nil {
				return nil, nil, "", err
			}
			if end == "else" {
				if n.other, toks, end, err = p.parse(toks, "end"); err != nil {
					return nil, nil, "", err
				}
			}
			if end != "end" {
				return nil, nil, "", fmt.Errorf("notify: %s: {{%s}} without its {{end}}", p.name, t.text)
			}
			nodes = append(nodes, n)
		case isField(t.text):
			nodes = append(nodes, node{field: t.text[1:]})
		default:
			return nil, nil, "", fmt.Errorf("notify: %s: {{%s}} is not one of the actions notify's renderer knows (see render.go)", p.name, t.text)
		}
	}
	if in != "" {
		return nil, nil, "", fmt.Errorf("notify: %s: an {{%s}} without its {{end}}", p.name, in)
	}
	return nodes, nil, "", nil
}

func isField(s string) bool {
	if len(s) < 2 || s[0] != '.' {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// checkInTextOnly refuses a value inside a tag (an attribute, say): the
// text written before it, on every path, must not leave a tag open. It
// returns whether a tag is open after nodes.
func (p *page) checkInTextOnly(nodes []node, open bool) error {
	_, err := p.tagOpen(nodes, open)
	return err
}

func (p *page) tagOpen(nodes []node, open bool) (bool, error) {
	for _, n := range nodes {
		switch {
		case n.kind != 0:
			a, err := p.tagOpen(n.then, open)
			if err != nil {
				return false, err
			}
			b, err := p.tagOpen(n.other, open)
			if err != nil {
				return false, err
			}
			if a != open || b != open {
				return false, fmt.Errorf("notify: %s: {{%s .%s}} opens or closes a tag", p.name, map[byte]string{'i': "if", 'r': "range"}[n.kind], n.field)
			}
		case n.field != "":
			if open {
				return false, fmt.Errorf("notify: %s: {{.%s}} stands inside a tag; values may stand only in an element's text", p.name, n.field)
			}
		default:
			if i, j := strings.LastIndex(n.text, "<"), strings.LastIndex(n.text, ">"); i >= 0 || j >= 0 {
				open = i > j
			}
		}
	}
	return open, nil
}

// execute renders p over f.
func (p *page) execute(f fields) (string, error) {
	var b strings.Builder
	if err := p.run(&b, p.nodes, f); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (p *page) run(b *strings.Builder, nodes []node, f fields) error {
	for _, n := range nodes {
		if n.field == "" {
			b.WriteString(n.text)
			continue
		}
		v, ok := f[n.field]
		if !ok {
			return fmt.Errorf("notify: %s: no field %s", p.name, n.field)
		}
		switch n.kind {
		case 'i':
			body := n.other
			if truth(v) {
				body = n.then
			}
			if err := p.run(b, body, f); err != nil {
				return err
			}
		case 'r':
			list, ok := v.([]fields)
			if !ok {
				return fmt.Errorf("notify: %s: range over %s, a %T", p.name, n.field, v)
			}
			for _, e := range list {
				if err := p.run(b, n.then, e); err != nil {
					return err
				}
			}
		default:
			var s string
			switch v := v.(type) {
			case string:
				s = v
			case int:
				s = strconv.Itoa(v)
			case bool:
				s = strconv.FormatBool(v)
			default:
				return fmt.Errorf("notify: %s: field %s is a %T", p.name, n.field, v)
			}
			if p.html {
				s = htmlEscaper.Replace(s)
			}
			b.WriteString(s)
		}
	}
	return nil
}

func truth(v any) bool {
	switch v := v.(type) {
	case string:
		return v != ""
	case int:
		return v != 0
	case bool:
		return v
	case []fields:
		return len(v) > 0
	}
	return v != nil
}

// htmlEscaper escapes a value for an element's text as html/template does
// there (its htmlEscaper): the same characters, the same entities.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)
