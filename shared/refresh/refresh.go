// Package refresh is the hourly pass over every connection: it lists the
// marketplace orders changed since the connection's checkpoint and moves
// the checkpoint on. Importing new orders into the store and reconciling
// both sides build on this (see the README's roadmap).
package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sync"
)

// Store is the state the refresh reads and writes.
type Store interface {
	Connections(ctx context.Context) ([]order.Connection, error)
	// Checkpoint returns when the connection was last refreshed, or the
	// zero time if never.
	Checkpoint(ctx context.Context, connection string) (time.Time, error)
	SetCheckpoint(ctx context.Context, connection string, at time.Time) error
	LoadOrder(ctx context.Context, connection, marketplaceOrderID string) (order.State, error)
}

// FirstWindow is how far back the first refresh of a connection looks.
const FirstWindow = 24 * time.Hour

// Refresher runs the refresh.
type Refresher struct {
	store Store
	mps   sync.Marketplaces
	log   *slog.Logger
}

// New returns a Refresher.
func New(store Store, mps sync.Marketplaces, log *slog.Logger) *Refresher {
	return &Refresher{store: store, mps: mps, log: log}
}

// Report is what one connection's refresh found.
type Report struct {
	Connection string
	Changed    int // marketplace orders changed since the checkpoint
	Unknown    int // of which ordersync holds no state yet (to import)
}

// Run refreshes every connection that is not paused, as of at. A failing
// connection does not stop the others; their errors are joined.
func (r *Refresher) Run(ctx context.Context, at time.Time) error {
	conns, err := r.store.Connections(ctx)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	var errs []error
	for _, c := range conns {
		if c.Paused {
			r.log.Info("refresh skipped: connection paused", "connection", c.ID)
			continue
		}
		rep, err := r.connection(ctx, c, at)
		if err != nil {
			r.log.Error("refresh failed", "connection", c.ID, "err", err)
			errs = append(errs, fmt.Errorf("refresh %s: %w", c.ID, err))
			continue
		}
		r.log.Info("refreshed", "connection", c.ID, "changed", rep.Changed, "unknown", rep.Unknown)
	}
	return errors.Join(errs...)
}

func (r *Refresher) connection(ctx context.Context, c order.Connection, at time.Time) (Report, error) {
	rep := Report{Connection: c.ID}
	since, err := r.store.Checkpoint(ctx, c.ID)
	if err != nil {
		return rep, err
	}
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
		_, err := r.store.LoadOrder(ctx, c.ID, o.ID)
		switch {
		case errors.Is(err, order.ErrNotFound):
			rep.Unknown++
		case err != nil:
			return rep, err
		}
	}
	return rep, r.store.SetCheckpoint(ctx, c.ID, at)
}
