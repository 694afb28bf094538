package syncerr

import (
	_ "embed"
	"encoding/json"
	"fmt"
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
	m := make(map[Code]Entry, len(doc.Entries))
	for _, e := range doc.Entries {
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
	return Explanation{Code: code, Kind: entry.Kind,
		Title:  fill(entry.Title, details),
		Cause:  fill(entry.Cause, details),
		Remedy: fill(entry.Remedy, details)}
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
