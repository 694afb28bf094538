// Package refresh is the hourly safety net under the webhooks. A
// dispatcher (Dispatch) puts one job per connection on the refresh queue;
// a worker (Refresher.Refresh) refreshes one connection per job:
//
//   - it sweeps the webhook's ledger: an accepted event no sync finished
//     within an hour is queued again (ledger.go);
//   - it probes a paused connection and resumes it once its credentials
//     work again;
//   - it lists the orders changed on both sides since each side's
//     checkpoint (read with an overlap) and reconciles them: a store change
//     ordersync never applied (a lost webhook) is queued; a marketplace
//     behind the store gets a sync; a marketplace order moved in its back
//     office is recorded and never fought; a marketplace edit is brought
//     up to date only while the order is pending (rules.CheckEdit); a new
//     marketplace order is queued for import where the connection imports;
//   - it gives the orders that did not sync (a durable index of them)
//     another try where their cause may be gone: a pause ended, or an
//     outage outlasted the quick retries (bounded, MaxRefreshTries);
//   - it stores a drift report of what it found.
//
// Everything it queues is an ordinary sync event: the sync decides, and
// is idempotent, so a refresh that runs twice does no harm.
package refresh

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Source marks the events the refresh puts on the sync queue.
const Source order.Platform = "ordersync"

// The topics of the refresh's events: the sync records the topic as what
// resolved an order's failure.
const (
	TopicImport       = "marketplace/order"
	TopicStoreChanged = "refresh/store-changed"
	TopicBehind       = "refresh/behind"
	TopicRetry        = "refresh/retry"
	TopicResumed      = "connection/resumed"
	TopicEdited       = "refresh/marketplace-edit"
)

// FirstWindow is how far back the first refresh of a connection looks.
const FirstWindow = 24 * time.Hour

// Config is the refresh's policy. Zero fields take the defaults.
type Config struct {
	// Overlap is how far before its checkpoint each side is listed again:
	// it covers clock skew between ordersync and a platform and a listing
	// index that lags. Default 10 minutes.
	Overlap time.Duration
	// Settle is how recent a store change may be and still be left to its
	// webhook: younger changes wait for the next run (which lists them
	// again: Settle is below Overlap). Default 5 minutes.
	Settle time.Duration
	// InFlight is how long an order whose sync is retrying (pending) is
	// left to its quick retries before the refresh tries it. Default 1 hour.
	InFlight time.Duration
	// MaxRefreshTries bounds the refreshes that give one failed order
	// another try (an outage outlasting the quick retries heals by
	// itself; a dead one stops being tried). Default 24, a day.
	MaxRefreshTries int
	// UnsettledLimit is how many unsettled orders of one connection one run
	// looks at, oldest first. Default 1000.
	UnsettledLimit int
}

func (c Config) withDefaults() Config {
	c.Overlap = cmp.Or(c.Overlap, 10*time.Minute)
	c.Settle = cmp.Or(c.Settle, 5*time.Minute)
	c.InFlight = cmp.Or(c.InFlight, time.Hour)
	c.MaxRefreshTries = cmp.Or(c.MaxRefreshTries, 24)
	c.UnsettledLimit = cmp.Or(c.UnsettledLimit, 1000)
	return c
}

// Refresher runs the refresh of one connection at a time; it is safe for
// concurrent use.
type Refresher struct {
	cfg    Config
	store  Store
	mps    syncer.Marketplaces
	stores syncer.Storefronts
	queue  Queue
	log    *slog.Logger
	now    func() time.Time
	// ledger, when set, is swept for accepted events never synced.
	ledger   Ledger
	sweepCfg SweepConfig
	// aliases, when set, are the merchant's SKU aliases (see WithAliases).
	aliases syncer.Aliases
}

// New returns a Refresher with the default Config.
func New(store Store, mps syncer.Marketplaces, queue Queue, log *slog.Logger) *Refresher {
	return &Refresher{cfg: Config{}.withDefaults(), store: store, mps: mps, queue: queue, log: log, now: time.Now}
}

