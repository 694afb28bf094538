package syncerr

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Entry is what the catalogue says about one code.
type Entry struct {
	Code  Code   `json:"code"`
	Kind  Kind   `json:"kind"`
	Title string `json:"title"`
	// Cause is one line a merchant reads: what went wrong.
	Cause string `json:"cause"`
	// Remedy is what the merchant does about it.
	Remedy string `json:"remedy"`
	// Action is the merchant API call that fixes the failure once the
	// remedy is done, or nil when the fix lies outside ordersync.
	Action *Action `json:"action"`
}

// Action is a merchant API call: a method and a route relative to the
// API's base URL, whose {parameters} are filled from the failure.
type Action struct {
	Method string `json:"method"`
	Route  string `json:"route"`
}

// actionParams are the route parameters an action may name: the
// connection and order come from the order, the rest from the failure's
// details.
var actionParams = map[string]bool{"connection": true, "marketplaceOrderId": true, "sku": true}

// Fill returns the action with the parameters vars holds substituted,
// each escaped as one path segment; parameters vars lacks (or holds
// empty) stay as they are, so that Complete reports them.
func (a Action) Fill(vars map[string]string) Action {
	var b strings.Builder
	s := a.Route
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s, '}')
		if i < 0 || j < i {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		if v := vars[s[i+1:j]]; v != "" {
			b.WriteString(url.PathEscape(v))
		} else {
			b.WriteString(s[i : j+1])
		}
		s = s[j+1:]
	}
	a.Route = b.String()
	return a
}

// Complete says whether every parameter of the route is filled.
func (a Action) Complete() bool { return !strings.ContainsAny(a.Route, "{}") }

// String is the action as a merchant reads it: "POST /connections/…".
func (a Action) String() string { return a.Method + " " + a.Route }

func (a *Action) check() error {
	switch a.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return fmt.Errorf("action method %q is not an HTTP method", a.Method)
	}
	if !strings.HasPrefix(a.Route, "/connections/{connection}/") {
		return fmt.Errorf("action route %q does not start with /connections/{connection}/", a.Route)
	}
	for _, seg := range strings.Split(a.Route[1:], "/") {
		if seg == "" {
			return fmt.Errorf("action route %q has an empty segment", a.Route)
		}
		if strings.ContainsAny(seg, "{}") {
			p, ok := strings.CutPrefix(seg, "{")
			p, ok2 := strings.CutSuffix(p, "}")
			if !ok || !ok2 || !actionParams[p] {
				return fmt.Errorf("action route %q: segment %q is not one of {connection}, {marketplaceOrderId}, {sku}", a.Route, seg)
			}
		}
	}
	return nil
}

//go:embed catalogue.json
var catalogueJSON []byte

// catalogue is read once from catalogue.json; it never changes after init.
var catalogue = mustParse(catalogueJSON)

func mustParse(b []byte) map[Code]Entry {
	m, err := Parse(b)
	if err != nil {
		panic(fmt.Sprintf("syncerr: catalogue.json: %v", err)) // caught by the package's tests
	}
	return m
}

