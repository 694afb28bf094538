package ingest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/webhook"
)

// stringConsts reads the string constants of the Go files (not tests) in
// dir that keep selects by name and declared type, name -> value.
func stringConsts(t *testing.T, dir string, keep func(name string, typ ast.Expr) bool) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
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
					lit, ok := v.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[name.Name] = s
				}
			}
		}
	}
	return out
}

// TestEveryCodeHasWords: every code the handler can answer an error with,
// its own and webhook's, has words in httpapi's catalogue, each
// placeholder filled. The codes are read from the source, so that one
// added without words fails here.
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
	for _, codes := range []map[string]string{own, theirs} {
		for name, code := range codes {
			if reasons[code] {
				continue
			}
			t.Run(name, func(t *testing.T) {
				p := h.problem(http.StatusBadRequest, code, "")
				if !p.Known() {
					t.Fatalf("%s (%q) has no words in shared/httpapi/catalogue.json", name, code)
				}
				if msg := p.Message(); regexp.MustCompile(`\{[a-z_]+\}`).MatchString(msg) {
					t.Errorf("message %q has a placeholder the handler does not fill", msg)
				}
			})
		}
	}
}

func TestErrorBody(t *testing.T) {
	h := New(Config{}, nil, nil, nil, nil, nil)
	tests := []struct {
		name string
		resp func() string
		want string
	}{
		{"field at fault", func() string {
			return h.problem(http.StatusBadRequest, string(webhook.CodeMissingHeader), webhook.HeaderShopifyTopic).Response().Body
		}, `{"error":{"code":"missing_header","message":"missing header: x-shopify-topic","field":"x-shopify-topic"}}`},
		{"limit named", func() string {
			return h.problem(http.StatusRequestEntityTooLarge, codeBodyTooLarge, "").Response().Body
		}, `{"error":{"code":"body_too_large","message":"body larger than 1048576 bytes"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.resp(); got != tt.want {
				t.Errorf("body = %s, want %s", got, tt.want)
			}
		})
	}
}