// WithConfig sets the refresh's policy.
func (r *Refresher) WithConfig(c Config) *Refresher {
	r.cfg = c.withDefaults()
	return r
}

// WithStorefronts lets the refresh list the store's side of each
// connection, and check a store's credentials to resume a connection
// paused with store_disconnected.
func (r *Refresher) WithStorefronts(s syncer.Storefronts) *Refresher {
	r.stores = s
	return r
}

// WithAliases lets the refresh plan as the sync does where the merchant
// set SKU aliases (syncer.MarketplaceWant), so that an order whose store
// SKU is aliased is found behind like any other, and compare a
// marketplace order's lines with those the import stored in the store's
// SKUs, so that an aliased line is no edit. The aliases are read at most
// once per run, and only when an order needs them: one with a parcel line
// whose SKU the marketplace order lacks (syncer.NeedsAlias), or whose
// lines differ from the stored ones as they are.
func (r *Refresher) WithAliases(a syncer.Aliases) *Refresher {
	r.aliases = a
	return r
}

// Dispatch puts one job per connection on the refresh queue, for the run
// scheduled at at. It returns how many it queued.
func Dispatch(ctx context.Context, conns Connections, jobs Jobs, at time.Time) (int, error) {
	cs, err := conns.Connections(ctx)
	if err != nil {
		return 0, fmt.Errorf("refresh: list connections: %w", err)
	}
	js := make([]Job, len(cs))
	for i, c := range cs {
		js[i] = Job{Connection: c.ID, At: at.UTC()}
	}
	if err := jobs.SendJobs(ctx, js); err != nil {
		return 0, fmt.Errorf("refresh: queue jobs: %w", err)
	}
	return len(js), nil
}

// Refresh refreshes one connection as of job.At: the refresh worker's
// work for one job of the refresh queue. An error means the job should be
// tried again (and, after the queue's tries, dead-lettered with the
// error's code and message); a connection the store does not know is a
// wrapped order.ErrNotFound, not worth another try. Running a job twice
// is harmless.
func (r *Refresher) Refresh(ctx context.Context, job Job) (Report, error) {
	c, err := r.store.Connection(ctx, job.Connection)
	if err != nil {
		return Report{Connection: job.Connection, At: job.At}, fmt.Errorf("refresh %s: %w", job.Connection, err)
	}
	run := &run{r: r, c: c, at: job.At.UTC(), rep: Report{Connection: c.ID, At: job.At.UTC()}}
	if err := run.do(ctx); err != nil {
		return run.rep, fmt.Errorf("refresh %s: %w", c.ID, err)
	}
	run.rep.FinishedAt = r.now().UTC()
	if err := r.store.SaveReport(ctx, run.rep); err != nil {
		return run.rep, fmt.Errorf("refresh %s: save report: %w", c.ID, err)
	}
	return run.rep, nil
}

// run is one connection's refresh.
type run struct {
	r   *Refresher
	c   order.Connection
	at  time.Time
	rep Report

	mp     syncer.Marketplace
	states map[string]order.State // by marketplace order id
	queued map[string]bool        // marketplace order ids with an event queued
	out    []order.Event          // the events to queue
	saves  map[string]order.State // states to write back
	seen   map[string]bool        // orders listed on either side
	errs   []order.ErrorRecord    // refused edits, for the error list
	noted  map[string]bool        // orders under a heading of the report

	// The connection's SKU aliases both ways, once read; aliasesFailed
	// when that read failed.
	aliasesRead, aliasesFailed bool
	toMarketplace, toStore     map[string]string
}

