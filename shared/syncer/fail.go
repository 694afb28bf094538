package syncer

import (
	"cmp"
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// fail ends an event that will not be retried: the failure is recorded on
// the order and in the merchant's error list, emailed once per order and
// problem, and the outcome asks for the event to be dead-lettered with its
// reason, from where it can be re-sent. Where the bookkeeping fails before
// the last try, it asks for a retry instead.
func (j *job) fail(ctx context.Context, err error) Outcome {
	p := j.p
	x := syncerr.Explain(err)
	st := j.stateOr()
	result := order.SyncFailed
	if x.Kind == syncerr.Auth || x.Code == syncerr.AddressMissing || x.Code == syncerr.AddressRestricted ||
		x.Code == syncerr.OrderLinkUnverified {
		result = order.SyncHeld
	}
	if x.Kind == syncerr.Auth && j.conn.ID != "" && !j.conn.Paused {
		// First, so that no other worker calls with refused credentials.
		if perr := p.store.PauseConnection(ctx, j.conn.ID, string(x.Code)); perr != nil {
			p.log.Error("could not pause the connection", "connection", j.conn.ID, "err", perr)
		}
	}
	sku := skuOf(err)
	j.facts = factsOf(err)
	var superseded bool
	serr := j.persist(ctx, func() (err error) {
		// Told: the merchant is told below (or was, the email throttle
		// says), and the sync that ends the failure forgets the mark.
		superseded, err = j.saveOutcome(ctx, order.SyncOutcome{Result: result, ErrorCode: string(x.Code), Message: x.Cause, Attempts: j.attempts, SKU: sku,
			Told: string(x.Code)})
		return err
	})
	if superseded {
		// A newer change to the order came in while this event failed; the
		// worker applying it decides the outcome. Nothing to tell.
		p.log.Info("failure superseded by a newer change to the order", "code", string(x.Code))
		return Outcome{Verdict: Done}
	}
	if serr != nil && !j.last() {
		return j.retry(j.retryDelay(nil))
	}
	if j.state.Sync.FirstFailedAt.IsZero() {
		j.state.Sync.FirstFailedAt = p.cfg.Now().UTC()
	}
	st = j.stateOr()
	if j.conn.ID != "" {
		rec := order.ErrorRecord{Connection: j.conn.ID, MarketplaceOrderID: st.Ref.MarketplaceOrderID, StoreOrderID: st.Ref.StoreOrderID,
			StoreOrderName: st.Ref.StoreOrderName, Code: string(x.Code), Kind: string(x.Kind), Title: x.Title, Cause: x.Cause,
			Remedy: x.Remedy, Attempts: j.attempts, At: p.cfg.Now().UTC(), Since: j.state.Sync.FirstFailedAt.UTC()}
		if x.Code == syncerr.OrderLinkUnverified {
			rec.ClaimedMarketplaceOrderID = j.event.Order.ClaimedMarketplaceOrderID
		}
		if rerr := j.persist(ctx, func() error { return p.store.RecordError(ctx, rec) }); rerr != nil {
			p.log.Error("could not record the error", "err", rerr)
			if !j.last() {
				return j.retry(j.retryDelay(nil))
			}
		}
		if terr := j.persist(ctx, func() error { return j.tell(ctx, st, x) }); terr != nil && !j.last() {
			return j.retry(j.retryDelay(nil))
		}
	}
	return Outcome{Verdict: DeadLetter, After: j.retryDelay(nil), Failure: Failure{
		Code:          x.Code,
		Connection:    st.Connection,
		OrderKey:      st.Connection + "/" + cmp.Or(st.Ref.MarketplaceOrderID, "store:"+st.Ref.StoreOrderID),
		FirstFailedAt: j.state.Sync.FirstFailedAt.UTC(),
		Attempts:      j.attempts,
	}}
}

// persist runs a bookkeeping write and, on the last try, runs it again
// when it fails (three times in all, within ctx): no later try will record
// how this event ended.
func (j *job) persist(ctx context.Context, write func() error) error {
	err := write()
	for i := 1; err != nil && j.last() && i < 3; i++ {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i) * 50 * time.Millisecond):
		}
		err = write()
	}
	return err
}

// tell emails the merchant, once per order and problem (once per
// connection for a paused connection). An error means the email throttle
// could not be read: whether to email is not known yet.
func (j *job) tell(ctx context.Context, st order.State, x syncerr.Explanation) error {
	p := j.p
	key := notifyKey(st, string(x.Code))
	if x.Kind == syncerr.Auth {
		key = ConnectionNoticeKey(j.conn.ID, string(x.Code))
	}
	first, err := p.store.MarkNotified(ctx, key, p.cfg.NotifyTTL)
	if err != nil {
		p.log.Error("could not check the email throttle; not emailing", "err", err)
		return err
	}
	if !first {
		return nil
	}
	n := Notice{Connection: j.conn, State: st, Explanation: x, Marketplace: j.conn.Marketplace.Platform.DisplayName(), Attempts: j.attempts}
	if err := p.notify.Notify(ctx, n); err != nil {
		p.log.Error("could not email the merchant", "err", err)
		// Forget the mark, so the next failure of this order tries again.
		_ = p.store.ClearNotified(ctx, key)
	}
	return nil
}

// ConnectionNoticeKey names the email mark of a connection-wide problem
// (a paused connection), which the refresh clears when it resumes.
func ConnectionNoticeKey(connection, code string) string {
	return connection + "#" + code
}

// skuOf is the SKU a product failure (sku_not_found, sku_duplicate) is
// about, from its "sku" detail: kept on the order so that an alias set
// for it finds the orders it holds. Other failures have none.
func skuOf(err error) string {
	switch syncerr.CodeOf(err) {
	case syncerr.SKUNotFound, syncerr.SKUDuplicate:
		if e, ok := syncerr.As(err); ok {
			return e.Details["sku"]
		}
	}
	return ""
}

// factsOf are the details of err that fill the catalogue's words, less the
// order's and the connection's names (filled again when an entry is read).
func factsOf(err error) map[string]string {
	e, ok := syncerr.As(err)
	if !ok {
		return nil
	}
	var facts map[string]string
	for k, v := range e.Details {
		switch k {
		case "order", "marketplace", "store", "code":
			continue
		}
		if facts == nil {
			facts = make(map[string]string, len(e.Details))
		}
		facts[k] = v
	}
	return facts
}
