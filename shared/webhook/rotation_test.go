package webhook_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
)

// TestActiveSecretRefsGracePeriod: after a rotation, a webhook signed with
// the old secret verifies until old_secret_valid_until and is refused from
// that instant on; the new secret verifies on both sides of it.
func TestActiveSecretRefsGracePeriod(t *testing.T) {
	rotated := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	until := rotated.Add(24 * time.Hour)
	conn := order.Connection{ID: "acme", WebhookSecretRefs: []string{"whsec-old", "whsec-new"},
		WebhookSecretExpiry: map[string]time.Time{"whsec-old": until}}
	values := map[string]string{"whsec-old": "old-secret", "whsec-new": "new-secret"}
	body := []byte(`{"id":1001}`)
	for _, tc := range []struct {
		name     string
		at       time.Time
		secret   string
		wantRefs []string
		wantOK   bool
	}{
		{"old secret just after the rotation", rotated, "old-secret", []string{"whsec-old", "whsec-new"}, true},
		{"old secret a second before its expiry", until.Add(-time.Second), "old-secret", []string{"whsec-old", "whsec-new"}, true},
		{"old secret at its expiry", until, "old-secret", []string{"whsec-new"}, false},
		{"old secret a day after", until.Add(24 * time.Hour), "old-secret", []string{"whsec-new"}, false},
		{"new secret before the expiry", rotated, "new-secret", []string{"whsec-old", "whsec-new"}, true},
		{"new secret after the expiry", until.Add(time.Hour), "new-secret", []string{"whsec-new"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refs := webhook.ActiveSecretRefs(conn, tc.at)
			if !slices.Equal(refs, tc.wantRefs) {
				t.Errorf("ActiveSecretRefs = %v, want %v", refs, tc.wantRefs)
			}
			var secrets []string
			for _, r := range refs {
				secrets = append(secrets, values[r])
			}
			err := webhook.VerifyBodyHMAC(body, webhook.SignBodyHMAC(body, tc.secret), secrets, "X-Shopify-Hmac-Sha256")
			var we *webhook.Error
			switch {
			case tc.wantOK && err != nil:
				t.Errorf("VerifyBodyHMAC = %v, want a match", err)
			case !tc.wantOK && (!errors.As(err, &we) || we.Code != webhook.CodeSignatureInvalid):
				t.Errorf("VerifyBodyHMAC = %v, want signature_invalid", err)
			}
		})
	}
}

// TestActiveSecretRefsOldItems: a connection stored before expiries
// existed (no webhook_secret_expiry) keeps every ref.
func TestActiveSecretRefsOldItems(t *testing.T) {
	var conn order.Connection
	if err := json.Unmarshal([]byte(`{"id":"acme","webhook_secret_refs":["a","b"]}`), &conn); err != nil {
		t.Fatal(err)
	}
	if got := webhook.ActiveSecretRefs(conn, time.Now()); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("ActiveSecretRefs = %v, want [a b]", got)
	}
}
