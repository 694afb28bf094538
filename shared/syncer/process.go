package syncer

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// errInProgress marks errBusy through detail's copies.
var errInProgress = errors.New("sync: the same call is in progress elsewhere")

// errBusy: another worker holds the claim on the same marketplace call.
var errBusy = syncerr.E(syncerr.MarketplaceUnavailable, "reason", "in progress elsewhere").Wrap(errInProgress)

// infraError marks a failure of ordersync's own storage.
type infraError struct{ err error }

func (e *infraError) Error() string { return e.err.Error() }
func (e *infraError) Unwrap() error { return e.err }

func infra(err error) error {
	if err == nil {
		return nil
	}
	return &infraError{err}
}

// sync applies the event and brings the marketplace to the resulting state.
func (j *job) sync(ctx context.Context) error {
	p, e := j.p, j.event
	conn, err := p.store.Connection(ctx, e.Connection)
	if errors.Is(err, order.ErrNotFound) {
		return syncerr.E(syncerr.InvalidData, "field", "connection "+e.Connection)
	}
	if err != nil {
		return infra(err)
	}
	j.conn = conn
	switch e.Intent {
	case order.IntentImport:
		return j.importOrder(ctx)
	case order.IntentUpdate:
		// A change to an order never imported (a re-sync after a failed
		// import, say) is an import, where the connection imports.
		if conn.ImportOrders && e.Order.StoreOrderID == "" && e.Order.MarketplaceOrderID != "" {
			st, err := p.store.LoadOrder(ctx, conn.ID, e.Order.MarketplaceOrderID)
			if errors.Is(err, order.ErrNotFound) || (err == nil && st.Ref.StoreOrderID == "") {
				return j.importOrder(ctx)
			}
		}
	default:
		return syncerr.E(syncerr.InvalidData, "field", "intent "+string(e.Intent))
	}
	mkID := e.Order.MarketplaceOrderID
	if mkID == "" && e.Order.StoreOrderID != "" {
		mkID, err = p.store.FindOrder(ctx, conn.ID, e.Order.StoreOrderID)
		if err != nil && !errors.Is(err, order.ErrNotFound) {
			return infra(err)
		}
	}
	if mkID == "" && e.Order.ClaimedMarketplaceOrderID != "" {
		// The store order names a marketplace order only through data
		// its buyer can write, and ordersync never linked the two: hold
		// it for the merchant, never sync it (it could be another
		// buyer's order).
		j.state = order.State{Connection: conn.ID, Ref: order.Ref{StoreOrderID: e.Order.StoreOrderID, StoreOrderName: e.Order.StoreOrderName}}
		return detail(syncerr.E(syncerr.OrderLinkUnverified, "value", e.Order.ClaimedMarketplaceOrderID), j.state.Ref, conn)
	}
	if mkID == "" {
		// A store order no marketplace order is linked to: one the
		// merchant sold in its own shop. Nothing to sync.
		p.log.Debug("not a marketplace order; ignored", "connection", conn.ID, "store_order", e.Order.StoreOrderID)
		return nil
	}
	stored, err := j.load(ctx, mkID)
	if err != nil {
		return err
	}
	if e.Order.StoreOrderID != "" && e.Order.MarketplaceOrderID != "" {
		// The event names both orders (Shopify's note attribute, which a
		// buyer can set too): never let a store order take over a
		// marketplace order linked to another.
		if st := stored.Ref.StoreOrderID; st != "" && st != e.Order.StoreOrderID {
			p.log.Warn("event ignored: its store order names a marketplace order linked to another store order",
				"connection", conn.ID, "store_order", e.Order.StoreOrderID, "marketplace_order", mkID)
			return nil
		}
	}
	// The store order's link is made by the first write of the state that
	// names it (SaveOrder links before it writes), with the closed order's
	// expiry when the event closes it: one write, not a put and then an
	// update.
	events := []order.Event{e}
	if e.Fetch {
		fresh, err := j.fromStore(ctx, e.Order.StoreOrderID)
		if err != nil {
			j.state = order.State{Connection: conn.ID, Ref: order.Ref{MarketplaceOrderID: mkID, StoreOrderID: e.Order.StoreOrderID, StoreOrderName: e.Order.StoreOrderName}}
			return detail(err, j.state.Ref, conn)
		}
		events = []order.Event{fresh}
	} else if fresh, ok := j.refetch(ctx, stored); ok {
		events = append(events, fresh)
	}
	j.applyLater(stored, events...)
	if conn.Paused {
		return pausedError(conn, j.state.Ref)
	}
	mp, err := p.mps.Marketplace(ctx, conn)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	for range maxReplans {
		remote, err := mp.Order(ctx, mkID)
		if err != nil {
			return detail(err, j.state.Ref, conn)
		}
		if err := j.reach(ctx, mp, remote, WantOf(j.state)); !errors.Is(err, errSuperseded) {
			return err
		}
		// A newer change to the order came in while this plan ran. Its
		// worker may have left its plan undone (a call it needed was this
		// one's, in progress): plan again on the newer word rather than
		// leave the order behind.
		st, err := j.load(ctx, mkID)
		if err != nil {
			return err
		}
		j.state, j.basis = st, basis(st)
		if j.state.Sync.Result == order.SyncFailed || j.state.Sync.Result == order.SyncHeld {
			// The newer word failed on its own merits; its worker has
			// recorded and told it.
			return nil
		}
	}
	return nil
}