// skuAliases returns the connection's aliases, read once per run: store
// SKU to marketplace SKU, and back. A read that fails is logged and taken
// as none (ok false): the order is then planned on the store's SKUs, as
// without aliases (and found not behind, at worst).
func (u *run) skuAliases(ctx context.Context) (toMarketplace, toStore map[string]string, ok bool) {
	if u.r.aliases == nil || u.aliasesRead {
		return u.toMarketplace, u.toStore, !u.aliasesFailed
	}
	u.aliasesRead = true
	list, _, err := u.r.aliases.SKUAliases(ctx, u.c.ID, "", order.MaxSKUAliases)
	if err != nil {
		u.r.log.Warn("could not read the SKU aliases; planning without them", "connection", u.c.ID, "err", err)
		u.aliasesFailed = true
		return nil, nil, false
	}
	u.toMarketplace, u.toStore = order.AliasMaps(list)
	return u.toMarketplace, u.toStore, true
}

// note lists the order mk under a heading of the report.
func (u *run) note(h *Orders, mk string) {
	h.Add(mk)
	u.noted[mk] = true
}

func (u *run) do(ctx context.Context) error {
	r, c := u.r, u.c
	// First, and whatever the rest finds: a lost event waits on no
	// marketplace.
	sw, err := r.sweep(ctx, c, u.at)
	u.rep.Requeued, u.rep.GaveUp = sw.Requeued, sw.GaveUp
	if err != nil {
		return fmt.Errorf("ledger sweep: %w", err)
	}
	if c.Paused {
		ok, err := r.probe(ctx, c, u.at)
		if err != nil {
			return err
		}
		if !ok {
			u.rep.Paused = true
			return nil
		}
		// The connection's email mark stays until one of its held orders
		// syncs (the sync clears it): a credential that reads but cannot
		// write pauses the connection again without a new email each hour.
		if err := r.store.ResumeConnection(ctx, c.ID); err != nil {
			return err
		}
		c.Paused, u.c.Paused = false, false
		u.rep.Resumed = true
	}
	if u.mp, err = r.mps.Marketplace(ctx, c); err != nil {
		return err
	}
	u.states, u.saves = map[string]order.State{}, map[string]order.State{}
	u.queued, u.seen, u.noted = map[string]bool{}, map[string]bool{}, map[string]bool{}

	mcp, err := r.store.Checkpoint(ctx, c.ID, SideMarketplace)
	if err != nil {
		return err
	}
	listed, err := u.mp.OrdersUpdatedSince(ctx, u.since(mcp))
	if err != nil {
		return fmt.Errorf("list marketplace orders: %w", err)
	}
	u.rep.MarketplaceListed = len(listed)
	storeEvents, scp, err := u.listStore(ctx)
	if err != nil {
		return err
	}
	unsettled, err := r.store.Unsettled(ctx, c.ID, r.cfg.UnsettledLimit)
	if err != nil {
		return err
	}
	for _, st := range unsettled {
		u.states[st.Ref.MarketplaceOrderID] = st
	}
	storeMK, err := u.resolve(ctx, storeEvents)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(listed)+len(storeMK))
	for _, o := range listed {
		ids = append(ids, o.ID)
	}
	for _, mk := range storeMK {
		ids = append(ids, mk)
	}
	if err := u.load(ctx, ids); err != nil {
		return err
	}

	for i, e := range storeEvents {
		u.storeChange(e, storeMK[i])
	}
	for _, o := range listed {
		if err := u.marketplaceChange(ctx, o); err != nil {
			return err
		}
	}
	for _, st := range unsettled {
		u.unsettled(st)
	}
	for id := range u.seen {
		if !u.noted[id] {
			u.rep.InSync.Add(id)
		}
	}
	if err := u.resolved(ctx, mcp); err != nil {
		return err
	}

	// Writes: the states (a lost race leaves that order to the next run),
	// then the events, and only then the checkpoints, so that a failure
	// anywhere lists the same orders again next time.
	for _, st := range u.saves {
		if _, err := r.store.SaveOrder(ctx, st); err != nil && !errors.Is(err, order.ErrConflict) {
			return err
		}
	}
	for _, rec := range u.errs {
		if err := r.store.RecordError(ctx, rec); err != nil {
			return err
		}
	}
	if len(u.out) > 0 {
		if err := r.queue.EnqueueBatch(ctx, u.out); err != nil {
			return fmt.Errorf("queue syncs: %w", err)
		}
	}
	if err := r.store.SetCheckpoint(ctx, c.ID, SideMarketplace, u.next(mcp, marketplaceTimes(listed))); err != nil {
		return err
	}
	if scp != nil {
		if err := r.store.SetCheckpoint(ctx, c.ID, SideStore, u.next(*scp, storeTimes(storeEvents))); err != nil {
			return err
		}
	}
	return nil
}

