// Package httpapitest holds a handler's error answers to httpapi's
// catalogue: the tests of each package that answers with httpapi.Problem
// use it to see that every one of them has words.
package httpapitest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/httpapi"
)

// placeholder matches a {placeholder} left in a message.
var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// CheckWords fails t for each problem, by name, that the catalogue has no
// words for, or whose message keeps a placeholder unfilled.
func CheckWords(t *testing.T, problems map[string]httpapi.Problem) {
	t.Helper()
	if len(problems) == 0 {
		t.Fatal("no problems to check")
	}
	for name, p := range problems {
		t.Run(name, func(t *testing.T) {
			if !p.Known() {
				t.Fatalf("%s (code %q, case %q) has no words in shared/httpapi/catalogue.json", name, p.Code, p.Case)
			}
			if msg := p.Message(); placeholder.MatchString(msg) {
				t.Errorf("message %q has a placeholder that %s does not fill", msg, name)
			}
		})
	}
}

// Files parses the Go files, not the tests, of the package in dir, so that
// a test can read from the source which answers the package declares.
func Files(t testing.TB, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return out
}
