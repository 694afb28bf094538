package localsystem_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/infra/localaws"
)

// TestLayoutNamesEveryPackage holds README.md's Layout section to the tree:
// every Go package is named there, and nothing named there is missing.
// A line names packages as a comma list: the first in full, each next one
// replacing as many trailing path elements as it has
// ("shared/dynamostore, sqsqueue" is shared/dynamostore and shared/sqsqueue).
func TestLayoutNamesEveryPackage(t *testing.T) {
	root, err := localaws.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Layout")
	if !ok {
		t.Fatal("README.md has no Layout section")
	}
	_, block, _ := strings.Cut(section, "```\n")
	block, _, _ = strings.Cut(block, "```")
	named := map[string]bool{}
	for _, line := range strings.Split(block, "\n") {
		if line == "" || strings.HasPrefix(line, " ") {
			continue
		}
		col, _, _ := strings.Cut(line, "  ")
		var first []string
		for i, item := range strings.Split(strings.TrimSpace(col), ", ") {
			parts := strings.Split(item, "/")
			if i == 0 {
				first = parts
			} else if len(parts) <= len(first) {
				parts = append(slices.Clone(first[:len(first)-len(parts)]), parts...)
			}
			named[strings.Join(parts, "/")] = true
		}
	}
	var pkgs []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			pkgs = append(pkgs, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	for _, p := range pkgs {
		if !named[p] {
			t.Errorf("package %s is not in README.md's Layout", p)
		}
		delete(named, p)
	}
	for p := range named {
		if strings.HasSuffix(p, ".yaml") || p == "infra/local" {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("README.md's Layout names %s, which is not in the tree", p)
		}
	}
}
