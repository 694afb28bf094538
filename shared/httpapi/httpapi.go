// Package httpapi is what the handlers behind ordersync's HTTP API (API
// Gateway HTTP API, payload format 2.0) share: one shape for every error
// answer, {"error": {"code": "...", "message": "..."}}, with each code's words
// in one catalogue (catalogue.json: data that support staff can review
// without reading Go), and reading a request the way API Gateway hands it
// over. Like the handlers, it owns no AWS client.
package httpapi

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Errors of Body. Neither quotes the request.
var (
	ErrBodyTooLarge = errors.New("httpapi: body too large")
	ErrNotBase64    = errors.New("httpapi: body is marked base64 but is not valid base64")
)

// Body returns req's body, decoded when API Gateway base64-encoded it. It
// returns ErrBodyTooLarge for a body over max bytes once decoded (a base64
// body is measured before it is decoded: base64 grows 3 bytes to 4), and
// ErrNotBase64 for a body marked base64 that is not.
func Body(req events.APIGatewayV2HTTPRequest, max int64) ([]byte, error) {
	if !req.IsBase64Encoded {
		if int64(len(req.Body)) > max {
			return nil, ErrBodyTooLarge
		}
		return []byte(req.Body), nil
	}
	if int64(len(req.Body)) > (max+2)/3*4 {
		return nil, ErrBodyTooLarge
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, ErrNotBase64
	}
	if int64(len(b)) > max {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// Header returns the value of the header called name in an API Gateway
// header map, matching the name case-insensitively; "" when there is none.
// HTTP APIs lower-case names already, so the exact lookup nearly always
// hits.
func Header(headers map[string]string, name string) string {
	if v, ok := headers[name]; ok {
		return v
	}
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
