package ingest

import (
	"go/ast"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/httpapi/httpapitest"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/webhook"
)

// stringConsts reads the string constants that keep selects, by name and
// declared type, from the Go files (not tests) in dir: name -> value.
func stringConsts(t *testing.T, dir string, keep func(name string, typ ast.Expr) bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range httpapitest.Files(t, dir) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				for i, name := range v.Names {
					if i >= len(v.Values) || !keep(name.Name, v.Type) {
						continue
					}
					if lit, ok := v.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return out
}

// TestEveryCodeHasWords: every code the handler can answer an error with,
// its own and webhook's, has words in httpapi's catalogue. The codes are
// read from the source, so that one added without words fails here.
func TestEveryCodeHasWords(t *testing.T) {
	own := stringConsts(t, ".", func(name string, _ ast.Expr) bool { return strings.HasPrefix(name, "code") })
	theirs := stringConsts(t, filepath.Join("..", "webhook"), func(_ string, typ ast.Expr) bool {
		id, ok := typ.(*ast.Ident)
		return ok && id.Name == "Code"
	})
	if len(own) == 0 || len(theirs) == 0 {
		t.Fatalf("found %d codes here and %d in webhook; want some of each", len(own), len(theirs))
	}
	// Reasons of a 200, not errors.
	reasons := map[string]bool{codePing: true, string(webhook.CodeTopicUnsupported): true}
	h := New(Config{}, nil, nil, nil, nil, nil)
	problems := map[string]httpapi.Problem{}
	for _, codes := range []map[string]string{own, theirs} {
		for name, code := range codes {
			if !reasons[code] {
				problems[name] = h.problem(http.StatusBadRequest, code, "")
			}
		}
	}
	httpapitest.CheckWords(t, problems)
}

func TestErrorBody(t *testing.T) {
	h := New(Config{}, nil, nil, nil, nil, nil)
	tests := []struct {
		name string
		p    httpapi.Problem
		want string
	}{
		{"field at fault", h.problem(http.StatusBadRequest, string(webhook.CodeMissingHeader), shopify.HeaderTopic),
			`{"error":{"code":"missing_header","message":"missing header: x-shopify-topic","field":"x-shopify-topic"}}`},
		{"limit named", h.problem(http.StatusRequestEntityTooLarge, codeBodyTooLarge, ""),
			`{"error":{"code":"body_too_large","message":"body larger than 1048576 bytes"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Response().Body; got != tt.want {
				t.Errorf("body = %s, want %s", got, tt.want)
			}
		})
	}
}