// maxReplans bounds how often one delivery plans again on newer words.
const maxReplans = 3

// errSuperseded: the order changed since the plan was made; the outcome
// was not recorded.
var errSuperseded = errors.New("sync: superseded by a newer change to the order")

// reach makes the calls that bring the marketplace order remote to want,
// and records the order synced.
func (j *job) reach(ctx context.Context, mp Marketplace, remote order.MarketplaceOrder, want rules.Want) error {
	// Whatever ends the plan gives back the claims it did not use, the
	// accept an import claimed with itself among them.
	defer j.releaseUnused(ctx, remote.ID)
	conn := j.conn
	want, err := j.marketplaceSKUs(ctx, remote, want)
	if err != nil {
		return err
	}
	j.want = want
	steps, err := rules.Plan(conn.Marketplace.Platform, mp.Capabilities(), remote, want)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	j.noteMarketplaceRefunds(remote)
	if err := j.claimAll(ctx, remote.ID, steps); err != nil {
		return err
	}
	for i, s := range steps {
		if err := j.call(ctx, mp, remote, s); err != nil {
			if s.Action == rules.ActionCancelLines && syncerr.CodeOf(err) == syncerr.CancelUnsupported {
				// The marketplace refused the lines after all (Mirakl
				// configured without partial acceptance): explained once,
				// like what it was known not to take; the rest goes on.
				j.refusedCancel = err
				continue
			}
			if s.Action == rules.ActionRefundLines && syncerr.CodeOf(err) == syncerr.RefundUnsupported {
				// The marketplace could not refund the lines after all
				// (Mirakl states no amount for one): explained once, like
				// what it was known not to take.
				j.refusedRefund, j.refusedLines = err, s.Lines
				continue
			}
			return detail(err, j.state.Ref, conn)
		}
		if s.Action == rules.ActionCancelLines && i+1 < len(steps) {
			// The calls after it (an accept of every line awaiting it)
			// must not see the cancelled lines live.
			if fresh, err := mp.Order(ctx, remote.ID); err == nil {
				remote = fresh
			}
		}
	}
	after := remote.Status
	if len(steps) > 0 {
		if fresh, err := mp.Order(ctx, remote.ID); err == nil {
			after = fresh.Status
			remote = fresh
			j.noteMarketplaceRefunds(fresh) // a refund the calls made
			// Every call said yes; check the order shows it before
			// calling it synced (a call may have been cut half-way).
			if rest, err := rules.Plan(conn.Marketplace.Platform, mp.Capabilities(), fresh, want); err == nil && len(j.unrefused(rest)) > 0 {
				// It answered: the words must not say it did not.
				return detail(syncerr.E(syncerr.MarketplaceOutOfStep, "reason", "not every change shows on the marketplace yet"), j.state.Ref, conn)
			}
		}
	}
	if err := j.unsent(mp, remote, want); err != nil {
		return detail(err, j.state.Ref, conn)
	}
	prev := j.state.Sync
	superseded, err := j.saveOutcome(ctx, order.SyncOutcome{Result: order.SyncSynced, Attempts: j.attempts}, func(s *order.State) {
		s.MarketplaceStatus, s.MarketplaceState = after, remote.State
	})
	if err != nil {
		return infra(err)
	}
	if superseded {
		return errSuperseded
	}
	if told := toldCodes(toldOf(prev)); len(told) > 0 {
		var keys []string
		for _, code := range told {
			keys = append(keys, notifyKey(j.state, code))
			if syncerr.Lookup(syncerr.Code(code)).Kind == syncerr.Auth {
				// An order held by a pause synced: the connection works,
				// so a later expiry is news again.
				keys = append(keys, ConnectionNoticeKey(conn.ID, code))
			}
		}
		_ = j.p.store.ClearNotified(ctx, keys...)
	}
	return nil
}