// since is where a side's listing starts: its checkpoint less the overlap,
// or FirstWindow back on a first run.
func (u *run) since(cp Checkpoint) time.Time {
	if cp.Since.IsZero() {
		return u.at.Add(-FirstWindow)
	}
	return cp.Since.Add(-u.r.cfg.Overlap)
}

// next is a side's checkpoint after a complete listing: the newest update
// the listing showed (on the side's own clock), and never before the run's
// time less the overlap (a quiet side does not fall ever further behind),
// nor before the old checkpoint.
func (u *run) next(old Checkpoint, times []time.Time) Checkpoint {
	since := u.at.Add(-u.r.cfg.Overlap)
	for _, t := range times {
		if t.After(since) {
			since = t
		}
	}
	if old.Since.After(since) {
		since = old.Since
	}
	return Checkpoint{Since: since.UTC(), RunAt: u.at}
}

func marketplaceTimes(os []order.MarketplaceOrder) []time.Time {
	ts := make([]time.Time, len(os))
	for i, o := range os {
		ts[i] = o.UpdatedAt
	}
	return ts
}

func storeTimes(es []order.Event) []time.Time {
	ts := make([]time.Time, len(es))
	for i, e := range es {
		ts[i] = e.OccurredAt
	}
	return ts
}

// listStore lists the store orders changed since the store side's
// checkpoint. A store ordersync cannot list (no storefront client for
// its platform) is skipped, with a nil checkpoint.
func (u *run) listStore(ctx context.Context) ([]order.Event, *Checkpoint, error) {
	r, c := u.r, u.c
	switch {
	case r.stores == nil:
		return nil, nil, nil
	case c.Store.CredentialRef == "":
		// The store only sends webhooks: ordersync cannot read it.
		u.rep.StoreNotListed = "no store credential"
		return nil, nil, nil
	}
	sf, err := r.stores.Storefront(ctx, c)
	if err == nil {
		var cp Checkpoint
		if cp, err = r.store.Checkpoint(ctx, c.ID, SideStore); err != nil {
			return nil, nil, err
		}
		var es []order.Event
		if es, err = sf.OrdersUpdatedSince(ctx, u.since(cp)); err == nil {
			u.rep.StoreListed = len(es)
			return es, &cp, nil
		}
	}
	if syncerr.CodeOf(err) == syncerr.PlatformUnsupported || syncerr.KindOf(err) == syncerr.Auth {
		// Trying again will not help: the marketplace side still counts.
		// The sync pauses the connection on the store's refusal.
		u.rep.StoreNotListed = string(syncerr.CodeOf(err))
		u.r.log.Warn("store not listed", "connection", c.ID, "code", string(syncerr.CodeOf(err)))
		return nil, nil, nil
	}
	return nil, nil, fmt.Errorf("list store orders: %w", err)
}

// resolve finds the marketplace order of each store event: the one it
// names through data only the store's API sets, else its stored link. A
// store order ordersync cannot tie to a marketplace order gets "".
func (u *run) resolve(ctx context.Context, es []order.Event) ([]string, error) {
	var ask []string
	for _, e := range es {
		if e.Order.MarketplaceOrderID == "" && e.Order.StoreOrderID != "" {
			ask = append(ask, e.Order.StoreOrderID)
		}
	}
	links, err := u.r.store.FindOrders(ctx, u.c.ID, ask)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = cmp.Or(e.Order.MarketplaceOrderID, links[e.Order.StoreOrderID])
	}
	return out, nil
}

