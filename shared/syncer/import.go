package syncer

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// actionImport names the store call that creates an imported order, for
// its claim: one store order per marketplace order, whatever the retries.
const actionImport rules.Action = "import"

// importOrder creates a new marketplace order in the merchant's store,
// links the two, and accepts the order on the marketplace (To accept →
// Waiting for fulfillment). An order already imported is not created
// again: the sync brings the marketplace to its stored state (the accept
// a failed try left undone, say). An order no longer open is recorded as
// the marketplace has it, without a call.
func (j *job) importOrder(ctx context.Context) error {
	p, conn, mkID := j.p, j.conn, j.event.Order.MarketplaceOrderID
	if mkID == "" {
		return syncerr.E(syncerr.InvalidData, "field", "marketplace order id")
	}
	st, err := j.load(ctx, mkID)
	if err != nil {
		return err
	}
	j.state = st
	if st.Version > 0 {
		j.basis = basis(st)
	}
	if conn.Paused {
		return pausedError(conn, j.state.Ref)
	}
	mp, err := p.mps.Marketplace(ctx, conn)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	remote, err := mp.Order(ctx, mkID)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	if j.state.Ref.StoreOrderID != "" {
		return j.reach(ctx, mp, remote, WantOf(j.state))
	}
	if !remote.Status.Open() {
		p.log.Info("not imported: the marketplace order is no longer open", "marketplace_order", mkID, "status", string(remote.Status))
		if j.state.Version == 0 {
			return nil
		}
		return j.reach(ctx, mp, remote, rules.Want{})
	}
	// The merchant's address (the merchant API's fix) stands in for an
	// address the marketplace gave incomplete or not at all.
	remote.ShippingAddress = rules.ImportAddress(remote.ShippingAddress, j.state.Override)
	if remote.ShippingAddress == nil && remote.AddressRestricted {
		// Withheld, not missing: the merchant's remedy is another.
		return detail(syncerr.E(syncerr.AddressRestricted, "marketplace", conn.Marketplace.Platform.DisplayName()), j.state.Ref, conn)
	}
	if err := rules.CheckAddress(remote.ShippingAddress); err != nil {
		return detail(err, j.state.Ref, conn)
	}
	if err := j.create(ctx, remote); err != nil {
		// The accept claimed with the import (create) is not made.
		j.releaseUnused(ctx, mkID)
		return err
	}
	return j.reach(ctx, mp, remote, WantOf(j.state))
}

// create makes the store order once per marketplace order and links it;
// the order's state takes it with the outcome's write, which names the
// import's call (State.Calls) as it names the accept's: a state naming
// the import always has its store order id. Until then a failure keeps
// the claim pending, and a retry after the lease finds the store order
// CreateOrder made (by the marketplace id) and goes on from there.
func (j *job) create(ctx context.Context, remote order.MarketplaceOrder) error {
	p, conn := j.p, j.conn
	if p.stores == nil {
		return detail(syncerr.E(syncerr.PlatformUnsupported, "platform", string(conn.Store.Platform)), j.state.Ref, conn)
	}
	sf, err := p.stores.Storefront(ctx, conn)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	// The store's SKUs, where the merchant set aliases.
	remote, err = j.storeSKUs(ctx, remote)
	if err != nil {
		return err
	}
	key := effectKey(conn.ID, remote.ID, rules.Step{Action: actionImport})
	keys := []string{key}
	// The accept the import leads to (To accept → Waiting for
	// fulfillment) is claimed in the same write: reach's plan finds it
	// claimed (claimAll), and releaseUnused gives it back if the job does
	// not get to it.
	accept := effectKey(conn.ID, remote.ID, rules.Step{Action: rules.ActionAccept})
	if remote.Status == order.StatusAwaitingAcceptance && !j.state.CallMade(accept) {
		keys = append(keys, accept)
	}
	at := time.Now()
	claims, err := p.store.ClaimEffects(ctx, effectScope(conn.ID, remote.ID), keys, p.cfg.EffectLease)
	if err != nil {
		return infra(err)
	}
	if len(claims) > 1 {
		j.claims = map[string]heldClaim{accept: {Claim: claims[1], at: at}}
	}
	claim := claims[0].State
	if claim == EffectBusy {
		return errBusy
	}
	// Claimed, or made before by a worker that stopped before recording it:
	// CreateOrder finds an order it made by the marketplace id.
	storeID, storeName, err := sf.CreateOrder(ctx, remote)
	how := ""
	if claim == EffectDone && err == nil {
		how = "made before; found again"
	}
	j.noteCall(conn.Store.Platform, actionImport, err, how)
	if err != nil {
		if claim == EffectClaimed && !outcomeUnknown(err) {
			// Given back with the accept's (releaseUnused), in one write.
			if j.failed == nil {
				j.failed = map[string]int64{}
			}
			j.failed[key] = claims[0].Token
		}
		return detail(err, j.state.Ref, conn)
	}
	// From here a failure keeps the claim pending, so no other worker
	// creates the order again before the lease is out.
	if err := p.store.LinkOrder(ctx, conn.ID, storeID, remote.ID); err != nil {
		return infra(err)
	}
	lines := make([]order.Line, 0, len(remote.Lines))
	for _, l := range remote.Lines {
		lines = append(lines, order.Line{SKU: l.SKU, Quantity: l.Quantity, MarketplaceLineID: l.ID})
	}
	imported := order.Event{Connection: conn.ID, Source: conn.Marketplace.Platform, SourceEventID: j.event.SourceEventID,
		OccurredAt: remote.UpdatedAt, Order: order.Ref{StoreOrderID: storeID, StoreOrderName: storeName, MarketplaceOrderID: remote.ID},
		Status: order.StatusAccepted, Lines: lines, ShippingAddress: remote.ShippingAddress}
	// One write of the order for the import and the accept that follows
	// (applyLater), its link made just before (above).
	j.applyLater(j.state, imported)
	j.made = append(j.made, key)
	return nil
}

// WantOf is what the store's side of an order asks of the marketplace
// (the refresh asks rules.Plan with it whether the marketplace is behind),
// with the merchant's override in place of the store's data it fixes
// (rules.WithOverride).
func WantOf(s order.State) rules.Want {
	s = rules.WithOverride(s)
	return rules.Want{Status: rules.StoreStatusOf(s), Parcels: s.Parcels, CancelReason: s.CancelReason, OccurredAt: s.StoreUpdatedAt,
		Refunds: s.Refunds}
}