// toldOf are the error codes whose email marks the run of failures that
// ended in prev set (SyncOutcome.Told): none after transient failures
// retried, which tell nobody. A failed or held state saved before Told
// was kept names its own code.
func toldOf(prev order.SyncOutcome) string {
	if prev.Told != "" || prev.Result == order.SyncPending || prev.Result == order.SyncSynced {
		return prev.Told
	}
	return prev.ErrorCode
}

// maxTold bounds the codes a Told keeps (the order's state should fit a
// write unit): past it the oldest is dropped, and its mark is left to
// expire (Config.NotifyTTL).
const maxTold = 8

// toldCodes are the codes of a Told, oldest first.
func toldCodes(told string) []string {
	if told == "" {
		return nil
	}
	return strings.Split(told, ",")
}

// withTold is told with code added, once, as the newest.
func withTold(told, code string) string {
	codes := slices.DeleteFunc(toldCodes(told), func(c string) bool { return c == code })
	if code != "" {
		codes = append(codes, code)
	}
	return strings.Join(codes[max(0, len(codes)-maxTold):], ",")
}

// unrefused are the steps left of a plan made after the calls, less those
// the marketplace answered it cannot take (a line cancel Mirakl refuses,
// partial cancelation not enabled for the shop; the refund of lines whose
// amounts it does not state): they are explained, not out of step.
func (j *job) unrefused(steps []rules.Step) []rules.Step {
	return slices.DeleteFunc(slices.Clone(steps), func(s rules.Step) bool {
		return (s.Action == rules.ActionCancelLines && j.refusedCancel != nil) ||
			(s.Action == rules.ActionRefundLines && j.refusedRefund != nil)
	})
}

// resolvedBy names what synced an order whose last sync had failed: a
// change from the store, or ordersync's own event by its topic.
func resolvedBy(e order.Event) string {
	if (e.Source == sourceRefresh || e.Source == sourceResync) && e.Topic != "" {
		return e.Topic
	}
	if e.Intent == order.IntentImport {
		return "import"
	}
	return "webhook"
}

// The sources of ordersync's own events: refresh.Source and
// merchantapi.Source (both import the syncer).
const (
	sourceRefresh order.Platform = "ordersync"
	sourceResync  order.Platform = "resync"
)

// pausedError is the error of a sync on a paused connection: the code
// that paused it, for the side that refused.
func pausedError(conn order.Connection, ref order.Ref) error {
	if conn.PausedCode == string(syncerr.StoreDisconnected) {
		return syncerr.E(syncerr.StoreDisconnected, "store", conn.Store.Platform.DisplayName(), "order", ref.Name())
	}
	if conn.PausedCode == order.PausedByMerchant {
		return syncerr.E(syncerr.ConnectionPaused, "marketplace", conn.Marketplace.Platform.DisplayName(), "order", ref.Name())
	}
	return syncerr.E(syncerr.AuthExpired, "marketplace", conn.Marketplace.Platform.DisplayName(), "order", ref.Name())
}