// load reads the states of ids not read yet.
func (u *run) load(ctx context.Context, ids []string) error {
	var ask []string
	for _, id := range ids {
		if _, ok := u.states[id]; !ok && id != "" {
			ask = append(ask, id)
		}
	}
	got, err := u.r.store.LoadOrders(ctx, u.c.ID, ask)
	if err != nil {
		return err
	}
	for id, st := range got {
		u.states[id] = st
	}
	return nil
}

// enqueue queues one event for the order mk, once per run.
func (u *run) enqueue(mk string, e order.Event) bool {
	if u.queued[mk] {
		return false
	}
	u.queued[mk] = true
	e.Connection = u.c.ID
	u.out = append(u.out, e)
	return true
}

// resync is ordersync's own event asking the sync to apply an order's
// stored state: it carries no change.
func (u *run) resync(st order.State, topic string) order.Event {
	return order.Event{Connection: u.c.ID, Source: Source, Topic: topic, Order: st.Ref,
		SourceEventID: fmt.Sprintf("%s/%s/%d", topic, st.Ref.MarketplaceOrderID, u.at.Unix())}
}

// storeChange reconciles one store order the store's listing showed.
func (u *run) storeChange(e order.Event, mk string) {
	if mk == "" {
		if e.Order.ClaimedMarketplaceOrderID == "" {
			return // an order of the merchant's own shop
		}
		// It names a marketplace order only through buyer-writable data:
		// the sync holds it for the merchant (order_link_unverified).
		mk = "claim/" + e.Order.StoreOrderID
	} else {
		u.seen[mk] = true // a claim is held for the merchant's link: never in sync
	}
	if e.OccurredAt.After(u.at.Add(-u.r.cfg.Settle)) {
		// Its webhook is likely on its way; the next run lists it again.
		return
	}
	st, known := u.states[mk]
	if known {
		if !e.OccurredAt.After(st.StoreUpdatedAt) {
			return // ordersync applied this change, or a newer one
		}
		if _, changed := rules.Apply(st, e); !changed {
			return // a change that says nothing new of the order
		}
	}
	if e.Order.ClaimedMarketplaceOrderID == "" || known {
		e.Order.MarketplaceOrderID = strings.TrimPrefix(mk, "claim/")
	}
	e.Source, e.Topic, e.Fetch = Source, TopicStoreChanged, false
	e.SourceEventID = fmt.Sprintf("%s/%s/%d", TopicStoreChanged, e.Order.StoreOrderID, e.OccurredAt.UnixMilli())
	if !u.enqueue(mk, e) {
		return
	}
	if known && st.Unsettled() {
		u.note(&u.rep.Retried, mk) // the merchant may have fixed the cause in the store
	} else {
		u.note(&u.rep.Recovered, mk)
	}
}

// marketplaceChange reconciles one marketplace order the marketplace's
// listing showed.
func (u *run) marketplaceChange(ctx context.Context, o order.MarketplaceOrder) error {
	st, known := u.states[o.ID]
	if !known {
		if u.c.ImportOrders && o.Status.Open() {
			u.seen[o.ID] = true
			if u.enqueue(o.ID, order.Event{Source: Source, SourceEventID: "import/" + o.ID, Topic: TopicImport,
				Intent: order.IntentImport, Order: order.Ref{MarketplaceOrderID: o.ID}}) {
				u.note(&u.rep.Imports, o.ID)
			}
		}
		return nil
	}
	u.seen[o.ID] = true
	if u.c.ImportOrders {
		u.edit(ctx, o, st)
		st = u.current(o.ID)
	}
	if o.Status == st.MarketplaceStatus || st.MarketplaceStatus == "" && o.Status == st.StoreStatus {
		return u.behind(ctx, o, st)
	}
	if st.StoreStatus == o.Status || !byHand(st, o) {
		// The marketplace moved where the store asked (a sync's outcome
		// not recorded yet), or not past it: note where it is.
		st.MarketplaceStatus, st.MarketplaceState = o.Status, o.State
		u.saves[o.ID] = st
		return u.behind(ctx, o, st)
	}
	// Moved in the marketplace's back office: record it, never fight it.
	st.ManualChange = &order.ManualChange{From: st.MarketplaceStatus, To: o.Status, State: o.State, At: u.at}
	st.MarketplaceStatus, st.MarketplaceState = o.Status, o.State
	u.mark(&st, StepManualChange, order.TimelineEntry{Detail: manualDetail(*st.ManualChange)})
	u.saves[o.ID] = st
	u.note(&u.rep.ChangedByHand, o.ID)
	u.r.log.Info("marketplace order changed outside ordersync; recorded", "connection", u.c.ID, "marketplace_order", o.ID,
		"from", string(st.ManualChange.From), "to", string(o.Status))
	return nil
}

