package syncer

import (
	"context"
	"strconv"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// DLQ message attributes: an operator filters and redrives on these.
const (
	AttrErrorCode     = "error_code"
	AttrOrderKey      = "order_key"
	AttrConnection    = "connection"
	AttrFirstFailedAt = "first_failed_at"
	AttrAttempts      = "attempts"
)

// fail ends a message that will not be retried: the failure is recorded on
// the order and in the merchant's error list, emailed once per order and
// problem, and the message goes to the DLQ with its reason, from where it
// can be re-sent. It reports whether the message is done with; when even
// the DLQ refuses it, the message stays on the queue and SQS's own redrive
// moves it there after its last try.
func (j *job) fail(ctx context.Context, err error) bool {
	p := j.p
	x := syncerr.Explain(err)
	st := j.stateOr()
	result := order.SyncFailed
	if x.Kind == syncerr.Auth || x.Code == syncerr.AddressMissing {
		result = order.SyncHeld
	}
	if x.Kind == syncerr.Auth && j.conn.ID != "" && !j.conn.Paused {
		// First, so that no other worker calls with refused credentials.
		if perr := p.store.PauseConnection(ctx, j.conn.ID, string(x.Code)); perr != nil {
			p.log.Error("could not pause the connection", "connection", j.conn.ID, "err", perr)
		}
	}
	superseded, serr := j.saveOutcome(ctx, order.SyncOutcome{Result: result, ErrorCode: string(x.Code), Message: x.Cause, Attempts: j.attempts})
	if superseded {
		// A newer change to the order came in while this event failed; the
		// worker applying it decides the outcome. Nothing to tell.
		p.log.Info("failure superseded by a newer change to the order", "code", string(x.Code))
		return true
	}
	if serr != nil && !j.last() {
		return j.retryIn(ctx, j.retryDelay(nil))
	}
	if j.state.Sync.FirstFailedAt.IsZero() {
		j.state.Sync.FirstFailedAt = p.cfg.Now().UTC()
	}
	st = j.stateOr()
	if j.conn.ID != "" {
		rec := order.ErrorRecord{Connection: j.conn.ID, MarketplaceOrderID: st.Ref.MarketplaceOrderID, StoreOrderID: st.Ref.StoreOrderID,
			StoreOrderName: st.Ref.StoreOrderName, Code: string(x.Code), Kind: string(x.Kind), Title: x.Title, Cause: x.Cause,
			Remedy: x.Remedy, Attempts: j.attempts, At: p.cfg.Now().UTC()}
		if rerr := p.store.RecordError(ctx, rec); rerr != nil {
			p.log.Error("could not record the error", "err", rerr)
			if !j.last() {
				return j.retryIn(ctx, j.retryDelay(nil))
			}
		}
		if terr := j.tell(ctx, st, x); terr != nil && !j.last() {
			return j.retryIn(ctx, j.retryDelay(nil))
		}
	}
	attrs := map[string]string{
		AttrErrorCode:     string(x.Code),
		AttrOrderKey:      st.Connection + "/" + firstNonEmpty(st.Ref.MarketplaceOrderID, "store:"+st.Ref.StoreOrderID),
		AttrConnection:    st.Connection,
		AttrFirstFailedAt: j.state.Sync.FirstFailedAt.UTC().Format(time.RFC3339),
		AttrAttempts:      strconv.Itoa(j.attempts),
	}
	if derr := p.dlq.Send(ctx, j.msg.Body, attrs); derr != nil {
		// Keep the message: it comes back like a transient failure, and
		// after its last try SQS's own redrive policy moves it to the DLQ.
		p.log.Error("could not dead-letter the message; SQS redrive will", "err", derr)
		return j.retryIn(ctx, j.retryDelay(nil))
	}
	return true
}

// last reports whether this is the message's last try.
func (j *job) last() bool { return j.attempts >= j.p.cfg.MaxReceiveCount }

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

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