// fromStore reads a store order as an event of this job's connection.
func (j *job) fromStore(ctx context.Context, storeOrderID string) (order.Event, error) {
	if j.p.stores == nil || storeOrderID == "" {
		return order.Event{}, syncerr.E(syncerr.PlatformUnsupported, "platform", string(j.conn.Store.Platform))
	}
	sf, err := j.p.stores.Storefront(ctx, j.conn)
	if err != nil {
		return order.Event{}, err
	}
	e, err := sf.Order(ctx, storeOrderID)
	if err != nil {
		return order.Event{}, err
	}
	e.Connection, e.SourceEventID, e.Fetch = j.conn.ID, j.event.SourceEventID, false
	if e.Order.StoreOrderID == "" {
		e.Order.StoreOrderID = storeOrderID
	}
	return e, nil
}

// refetch reads the store order again, best effort, when the order's last
// sync failed: what the merchant fixed since is in the store.
func (j *job) refetch(ctx context.Context, st order.State) (order.Event, bool) {
	if j.p.stores == nil || (st.Sync.Result != order.SyncFailed && st.Sync.Result != order.SyncHeld) {
		return order.Event{}, false
	}
	id := cmp.Or(j.event.Order.StoreOrderID, st.Ref.StoreOrderID)
	e, err := j.fromStore(ctx, id)
	if err != nil {
		j.p.log.Info("could not read the order from the store; using what ordersync holds", "store_order", id, "err", err)
		return order.Event{}, false
	}
	return e, true
}

// load reads the stored order, or the empty state of a new one.
func (j *job) load(ctx context.Context, mkID string) (order.State, error) {
	st, err := j.p.store.LoadOrder(ctx, j.conn.ID, mkID)
	if errors.Is(err, order.ErrNotFound) {
		return order.State{Connection: j.conn.ID, Ref: order.Ref{MarketplaceOrderID: mkID}}, nil
	}
	if err != nil {
		return order.State{}, infra(err)
	}
	if !j.loaded {
		// As the delivery found the order: a first receive of an event
		// the order records failed for good is a redrive of it (a later
		// receive is the same message again).
		j.loaded = true
		if j.attempts == 1 {
			j.redrivenFor, _ = st.DeadLettered(j.event.SourceEventID)
		}
	}
	return st, nil
}

// applyEvent merges the events into st, the order as last read, and saves
// it, reading it again after a lost race.
func (j *job) applyEvent(ctx context.Context, st order.State, events ...order.Event) error {
	mkID := st.Ref.MarketplaceOrderID
	for i := range 5 {
		if i > 0 {
			var err error
			if st, err = j.load(ctx, mkID); err != nil {
				return err
			}
		}
		next, changed := j.merge(st, events)
		if !changed && st.Version > 0 {
			j.state = st
			j.basis = basis(st)
			return nil
		}
		j.stamp(&next, false, j.refundEntries(st, next)...)
		saved, err := j.p.store.SaveOrder(ctx, next)
		if errors.Is(err, order.ErrConflict) {
			continue
		}
		if err != nil {
			return infra(err)
		}
		j.written()
		j.state = saved
		j.basis = basis(saved)
		return nil
	}
	return infra(fmt.Errorf("sync: order %s: too many concurrent writers", mkID))
}

// merge applies the events to st.
func (j *job) merge(st order.State, events []order.Event) (order.State, bool) {
	next, changed := st, false
	for _, e := range events {
		var c bool
		next, c = rules.Apply(next, e)
		changed = changed || c
	}
	next.Ref.MarketplaceOrderID = st.Ref.MarketplaceOrderID
	if next.Ref.StoreOrderID == "" {
		next.Ref.StoreOrderID, next.Ref.StoreOrderName = j.event.Order.StoreOrderID, j.event.Order.StoreOrderName
	}
	return next, changed
}

