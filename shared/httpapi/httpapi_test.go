package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
)

func TestCatalogueParses(t *testing.T) {
	m, err := parse(catalogueJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatal("catalogue.json has no entries")
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"no code", `{"errors": [{"message": "m"}]}`},
		{"no message", `{"errors": [{"code": "c", "message": " "}]}`},
		{"two lines", `{"errors": [{"code": "c", "message": "a\nb"}]}`},
		{"listed twice", `{"errors": [{"code": "c", "message": "a"}, {"code": "c", "message": "b"}]}`},
		{"case listed twice", `{"errors": [{"code": "c", "case": "x", "message": "a"}, {"code": "c", "case": "x", "message": "b"}]}`},
		{"not JSON", `{"errors": [`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parse([]byte(tt.doc)); err == nil {
				t.Errorf("parse(%s) = nil error, want one", tt.doc)
			}
		})
	}
	if _, err := parse([]byte(`{"errors": [{"code": "c", "message": "a"}, {"code": "c", "case": "x", "message": "b"}]}`)); err != nil {
		t.Errorf("a code with a general entry and a case: %v", err)
	}
}

func TestMessage(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"general entry", Problem{Status: 404, Code: "unknown_connection"}, "unknown connection"},
		{"case", Problem{Status: 401, Code: "unauthorized", Case: "wrong_key"}, "this API key is not valid for this connection"},
		{"placeholders", Problem{Status: 413, Code: "body_too_large", Args: map[string]string{"max_bytes": "1024"}}, "body larger than 1024 bytes"},
		{"field", Problem{Status: 400, Code: "missing_header", Field: "X-Shopify-Topic"}, "missing header: X-Shopify-Topic"},
		{"unknown code", Problem{Status: 418, Code: "no_such_code"}, "I'm a teapot"},
		{"unknown case", Problem{Status: 401, Code: "unauthorized", Case: "no_such_case"}, "Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Message(); got != tt.want {
				t.Errorf("Message() = %q, want %q", got, tt.want)
			}
			if got, want := tt.p.Known(), !strings.HasPrefix(tt.name, "unknown"); got != want {
				t.Errorf("Known() = %v, want %v", got, want)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	tests := []struct {
		name     string
		p        Problem
		wantBody string
	}{
		{"no field", Problem{Status: http.StatusUnauthorized, Code: "unauthorized"},
			`{"error":{"code":"unauthorized","message":"send the connection's API key as Authorization: Bearer <key>"}}`},
		{"field", Problem{Status: http.StatusBadRequest, Code: "missing_field", Field: "data.id"},
			`{"error":{"code":"missing_field","message":"missing field: data.id","field":"data.id"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.p.Response()
			if resp.StatusCode != tt.p.Status || resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("status %d, headers %v; want %d and a JSON Content-Type", resp.StatusCode, resp.Headers, tt.p.Status)
			}
			if resp.Body != tt.wantBody {
				t.Errorf("body = %s, want %s", resp.Body, tt.wantBody)
			}
			var v body
			if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || v.Error.Code != tt.p.Code {
				t.Errorf("body %s does not decode to its code: %v", resp.Body, err)
			}
		})
	}
}

func TestBody(t *testing.T) {
	const max = 6
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		body    string
		base64  bool
		want    string
		wantErr error
	}{
		{"text", "abcdef", false, "abcdef", nil},
		{"text too large", "abcdefg", false, "", ErrBodyTooLarge},
		{"base64", b64("abcdef"), true, "abcdef", nil},
		{"base64 too large", b64("abcdefg"), true, "", ErrBodyTooLarge},
		{"base64 too long to decode", strings.Repeat("A", 12), true, "", ErrBodyTooLarge},
		{"not base64", "ab@!", true, "", ErrNotBase64},
		{"empty", "", false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Body(events.APIGatewayV2HTTPRequest{Body: tt.body, IsBase64Encoded: tt.base64}, max)
			if !errors.Is(err, tt.wantErr) || string(got) != tt.want {
				t.Errorf("Body = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	h := map[string]string{"content-type": "application/json", "X-Shopify-Topic": "orders/updated"}
	tests := []struct{ name, want string }{
		{"content-type", "application/json"},
		{"Content-Type", "application/json"},
		{"x-shopify-topic", "orders/updated"},
		{"authorization", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Header(h, tt.name); got != tt.want {
				t.Errorf("Header(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

type secretMap map[string]string

func (m secretMap) Secret(_ context.Context, name string) (string, error) {
	if name == "down" {
		return "", errors.New("ssm: timeout")
	}
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("%q: %w", name, order.ErrNotFound)
	}
	return v, nil
}

func TestResolveSecrets(t *testing.T) {
	s := secretMap{"new": "n", "old": "o", "blank": ""}
	tests := []struct {
		name        string
		refs        []string
		want        []string
		wantSkipped []string
		wantErr     bool
	}{
		{"all found, in order", []string{"old", "new"}, []string{"o", "n"}, nil, false},
		{"one left behind by a rotation", []string{"gone", "new"}, []string{"n"}, []string{"gone"}, false},
		{"blank values left out", []string{"blank", "new"}, []string{"n"}, nil, false},
		{"none", nil, []string{}, nil, false},
		{"store down", []string{"new", "down"}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var skipped []string
			got, err := ResolveSecrets(context.Background(), s, tt.refs, func(ref string) { skipped = append(skipped, ref) })
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) || !slices.Equal(skipped, tt.wantSkipped) {
				t.Errorf("ResolveSecrets = %q, %v, skipped %q; want %q, error %v, skipped %q", got, err, skipped, tt.want, tt.wantErr, tt.wantSkipped)
			}
		})
	}
	if _, err := ResolveSecrets(context.Background(), s, []string{"gone"}, nil); err != nil {
		t.Errorf("a nil skipped: %v", err)
	}
}
