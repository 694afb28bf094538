// Package webhookapp wires the webhook function: it verifies a platform's
// delivery with the connection's secret, records it and queues it for the
// sync.
package webhookapp

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// New builds the webhook function's handler.
func New(ctx context.Context, o app.Options) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
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
	q := sqsqueue.New(d.SQS(), d.Env.Required("SYNC_QUEUE_URL"))
	cfg := ingest.Config{MaxBodyBytes: int64(d.Env.Int("MAX_BODY_BYTES", 1<<20))}
	if err := d.Env.Err(); err != nil {
		return nil, err
	}
	// No deduper: before its answer the webhook reads the connection
	// (cached) and sends the message, nothing else, so every copy of a
	// delivery is answered 202 at once. A redelivery is queued again; the
	// sync's claims, named by each call's business identity, keep its
	// marketplace calls to one, and the order's newest store word wins.
	return ingest.New(cfg, d.Store, sec, nil, q, d.Log).Handle, nil
}
