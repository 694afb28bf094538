package templatecheck_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// samConfig reads samconfig.toml's flat subset (sections of key = value,
// the values strings or bare words) as section -> key -> value.
func samConfig(t *testing.T) map[string]map[string]string {
	f, err := os.Open(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			out[section] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, " = ")
			if !ok {
				t.Fatalf("samconfig.toml: %q is not key = value", line)
			}
			if s, err := strconv.Unquote(v); err == nil {
				v = s
			}
			if section != "" {
				out[section][k] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSAMConfig holds samconfig.toml's environments to the template: a
// stack and a stage each, overrides that name the template's parameters,
// a SecretsPrefix of the stage's own, and prod's change sets confirmed.
func TestSAMConfig(t *testing.T) {
	tpl := load(t)
	cfg := samConfig(t)
	pair := regexp.MustCompile(`(\w+)="([^"]*)"`)
	stacks, prefixes := map[string]string{}, map[string]string{}
	for _, env := range []string{"default", "prod"} {
		t.Run(env, func(t *testing.T) {
			deploy := cfg[env+".deploy.parameters"]
			stack := cfg[env+".global.parameters"]["stack_name"]
			if deploy == nil || stack == "" {
				t.Fatalf("no [%s.deploy.parameters] or [%s.global.parameters] stack_name", env, env)
			}
			over := map[string]string{}
			for _, m := range pair.FindAllStringSubmatch(deploy["parameter_overrides"], -1) {
				if _, ok := tpl.Parameters[m[1]]; !ok {
					t.Errorf("parameter_overrides sets %s, which the template does not declare", m[1])
				}
				over[m[1]] = m[2]
			}
			stage := over["Stage"]
			if stage == "" || !strings.HasSuffix(stack, "-"+stage) {
				t.Errorf("stack %s, Stage %q: want the stage named and the stack ending in it", stack, stage)
			}
			if p := over["SecretsPrefix"]; !strings.HasSuffix(p, "/"+stage+"/") {
				t.Errorf("SecretsPrefix = %q, want the stage's own path, ending /%s/", p, stage)
			}
			if !strings.Contains(deploy["capabilities"], "CAPABILITY_IAM") {
				t.Errorf("capabilities = %q, want CAPABILITY_IAM (the functions' roles)", deploy["capabilities"])
			}
			if env == "prod" && deploy["confirm_changeset"] != "true" {
				t.Errorf("prod confirm_changeset = %q, want true", deploy["confirm_changeset"])
			}
			stacks[stack] = env
			prefixes[over["SecretsPrefix"]] = env
		})
	}
	if len(stacks) != 2 || len(prefixes) != 2 {
		t.Errorf("stacks %v, secrets prefixes %v: want each environment its own", stacks, prefixes)
	}
}
