// Package merchantapi is the merchant's HTTP API: a connection's recent
// sync failures with what to do about each, one order's stored state, and
// the re-sync of orders after the merchant fixed a cause. It answers API
// Gateway HTTP API (payload v2) requests with JSON, authenticated per
// connection by a bearer key that is a secret resolved by name
// (order.Connection.APIKeyRefs). Like ingest, it owns no AWS client: the
// store, the secrets and the queue come in through the small interfaces
// below. See README.md for the routes and every answer.
package merchantapi

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// Store is the state the API reads. It writes what a merchant makes: the
// links between a store order and a marketplace order, the fixes to an
// order (its override), and the connection routes' connections.
type Store interface {
	// Connection returns the connection with id; an error wrapping
	// order.ErrNotFound when there is none. Any other error is taken as
	// transient (503).
	Connection(ctx context.Context, id string) (order.Connection, error)
	// LoadOrder returns an order's state; an error wrapping
	// order.ErrNotFound when ordersync holds none.
	LoadOrder(ctx context.Context, connection, marketplaceOrderID string) (order.State, error)
	// LoadOrders reads the states of many orders at once; orders with no
	// state are absent from the map.
	LoadOrders(ctx context.Context, connection string, marketplaceOrderIDs []string) (map[string]order.State, error)
	// Reports lists the refresh's drift reports of a connection, newest
	// first, at most limit of them.
	Reports(ctx context.Context, connection string, limit int) ([]refresh.Report, error)
	// RecentErrors lists a connection's failures at or after since, newest
	// first, at most limit of them.
	RecentErrors(ctx context.Context, connection string, since time.Time, limit int) ([]order.ErrorRecord, error)
	// FindOrder returns the marketplace order id linked to a store order;
	// an error wrapping order.ErrNotFound when there is no link.
	FindOrder(ctx context.Context, connection, storeOrderID string) (string, error)
	// LinkOrder records that a store order is a marketplace order. It is
	// idempotent.
	LinkOrder(ctx context.Context, connection, storeOrderID, marketplaceOrderID string) error

	// The listing of orders by sync state, and re-sync jobs.
	OrderStore

	// SKU aliases (aliases.go).
	//
	// PutSKUAlias stores an alias; setting one held already is no error.
	// One that would give either SKU a second partner is an error wrapping
	// order.ErrAliasConflict, a new one past order.MaxSKUAliases one
	// wrapping order.ErrAliasLimit; both store nothing.
	PutSKUAlias(ctx context.Context, connection string, a order.SKUAlias) error
	// DeleteSKUAlias removes the alias of a store SKU and returns it; an
	// error wrapping order.ErrNotFound when there is none.
	DeleteSKUAlias(ctx context.Context, connection, storeSKU string) (order.SKUAlias, error)
	// SKUAliases lists aliases by store SKU after the store SKU after, at
	// most limit; next is the after of the next page, "" on the last.
	SKUAliases(ctx context.Context, connection, after string, limit int) (aliases []order.SKUAlias, next string, err error)
	// Unsettled lists the connection's orders whose last sync did not end
	// synced, oldest sync first, at most limit (the refresh's index).
	Unsettled(ctx context.Context, connection string, limit int) ([]order.State, error)

	// The connection routes' writes.

	// CreateConnection stores a new connection; an error wrapping
	// order.ErrConflict (nothing written) if its id is taken.
	CreateConnection(ctx context.Context, c order.Connection) error
	// SaveConnection replaces a connection; an error wrapping
	// order.ErrConflict (nothing written) if it was paused or resumed
	// since c was read, order.ErrNotFound if it is gone.
	SaveConnection(ctx context.Context, c order.Connection) error
	// PauseConnection and ResumeConnection set and end a pause
	// (order.PausedByMerchant for the merchant's own).
	PauseConnection(ctx context.Context, id, code string) error
	ResumeConnection(ctx context.Context, id string) error

	// SaveOrder writes st if nobody wrote it since it was read at
	// st.Version, and returns it at its new version: an error wrapping
	// order.ErrConflict when somebody did (read again and retry). The
	// API writes an order only to keep a merchant's fix (POST fix).
	SaveOrder(ctx context.Context, st order.State) (order.State, error)
}

