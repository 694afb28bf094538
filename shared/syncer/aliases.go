package syncer

import (
	"context"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Aliases is where the sync reads the merchant's SKU aliases.
type Aliases interface {
	// SKUAliases lists a connection's aliases by store SKU, those after
	// the store SKU after, at most limit; next is "" on the last page.
	SKUAliases(ctx context.Context, connection, after string, limit int) (aliases []order.SKUAlias, next string, err error)
}

// WithAliases lets the sync translate SKUs by the merchant's aliases: a
// store line's SKU to the marketplace's before lines and parcels are
// matched to the marketplace order's, and a marketplace line's SKU to the
// store's before an order is imported. Without it, SKUs must be the same
// on both sides.
func (p *Syncer) WithAliases(a Aliases) *Syncer {
	p.aliases = a
	return p
}

// skuAliases reads the connection's aliases, once per job and only when
// they are needed (marketplaceSKUs; an import always needs them, as an
// alias names the store's SKU even where the store has the marketplace's
// too): every one of them (order.MaxSKUAliases at most) comes in one read.
func (j *job) skuAliases(ctx context.Context) (toMarketplace, toStore map[string]string, err error) {
	if j.p.aliases == nil {
		return nil, nil, nil
	}
	if !j.aliasesRead {
		list, _, err := j.p.aliases.SKUAliases(ctx, j.conn.ID, "", order.MaxSKUAliases)
		if err != nil {
			return nil, nil, infra(err)
		}
		j.toMarketplace, j.toStore = order.AliasMaps(list)
		j.aliasesRead = true
	}
	return j.toMarketplace, j.toStore, nil
}

// marketplaceSKUs returns want with its parcels' and refunds' lines named
// by the marketplace's SKUs (MarketplaceWant), reading the connection's
// aliases only when a line needs one (NeedsAlias). Most connections set no
// alias, and most lines of those that do carry the marketplace's SKU:
// their sync saves the read, a consistent Query billed even when it finds
// nothing. Where an alias can matter it is read fresh, not judged by a
// count cached with the connection, so the re-sync a new alias queues
// (the sku_not_found remedy) finds it however long the instance caches
// the connection.
func (j *job) marketplaceSKUs(ctx context.Context, remote order.MarketplaceOrder, want rules.Want) (rules.Want, error) {
	if !NeedsAlias(want, remote) {
		return want, nil
	}
	toMarketplace, _, err := j.skuAliases(ctx)
	if err != nil {
		return want, err
	}
	return MarketplaceWant(want, remote, toMarketplace), nil
}

// NeedsAlias reports whether an alias could rename a line of want's
// parcels or refunds in MarketplaceWant: one that does not name its
// marketplace line, whose SKU is not empty and matches no line of remote.
// MarketplaceWant leaves every other line as it is, so where it is false
// the aliases need not be read.
func NeedsAlias(want rules.Want, remote order.MarketplaceOrder) bool {
	products := productsOf(remote)
	unmatched := func(lines []order.Line) bool {
		for _, l := range lines {
			if strings.TrimSpace(l.MarketplaceLineID) != "" || strings.TrimSpace(l.SKU) == "" {
				continue
			}
			if _, err := rules.MatchSKU(l.SKU, nil, products); syncerr.CodeOf(err) == syncerr.SKUNotFound {
				return true
			}
		}
		return false
	}
	for _, p := range want.Parcels {
		if unmatched(p.Lines) {
			return true
		}
	}
	for _, r := range want.Refunds {
		if unmatched(r.Lines) {
			return true
		}
	}
	return false
}

// productsOf returns remote's lines as rules.MatchSKU's products: one per
// SKU, as several lines of one SKU are rules.Plan's to tell apart, not a
// duplicate product.
func productsOf(remote order.MarketplaceOrder) []rules.Product {
	var products []rules.Product
	seen := map[string]bool{}
	for _, ml := range remote.Lines {
		if sku := strings.TrimSpace(ml.SKU); sku != "" && !seen[sku] {
			seen[sku] = true
			products = append(products, rules.Product{ID: ml.ID, SKU: sku})
		}
	}
	return products
}

// MarketplaceWant returns want with its parcels' lines named by the
// marketplace's SKUs, as rules.MatchSKU finds them among remote's lines:
// the store's SKU where the marketplace has it, else its alias in
// toMarketplace (store SKU to marketplace SKU). The match is by SKU, never
// by a product or listing id, so a product deleted and recreated under a
// new id still matches. A line no SKU matches is left as the store has it,
// for rules.Plan to refuse with the store's SKU (the one an alias is set
// for); lines that already name their marketplace line are left alone.
// want itself is not changed.
func MarketplaceWant(want rules.Want, remote order.MarketplaceOrder, toMarketplace map[string]string) rules.Want {
	if (len(want.Parcels) == 0 && len(want.Refunds) == 0) || len(toMarketplace) == 0 {
		return want
	}
	products := productsOf(remote)
	translate := func(in []order.Line) []order.Line {
		lines := append([]order.Line(nil), in...)
		for k, l := range lines {
			if strings.TrimSpace(l.MarketplaceLineID) != "" {
				continue
			}
			if m, err := rules.MatchSKU(l.SKU, toMarketplace, products); err == nil {
				lines[k].SKU = m.SKU
			}
		}
		return lines
	}
	if len(want.Parcels) > 0 {
		parcels := make([]order.Parcel, len(want.Parcels))
		for i, p := range want.Parcels {
			p.Lines = translate(p.Lines)
			parcels[i] = p
		}
		want.Parcels = parcels
	}
	if len(want.Refunds) > 0 {
		refunds := make([]order.Refund, len(want.Refunds))
		for i, r := range want.Refunds {
			r.Lines = translate(r.Lines)
			refunds[i] = r
		}
		want.Refunds = refunds
	}
	return want
}

// storeSKUs returns remote with its lines named by the store's SKUs: a
// marketplace SKU with an alias becomes its store SKU (rules.AliasOf).
func (j *job) storeSKUs(ctx context.Context, remote order.MarketplaceOrder) (order.MarketplaceOrder, error) {
	_, toStore, err := j.skuAliases(ctx)
	if err != nil || len(toStore) == 0 {
		return remote, err
	}
	lines := make([]order.MarketplaceLine, len(remote.Lines))
	for i, l := range remote.Lines {
		l.SKU = rules.AliasOf(l.SKU, toStore)
		lines[i] = l
	}
	remote.Lines = lines
	return remote, nil
}
