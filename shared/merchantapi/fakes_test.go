package merchantapi_test

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// failingStore is a store in an outage: every call returns err.
type failingStore struct{ err error }

var _ merchantapi.Store = failingStore{}

func (f failingStore) Connection(context.Context, string) (order.Connection, error) {
	return order.Connection{}, f.err
}

func (f failingStore) LoadOrder(context.Context, string, string) (order.State, error) {
	return order.State{}, f.err
}

func (f failingStore) RecentErrors(context.Context, string, time.Time, int) ([]order.ErrorRecord, error) {
	return nil, f.err
}

func (f failingStore) LoadOrders(context.Context, string, []string) (map[string]order.State, error) {
	return nil, f.err
}

func (f failingStore) Reports(context.Context, string, int) ([]refresh.Report, error) {
	return nil, f.err
}

func (f failingStore) FindOrder(context.Context, string, string) (string, error) { return "", f.err }

func (f failingStore) LinkOrder(context.Context, string, string, string) error { return f.err }

// The listing of orders and the jobs.

func (f failingStore) ListOrders(context.Context, string, merchantapi.OrderQuery) ([]order.State, error) {
	return nil, f.err
}

func (f failingStore) FindOrdersByName(context.Context, string, string) ([]string, error) {
	return nil, f.err
}

func (f failingStore) PutJob(context.Context, merchantapi.Job, []string) error { return f.err }

func (f failingStore) Job(context.Context, string, string) (merchantapi.Job, error) {
	return merchantapi.Job{}, f.err
}

func (f failingStore) Jobs(context.Context, string, int) ([]merchantapi.Job, error) {
	return nil, f.err
}

func (f failingStore) JobOrders(context.Context, string, string) ([]string, error) { return nil, f.err }

// The connection routes' writes.

func (f failingStore) CreateConnection(context.Context, order.Connection) error { return f.err }

func (f failingStore) SaveConnection(context.Context, order.Connection) error { return f.err }

func (f failingStore) PauseConnection(context.Context, string, string) error { return f.err }

func (f failingStore) ResumeConnection(context.Context, string) error { return f.err }
func (f failingStore) SaveOrder(_ context.Context, st order.State) (order.State, error) {
	return st, f.err
}
