package refresh

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// Side names one side of a connection, for its checkpoint.
type Side string

// The two sides a refresh lists.
const (
	SideMarketplace Side = "marketplace"
	SideStore       Side = "store"
)

// Checkpoint is where the refresh of one side of a connection stands.
type Checkpoint struct {
	// Since is the newest update time the side's listing showed, on that
	// side's own clock (or the run's time less the overlap, when it showed
	// nothing newer). The next run lists from Since less the overlap.
	Since time.Time `json:"since"`
	// RunAt is the scheduled time of the run that set it.
	RunAt time.Time `json:"run_at"`
}

// Store is the state the refresh of one connection reads and writes.
type Store interface {
	// Connection returns a connection; wrapped order.ErrNotFound if unknown.
	Connection(ctx context.Context, id string) (order.Connection, error)
	// ResumeConnection ends a connection's pause.
	ResumeConnection(ctx context.Context, id string) error
	// Checkpoint returns where the refresh of one side of a connection
	// stands: the zero Checkpoint if it never ran.
	Checkpoint(ctx context.Context, connection string, side Side) (Checkpoint, error)
	SetCheckpoint(ctx context.Context, connection string, side Side, cp Checkpoint) error
	// LoadOrders reads the states of the connection's marketplace orders
	// named (BatchGetItem, consistent); orders with no state are absent
	// from the map. Any number of ids.
	LoadOrders(ctx context.Context, connection string, marketplaceOrderIDs []string) (map[string]order.State, error)
	// FindOrders resolves store order ids to the marketplace order ids they
	// are linked to; unlinked ones are absent from the map. Any number.
	FindOrders(ctx context.Context, connection string, storeOrderIDs []string) (map[string]string, error)
	// SaveOrder writes s if the stored version is still s.Version, as the
	// sync's store does (order.ErrConflict otherwise).
	SaveOrder(ctx context.Context, s order.State) (order.State, error)
	// Unsettled lists the connection's orders whose last sync did not end
	// synced (order.State.Unsettled: pending, failed, held), oldest sync
	// first, at most limit of them. It reads a durable index, so a pause
	// of any length is found.
	Unsettled(ctx context.Context, connection string, limit int) ([]order.State, error)
	// RecentErrors lists the connection's failures since, newest first.
	RecentErrors(ctx context.Context, connection string, since time.Time, limit int) ([]order.ErrorRecord, error)
	// RecordError adds a failure to the connection's error list.
	RecordError(ctx context.Context, r order.ErrorRecord) error
	// SaveReport stores one run's drift report for the connection (kept
	// order.ErrorRetention).
	SaveReport(ctx context.Context, r Report) error
}

// Connections lists every connection, for the dispatcher.
type Connections interface {
	Connections(ctx context.Context) ([]order.Connection, error)
}

// Reports reads stored drift reports, newest first (the merchant API).
type Reports interface {
	Reports(ctx context.Context, connection string, limit int) ([]Report, error)
}

// Queue is the sync queue.
type Queue interface {
	// EnqueueBatch queues events (SendMessageBatch, ten a call). On an
	// error some may have been queued: the sync is idempotent.
	EnqueueBatch(ctx context.Context, events []order.Event) error
}

// Job asks a refresh worker to refresh one connection as of At (the
// schedule's time). It is the refresh queue's message body, as JSON.
type Job struct {
	Connection string    `json:"connection"`
	At         time.Time `json:"at"`
}

// Jobs is the refresh queue, as the dispatcher fills it.
type Jobs interface {
	// SendJobs queues jobs (SendMessageBatch, ten a call); it returns an
	// error unless every job is queued.
	SendJobs(ctx context.Context, jobs []Job) error
}

// Orders is a count of orders and the first of their marketplace order
// ids (at most MaxReportIDs), for a report.
type Orders struct {
	Count int      `json:"count"`
	IDs   []string `json:"ids,omitempty"`
}

// MaxReportIDs bounds the ids a report keeps per heading, so a report
// stays one small item.
const MaxReportIDs = 50

// Add counts one order.
func (o *Orders) Add(id string) {
	o.Count++
	if len(o.IDs) < MaxReportIDs {
		o.IDs = append(o.IDs, id)
	}
}

// Report is what one run of the refresh found on one connection: its drift
// report, stored, readable through the merchant API and logged.
type Report struct {
	Connection string    `json:"connection"`
	At         time.Time `json:"at"`          // the run's scheduled time
	FinishedAt time.Time `json:"finished_at"` // when the worker finished it
	// Paused: the connection is paused and its credentials are still
	// refused; nothing else was done. Resumed: it was paused and works again.
	Paused  bool `json:"paused,omitempty"`
	Resumed bool `json:"resumed,omitempty"`
	// Listed counts the orders each side's listing returned.
	MarketplaceListed int `json:"marketplace_listed"`
	StoreListed       int `json:"store_listed"`
	// StoreNotListed says why the store's side was not listed, when it
	// was not: "no store credential" (a store that only sends webhooks),
	// or the error code of a store that refused ordersync.
	StoreNotListed string `json:"store_not_listed,omitempty"`
	// InSync: orders listed on either side that needed nothing.
	InSync Orders `json:"in_sync"`
	// Behind: the marketplace was behind the store; a sync was queued.
	Behind Orders `json:"behind"`
	// ChangedByHand: the marketplace order moved outside ordersync
	// (cancelled, refunded, shipped in its back office); recorded, not fought.
	ChangedByHand Orders `json:"changed_by_hand"`
	// Recovered: a store change ordersync never received (a lost webhook),
	// now queued.
	Recovered Orders `json:"recovered"`
	// Imports: new marketplace orders queued to be imported into the store.
	Imports Orders `json:"imports"`
	// Retried: failed or held orders given another try (their cause may be
	// gone: a pause ended, an outage outlasted the quick retries).
	Retried Orders `json:"retried"`
	// Resolved: orders whose failure cleared since the previous run.
	Resolved Orders `json:"resolved"`
	// StillFailing: failed or held orders waiting on the merchant.
	StillFailing Orders `json:"still_failing"`
	// EditsApplied / EditsRefused: marketplace edits to an order's address
	// or lines, brought up to date (while pending) or refused
	// (order_not_editable, inventory_held).
	EditsApplied Orders `json:"edits_applied"`
	EditsRefused Orders `json:"edits_refused"`
	// Requeued / GaveUp: accepted webhook events never synced, queued
	// again by the ledger sweep, or given up on (internal_error).
	Requeued int `json:"requeued"`
	GaveUp   int `json:"gave_up"`
	// Failed: the run did not finish, for this reason (the counts above
	// are what it did before). The job is in the refresh DLQ, moved there
	// by the refresh queue's redrive policy; once redriven, its new run's
	// report replaces this one.
	Failed *JobFailure `json:"failed,omitempty"`
}

// JobFailure is why a refresh job failed for good.
type JobFailure struct {
	Code string `json:"code"` // the error catalogue's code
	// Title, Cause and Remedy are what the merchant reads: the catalogue's
	// words for a refresh that failed with Code (syncerr.ExplainRefresh).
	Title  string `json:"title"`
	Cause  string `json:"cause"`
	Remedy string `json:"remedy"`
	// Detail is the error, for an operator (at most 1,000 bytes): what the
	// log line of the failure says. Errors never carry a platform's
	// answer's words, so no personal data (shared/httpclient.StatusError).
	Detail        string    `json:"detail"`
	Attempts      int       `json:"attempts"`
	FirstFailedAt time.Time `json:"first_failed_at"`
}
