package merchantapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoHandlerInPackageVars holds that no package-level variable's
// initializer names a method of *Handler: package init is reachable in
// every binary that imports merchantapi (the store's adapters do, so the
// sync and the webhook), and a method named there is linked with all it
// calls (the route table did this: 0.3–0.5 MB of each of those binaries,
// issue 14). Such tables are built by New (routeTable).
func TestNoHandlerInPackageVars(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			ast.Inspect(g, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if p, ok := sel.X.(*ast.ParenExpr); ok {
					if s, ok := p.X.(*ast.StarExpr); ok {
						if id, ok := s.X.(*ast.Ident); ok && id.Name == "Handler" {
							t.Errorf("%s: package variable names (*Handler).%s", fset.Position(sel.Pos()), sel.Sel.Name)
						}
					}
				}
				return true
			})
		}
	}
}
