// Package dispatchapp wires the refresh dispatcher: on the schedule, one
// refresh job per connection, then the digests of the hours closed.
package dispatchapp

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/notify"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/sesmail"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// New builds the refresh dispatcher's handler. An error (no connections
// listed, or a job not queued) fails the invocation, and Lambda runs it
// again: a connection queued twice is refreshed twice, which is harmless;
// one never queued would be missed.
func New(ctx context.Context, o app.Options) (func(context.Context, events.EventBridgeEvent) error, error) {
	d, err := app.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	jobs := sqsqueue.New(d.SQS(), d.Env.Required("REFRESH_QUEUE_URL"))
	mail := sesmail.New(sesv2.NewFromConfig(d.AWS), d.Env.Required("SENDER_ADDRESS"))
	// The same notifier as the sync's (syncapp), which held the entries.
	digests := notify.New(mail).WithAPIBaseURL(d.Env.Get("API_BASE_URL")).
		WithDigest(d.Store.Digests(), d.Env.Int("DIGEST_AFTER", notify.DefaultDigestAfter))
	if err := d.Env.Err(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		n, err := refresh.Dispatch(ctx, d.Store, jobs, ev.Time)
		if err != nil {
			return err
		}
		d.Log.Info("refresh dispatched", "at", ev.Time, "jobs", n)
		// A failure is logged, not returned: Lambda's retry would queue
		// every refresh job again, and the next hour's sweep sends what
		// this one could not (see notify.DigestLookback).
		sent, err := digests.SendDigests(ctx, d.Store)
		d.Log.Info("digests sent", "digests", sent)
		if err != nil {
			d.Log.Error("could not send every digest; the next hour's sweep tries again", "err", err)
		}
		return nil
	}, nil
}
