package localsystem_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// TestOneErrorShape: through the local HTTP API, a webhook refusal and a
// merchant API refusal have the same body, {"error": {"code", "message"}}.
func TestOneErrorShape(t *testing.T) {
	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
		code               string
	}{
		{"webhook with a wrong signature", http.MethodPost, "/webhooks/shopify/demo",
			map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": "orders/fulfilled",
				"X-Shopify-Event-Id": "evt-bad-signature", "X-Shopify-Hmac-Sha256": "bm90IGEgc2lnbmF0dXJl"},
			http.StatusUnauthorized, "signature_invalid"},
		{"webhook to an unknown connection", http.MethodPost, "/webhooks/shopify/no-such-connection",
			map[string]string{"Content-Type": "application/json"}, http.StatusNotFound, "unknown_connection"},
		{"merchant API without a key", http.MethodGet, "/connections/demo/errors", nil, http.StatusUnauthorized, "unauthorized"},
		{"merchant API, unknown connection", http.MethodGet, "/connections/no-such-connection/errors",
			map[string]string{"Authorization": "Bearer some-key"}, http.StatusNotFound, "unknown_connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, sys.APIURL+tt.path, bytes.NewReader([]byte(`{"id":1}`)))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error == nil || body.Error.Message == "" {
				t.Fatalf(`%s: body is not {"error": {"code", "message"}} (%v)`, resp.Status, err)
			}
			if resp.StatusCode != tt.status || body.Error.Code != tt.code {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body.Error.Code, tt.status, tt.code)
			}
		})
	}
}
