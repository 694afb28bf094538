package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// DefaultTolerance is how far a signed timestamp may be from now, either
// way, before the delivery is refused as stale (Standard Webhooks' five
// minutes).
const DefaultTolerance = 5 * time.Minute

// VerifyBodyHMAC checks a signature sent in header: the base64
// HMAC-SHA256 of the raw body, keyed with the webhook's secret, the scheme
// of Shopify (X-Shopify-Hmac-Sha256) and WooCommerce
// (X-WC-Webhook-Signature). Any one of secrets may match (during a
// rotation Shopify signs with the oldest unrevoked secret for up to an
// hour). Empty secrets are skipped: anyone could compute their signatures.
// Surrounding space in signature is ignored. The comparison is
// constant-time.
//
// It returns nil on a match, or an *Error coded signature_missing or
// signature_invalid (naming header), or no_secret. The scheme carries no
// signed timestamp, so there is no staleness check: retries of one event,
// hours apart, carry the same signature.
func VerifyBodyHMAC(body []byte, signature string, secrets []string, header string) error {
	signature = strings.TrimSpace(signature)
	if signature == "" {
		return E(CodeSignatureMissing, header)
	}
	var buf [macBufLen]byte
	want, wellFormed := decodeMAC(signature, &buf)
	usable := false
	var got [sha256.Size]byte
	for _, s := range secrets {
		if s == "" {
			continue
		}
		usable = true
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write(body)
		// A malformed signature still costs one HMAC, as a wrong one does.
		if hmac.Equal(mac.Sum(got[:0]), want) && wellFormed {
			return nil
		}
	}
	if !usable {
		return E(CodeNoSecret, "")
	}
	return E(CodeSignatureInvalid, header)
}

// SignBodyHMAC returns the signature VerifyBodyHMAC accepts for body under
// secret: the base64 HMAC-SHA256 of body. It exists for tests and fake
// platforms.
func SignBodyHMAC(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// StandardHeaders are the three headers of a Standard Webhooks delivery.
type StandardHeaders struct {
	ID        string // webhook-id
	Timestamp string // webhook-timestamp, Unix seconds
	Signature string // webhook-signature, space-separated "v1,<base64>" entries
}

// Names of the Standard Webhooks headers, lower-cased.
const (
	HeaderStandardID        = "webhook-id"
	HeaderStandardTimestamp = "webhook-timestamp"
	HeaderStandardSignature = "webhook-signature"
)

// VerifyStandard checks a Standard Webhooks delivery: the signed content is
// "{id}.{timestamp}.{raw body}", signed with HMAC-SHA256 under the
// base64-decoded secret ("whsec_" prefix optional). The signature header may
// list several space-separated signatures (the sender is rotating); one
// matching "v1" entry for one of secrets suffices, other versions are
// ignored. The timestamp must be within tolerance of now, either way
// (DefaultTolerance when tolerance is 0). Secrets that are empty or not
// base64 are skipped.
//
// It returns nil on a match, or an *Error coded signature_missing (a header
// absent), timestamp_invalid, timestamp_stale, signature_invalid or
// no_secret.
func VerifyStandard(body []byte, h StandardHeaders, secrets []string, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	switch {
	case h.ID == "":
		return E(CodeSignatureMissing, HeaderStandardID)
	case h.Timestamp == "":
		return E(CodeSignatureMissing, HeaderStandardTimestamp)
	case strings.TrimSpace(h.Signature) == "":
		return E(CodeSignatureMissing, HeaderStandardSignature)
	}
	ts, err := strconv.ParseInt(h.Timestamp, 10, 64)
	if err != nil {
		return E(CodeTimestampInvalid, HeaderStandardTimestamp)
	}
	// Compare in seconds: time.Unix of an absurd value would overflow a Duration.
	if d := now.Unix() - ts; d > int64(tolerance/time.Second) || -d > int64(tolerance/time.Second) {
		return E(CodeTimestampStale, HeaderStandardTimestamp)
	}

	usable := false
	var sum [sha256.Size]byte
	var buf [macBufLen]byte
	for _, secret := range secrets {
		key, ok := standardKey(secret)
		if !ok {
			continue
		}
		usable = true
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(h.ID))
		mac.Write([]byte{'.'})
		mac.Write([]byte(h.Timestamp))
		mac.Write([]byte{'.'})
		mac.Write(body)
		expected := mac.Sum(sum[:0])
		for entry := range strings.FieldsSeq(h.Signature) {
			version, b64, found := strings.Cut(entry, ",")
			if !found || version != "v1" {
				continue
			}
			if sig, ok := decodeMAC(b64, &buf); ok && hmac.Equal(expected, sig) {
				return nil
			}
		}
	}
	if !usable {
		return E(CodeNoSecret, "")
	}
	return E(CodeSignatureInvalid, HeaderStandardSignature)
}

// SignStandard returns the webhook-signature value ("v1,<base64>") a Standard
// Webhooks sender would send for the message id, Unix timestamp ts and body
// under secret, or "" when secret is not a valid "whsec_" or base64 secret.
// It exists for tests and fake platforms.
func SignStandard(id string, ts int64, body []byte, secret string) string {
	key, ok := standardKey(secret)
	if !ok {
		return ""
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func standardKey(secret string) ([]byte, bool) {
	secret = strings.TrimPrefix(secret, "whsec_")
	if secret == "" {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(key) == 0 {
		return nil, false
	}
	return key, true
}

// macBufLen holds a decoded HMAC-SHA256 with room for the decoder's
// rounding up (DecodedLen of 44 characters is 33).
const macBufLen = 48

// decodeMAC decodes a padded standard base64 HMAC-SHA256 (44 characters) into
// buf, reporting false for anything else; it never writes past buf.
func decodeMAC(s string, buf *[macBufLen]byte) ([]byte, bool) {
	if len(s) != base64.StdEncoding.EncodedLen(sha256.Size) {
		return buf[:sha256.Size], false
	}
	n, err := base64.StdEncoding.Decode(buf[:], []byte(s))
	if err != nil || n != sha256.Size {
		return buf[:sha256.Size], false
	}
	return buf[:n], true
}

// ActiveSecretRefs returns the refs of c.WebhookSecretRefs that may still
// sign its webhooks at now, in order: a ref with an expiry in
// c.WebhookSecretExpiry (a secret a rotation replaced) is left out from
// that instant on; a ref with none never expires. Verifiers check
// signatures only against the secrets these name.
func ActiveSecretRefs(c order.Connection, now time.Time) []string {
	out := make([]string, 0, len(c.WebhookSecretRefs))
	for _, ref := range c.WebhookSecretRefs {
		if until, ok := c.WebhookSecretExpiry[ref]; ok && !now.Before(until) {
			continue
		}
		out = append(out, ref)
	}
	return out
}
