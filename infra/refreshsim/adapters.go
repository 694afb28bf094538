package refreshsim

import (
	"context"
	"fmt"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncer"
)

// The adapters below count what dynamostore, sqsqueue and the connectors
// would call for each method of the ports the Refresher uses, and pass the
// call on to the in-memory implementation.

var (
	_ refresh.Store       = (*meteredStore)(nil)
	_ refresh.Ledger      = (*meteredLedger)(nil)
	_ refresh.Queue       = (*meteredQueue)(nil)
	_ refresh.Connections = (*meteredConnections)(nil)
	_ refresh.Jobs        = (*meteredJobs)(nil)
	_ syncer.Marketplaces = (*meteredMarketplaces)(nil)
	_ syncer.Storefronts  = (*meteredStorefronts)(nil)
	_ syncer.Marketplace  = (*meteredMarketplace)(nil)
	_ syncer.Storefront   = (*meteredStorefront)(nil)
)

// meteredStore is refresh.Store over s, counted as dynamostore calls.
type meteredStore struct {
	s refresh.Store
	m *Meter
}

func (a *meteredStore) Connection(ctx context.Context, id string) (order.Connection, error) {
	a.m.call(GetItem, 1)
	return a.s.Connection(ctx, id)
}

func (a *meteredStore) ResumeConnection(ctx context.Context, id string) error {
	a.m.call(UpdateItem, 1)
	return a.s.ResumeConnection(ctx, id)
}

func (a *meteredStore) Checkpoint(ctx context.Context, conn string, side refresh.Side) (refresh.Checkpoint, error) {
	a.m.call(GetItem, 1)
	return a.s.Checkpoint(ctx, conn, side)
}

func (a *meteredStore) SetCheckpoint(ctx context.Context, conn string, side refresh.Side, cp refresh.Checkpoint) error {
	a.m.call(PutItem, 1)
	return a.s.SetCheckpoint(ctx, conn, side, cp)
}

// LoadOrders and FindOrders are BatchGetItem calls of up to 100 distinct
// keys each; none for no ids (dynamostore's batchGet).
func (a *meteredStore) LoadOrders(ctx context.Context, conn string, ids []string) (map[string]order.State, error) {
	a.m.call(BatchGetItem, batches(distinct(ids), 100))
	return a.s.LoadOrders(ctx, conn, ids)
}

func (a *meteredStore) FindOrders(ctx context.Context, conn string, ids []string) (map[string]string, error) {
	a.m.call(BatchGetItem, batches(distinct(ids), 100))
	return a.s.FindOrders(ctx, conn, ids)
}

func (a *meteredStore) SaveOrder(ctx context.Context, st order.State) (order.State, error) {
	a.m.call(PutItem, 1) // conditional on the version
	return a.s.SaveOrder(ctx, st)
}

// Unsettled and RecentErrors are Query pages of the table's indexes.
func (a *meteredStore) Unsettled(ctx context.Context, conn string, limit int) ([]order.State, error) {
	out, err := a.s.Unsettled(ctx, conn, limit)
	a.m.call(Query, pages(len(out), a.m.model.QueryPageItems))
	return out, err
}

func (a *meteredStore) RecentErrors(ctx context.Context, conn string, since time.Time, limit int) ([]order.ErrorRecord, error) {
	out, err := a.s.RecentErrors(ctx, conn, since, limit)
	a.m.call(Query, pages(len(out), a.m.model.QueryPageItems))
	return out, err
}

func (a *meteredStore) RecordError(ctx context.Context, r order.ErrorRecord) error {
	a.m.call(PutItem, 1)
	return a.s.RecordError(ctx, r)
}

func (a *meteredStore) SaveReport(ctx context.Context, r refresh.Report) error {
	a.m.call(PutItem, 1)
	return a.s.SaveReport(ctx, r)
}

func distinct(ids []string) int {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		seen[id] = true
	}
	return len(seen)
}

// meteredLedger is the webhook's ledger (dedup items): a Query of its
// index, an UpdateItem per requeue or give-up.
type meteredLedger struct {
	l refresh.Ledger
	m *Meter
}

func (a *meteredLedger) Unsynced(ctx context.Context, conn string, before time.Time, limit int) ([]refresh.Unsynced, error) {
	out, err := a.l.Unsynced(ctx, conn, before, limit)
	a.m.call(Query, pages(len(out), a.m.model.QueryPageItems))
	return out, err
}

func (a *meteredLedger) Requeued(ctx context.Context, key string, at time.Time) (bool, error) {
	a.m.call(UpdateItem, 1)
	return a.l.Requeued(ctx, key, at)
}