// current is the order's state with this run's changes.
func (u *run) current(id string) order.State {
	if st, ok := u.saves[id]; ok {
		return st
	}
	return u.states[id]
}

// byHand reports whether the marketplace order moved somewhere ordersync
// would not have taken it: to an ending the store did not ask for, or
// further along than the store is.
func byHand(st order.State, o order.MarketplaceOrder) bool {
	if rules.Terminal(o.Status) {
		return !rules.Terminal(st.StoreStatus)
	}
	return rules.Rank(o.Status) > rules.Rank(st.StoreStatus)
}

// behind queues a sync when the marketplace is behind the store: the plan
// from the marketplace's order to the store's state has steps. An order
// whose last sync failed or is retrying is left to unsettled.
func (u *run) behind(ctx context.Context, o order.MarketplaceOrder, st order.State) error {
	if st.Unsettled() || u.queued[o.ID] || st.Ref.StoreOrderID == "" {
		return nil
	}
	want := syncer.WantOf(st)
	if len(want.Parcels) > 0 && syncer.NeedsAlias(want, o) {
		toMarketplace, _, _ := u.skuAliases(ctx)
		want = syncer.MarketplaceWant(want, o, toMarketplace)
	}
	steps, err := rules.Plan(u.c.Marketplace.Platform, u.mp.Capabilities(), o, want)
	if err != nil || len(steps) == 0 {
		// In sync, or a plan the sync would refuse (and has recorded).
		u.r.log.Debug("not behind", "marketplace_order", o.ID, "steps", len(steps), "err", err)
		return nil
	}
	if u.enqueue(o.ID, u.resync(st, TopicBehind)) {
		u.note(&u.rep.Behind, o.ID)
	}
	return nil
}

// edit brings a marketplace edit of an imported order's address or lines
// up to date on the stored order while the order is pending and no stock
// is held for it (rules.CheckEdit); otherwise it records why not, once per
// edit. Statuses are never touched by an edit.
func (u *run) edit(ctx context.Context, o order.MarketplaceOrder, st order.State) {
	e, ok := u.editOf(ctx, o, st)
	if !ok {
		return
	}
	// An imported order holds stock in the store.
	err := rules.CheckEdit(o.Status, st.Ref.StoreOrderID != "", e)
	if err != nil {
		digest := editDigest(e)
		if st.RefusedEdit == digest {
			return
		}
		st.RefusedEdit = digest
		x := syncerr.Explain(withOrder(err, cmp.Or(st.Ref.StoreOrderName, st.Ref.StoreOrderID, o.ID), u.c.Marketplace.Platform.DisplayName()))
		// The check's details (the status, "from") explain the entry when
		// the timeline is read; the order's names are filled then.
		var facts map[string]string
		if se, ok := syncerr.As(err); ok {
			facts = maps.Clone(se.Details)
		}
		u.mark(&st, StepEditRefused, order.TimelineEntry{Code: string(x.Code), Detail: editDetail(e), Facts: facts})
		u.saves[o.ID] = st
		u.note(&u.rep.EditsRefused, o.ID)
		rec := order.ErrorRecord{Connection: u.c.ID, MarketplaceOrderID: o.ID, StoreOrderID: st.Ref.StoreOrderID,
			StoreOrderName: st.Ref.StoreOrderName, Code: string(x.Code), Kind: string(x.Kind), Title: x.Title,
			Cause: x.Cause, Remedy: x.Remedy, At: u.at}
		u.errs = append(u.errs, rec)
		return
	}
	if e.Address != nil {
		a := *e.Address
		st.ShippingAddress = &a
	}
	if e.Lines != nil {
		st.Lines = e.Lines
	}
	u.mark(&st, StepEditApplied, order.TimelineEntry{Detail: editDetail(e)})
	u.saves[o.ID] = st
	u.note(&u.rep.EditsApplied, o.ID)
	if st.Unsettled() && st.Ref.StoreOrderID == "" {
		// A held import (address_missing, say) tries again with the edit.
		ev := order.Event{Source: Source, Topic: TopicEdited, Intent: order.IntentImport,
			SourceEventID: fmt.Sprintf("%s/%s/%d", TopicEdited, o.ID, o.UpdatedAt.UnixMilli()),
			Order:         order.Ref{MarketplaceOrderID: o.ID}}
		if u.enqueue(o.ID, ev) {
			u.note(&u.rep.Retried, o.ID)
			u.mark(&st, StepRequeued, order.TimelineEntry{Topic: ev.Topic, EventID: ev.SourceEventID})
			u.saves[o.ID] = st
		}
	}
}

