package memstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/ordersync/ordersync/shared/order"
)

// aliasSet is one connection's SKU aliases, both ways, as dynamostore
// keeps an item per direction.
type aliasSet struct {
	toMarketplace map[string]string
	toStore       map[string]string
}

// PutSKUAlias stores a, as dynamostore does: setting an alias held already
// is no error; one that would give either SKU a second partner is a
// wrapped order.ErrAliasConflict, and a new one past order.MaxSKUAliases a
// wrapped order.ErrAliasLimit, both storing nothing.
func (s *Store) PutSKUAlias(_ context.Context, conn string, a order.SKUAlias) error {
	if err := checkAlias(conn, a.StoreSKU, a.MarketplaceSKU); err != nil {
		return err
	}
	defer s.lock()()
	set, ok := s.t.aliases[conn]
	if !ok {
		set = aliasSet{toMarketplace: map[string]string{}, toStore: map[string]string{}}
		s.t.aliases[conn] = set
	}
	mk, hasStore := set.toMarketplace[a.StoreSKU]
	st, hasMarketplace := set.toStore[a.MarketplaceSKU]
	switch {
	case hasStore && mk == a.MarketplaceSKU:
		return nil
	case hasStore:
		return fmt.Errorf("memstore: alias %q: store SKU has marketplace SKU %q: %w", a.StoreSKU, mk, order.ErrAliasConflict)
	case hasMarketplace:
		return fmt.Errorf("memstore: alias %q: marketplace SKU %q belongs to store SKU %q: %w", a.StoreSKU, a.MarketplaceSKU, st, order.ErrAliasConflict)
	case len(set.toMarketplace) >= order.MaxSKUAliases:
		return fmt.Errorf("memstore: alias %q: connection %s holds %d: %w", a.StoreSKU, conn, order.MaxSKUAliases, order.ErrAliasLimit)
	}
	set.toMarketplace[a.StoreSKU] = a.MarketplaceSKU
	set.toStore[a.MarketplaceSKU] = a.StoreSKU
	return nil
}

// DeleteSKUAlias removes the alias of storeSKU, both ways, and returns it;
// a wrapped order.ErrNotFound when there is none.
func (s *Store) DeleteSKUAlias(_ context.Context, conn, storeSKU string) (order.SKUAlias, error) {
	if err := checkAlias(conn, storeSKU, storeSKU); err != nil {
		return order.SKUAlias{}, err
	}
	defer s.lock()()
	set := s.t.aliases[conn]
	mk, ok := set.toMarketplace[storeSKU]
	if !ok {
		return order.SKUAlias{}, fmt.Errorf("memstore: alias %q of %s: %w", storeSKU, conn, order.ErrNotFound)
	}
	delete(set.toMarketplace, storeSKU)
	delete(set.toStore, mk)
	return order.SKUAlias{StoreSKU: storeSKU, MarketplaceSKU: mk}, nil
}

// SKUAliases lists the connection's aliases by store SKU (byte order),
// those after the store SKU after ("" from the first), at most limit of
// them (none for a limit below 1). next is the store SKU to list after for
// the following page, "" when this page is the last.
func (s *Store) SKUAliases(_ context.Context, conn, after string, limit int) (aliases []order.SKUAlias, next string, err error) {
	if limit < 1 {
		return nil, "", nil
	}
	defer s.lock()()
	set := s.t.aliases[conn]
	skus := make([]string, 0, len(set.toMarketplace))
	for sku := range set.toMarketplace {
		if sku > after {
			skus = append(skus, sku)
		}
	}
	slices.Sort(skus)
	if len(skus) > limit {
		skus, next = skus[:limit], skus[limit-1]
	}
	out := make([]order.SKUAlias, 0, len(skus))
	for _, sku := range skus {
		out = append(out, order.SKUAlias{StoreSKU: sku, MarketplaceSKU: set.toMarketplace[sku]})
	}
	return out, next, nil
}

// checkAlias refuses what dynamostore refuses: a connection id that would
// make a bad key, and SKUs that are not order.ValidSKU.
func checkAlias(conn, storeSKU, marketplaceSKU string) error {
	if !order.ValidID(conn) || !order.ValidSKU(storeSKU) || !order.ValidSKU(marketplaceSKU) {
		return fmt.Errorf("memstore: alias %.40q -> %.40q of %.40q: a connection must be order.ValidID and SKUs order.ValidSKU", storeSKU, marketplaceSKU, conn)
	}
	return nil
}
