package order

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SKUAlias says that a product the merchant's store sells as StoreSKU is
// the one the marketplace lists as MarketplaceSKU (a SKU renamed on one
// side only). Aliases are one-to-one within a connection: a store SKU has
// at most one marketplace SKU, and a marketplace SKU at most one store SKU.
type SKUAlias struct {
	StoreSKU       string `json:"store_sku"`
	MarketplaceSKU string `json:"marketplace_sku"`
}

// Limits of SKU aliases.
const (
	// MaxSKUBytes is the longest SKU an alias may name, in bytes of UTF-8.
	MaxSKUBytes = 255
	// MaxSKUAliases is how many aliases one connection may hold: the sync
	// reads them all once per order it syncs.
	MaxSKUAliases = 1000
)

// ErrAliasConflict is returned (wrapped) by a store asked for an alias
// that would give a store SKU a second marketplace SKU, or a marketplace
// SKU a second store SKU. Nothing is stored.
var ErrAliasConflict = errors.New("sku alias conflict")

// ErrAliasLimit is returned (wrapped) by a store asked for a new alias on
// a connection that holds MaxSKUAliases already. Nothing is stored.
var ErrAliasLimit = errors.New("too many sku aliases")

// ValidSKU reports whether sku may be one side of an alias: 1 to
// MaxSKUBytes bytes of UTF-8, no control or invisible (format) characters,
// and no space at either end (order lines are matched on the SKU with its
// surrounding spaces trimmed, so such a SKU could never match).
func ValidSKU(sku string) bool {
	if sku == "" || len(sku) > MaxSKUBytes || !utf8.ValidString(sku) || strings.TrimSpace(sku) != sku {
		return false
	}
	for _, r := range sku {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Noncharacter_Code_Point, r) {
			return false
		}
	}
	return true
}

// AliasMaps returns aliases as two lookups: store SKU to marketplace SKU,
// and marketplace SKU to store SKU.
func AliasMaps(aliases []SKUAlias) (toMarketplace, toStore map[string]string) {
	toMarketplace = make(map[string]string, len(aliases))
	toStore = make(map[string]string, len(aliases))
	for _, a := range aliases {
		toMarketplace[a.StoreSKU] = a.MarketplaceSKU
		toStore[a.MarketplaceSKU] = a.StoreSKU
	}
	return toMarketplace, toStore
}
