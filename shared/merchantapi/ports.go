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

// Store is the state the API reads. It writes only the links a merchant
// makes between a store order and a marketplace order, and the fixes a
// merchant makes to an order (its override).
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

	// SaveOrder writes st if nobody wrote it since it was read at
	// st.Version, and returns it at its new version: an error wrapping
	// order.ErrConflict when somebody did (read again and retry). The
	// API writes an order only to keep a merchant's fix (POST fix).
	SaveOrder(ctx context.Context, st order.State) (order.State, error)
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
