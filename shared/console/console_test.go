package console

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aws/aws-lambda-go/events"
)

func get(t *testing.T, h *Handler, method, route, proxy string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{RouteKey: "ANY " + route, Headers: headers}
	req.RequestContext.HTTP.Method = method
	if route == RouteFiles {
		req.PathParameters = map[string]string{"proxy": proxy}
	}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return resp
}

func TestServesFilesWithTheirTypeAndStrictHeaders(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, proxy, wantType, wantIn string
	}{
		{"folder is the page", "", "text/html; charset=utf-8", "<h1>ordersync console</h1>"},
		{"page", "index.html", "text/html; charset=utf-8", `<script src="console.js" defer></script>`},
		{"style", "console.css", "text/css; charset=utf-8", ":root"},
		{"script", "console.js", "text/javascript; charset=utf-8", "textContent"},
		{"words", "words.json", "application/json", `"health"`},
		{"icon", "favicon.svg", "image/svg+xml", "<svg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, http.MethodGet, RouteFiles, tc.proxy, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if got := resp.Headers["Content-Type"]; got != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tc.wantType)
			}
			if !strings.Contains(resp.Body, tc.wantIn) {
				t.Errorf("body lacks %q", tc.wantIn)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
				"Cache-Control": "no-cache", "X-Frame-Options": "DENY",
			} {
				if got := resp.Headers[k]; got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			csp := resp.Headers["Content-Security-Policy"]
			for _, want := range []string{"default-src 'self'", "script-src 'self';", "form-action 'none'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q allows something unsafe", csp)
			}
			if resp.Headers["ETag"] == "" {
				t.Error("no ETag")
			}
		})
	}
}

func TestUnknownFilesAndFoldersAreNotFound(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, proxy := range []string{"nope.html", "static", "static/index.html", "../console.go", "console.go", "sub/", "index.html/", "%2e%2e/console.go", "INDEX.HTML", "index.html\x00"} {
		t.Run(proxy, func(t *testing.T) {
			resp := get(t, h, http.MethodGet, RouteFiles, proxy, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status = %d, want 404", resp.StatusCode)
			}
			if resp.Body != "not found\n" || resp.Headers["Content-Type"] != "text/plain; charset=utf-8" {
				t.Errorf("answer = %q (%s), want a plain not found and no listing", resp.Body, resp.Headers["Content-Type"])
			}
			if resp.Headers["X-Content-Type-Options"] != "nosniff" || resp.Headers["Cache-Control"] != "no-store" {
				t.Errorf("headers = %v, want the security headers and no-store", resp.Headers)
			}
		})
	}
}

func TestNoDirectoryListingOfASubfolder(t *testing.T) {
	// A folder of files is not a file: its name is not found, and the
	// handler never lists what it holds.
	h, err := newHandler(fstest.MapFS{
		"static/index.html":     {Data: []byte("<p>x</p>")},
		"static/img/a.svg":      {Data: []byte("<svg/>")},
		"static/notes.txt":      {Data: []byte("not served")},
		"static/img/b.exe.html": {Data: []byte("<p>b</p>")},
	}, "static")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		proxy string
		want  int
	}{
		{"img", 404}, {"img/", 404}, {"img/a.svg", 200}, {"notes.txt", 404}, {"", 200},
	} {
		t.Run(tc.proxy, func(t *testing.T) {
			if got := get(t, h, http.MethodGet, RouteFiles, tc.proxy, nil).StatusCode; got != tc.want {
				t.Errorf("status = %d, want %d", got, tc.want)
			}
		})
	}
	if _, err := newHandler(fstest.MapFS{"static/a.css": {Data: []byte("x")}}, "static"); err == nil {
		t.Error("a console without index.html was accepted")
	}
}

func TestMethodsRedirectAndRevalidation(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("POST", func(t *testing.T) {
		resp := get(t, h, http.MethodPost, RouteFiles, "index.html", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Headers["Allow"] != "GET, HEAD" {
			t.Errorf("= %d Allow %q, want 405 GET, HEAD", resp.StatusCode, resp.Headers["Allow"])
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp := get(t, h, http.MethodHead, RouteFiles, "console.js", nil)
		if resp.StatusCode != http.StatusOK || resp.Body != "" || resp.Headers["Content-Type"] != "text/javascript; charset=utf-8" {
			t.Errorf("= %d %q %q, want 200, no body, the type", resp.StatusCode, resp.Body, resp.Headers["Content-Type"])
		}
	})
	t.Run("root redirects to the folder", func(t *testing.T) {
		resp := get(t, h, http.MethodGet, RouteRoot, "", nil)
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Headers["Location"] != "/console/index.html" {
			t.Errorf("= %d Location %q, want 308 /console/index.html", resp.StatusCode, resp.Headers["Location"])
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		if got := get(t, h, http.MethodGet, "/other/{proxy+}", "index.html", nil).StatusCode; got != http.StatusNotFound {
			t.Errorf("status = %d, want 404", got)
		}
	})
	t.Run("If-None-Match", func(t *testing.T) {
		etag := get(t, h, http.MethodGet, RouteFiles, "console.css", nil).Headers["ETag"]
		resp := get(t, h, http.MethodGet, RouteFiles, "console.css", map[string]string{"if-none-match": etag})
		if resp.StatusCode != http.StatusNotModified || resp.Body != "" || resp.Headers["ETag"] != etag {
			t.Errorf("= %d %q, want 304 with no body", resp.StatusCode, resp.Body)
		}
		if got := get(t, h, http.MethodGet, RouteFiles, "console.css", map[string]string{"if-none-match": `"other"`}).StatusCode; got != http.StatusOK {
			t.Errorf("stale ETag: status = %d, want 200", got)
		}
	})
}

// TestPageHasNoInlineScriptOrThirdPartyAsset holds the files to the rules
// the policy enforces in the browser: no inline script or style, no
// handler attribute, nothing from another origin, no HTML from strings.
func TestPageHasNoInlineScriptOrThirdPartyAsset(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	html := h.files["index.html"].body
	for _, re := range []string{`<script>`, `<script(?: [^>]*)?>[^<]`, `<style`, `\son[a-z]+=`, `style=`, `(?:src|href)="(?:https?:)?//`} {
		if m := regexp.MustCompile(re).Find(html); m != nil {
			t.Errorf("index.html holds %q (%s)", m, re)
		}
	}
	js := string(h.files["console.js"].body)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "console.log"} {
		if strings.Contains(js, bad) {
			t.Errorf("console.js uses %s", bad)
		}
	}
	var words map[string]any
	if err := json.Unmarshal(h.files["words.json"].body, &words); err != nil {
		t.Errorf("words.json: %v", err)
	}
}