// Parse reads a catalogue document and checks every entry is complete.
func Parse(b []byte) (map[Code]Entry, error) {
	var doc struct {
		Entries []Entry `json:"entries"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	// Every entry states its action, null included, so that a new code
	// cannot forget to say how it is fixed.
	var raw struct {
		Entries []map[string]json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	m := make(map[Code]Entry, len(doc.Entries))
	for i, e := range doc.Entries {
		if _, ok := raw.Entries[i]["action"]; !ok && e.Code != "" {
			return nil, fmt.Errorf("%s: no action (write \"action\": null when the fix lies outside ordersync)", e.Code)
		}
		if e.Action != nil {
			if err := e.Action.check(); err != nil {
				return nil, fmt.Errorf("%s: %w", e.Code, err)
			}
		}
		switch {
		case e.Code == "":
			return nil, fmt.Errorf("an entry has no code")
		case e.Kind != Transient && e.Kind != Permanent && e.Kind != Auth:
			return nil, fmt.Errorf("%s: kind %q is not transient, permanent or auth", e.Code, e.Kind)
		case e.Title == "" || e.Cause == "" || e.Remedy == "":
			return nil, fmt.Errorf("%s: title, cause and remedy are all required", e.Code)
		}
		if _, dup := m[e.Code]; dup {
			return nil, fmt.Errorf("%s: listed twice", e.Code)
		}
		m[e.Code] = e
	}
	return m, nil
}

// Lookup returns the catalogue entry for code. An unknown code gets a
// generic permanent entry rather than a panic.
func Lookup(code Code) Entry {
	if e, ok := catalogue[code]; ok {
		return e
	}
	return Entry{Code: code, Kind: Permanent, Title: "Sync failed",
		Cause:  "The order could not be synchronised ({code}).",
		Remedy: "Contact support with the order number; we will look into it."}
}

// Codes lists every code the catalogue holds.
func Codes() []Code {
	out := make([]Code, 0, len(catalogue))
	for c := range catalogue {
		out = append(out, c)
	}
	return out
}

// Explanation is an entry with its placeholders filled for one failure.
type Explanation struct {
	Code   Code
	Kind   Kind
	Title  string
	Cause  string
	Remedy string
	// Action is the entry's action with the failure's details filled in
	// ({sku}); the order's {connection} and {marketplaceOrderId} are
	// left for whoever knows the order (Action.Fill). Nil when the fix
	// lies outside ordersync.
	Action *Action
}

// Explain renders what the merchant reads about err: its entry with the
// error's details substituted for {placeholders}. Placeholders with no
// value are left out cleanly.
func Explain(err error) Explanation {
	code := CodeOf(err)
	entry := Lookup(code)
	details := map[string]string{"code": string(code)}
	if e, ok := As(err); ok {
		for k, v := range e.Details {
			details[k] = v
		}
	}
	x := Explanation{Code: code, Kind: entry.Kind,
		Title:  fill(entry.Title, details),
		Cause:  fill(entry.Cause, details),
		Remedy: fill(entry.Remedy, details)}
	if entry.Action != nil {
		a := entry.Action.Fill(map[string]string{"sku": details["sku"]})
		x.Action = &a
	}
	return x
}

func fill(s string, details map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		key := s[i+1 : i+j]
		if v, ok := details[key]; ok && v != "" {
			b.WriteString(v)
		} else {
			b.WriteString("(unknown " + key + ")")
		}
		s = s[i+j+1:]
	}
}

// Words are what a merchant reads about one code in one setting.
type Words struct {
	Code   Code   `json:"code"`
	Title  string `json:"title"`
	Cause  string `json:"cause"`
	Remedy string `json:"remedy"`
}

// refreshWords are catalogue.json's words for a refresh job (one
// connection's hourly check) that failed for good, by code; "" holds those
// of a code without words of its own. Read once; never changed after init.
var refreshWords = mustParseRefresh(catalogueJSON, catalogue)

func mustParseRefresh(b []byte, entries map[Code]Entry) map[Code]Words {
	m, err := parseRefresh(b, entries)
	if err != nil {
		panic(fmt.Sprintf("syncerr: catalogue.json: refresh: %v", err)) // caught by the package's tests
	}
	return m
}

// parseRefresh reads the refresh words of a catalogue document: each
// complete, of a code entries holds, once, with default words (code "").
func parseRefresh(b []byte, entries map[Code]Entry) (map[Code]Words, error) {
	var doc struct {
		Refresh struct {
			Entries []Words `json:"entries"`
		} `json:"refresh"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	m := make(map[Code]Words, len(doc.Refresh.Entries))
	for _, w := range doc.Refresh.Entries {
		if _, ok := entries[w.Code]; !ok && w.Code != "" {
			return nil, fmt.Errorf("%s: not a code of the catalogue's entries", w.Code)
		}
		if w.Title == "" || w.Cause == "" || w.Remedy == "" {
			return nil, fmt.Errorf("%q: title, cause and remedy are all required", w.Code)
		}
		if _, dup := m[w.Code]; dup {
			return nil, fmt.Errorf("%q: listed twice", w.Code)
		}
		m[w.Code] = w
	}
	if _, ok := m[""]; !ok {
		return nil, fmt.Errorf("no default words (code \"\")")
	}
	return m, nil
}

// ExplainRefresh renders what the merchant reads about a refresh job (one
// connection's hourly check) that failed for good with err: the refresh
// words of err's code, or the default ones, with the error's details
// substituted for {placeholders}. Its Action is nil: a connection's fix is
// named in the words.
func ExplainRefresh(err error) Explanation {
	code := CodeOf(err)
	w, ok := refreshWords[code]
	if !ok {
		w = refreshWords[""]
	}
	details := map[string]string{}
	if e, ok := As(err); ok {
		for k, v := range e.Details {
			details[k] = v
		}
	}
	details["code"] = string(code)
	return Explanation{Code: code, Kind: Lookup(code).Kind,
		Title: fill(w.Title, details), Cause: fill(w.Cause, details), Remedy: fill(w.Remedy, details)}
}
