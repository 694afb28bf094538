// Package refresh is the hourly pass over every connection. It resumes a
// paused connection once its credentials work again and re-syncs the
// orders held while it was paused; then it lists the marketplace orders
// changed since the connection's checkpoint, puts the new open ones on the
// sync queue to be imported (where the connection asks for imports), and
// moves the checkpoint on. Before all that it sweeps the webhook's ledger:
// an accepted event that no sync finished within an hour (its message
// lost) is queued again, three times at most, and then listed for the
// merchant as failed. Reconciling both sides builds on this (see the
// README's roadmap).
package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Source marks the events the refresh puts on the sync queue.
const Source order.Platform = "ordersync"

// FirstWindow is how far back the first refresh of a connection looks.
const FirstWindow = 24 * time.Hour

// heldWindow is how far back the refresh looks for orders held by a
// pause: the merchant's error list keeps a week.
const heldWindow = order.ErrorRetention

// Refresher runs the refresh.
type Refresher struct {
	store  Store
	mps    syncer.Marketplaces
	stores syncer.Storefronts
	queue  Queue
	log    *slog.Logger
	// ledger, when set, is swept for accepted events never synced.
	ledger   Ledger
	sweepCfg SweepConfig
}

// New returns a Refresher.
func New(store Store, mps syncer.Marketplaces, queue Queue, log *slog.Logger) *Refresher {
	return &Refresher{store: store, mps: mps, queue: queue, log: log}
}

// WithStorefronts lets the refresh check a store's credentials, to resume
// a connection paused with store_disconnected.
func (r *Refresher) WithStorefronts(s syncer.Storefronts) *Refresher {
	r.stores = s
	return r
}

// Report is what one connection's refresh found.
type connReport struct {
	Connection string
	Resumed    bool // the connection was paused and works again
	Resynced   int  // orders held by the pause, put back on the sync queue
	Changed    int  // marketplace orders changed since the checkpoint
	Unknown    int  // of which ordersync holds no state yet
	Imports    int  // of which, open, put on the sync queue to import
}

// Run refreshes every connection as of at. A paused connection is probed
// and stays paused while its credentials are still refused. A failing
// connection does not stop the others, and is logged, not returned: an
// error makes Lambda run the whole refresh again, for every connection.
// Run fails only when it cannot list the connections.
func (r *Refresher) Run(ctx context.Context, at time.Time) error {
	conns, err := r.store.(Connections).Connections(ctx)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	for _, c := range conns {
		// First, and whatever the rest finds: a lost event waits on no
		// marketplace.
		if sw, err := r.sweep(ctx, c, at); err != nil {
			r.log.Error("ledger sweep failed", "connection", c.ID, "err", err)
		} else if sw != (Sweep{}) {
			r.log.Info("ledger swept", "connection", c.ID, "requeued", sw.Requeued, "gave_up", sw.GaveUp)
		}
		rep, err := r.connection(ctx, c, at)
		if err != nil {
			r.log.Error("refresh failed", "connection", c.ID, "err", err)
			continue
		}
		if c.Paused && !rep.Resumed {
			r.log.Info("connection still paused: credentials refused", "connection", c.ID, "code", c.PausedCode)
			continue
		}
		r.log.Info("refreshed", "connection", c.ID, "resumed", rep.Resumed, "resynced", rep.Resynced,
			"changed", rep.Changed, "unknown", rep.Unknown, "imports", rep.Imports)
	}
	return nil
}