// applyLater merges the events into st, the order as last read, without
// writing it: the outcome's write (saveOutcome) carries the change, so a
// sync that goes well writes the order once. Until then the change is
// only this job's; flush writes it alone where another worker must see
// it first (a call this event needs is in progress elsewhere), and
// saveOutcome does after a lost race.
func (j *job) applyLater(st order.State, events ...order.Event) {
	next, changed := j.merge(st, events)
	if !changed && st.Version > 0 {
		j.state, j.basis = st, basis(st)
		return
	}
	j.state, j.basis = next, basis(next)
	j.unsaved, j.changed = events, true
	// The store refunds the events bring, for the timeline of the write
	// that carries them (applyEvent notes its own after a lost race).
	j.unsavedRefunds = j.refundEntries(st, next)
}

// flush writes the change applyLater kept, on the order as stored now
// (applyEvent). It reports superseded when what is stored then plans
// otherwise than this job did: another worker's newer word holds.
func (j *job) flush(ctx context.Context) (superseded bool, err error) {
	if j.unsaved == nil {
		return false, nil
	}
	planned := j.basis
	fresh, err := j.load(ctx, j.state.Ref.MarketplaceOrderID)
	if err != nil {
		return false, err
	}
	events := j.unsaved
	j.unsaved, j.unsavedRefunds = nil, nil
	if err := j.applyEvent(ctx, fresh, events...); err != nil {
		return false, err
	}
	return j.basis != planned, nil
}

// saveOutcome records how the sync ended. It reports superseded, and
// writes nothing, when another worker changed what this one planned on
// (the store's side of the order) since: that worker's outcome is the one
// that holds. err is a storage failure.
func (j *job) saveOutcome(ctx context.Context, out order.SyncOutcome, also ...func(*order.State)) (superseded bool, err error) {
	if j.state.Ref.MarketplaceOrderID == "" {
		return false, nil // no order to record it on; the DLQ and error list still have it
	}
	out.At = j.p.cfg.Now().UTC()
	told := out.Told // this outcome's own
	for range 5 {
		st := j.state
		if out.Result != order.SyncSynced {
			out.FirstFailedAt = st.Sync.FirstFailedAt
			if out.FirstFailedAt.IsZero() || st.Sync.Result == order.SyncSynced {
				out.FirstFailedAt = out.At
			}
			// The codes told earlier in the run, and this outcome's.
			out.Told = withTold(toldOf(st.Sync), told)
		}
		var resolved *order.Resolution
		was := st.Sync.Result
		if out.Result == order.SyncSynced {
			switch {
			case st.Unsettled() && st.Sync.ErrorCode != "":
				// The order's failure ends here: say when and by what.
				st.Resolved = &order.Resolution{Code: st.Sync.ErrorCode, At: out.At, How: resolvedBy(j.event)}
				resolved = st.Resolved
			case j.event.Topic == order.TopicMerchantLink && j.event.Source == sourceResync:
				// The merchant's link ends the hold of a store order that
				// named this order unverified: the hold was recorded with
				// the store order alone (the error's claimed id), never on
				// this order's state.
				st.Resolved = &order.Resolution{Code: string(syncerr.OrderLinkUnverified), At: out.At, How: order.TopicMerchantLink}
				resolved = st.Resolved
			}
			st.RefreshTries = 0
		}
		out.Since = out.At
		if was, now := order.SyncStateOf(st.Sync, syncerr.IsTransient), order.SyncStateOf(out, syncerr.IsTransient); was == now && !st.Sync.At.IsZero() {
			// Where it stood: its place in the listing stays.
			out.Since = cmp.Or(st.Sync.Since, st.Sync.At)
		}
		st.Sync = out
		for _, f := range also {
			f(&st)
		}
		st.AddCalls(j.made...)
		for _, f := range j.extra {
			f(&st)
		}
		entries, quiet := j.outcomeEntries(out, resolved, was)
		j.stamp(&st, quiet, append(slices.Clone(j.unsavedRefunds), entries...)...)
		saved, err := j.p.store.SaveOrder(ctx, st)
		if err == nil {
			j.written()
			j.state, j.unsaved, j.unsavedRefunds, j.made = saved, nil, nil, nil
			return false, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			j.p.log.Error("could not record the sync outcome", "err", err)
			return false, err
		}
		if j.unsaved != nil {
			// Another worker wrote the order since this job read it:
			// this event's change goes on the order as it is now first.
			superseded, err := j.flush(ctx)
			if err != nil {
				j.p.log.Error("could not record the sync outcome", "err", err)
				return false, err
			}
			if superseded {
				return true, nil
			}
			continue
		}
		fresh, err := j.p.store.LoadOrder(ctx, st.Connection, st.Ref.MarketplaceOrderID)
		if err != nil {
			j.p.log.Error("could not record the sync outcome", "err", err)
			return false, err
		}
		if j.basis != "" && basis(fresh) != j.basis {
			return true, nil
		}
		j.state = fresh
	}
	return false, fmt.Errorf("sync: order %s: too many concurrent writers", j.state.Ref.MarketplaceOrderID)
}

