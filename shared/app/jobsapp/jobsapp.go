// Package jobsapp wires the job worker: one bulk re-sync job per message
// of the job queue, its orders queued on the sync queue. It reads no
// secret.
package jobsapp

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// New builds the job worker's handler.
func New(ctx context.Context, o app.Options) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	d, err := app.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	q := sqsqueue.New(d.SQS(), d.Env.Required("SYNC_QUEUE_URL"))
	if err := d.Env.Err(); err != nil {
		return nil, err
	}
	return merchantapi.NewWorker(d.Store, q, nil, d.Log).Handle, nil
}
