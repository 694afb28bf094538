package order

import (
	"unicode"
	"unicode/utf8"
)

// MaxIDBytes is the longest id ordersync takes, in bytes. The longest ids
// the platforms send are about 40 bytes (Shopify's event UUIDs,
// BigCommerce's hashes, Standard Webhooks' message ids; WooCommerce's
// event id joins a 32-digit delivery id, the order id and a time); 256
// leaves room for any of them, and keeps every key built of a few ids far
// below DynamoDB's key limits (1 KiB per sort key, 2 KiB per partition
// key) and every message attribute far below SQS's message limit.
const MaxIDBytes = 256

// ValidID reports whether id can name a connection, an order (on either
// side) or a platform's event: 1 to MaxIDBytes bytes of valid UTF-8, with
//
//   - no '#', '/' or '\\': the store's keys join ids with '#' (so that
//     connection "a#b", order "c" and connection "a", order "b#c" would
//     be one key), the dedup keys with '/', and ids stand in URL paths;
//   - no white space, and no control, format (zero-width, bidirectional)
//     or noncharacter code point: two ids that print alike must be one
//     id in logs and the merchant's error list, and SQS refuses U+FFFE and
//     U+FFFF in a message.
//
// Ids are compared byte for byte: ValidID neither trims nor folds case.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDBytes || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		switch {
		case r == '#' || r == '/' || r == '\\':
			return false
		case unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
			unicode.Is(unicode.Noncharacter_Code_Point, r):
			return false
		}
	}
	return true
}
