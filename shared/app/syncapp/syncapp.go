// Package syncapp wires the sync function: each queued event applied to
// the connection's marketplace (or store), a failure emailed to the
// merchant.
package syncapp

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/notify"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/sesmail"
	"github.com/ordersync/ordersync/shared/sqsqueue"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
)

// New builds the sync function's handler.
func New(ctx context.Context, o app.Options) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	d, err := app.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	d.CacheConnections()
	file, prefix := d.Env.SecretsSource()
	sec, err := secrets.Open(d.AWS, file, prefix)
	if err != nil {
		return nil, err
	}
	queue := sqsqueue.New(d.SQS(), d.Env.Required("SYNC_QUEUE_URL"))
	mail := sesmail.New(sesv2.NewFromConfig(d.AWS, func(so *sesv2.Options) {
		if o.SESEndpoint != "" {
			so.BaseEndpoint = &o.SESEndpoint
		}
	}), d.Env.Required("SENDER_ADDRESS"))
	// Actions as URLs of the merchant API; past DIGEST_AFTER emails in a
	// connection's hour, the rest in the hour's digest (which the refresh
	// dispatcher sends).
	nf := notify.New(mail).WithAPIBaseURL(d.Env.Get("API_BASE_URL")).
		WithDigest(d.Store.Digests(), d.Env.Int("DIGEST_AFTER", notify.DefaultDigestAfter))
	cfg := syncer.Config{
		MaxAttempts: d.Env.Int("MAX_RECEIVE_COUNT", 3),
		RetryBase:   time.Duration(d.Env.Int("RETRY_BASE_MILLIS", 1500)) * time.Millisecond,
	}
	// How many orders of a batch sync at once: 0, the default, is every
	// order of the batch (the event source's BatchSize).
	batch := syncbatch.Config{Concurrency: d.Env.Int("SYNC_CONCURRENCY", 0)}
	if err := d.Env.Err(); err != nil {
		return nil, err
	}
	// Each connection's marketplace requests paced by its platform's rate
	// limit, a token bucket per connection for this instance's life.
	src := connectors.NewSource(sec)
	s := syncer.New(cfg, d.Store, src, nf, d.Log).
		WithStorefronts(src).
		// The merchant's SKU aliases, read once per event.
		WithAliases(d.Store)
	// No DLQ of its own: a failure is left to the sync queue's redrive
	// policy, so SQS records its source and the console's default redrive
	// ("Redrive to source queue(s)") works.
	return syncbatch.New(batch, s, queue, nil, d.Log).Handle, nil
}