// SecretWriter stores the secrets the connection routes make
// (secrets.Parameters on AWS, secrets.File locally).
type SecretWriter interface {
	// PutParameter stores value as the secret called name, replacing any
	// value it had. It is idempotent; its error never holds the value.
	PutParameter(ctx context.Context, name, value string) error
}

// Refreshes asks the refresh to run one connection now, as the hourly
// schedule does: a paused connection whose credentials are taken again is
// resumed, and the orders its pause held are re-synced.
type Refreshes interface {
	// RefreshSoon queues job to run after delay. A nil error means the
	// job is queued durably.
	RefreshSoon(ctx context.Context, job refresh.Job, after time.Duration) error
}

// Secrets resolves the names in order.Connection.APIKeyRefs.
type Secrets interface {
	// Secret returns the secret called name. It returns an error wrapping
	// order.ErrNotFound when there is none (a ref left over from a rotation
	// is skipped); any other error is taken as transient. Implementations
	// should cache: it is called on every request.
	Secret(ctx context.Context, name string) (string, error)
}

// Queue hands re-sync events to the sync.
type Queue interface {
	// Enqueue sends e to the sync queue. A nil error means the queue has
	// accepted it durably; implementations never retry.
	Enqueue(ctx context.Context, e order.Event) error
}

// The listing of orders by sync state, and bulk re-sync jobs (orders.go,
// jobs.go).

// OrderStore is what the listing of orders and the re-sync jobs read and
// write, besides Store.
type OrderStore interface {
	// ListOrders returns one page of a connection's orders in q.State,
	// newest sync first (see OrderKey), at most q.Limit of them, as
	// Listed keeps them. The listing is eventually consistent: an order
	// saved a moment ago may be missing, or still listed in its former
	// state.
	ListOrders(ctx context.Context, connection string, q OrderQuery) ([]order.State, error)
	// FindOrdersByName returns the marketplace order ids of the
	// connection's orders whose store order name is name, sorted; none is
	// an empty list, not an error. Eventually consistent, like ListOrders.
	FindOrdersByName(ctx context.Context, connection, name string) ([]string, error)
	// PutJob creates or replaces a job; with orders not nil, it first
	// replaces the job's orders (at most MaxJobOrders). It is idempotent.
	PutJob(ctx context.Context, j Job, orders []string) error
	// Job returns a job; an error wrapping order.ErrNotFound when there is
	// none, or it is older than JobRetention.
	Job(ctx context.Context, connection, id string) (Job, error)
	// Jobs lists a connection's jobs of the past JobRetention, newest
	// first (by id: ids begin with their creation time, to the
	// millisecond), at most limit of them.
	Jobs(ctx context.Context, connection string, limit int) ([]Job, error)
	// JobOrders returns the marketplace order ids a job names, in the
	// order they were put; none when the job has none (yet).
	JobOrders(ctx context.Context, connection, id string) ([]string, error)
}

// OrderQuery asks for one page of a connection's orders in one sync state.
type OrderQuery struct {
	State order.SyncState
	// Code keeps only the orders whose last sync ended with this error
	// code, when not empty.
	Code string
	// Since and Until keep only the orders listed at or after Since and
	// before Until (ListedAt: when they entered their state), each when
	// not zero.
	Since, Until time.Time
	// After is the OrderKey of the last order of the page before; empty
	// for the first page.
	After string
	// Limit is the most orders returned, at least 1.
	Limit int
}

// JobQueue hands a stored job to the worker that expands it.
type JobQueue interface {
	// Send sends one message; a nil error means the queue holds it
	// durably. Implementations never retry.
	Send(ctx context.Context, body string, attrs map[string]string) error
}
