// Package refreshapp wires the refresh worker: one connection per job of
// the refresh queue, compared with its marketplace and store.
package refreshapp

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/refreshbatch"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// New builds the refresh worker's handler.
func New(ctx context.Context, o app.Options) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	d, err := app.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	file, prefix := d.Env.SecretsSource()
	sec, err := secrets.Open(d.AWS, file, prefix)
	if err != nil {
		return nil, err
	}
	sqsc := d.SQS()
	syncQueue := sqsqueue.New(sqsc, d.Env.Required("SYNC_QUEUE_URL"))
	// To time a job's retry, and to release a failed one at once to the
	// queue's redrive policy (no DLQ of its own: SQS moves the job and
	// records its source, so the console's default redrive works).
	jobs := sqsqueue.New(sqsc, d.Env.Required("REFRESH_QUEUE_URL"))
	sweep := refresh.SweepConfig{
		After:       d.Env.UnsyncedAfter(),
		MaxAttempts: d.Env.Int("UNSYNCED_MAX_REQUEUES", 3),
	}
	cfg := refreshbatch.Config{
		MaxReceives: d.Env.Int("REFRESH_MAX_RECEIVE_COUNT", 3),
		RetryBase:   time.Duration(d.Env.Int("REFRESH_RETRY_BASE_SECONDS", 15)) * time.Second,
	}
	if err := d.Env.Err(); err != nil {
		return nil, err
	}
	// Paced as the sync is (a token bucket per connection for this
	// instance's life): a listing of many pages keeps to the account's
	// rate limit, and a 429's Retry-After holds the rest of the run.
	src := connectors.NewSource(sec)
	r := refresh.New(d.Store, src, syncQueue, d.Log).
		WithStorefronts(src).
		// The merchant's SKU aliases, to plan as the sync does.
		WithAliases(d.Store).
		WithLedger(d.Store.Deduper(app.WebhookInFlight), sweep)
	// A failed job's reason: on the connection's report for its hour.
	return refreshbatch.New(cfg, r, jobs, d.Store, d.Log).Handle, nil
}
