package merchantapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/httpapi"
)

// problemVars reads the names of the package-level variables that the
// package's Go files (not tests) set to an httpapi.Problem literal.
func problemVars(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
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
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				for i, name := range v.Names {
					if i >= len(v.Values) {
						continue
					}
					if lit, ok := v.Values[i].(*ast.CompositeLit); ok {
						if sel, ok := lit.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Problem" {
							names = append(names, name.Name)
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// placeholder matches a {placeholder} left in a message.
var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// TestEveryRefusalHasWords: every refusal the API answers has words in
// httpapi's catalogue, each placeholder filled. The refusals are read from
// the source too, so that one added without being listed here fails.
func TestEveryRefusalHasWords(t *testing.T) {
	refusals := map[string]httpapi.Problem{
		"errUnknownRoute": errUnknownRoute, "errMethodNotAllowed": errMethodNotAllowed,
		"errUnauthenticated": errUnauthenticated, "errWrongKey": errWrongKey, "errAPIDisabled": errAPIDisabled,
		"errUnknownConnection": errUnknownConnection, "errOrderNotFound": errOrderNotFound, "errNoOrderFound": errNoOrderFound,
		"errLimit": errLimit, "errDays": errDays, "errBodyTooLarge": errBodyTooLarge, "errMalformedBody": errMalformedBody,
		"errNoOrders": errNoOrders, "errTooManyOrders": errTooManyOrders, "errInvalidOrderID": errInvalidOrderID,
		"errUnavailable": errUnavailable, "errInternal": errInternal,
	}
	declared := problemVars(t)
	if listed := slices.Sorted(maps.Keys(refusals)); !slices.Equal(declared, listed) {
		t.Fatalf("the source declares the refusals %v; this test lists %v", declared, listed)
	}
	for name, p := range refusals {
		t.Run(name, func(t *testing.T) {
			if !p.Known() {
				t.Fatalf("%s (%s %q) has no words in shared/httpapi/catalogue.json", name, p.Code, p.Case)
			}
			if msg := p.Message(); placeholder.MatchString(msg) {
				t.Errorf("message %q has a placeholder %s does not fill", msg, name)
			}
		})
	}
}