func (r *Refresher) connection(ctx context.Context, c order.Connection, at time.Time) (connReport, error) {
	rep := connReport{Connection: c.ID}
	if c.Paused {
		ok, err := r.probe(ctx, c, at)
		if err != nil || !ok {
			return rep, err
		}
		// The connection's email mark stays until one of its held orders
		// syncs (the sync clears it): a credential that reads but cannot
		// write pauses the connection again without a new email each hour.
		if err := r.store.ResumeConnection(ctx, c.ID); err != nil {
			return rep, err
		}
		rep.Resumed = true
	}
	n, err := r.resyncHeld(ctx, c, at)
	rep.Resynced = n
	if err != nil {
		return rep, err
	}
	cp, err := r.store.Checkpoint(ctx, c.ID, SideMarketplace)
	if err != nil {
		return rep, err
	}
	since := cp.Since
	if since.IsZero() {
		since = at.Add(-FirstWindow)
	}
	mp, err := r.mps.Marketplace(ctx, c)
	if err != nil {
		return rep, err
	}
	orders, err := mp.OrdersUpdatedSince(ctx, since)
	if err != nil {
		return rep, err
	}
	rep.Changed = len(orders)
	for _, o := range orders {
		sts, err := r.store.LoadOrders(ctx, c.ID, []string{o.ID})
		if _, ok := sts[o.ID]; err == nil && !ok {
			err = order.ErrNotFound
		}
		switch {
		case errors.Is(err, order.ErrNotFound):
			rep.Unknown++
			if !c.ImportOrders || (o.Status != order.StatusAwaitingAcceptance && o.Status != order.StatusAccepted) {
				continue
			}
			ev := order.Event{Connection: c.ID, Source: Source, SourceEventID: "import/" + o.ID, Topic: "marketplace/order",
				Intent: order.IntentImport, Order: order.Ref{MarketplaceOrderID: o.ID}}
			if err := r.queue.EnqueueBatch(ctx, []order.Event{ev}); err != nil {
				return rep, err
			}
			rep.Imports++
		case err != nil:
			return rep, err
		}
	}
	return rep, r.store.SetCheckpoint(ctx, c.ID, SideMarketplace, Checkpoint{Since: at, RunAt: at})
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

// resyncHeld puts back on the sync queue the orders of a working
// connection that are still held by a pause (auth_expired or
// store_disconnected). The events carry no change: the sync applies the
// order's stored state, now that it can reach both sides.
func (r *Refresher) resyncHeld(ctx context.Context, c order.Connection, at time.Time) (int, error) {
	recs, err := r.store.RecentErrors(ctx, c.ID, at.Add(-heldWindow), 1000)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	n := 0
	for _, rec := range recs {
		if syncerr.Kind(rec.Kind) != syncerr.Auth || rec.MarketplaceOrderID == "" || seen[rec.MarketplaceOrderID] {
			continue
		}
		seen[rec.MarketplaceOrderID] = true
		sts, err := r.store.LoadOrders(ctx, c.ID, []string{rec.MarketplaceOrderID})
		if err != nil {
			return n, err
		}
		st, ok := sts[rec.MarketplaceOrderID]
		if !ok {
			continue
		}
		if st.Sync.Result != order.SyncHeld || syncerr.Lookup(syncerr.Code(st.Sync.ErrorCode)).Kind != syncerr.Auth {
			continue
		}
		ev := order.Event{Connection: c.ID, Source: Source, Topic: "connection/resumed", Order: st.Ref,
			SourceEventID: fmt.Sprintf("resumed/%s/%d", st.Ref.MarketplaceOrderID, at.Unix())}
		if err := r.queue.EnqueueBatch(ctx, []order.Event{ev}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Refresh refreshes one connection as of job.At: the refresh worker's
// work for one job of the refresh queue. An error means the job should be
// tried again (and, after the queue's tries, dead-lettered with the
// error's code and message); a connection the store does not know is a
// wrapped order.ErrNotFound, not worth another try.
func (r *Refresher) Refresh(ctx context.Context, job Job) (Report, error) {
	c, err := r.store.Connection(ctx, job.Connection)
	if err != nil {
		return Report{}, err
	}
	_, err = r.connection(ctx, c, job.At)
	return Report{Connection: c.ID, At: job.At}, err
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
		js[i] = Job{Connection: c.ID, At: at}
	}
	if err := jobs.SendJobs(ctx, js); err != nil {
		return 0, fmt.Errorf("refresh: queue jobs: %w", err)
	}
	return len(js), nil
}
