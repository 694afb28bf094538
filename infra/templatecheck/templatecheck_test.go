package templatecheck_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/infra/localstack"
	"github.com/ordersync/ordersync/infra/templatecheck"
)

const root = "../.."

func load(t *testing.T) *localstack.Template {
	t.Helper()
	tpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// render is templatecheck.Render.
var render = templatecheck.Render

func functions(tpl *localstack.Template) []string { return tpl.Names("AWS::Serverless::Function") }

func props(tpl *localstack.Template, name string) map[string]any {
	return tpl.Resources[name].Properties
}

// timeout is a function's timeout in seconds, its own or the Globals'.
func timeout(t *testing.T, tpl *localstack.Template, fn string) int {
	v := props(tpl, fn)["Timeout"]
	if v == nil {
		v = asMap(tpl.Globals["Function"])["Timeout"]
	}
	n, err := strconv.Atoi(render(v))
	if err != nil {
		t.Fatalf("%s: timeout %v: %v", fn, v, err)
	}
	return n
}

// makefileTargets maps each `build-<LogicalID>:` target of the Makefile to
// the ./functions/<dir> it builds, and lists FUNCTIONS (`make build`).
func makefileTargets(t *testing.T) (map[string]string, []string) {
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^build-(\w+):\n\t.*\./functions/(\w+)`).FindAllStringSubmatch(string(b), -1) {
		targets[m[1]] = m[2]
	}
	fs := regexp.MustCompile(`(?m)^FUNCTIONS := (.*)$`).FindStringSubmatch(string(b))
	if fs == nil {
		t.Fatal("Makefile: no FUNCTIONS := line")
	}
	return targets, strings.Fields(fs[1])
}

// TestFunctionsBuild holds each function of the template to a folder of
// functions/ with a main.go, the Makefile target `sam build` calls, and
// `make build`'s list.
func TestFunctionsBuild(t *testing.T) {
	tpl := load(t)
	targets, listed := makefileTargets(t)
	for _, fn := range functions(tpl) {
		t.Run(fn, func(t *testing.T) {
			if got := render(tpl.Resources[fn].Metadata["BuildMethod"]); got != "makefile" {
				t.Errorf("Metadata.BuildMethod = %q, want makefile", got)
			}
			dir, ok := targets[fn]
			if !ok {
				t.Fatalf("Makefile: no build-%s target building ./functions/<name>", fn)
			}
			if _, err := os.Stat(filepath.Join(root, "functions", dir, "main.go")); err != nil {
				t.Errorf("build-%s builds ./functions/%s: %v", fn, dir, err)
			}
			if !slices.Contains(listed, dir) {
				t.Errorf("Makefile FUNCTIONS = %v, want %s in it (make build)", listed, dir)
			}
		})
	}
}

// optionalEnv are the variables shared/app reads that a deployed function
// need not set.
var optionalEnv = map[string]string{
	"LOG_LEVEL":    "defaults to info",
	"SECRETS_FILE": "the local stack's stand-in for SSM; never set on AWS",
}

// envReads lists the environment variables the function wired by
// shared/app/<wiring> reads: a literal name passed to Getenv or to Env's
// Required, Int and Get in its New, with those of the functions and
// methods it calls, there and in shared/app (matched by name, which may
// count too much, never too little).
func envReads(t *testing.T, wiring string) []string {
	fset := token.NewFileSet()
	direct, calls := map[string][]string{}, map[string][]string{}
	for _, dir := range []string{"shared/app", "shared/app/" + wiring} {
		pkgs, err := parser.ParseDir(fset, filepath.Join(root, dir), func(fi os.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkgs {
			for _, f := range p.Files {
				for _, d := range f.Decls {
					fd, ok := d.(*ast.FuncDecl)
					if !ok || fd.Body == nil {
						continue
					}
					name := fd.Name.Name
					ast.Inspect(fd.Body, func(n ast.Node) bool {
						c, ok := n.(*ast.CallExpr)
						if !ok {
							return true
						}
						switch fun := c.Fun.(type) {
						case *ast.Ident:
							calls[name] = append(calls[name], fun.Name)
						case *ast.SelectorExpr:
							calls[name] = append(calls[name], fun.Sel.Name)
							switch fun.Sel.Name {
							case "Getenv", "Required", "Int", "Get":
								if len(c.Args) > 0 {
									if lit, ok := c.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
										k, _ := strconv.Unquote(lit.Value)
										direct[name] = append(direct[name], k)
									}
								}
							}
						}
						return true
					})
				}
			}
		}
	}
	acc, seen := map[string]bool{}, map[string]bool{}
	var walk func(fn string)
	walk = func(fn string) {
		if seen[fn] {
			return
		}
		seen[fn] = true
		for _, k := range direct[fn] {
			acc[k] = true
		}
		for _, c := range calls[fn] {
			walk(c)
		}
	}
	walk("New")
	var out []string
	for k := range acc {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wiring names the package of shared/app whose New functions/<dir>/main.go
// calls; "" when it builds without shared/app.
func wiring(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join(root, "functions", dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"github.com/ordersync/ordersync/shared/app/(\w+)"`).FindStringSubmatch(string(b))
	if m == nil {
		return ""
	}
	return m[1]
}

// TestEnvironment holds each function's environment (Globals' and its
// own) to every variable its code reads.
func TestEnvironment(t *testing.T) {
	tpl := load(t)
	targets, _ := makefileTargets(t)
	globals := asMap(asMap(asMap(tpl.Globals["Function"])["Environment"])["Variables"])
	for _, fn := range functions(tpl) {
		t.Run(fn, func(t *testing.T) {
			dir, ok := targets[fn]
			if !ok {
				t.Skip("no build target (TestFunctionsBuild)")
			}
			ctor := wiring(t, dir)
			if ctor == "" {
				// A function built without shared/app (the console's
				// static page) reads no environment: nothing to set.
				if own := asMap(props(tpl, fn)["Environment"]); len(own) > 0 {
					t.Errorf("functions/%s builds without shared/app yet has an environment: who reads it?", dir)
				}
				return
			}
			keys := envReads(t, ctor)
			if len(keys) == 0 {
				t.Fatalf("shared/app/%s reads no environment variable: the parse went wrong", ctor)
			}
			own := asMap(asMap(props(tpl, fn)["Environment"])["Variables"])
			for _, k := range keys {
				if _, ok := optionalEnv[k]; ok {
					continue
				}
				_, g := globals[k]
				_, o := own[k]
				if !g && !o {
					t.Errorf("shared/app/%s reads %s; the template sets it neither in Globals nor on %s", ctor, k, fn)
				}
			}
		})
	}
}
