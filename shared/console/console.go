// Package console serves the merchant console: a small web page (HTML, CSS
// and vanilla JavaScript under static/, embedded in the binary) that calls
// the merchant API with the connection id and API key the merchant types
// in. The page itself is public and holds no data; every answer it shows
// comes from the merchant API, which authenticates each call.
//
// The handler answers API Gateway HTTP API (payload v2) requests for the
// routes RouteRoot (a redirect to the page, /console/index.html) and RouteFiles (the files).
package console

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
)

// The console's routes, as the paths of API Gateway route keys
// (template.yaml's ConsoleFunction events).
const (
	RouteRoot  = "/console"
	RouteFiles = "/console/{proxy+}"
)

// index is the file served for the folder itself (/console/).
const index = "index.html"

// Headers every answer carries. The policy allows the page's own files
// only: no inline script or style, no other origin, no frames, no form
// posted natively (the script sends every form, so a key can never land
// in a URL), and Trusted Types required, so the browser itself refuses any
// HTML written from a string (innerHTML and the like).
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
		"require-trusted-types-for 'script'; trusted-types 'none'",
	"X-Content-Type-Options":     "nosniff",
	"Referrer-Policy":            "no-referrer",
	"X-Frame-Options":            "DENY",
	"Cross-Origin-Opener-Policy": "same-origin",
}

// contentTypes are the types of the files served, by extension; a file of
// another extension is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

//go:embed static
var static embed.FS

// file is one file served, read once.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the console's files. It is safe for concurrent use.
type Handler struct {
	files map[string]file
}

// New reads the embedded files. It fails only if they cannot be read,
// which a test of this package would have caught.
func New() (*Handler, error) {
	return newHandler(static, "static")
}

func newHandler(fsys fs.FS, root string) (*Handler, error) {
	sub, err := fs.Sub(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	h := &Handler{files: map[string]file{}}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h.files[p] = file{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if _, ok := h.files[index]; !ok {
		return nil, fmt.Errorf("console: no %s", index)
	}
	return h, nil
}

// Handle answers one request. It never returns an error.
func (h *Handler) Handle(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	method := req.RequestContext.HTTP.Method
	if method != http.MethodGet && method != http.MethodHead {
		resp := answer(http.StatusMethodNotAllowed, "text/plain; charset=utf-8", "method not allowed\n")
		resp.Headers["Allow"] = "GET, HEAD"
		return resp, nil
	}
	_, route, _ := strings.Cut(req.RouteKey, " ")
	if route == RouteRoot {
		// The page's relative links need the folder; the file itself is
		// named so that the redirect never depends on how a trailing slash
		// is routed.
		resp := answer(http.StatusPermanentRedirect, "text/plain; charset=utf-8", "")
		resp.Headers["Location"] = RouteRoot + "/" + index
		return resp, nil
	}
	name := req.PathParameters["proxy"]
	if name == "" || strings.HasSuffix(name, "/") {
		name += index
	}
	f, ok := h.files[name]
	if !ok || route != RouteFiles || !utf8.ValidString(name) {
		// Unknown files and folders alike: no listing, nothing said about
		// what else is there.
		return answer(http.StatusNotFound, "text/plain; charset=utf-8", "not found\n"), nil
	}
	if match := httpapi.Header(req.Headers, "if-none-match"); match != "" && match == f.etag {
		resp := answer(http.StatusNotModified, "", "")
		resp.Headers["ETag"] = f.etag
		resp.Headers["Cache-Control"] = "no-cache"
		return resp, nil
	}
	resp := answer(http.StatusOK, f.contentType, "")
	// Revalidated on every load (cheap: an ETag), so a deploy shows at once.
	resp.Headers["Cache-Control"] = "no-cache"
	resp.Headers["ETag"] = f.etag
	if method == http.MethodGet {
		if strings.HasPrefix(f.contentType, "image/png") {
			resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(f.body), true
		} else {
			resp.Body = string(f.body)
		}
	}
	return resp, nil
}

// answer builds a response with the security headers.
func answer(status int, contentType, body string) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"Cache-Control": "no-store"}
	for k, v := range securityHeaders {
		headers[k] = v
	}
	if contentType != "" {
		headers["Content-Type"] = contentType
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: body}
}