// editOf is the edit a marketplace order makes to the stored order's
// address or lines, if any. A stored order without an address is edited
// only if it is held for that missing address: one held for another reason
// before its import (the store refused ordersync's key) was never given
// the marketplace's address, and its import reads it anyway.
//
// The stored lines carry the store's SKUs where the merchant set aliases
// (the import translates them), so the marketplace's lines are compared
// in the store's SKUs too: otherwise an aliased line reads as an edit
// nobody made. The aliases are read only when the lines differ as they
// are; where that read fails, the lines are not judged this run.
func (u *run) editOf(ctx context.Context, o order.MarketplaceOrder, st order.State) (rules.Edit, bool) {
	var e rules.Edit
	hadAddress := st.ShippingAddress != nil || st.Sync.ErrorCode == string(syncerr.AddressMissing)
	if o.ShippingAddress != nil && hadAddress && !reflect.DeepEqual(o.ShippingAddress, st.ShippingAddress) {
		a := *o.ShippingAddress
		e.Address = &a
	}
	if lines := storeLines(o, nil); len(st.Lines) > 0 && len(lines) > 0 && !sameLines(lines, st.Lines) {
		if _, toStore, ok := u.skuAliases(ctx); !ok {
			lines = nil
		} else if len(toStore) > 0 {
			lines = storeLines(o, toStore)
		}
		if lines != nil && !sameLines(lines, st.Lines) {
			e.Lines = lines
		}
	}
	return e, e.Address != nil || e.Lines != nil
}

// storeLines are o's lines as the import stores them: a marketplace SKU
// with an alias in toStore (marketplace SKU to store SKU) named by its
// store SKU (rules.AliasOf).
func storeLines(o order.MarketplaceOrder, toStore map[string]string) []order.Line {
	lines := make([]order.Line, 0, len(o.Lines))
	for _, l := range o.Lines {
		sku := l.SKU
		if len(toStore) > 0 {
			sku = rules.AliasOf(sku, toStore)
		}
		lines = append(lines, order.Line{SKU: sku, Quantity: l.Quantity, MarketplaceLineID: l.ID})
	}
	return lines
}