// basis is a digest of the store's side of an order: what a sync plans on.
func basis(s order.State) string {
	b, _ := json.Marshal(struct {
		Status       order.Status
		At           time.Time
		Parcels      []order.Parcel
		Cancel       string
		Lines        []order.Line
		Address      *order.Address
		StoreOrderID string
		Override     *order.Override // the merchant's fix changes the plan too
		Refunds      []order.Refund  `json:",omitempty"`
	}{s.StoreStatus, s.StoreUpdatedAt, s.Parcels, s.CancelReason, s.Lines, s.ShippingAddress, s.Ref.StoreOrderID, s.Override, s.Refunds})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// heldClaim is what a claim of a call found (with its token, when this
// job took it), and when it was asked for.
type heldClaim struct {
	Claim
	at time.Time
}

// claimAll claims, in one write, the calls of the plan not made yet nor
// claimed already (an import claims its accept with itself): a plan of an
// accept and a shipment pays one claim, not one per call. Each call takes
// its claim as it is made (call); releaseUnused gives back those the job
// did not get to.
func (j *job) claimAll(ctx context.Context, orderID string, steps []rules.Step) error {
	var keys []string
	for _, s := range steps {
		key := effectKey(j.conn.ID, orderID, j.intent(s))
		if _, held := j.claims[key]; held {
			continue
		}
		if !j.state.CallMade(key) && !slices.Contains(j.made, key) && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	at := time.Now()
	got, err := j.p.store.ClaimEffects(ctx, effectScope(j.conn.ID, orderID), keys, j.p.cfg.EffectLease)
	if err != nil {
		return infra(err)
	}
	if j.claims == nil {
		j.claims = map[string]heldClaim{}
	}
	for i, k := range keys {
		j.claims[k] = heldClaim{Claim: got[i], at: at}
	}
	return nil
}

// claimOf is the claim of the call named by key: the one claimAll took,
// renewed if it is older than half its lease (the calls before it were
// slow), else a new one. It answers with how long the call may take.
func (j *job) claimOf(ctx context.Context, orderID, key string) (Claim, time.Duration, error) {
	scope, lease := effectScope(j.conn.ID, orderID), j.p.cfg.EffectLease
	held, ok := j.claims[key]
	delete(j.claims, key)
	switch {
	case ok && held.State == EffectClaimed && time.Since(held.at) > lease/2:
		// Renewed only if it is still this job's claim: past its lease
		// another worker may have taken it over (and made the call), and
		// that claim is not this job's to drop or take.
		at := time.Now()
		got, renewed, err := j.p.store.RenewEffect(ctx, scope, key, held.Token)
		if err != nil {
			return Claim{}, 0, infra(err)
		}
		if !renewed {
			return got, 0, nil
		}
		held = heldClaim{Claim: got, at: at}
	case !ok || held.State == EffectBusy:
		// Not claimed with the plan, or busy then: another worker's claim
		// may have ended since.
		at := time.Now()
		got, err := j.p.store.ClaimEffects(ctx, scope, []string{key}, lease)
		if err != nil {
			return Claim{}, 0, infra(err)
		}
		held = heldClaim{Claim: got[0], at: at}
	}
	// The call must end while the claim holds: past its lease, another
	// worker may take the claim over and make the call too.
	return held.Claim, lease*9/10 - time.Since(held.at), nil
}

// releaseUnused gives back the claims claimAll took for calls the job did
// not make (a call before them failed), and those of calls that certainly
// failed, in one write, each only while it is still this job's. It runs
// past the job's own deadline, briefly: a claim left would hold the call
// for its lease.
func (j *job) releaseUnused(ctx context.Context, orderID string) {
	claims := j.failed
	for k, held := range j.claims {
		if held.State == EffectClaimed {
			if claims == nil {
				claims = map[string]int64{}
			}
			claims[k] = held.Token
		}
	}
	j.claims, j.failed = nil, nil
	if len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := j.p.store.ReleaseEffects(ctx, effectScope(j.conn.ID, orderID), claims); err != nil {
		j.p.log.Error("could not release the claims of calls not made; they hold until their lease ends", "err", err)
	}
}

// releaseTimeout bounds releaseUnused's write.
const releaseTimeout = 5 * time.Second

// effectScope names an order's calls for Store.ClaimEffects.
func effectScope(conn, orderID string) string { return conn + "#" + orderID }

// call makes one marketplace call at most once per business identity.
func (j *job) call(ctx context.Context, mp Marketplace, remote order.MarketplaceOrder, s rules.Step) error {
	key := effectKey(j.conn.ID, remote.ID, j.intent(s))
	if j.state.CallMade(key) || slices.Contains(j.made, key) {
		j.noteCall(j.conn.Marketplace.Platform, s.Action, nil, "made before; not sent again")
		return nil
	}
	claim, left, err := j.claimOf(ctx, remote.ID, key)
	if err != nil {
		return err
	}
	switch claim.State {
	case EffectDone:
		j.noteCall(j.conn.Marketplace.Platform, s.Action, nil, "made before; not sent again")
		return nil
	case EffectBusy:
		return errBusy
	}
	cctx, cancel := context.WithTimeout(ctx, left)
	switch s.Action {
	case rules.ActionAccept:
		err = mp.Accept(cctx, remote)
	case rules.ActionShip:
		err = mp.Ship(cctx, remote, s.Parcel)
	case rules.ActionCancel:
		err = mp.Cancel(cctx, remote, j.state.CancelReason)
	case rules.ActionCancelLines:
		if lc, ok := mp.(LineCanceller); ok {
			err = lc.CancelLines(cctx, remote, s.Lines, j.state.CancelReason)
		} else {
			err = syncerr.E(syncerr.CancelUnsupported)
		}
	case rules.ActionRefundLines:
		if lr, ok := mp.(LineRefunder); ok {
			err = lr.RefundLines(cctx, remote, s.Lines)
		} else {
			err = syncerr.E(syncerr.RefundUnsupported)
		}
	default:
		err = fmt.Errorf("sync: unknown step %q", s.Action)
	}
	cancel()
	j.noteCall(j.conn.Marketplace.Platform, s.Action, err, "")
	if err == nil {
		// Confirmed by the outcome's write, which names it (State.Calls),
		// or else at the job's end (confirmCalls).
		j.made = append(j.made, key)
		return nil
	}
	if outcomeUnknown(err) {
		// The call may have landed: look before anyone calls again.
		switch landed, lerr := j.landed(ctx, mp, remote.ID, key, s.Action, s.Parcel.ID); {
		case lerr != nil:
			// Cannot tell. Keep the claim: no one calls again before the
			// lease runs out, and every try reads the order first.
			j.p.log.Warn("call outcome unknown and the order could not be read", "err", lerr)
			return err
		case landed:
			j.p.log.Info("call timed out but the marketplace shows it made", "action", string(s.Action))
			j.noteCall(j.conn.Marketplace.Platform, s.Action, nil, "answer lost; the marketplace shows it made")
			if cerr := j.p.store.ConfirmEffects(ctx, effectScope(j.conn.ID, remote.ID), key); cerr != nil {
				j.p.log.Error("could not confirm the call", "err", cerr)
			}
			return nil
		}
		// Not seen yet; but marketplaces' reads may lag their writes, so
		// keep the claim: the call is made again only once its lease ran
		// out, from a plan on a read made then.
		j.p.log.Warn("call's answer lost and the order does not show it yet; it may be made again after the lease",
			"action", string(s.Action), "lease", j.p.cfg.EffectLease.String())
		return err
	}
	// It certainly failed: its claim goes back with the unused ones.
	if j.failed == nil {
		j.failed = map[string]int64{}
	}
	j.failed[key] = claim.Token
	return err
}

// landed reads the marketplace order again and reports whether the call
// named by key is no longer needed: the order already shows its effect.
func (j *job) landed(ctx context.Context, mp Marketplace, id, key string, action rules.Action, parcel string) (bool, error) {
	fresh, err := mp.Order(ctx, id)
	if err != nil {
		return false, err
	}
	steps, err := rules.Plan(j.conn.Marketplace.Platform, mp.Capabilities(), fresh, j.want)
	if err != nil {
		return false, err
	}
	for _, s := range steps {
		// The same call, or what is left of it (Back Market ships line by
		// line: a cut call leaves a smaller step for the same parcel).
		if effectKey(j.conn.ID, fresh.ID, j.intent(s)) == key || (s.Action == action && s.Parcel.ID == parcel) {
			return false, nil
		}
	}
	return true, nil
}

// outcomeUnknown reports whether a failed call may still have been applied:
// a timeout, a cancelled context or a broken connection, rather than an
// answer; or a call that made part of its change.
func outcomeUnknown(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, syncerr.ErrPartlyApplied) || (errors.As(err, &ne) && ne.Timeout())
}

// intent is the business action a step is part of: a shipment names the
// store's whole parcel, not the lines the marketplace still shows unshipped,
// so a worker that reads the order while another's shipment is half made
// plans the rest under the same claim, and waits for it.
func (j *job) intent(s rules.Step) rules.Step {
	if s.Action != rules.ActionShip {
		return s
	}
	for _, p := range j.want.Parcels {
		if p.ID != "" && p.ID == s.Parcel.ID {
			s.Parcel.Lines = p.Lines
			return s
		}
	}
	return s
}

// effectKey names a marketplace call by what it does to which order, never
// by message: a redelivered, redriven or replayed event maps to the same key.
func effectKey(conn, orderID string, s rules.Step) string {
	h := sha256.New()
	b, _ := json.Marshal(struct {
		C, O string
		S    rules.Step
	}{conn, orderID, s})
	h.Write(b)
	return conn + "#" + orderID + "#" + string(s.Action) + "#" + hex.EncodeToString(h.Sum(nil)[:12])
}

// detail adds the order and marketplace to a classified error, for the
// merchant's words.
func detail(err error, ref order.Ref, conn order.Connection) error {
	e, ok := syncerr.As(err)
	if !ok {
		e = syncerr.E(syncerr.MarketplaceUnavailable).Wrap(err)
	}
	c := *e
	c.Details = map[string]string{"order": ref.Name(), "marketplace": conn.Marketplace.Platform.DisplayName(), "platform": string(conn.Marketplace.Platform)}
	for k, v := range e.Details {
		c.Details[k] = v
	}
	return &c
}

func notifyKey(s order.State, code string) string {
	return s.Connection + "#" + s.Ref.MarketplaceOrderID + s.Ref.StoreOrderID + "#" + code
}

// confirmCalls confirms the claims of the calls this job made that no
// write of the order named (it was superseded, or failed): a claim left
// unconfirmed could be taken over once its lease ran out.
func (j *job) confirmCalls(ctx context.Context) {
	if len(j.made) > 0 {
		if err := j.p.store.ConfirmEffects(ctx, effectScope(j.conn.ID, j.state.Ref.MarketplaceOrderID), j.made...); err != nil {
			j.p.log.Error("calls made but not confirmed; the next try reads the marketplace first", "err", err)
		}
	}
	j.made = nil
}
