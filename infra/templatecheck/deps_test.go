package templatecheck_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// heavyPackages are packages a function's binary links only where listed:
// text/template and html/template reach methods by name through
// reflection, so the linker keeps every exported method of every type
// (the sync's arm64 binary was 20.9 MB with them, 12.6 MB without); the
// SDK's SSM client costs 0.9 MB and most of a cold start's 1.5× (its
// schemas' init), so shared/secrets makes its two calls itself (issue 14;
// make bench's binaries section measures both).
var heavyPackages = map[string][]string{
	"text/template": nil,
	"html/template": nil,
	"github.com/aws/aws-sdk-go-v2/service/ssm": nil,
	// config.LoadDefaultConfig links every credential source it may fall
	// back on (STS, SSO and its OIDC, with encoding/xml for STS's
	// answers): 1.6 MB of each binary. A function reads its AWS config
	// from the environment Lambda gives it (shared/app's envConfig).
	"github.com/aws/aws-sdk-go-v2/config":          nil,
	"github.com/aws/aws-sdk-go-v2/service/sts":     nil,
	"github.com/aws/aws-sdk-go-v2/service/sso":     nil,
	"github.com/aws/aws-sdk-go-v2/service/ssooidc": nil,
	"github.com/aws/aws-sdk-go-v2/service/signin":  nil,
	"encoding/xml": nil,
}

// TestFunctionsLinkOnlyWhatTheyUse lists each function's packages, as the
// Makefile builds it (linux/arm64, lambda.norpc), and holds them to
// heavyPackages.
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	_, listed := makefileTargets(t)
	if len(listed) == 0 {
		t.Fatal("Makefile FUNCTIONS lists nothing")
	}
	for _, fn := range listed {
		t.Run(fn, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "./functions/"+fn)
			cmd.Dir = filepath.Clean(root)
			cmd.Env = append(cmd.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps ./functions/%s: %v", fn, err)
			}
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, "github.com/aws/aws-lambda-go/lambda") {
				t.Fatalf("go list -deps ./functions/%s does not list aws-lambda-go/lambda: the listing went wrong", fn)
			}
			for pkg, allowed := range heavyPackages {
				if slices.Contains(deps, pkg) && !slices.Contains(allowed, fn) {
					t.Errorf("functions/%s links %s (allowed only in %v); see go list -deps", fn, pkg, allowed)
				}
			}
		})
	}
}