// sameLines compares lines by marketplace line id, SKU and quantity (the
// store's own line ids are not the marketplace's business).
func sameLines(a, b []order.Line) bool {
	key := func(ls []order.Line) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = fmt.Sprintf("%s\x00%s\x00%d", l.MarketplaceLineID, l.SKU, l.Quantity)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func editDigest(e rules.Edit) string {
	b, _ := json.Marshal(e)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// withOrder names the order and the marketplace in a check's error, for
// the catalogue's words.
func withOrder(err error, name, marketplace string) error {
	var se *syncerr.Error
	if !errors.As(err, &se) {
		return err
	}
	c := *se
	c.Details = map[string]string{"order": name, "marketplace": marketplace}
	for k, v := range se.Details {
		c.Details[k] = v
	}
	return &c
}

// unsettled gives an order that did not sync another try where its cause
// may be gone, or lists it as still failing.
func (u *run) unsettled(st order.State) {
	mk := st.Ref.MarketplaceOrderID
	if u.queued[mk] {
		return
	}
	code := syncerr.Code(st.Sync.ErrorCode)
	kind := syncerr.Lookup(code).Kind
	switch {
	case st.Sync.Result == order.SyncPending && u.at.Sub(st.Sync.At) < u.r.cfg.InFlight:
		return // still in its quick retries
	case kind == syncerr.Auth:
		// Held by a pause, and the connection works now (a paused one
		// never gets this far).
		if u.enqueue(mk, u.resync(st, TopicResumed)) {
			u.note(&u.rep.Retried, mk)
		}
	case kind == syncerr.Transient || st.Sync.Result == order.SyncPending:
		if st.RefreshTries >= u.r.cfg.MaxRefreshTries {
			u.note(&u.rep.StillFailing, mk)
			return
		}
		st = u.current(mk)
		st.RefreshTries++
		ev := u.resync(st, TopicRetry)
		if st.Ref.StoreOrderID == "" && u.c.ImportOrders {
			ev.Intent = order.IntentImport
		}
		u.mark(&st, StepRequeued, order.TimelineEntry{Topic: ev.Topic, EventID: ev.SourceEventID, Code: st.Sync.ErrorCode})
		u.saves[mk] = st
		if u.enqueue(mk, ev) {
			u.note(&u.rep.Retried, mk)
		}
	default:
		u.note(&u.rep.StillFailing, mk)
	}
}

// resolved counts the orders whose failure, listed since the previous
// run, has cleared.
func (u *run) resolved(ctx context.Context, prev Checkpoint) error {
	since := cmp.Or(prev.RunAt, u.at.Add(-time.Hour))
	recs, err := u.r.store.RecentErrors(ctx, u.c.ID, since, 1000)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(recs))
	for _, rec := range recs {
		ids = append(ids, rec.MarketplaceOrderID)
	}
	if err := u.load(ctx, ids); err != nil {
		return err
	}
	done := map[string]bool{}
	for _, rec := range recs {
		st, ok := u.states[rec.MarketplaceOrderID]
		if !ok || done[rec.MarketplaceOrderID] || st.Resolved == nil || st.Resolved.At.Before(rec.At) {
			continue
		}
		done[rec.MarketplaceOrderID] = true
		u.rep.Resolved.Add(rec.MarketplaceOrderID)
	}
	return nil
}

func pausedCode(c order.Connection) string {
	if c.PausedCode == "" {
		return string(syncerr.AuthExpired)
	}
	return c.PausedCode
}

// probe reports whether the side that refused a paused connection's
// credentials takes them again. An error means it could not tell.
func (r *Refresher) probe(ctx context.Context, c order.Connection, at time.Time) (bool, error) {
	var err error
	switch pausedCode(c) {
	case order.PausedByMerchant:
		return false, nil // only the merchant resumes it
	case string(syncerr.StoreDisconnected):
		if r.stores == nil {
			return false, nil
		}
		var sf syncer.Storefront
		if sf, err = r.stores.Storefront(ctx, c); err == nil {
			_, err = sf.OrdersUpdatedSince(ctx, at)
		}
	default:
		var mp syncer.Marketplace
		if mp, err = r.mps.Marketplace(ctx, c); err == nil {
			_, err = mp.OrdersUpdatedSince(ctx, at)
		}
	}
	if err != nil && syncerr.KindOf(err) == syncerr.Auth {
		return false, nil
	}
	return err == nil, err
}
