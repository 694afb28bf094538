// Package apiapp wires the merchant API function: the connection routes
// (which store the credentials a merchant gives), re-syncs and bulk jobs.
package apiapp

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// New builds the merchant API function's handler.
func New(ctx context.Context, o app.Options) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	d, err := app.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	// It reads the secrets and writes those the merchant gives: the same
	// SSM parameters, or the same local file.
	file, prefix := d.Env.SecretsSource()
	sec, err := secrets.Open(d.AWS, file, prefix)
	if err != nil {
		return nil, err
	}
	sqsc := d.SQS()
	q := sqsqueue.New(sqsc, d.Env.Required("SYNC_QUEUE_URL"))
	jobs := sqsqueue.New(sqsc, d.Env.Required("JOB_QUEUE_URL"))
	if err := d.Env.Err(); err != nil {
		return nil, err
	}
	h := merchantapi.New(merchantapi.Config{}, d.Store, sec, q, d.Log)
	// The connection routes.
	conns := merchantapi.Connections{Secrets: sec, ProvisioningKeyRef: d.Env.Get("PROVISIONING_KEY_REF"),
		RecheckAfter: time.Duration(d.Env.Int("RECHECK_AFTER_SECONDS", 0)) * time.Second}
	if url := d.Env.Get("REFRESH_QUEUE_URL"); url != "" {
		conns.Refresh = refreshSoon{sqsqueue.New(d.SQS(), url)}
	}
	if err := d.Env.Err(); err != nil {
		return nil, err
	}
	h.WithConnections(conns)
	// Bulk re-sync jobs, expanded by JobFunction.
	h.WithJobs(jobs)
	return h.Handle, nil
}

// refreshSoon queues one refresh job, delayed, on the refresh queue: the
// merchant API's resume and new credentials.
type refreshSoon struct{ q *sqsqueue.Queue }

func (r refreshSoon) RefreshSoon(ctx context.Context, job refresh.Job, after time.Duration) error {
	b, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("apiapp: refresh job %s: %w", job.Connection, err)
	}
	return r.q.Resend(ctx, string(b), after)
}