func (a *meteredLedger) GiveUp(ctx context.Context, key string, at time.Time) (bool, error) {
	a.m.call(UpdateItem, 1)
	return a.l.GiveUp(ctx, key, at)
}

// meteredQueue is the sync queue: SendMessageBatch per 10 events. It
// keeps only how many were queued.
type meteredQueue struct {
	m      *Meter
	queued int
}

func (a *meteredQueue) EnqueueBatch(_ context.Context, es []order.Event) error {
	a.m.call(SendMessageBatch, batches(len(es), 10))
	a.queued += len(es)
	return nil
}

// meteredConnections is the dispatcher's listing: Query pages of the
// connections' index.
type meteredConnections struct {
	c refresh.Connections
	m *Meter
}

func (a *meteredConnections) Connections(ctx context.Context) ([]order.Connection, error) {
	out, err := a.c.Connections(ctx)
	a.m.call(Query, pages(len(out), a.m.model.ConnectionsPerPage))
	return out, err
}

// meteredJobs is the refresh queue as the dispatcher fills it. It keeps
// the jobs, for the workers.
type meteredJobs struct {
	m    *Meter
	jobs []refresh.Job
}

func (a *meteredJobs) SendJobs(_ context.Context, js []refresh.Job) error {
	a.m.call(SendMessageBatch, batches(len(js), 10))
	a.jobs = append(a.jobs, js...)
	return nil
}

// meteredMarketplaces builds a connection's marketplace client as the
// connectors do: its credential read from SSM once per job (a warm
// worker's cache is per credential, and every connection has its own).
type meteredMarketplaces struct {
	mp   syncer.Marketplace
	m    *Meter
	read map[string]bool
}

func (a *meteredMarketplaces) Marketplace(_ context.Context, c order.Connection) (syncer.Marketplace, error) {
	if !a.read[c.Marketplace.CredentialRef] {
		a.read[c.Marketplace.CredentialRef] = true
		a.m.call(GetParameter, 1)
	}
	return &meteredMarketplace{Marketplace: a.mp, m: a.m}, nil
}

type meteredMarketplace struct {
	syncer.Marketplace
	m *Meter
}

func (a *meteredMarketplace) OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.MarketplaceOrder, error) {
	out, err := a.Marketplace.OrdersUpdatedSince(ctx, since)
	a.m.call(MarketplacePage, pages(len(out), a.m.model.PageSize))
	return out, err
}

// The sync's calls are not the refresh's: a refresh that made one would be
// a bug, and fails its job (the simulation counts failed jobs).
func (a *meteredMarketplace) Order(context.Context, string) (order.MarketplaceOrder, error) {
	return order.MarketplaceOrder{}, notRefresh("fetched a marketplace order")
}

func (a *meteredMarketplace) Accept(context.Context, order.MarketplaceOrder) error {
	return notRefresh("accepted a marketplace order")
}

func (a *meteredMarketplace) Ship(context.Context, order.MarketplaceOrder, order.Parcel) error {
	return notRefresh("shipped a marketplace order")
}

func (a *meteredMarketplace) Cancel(context.Context, order.MarketplaceOrder, string) error {
	return notRefresh("cancelled a marketplace order")
}

type meteredStorefronts struct {
	sf   syncer.Storefront
	m    *Meter
	read map[string]bool
}

func (a *meteredStorefronts) Storefront(_ context.Context, c order.Connection) (syncer.Storefront, error) {
	if !a.read[c.Store.CredentialRef] {
		a.read[c.Store.CredentialRef] = true
		a.m.call(GetParameter, 1)
	}
	return &meteredStorefront{sf: a.sf, m: a.m}, nil
}

type meteredStorefront struct {
	sf syncer.Storefront
	m  *Meter
}

func (a *meteredStorefront) OrdersUpdatedSince(ctx context.Context, since time.Time) ([]order.Event, error) {
	out, err := a.sf.OrdersUpdatedSince(ctx, since)
	a.m.call(StorePage, pages(len(out), a.m.model.PageSize))
	return out, err
}

func (a *meteredStorefront) Order(context.Context, string) (order.Event, error) {
	return order.Event{}, notRefresh("fetched a store order")
}

func (a *meteredStorefront) CreateOrder(context.Context, order.MarketplaceOrder) (string, string, error) {
	return "", "", notRefresh("created a store order")
}

func notRefresh(what string) error {
	return fmt.Errorf("refreshsim: the refresh %s: a call only the sync makes", what)
}
