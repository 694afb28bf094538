package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Problem is one error answer of the HTTP API: its HTTP status, the code a
// program acts on, and what picks and fills the code's words in the
// catalogue.
type Problem struct {
	Status int
	// Code is the answer's "code". Programs act on it: it never changes.
	Code string
	// Case picks the code's entry when its situations call for different
	// words (as "unauthorized": no key, or a wrong one); empty for the
	// code's general entry.
	Case string
	// Args fill the words' {placeholders}.
	Args map[string]string
	// Field names the one header or JSON field at fault, if one is: the
	// message ends with it, and it is the body's "field".
	Field string
}

// body is the JSON of every error answer.
type body struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// Message is what the caller reads: the catalogue's words for p's code and
// case with the placeholders filled, then the field at fault. A code and
// case the catalogue lacks read as the status text (the tests of the
// packages that answer with them see that none does).
func (p Problem) Message() string {
	msg, ok := catalogue[entryKey{p.Code, p.Case}]
	if !ok {
		msg = http.StatusText(p.Status)
	}
	for k, v := range p.Args {
		msg = strings.ReplaceAll(msg, "{"+k+"}", v)
	}
	if p.Field != "" {
		msg += ": " + p.Field
	}
	return msg
}

// Known reports whether the catalogue has words for p's code and case.
func (p Problem) Known() bool {
	_, ok := catalogue[entryKey{p.Code, p.Case}]
	return ok
}

// Response is p as the answer to an API Gateway HTTP API (payload v2)
// request: p's status, a JSON Content-Type and the body
// {"error": {"code", "message"}}, with "field" when one is at fault.
// Callers add headers to it (Allow, Retry-After, WWW-Authenticate).
func (p Problem) Response() events.APIGatewayV2HTTPResponse {
	var v body
	v.Error.Code, v.Error.Message, v.Error.Field = p.Code, p.Message(), p.Field
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<key>" reads better than "\u003ckey\u003e"; nothing here is HTML
	_ = enc.Encode(v)        // strings always encode
	return events.APIGatewayV2HTTPResponse{
		StatusCode: p.Status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       strings.TrimSuffix(b.String(), "\n"),
	}
}

// entry is what the catalogue says about one code, or one case of it.
type entry struct {
	Code    string `json:"code"`
	Case    string `json:"case,omitempty"`
	Message string `json:"message"`
}

type entryKey struct{ code, kase string }

//go:embed catalogue.json
var catalogueJSON []byte

// catalogue is read once from catalogue.json; it never changes after init.
var catalogue = mustParse(catalogueJSON)

func mustParse(b []byte) map[entryKey]string {
	m, err := parse(b)
	if err != nil {
		panic(fmt.Sprintf("httpapi: catalogue.json: %v", err)) // caught by the package's tests
	}
	return m
}

// parse reads a catalogue document and checks that every entry is
// complete and listed once.
func parse(b []byte) (map[entryKey]string, error) {
	var doc struct {
		Errors []entry `json:"errors"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	m := make(map[entryKey]string, len(doc.Errors))
	for _, e := range doc.Errors {
		k := entryKey{e.Code, e.Case}
		switch _, dup := m[k]; {
		case e.Code == "":
			return nil, fmt.Errorf("an entry has no code")
		case strings.TrimSpace(e.Message) == "":
			return nil, fmt.Errorf("%s %s: no message", e.Code, e.Case)
		case strings.Contains(e.Message, "\n"):
			return nil, fmt.Errorf("%s %s: the message is more than one line", e.Code, e.Case)
		case dup:
			return nil, fmt.Errorf("%s %s: listed twice", e.Code, e.Case)
		}
		m[k] = e.Message
	}
	return m, nil
}
