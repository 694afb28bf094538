package sync

import (
	"context"
	"errors"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// actionImport names the store call that creates an imported order, for
// its claim: one store order per marketplace order, whatever the retries.
const actionImport rules.Action = "import"

// importOrder creates a new marketplace order in the merchant's store,
// links the two, and accepts the order on the marketplace (To accept →
// Waiting for fulfillment). An order already imported, or no longer open,
// is acknowledged without a call.
func (j *job) importOrder(ctx context.Context) error {
	p, conn, mkID := j.p, j.conn, j.event.Order.MarketplaceOrderID
	if mkID == "" {
		return syncerr.E(syncerr.InvalidData, "field", "marketplace order id")
	}
	st, err := p.store.LoadOrder(ctx, conn.ID, mkID)
	switch {
	case err == nil && st.Ref.StoreOrderID != "":
		j.state = st
		p.log.Info("already imported", "marketplace_order", mkID, "store_order", st.Ref.StoreOrderID)
		return nil
	case err == nil:
		j.state = st
	case errors.Is(err, order.ErrNotFound):
		j.state = order.State{Connection: conn.ID, Ref: order.Ref{MarketplaceOrderID: mkID}}
	default:
		return infra(err)
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
	if remote.Status != order.StatusAwaitingAcceptance && remote.Status != order.StatusAccepted {
		p.log.Info("not imported: the marketplace order is no longer open", "marketplace_order", mkID, "status", string(remote.Status))
		return nil
	}
	if err := rules.CheckAddress(remote.ShippingAddress); err != nil {
		return detail(err, j.state.Ref, conn)
	}
	storeID, err := j.create(ctx, remote)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	if err := p.store.LinkOrder(ctx, conn.ID, storeID, mkID); err != nil {
		return infra(err)
	}
	lines := make([]order.Line, 0, len(remote.Lines))
	for _, l := range remote.Lines {
		lines = append(lines, order.Line{SKU: l.SKU, Quantity: l.Quantity, MarketplaceLineID: l.ID})
	}
	imported := order.Event{Connection: conn.ID, Source: conn.Marketplace.Platform, SourceEventID: j.event.SourceEventID,
		OccurredAt: remote.UpdatedAt, Order: order.Ref{StoreOrderID: storeID, MarketplaceOrderID: mkID},
		Status: order.StatusAccepted, Lines: lines, ShippingAddress: remote.ShippingAddress}
	if err := j.applyEvent(ctx, mkID, imported); err != nil {
		return err
	}
	return j.reach(ctx, mp, remote, rules.Want{Status: order.StatusAccepted})
}

// create makes the store order once per marketplace order.
func (j *job) create(ctx context.Context, remote order.MarketplaceOrder) (string, error) {
	if j.p.stores == nil {
		return "", syncerr.E(syncerr.PlatformUnsupported, "platform", string(j.conn.Store.Platform))
	}
	sf, err := j.p.stores.Storefront(ctx, j.conn)
	if err != nil {
		return "", err
	}
	key := effectKey(j.conn.ID, remote.ID, rules.Step{Action: actionImport})
	claim, err := j.p.store.ClaimEffect(ctx, key, j.p.cfg.EffectLease)
	if err != nil {
		return "", infra(err)
	}
	if claim == EffectBusy {
		return "", errBusy
	}
	// Claimed, or made before but not linked (the worker stopped in
	// between): CreateOrder finds an order it made by the marketplace id.
	id, err := sf.CreateOrder(ctx, remote)
	if err == nil {
		if cerr := j.p.store.ConfirmEffect(ctx, key); cerr != nil {
			j.p.log.Error("order created but not confirmed", "err", cerr)
		}
		return id, nil
	}
	if claim == EffectClaimed && !outcomeUnknown(err) {
		if rerr := j.p.store.ReleaseEffect(ctx, key); rerr != nil {
			j.p.log.Error("could not release a failed import's claim", "err", rerr)
		}
	}
	return "", err
}
