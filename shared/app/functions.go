package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/notify"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/refreshbatch"
	"github.com/ordersync/ordersync/shared/sesmail"
	"github.com/ordersync/ordersync/shared/sqsqueue"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
)

// webhookInFlight is how long an unconfirmed webhook claim holds: past the
// webhook function's 5 s timeout, a delivery that held it has died.
const webhookInFlight = 10 * time.Second

// unsyncedAfter is how long an accepted event may stay unsynced before it
// is taken for lost and queued again (by the refresh's sweep, and by the
// webhook on a redelivery).
func unsyncedAfter(e *env) time.Duration {
	return time.Duration(e.int("UNSYNCED_AFTER_MINUTES", 60)) * time.Minute
}

// NewWebhook builds the webhook function's handler.
func NewWebhook(ctx context.Context, o Options) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	d, err := build(ctx, o)
	if err != nil {
		return nil, err
	}
	q := sqsqueue.New(newSQS(d), d.env.required("SYNC_QUEUE_URL"))
	cfg := ingest.Config{MaxBodyBytes: int64(d.env.int("MAX_BODY_BYTES", 1<<20))}
	// A redelivery of an event unsynced this long is queued again.
	dedup := d.store.Deduper(webhookInFlight).RecoverAfter(unsyncedAfter(d.env))
	if d.env.err != nil {
		return nil, d.env.err
	}
	h := ingest.New(cfg, d.store, d.secrets, dedup, q, d.log)
	return h.Handle, nil
}

// NewAPI builds the merchant API function's handler.
func NewAPI(ctx context.Context, o Options) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
	d, err := build(ctx, o)
	if err != nil {
		return nil, err
	}
	sqsc := newSQS(d)
	q := sqsqueue.New(sqsc, d.env.required("SYNC_QUEUE_URL"))
	jobs := sqsqueue.New(sqsc, d.env.required("JOB_QUEUE_URL"))
	if d.env.err != nil {
		return nil, d.env.err
	}
	h := merchantapi.New(merchantapi.Config{}, d.store, d.secrets, q, d.log)
	// The connection routes.
	conns := merchantapi.Connections{Secrets: d.writer, ProvisioningKeyRef: d.env.get("PROVISIONING_KEY_REF"),
		RecheckAfter: time.Duration(d.env.int("RECHECK_AFTER_SECONDS", 0)) * time.Second}
	if url := d.env.get("REFRESH_QUEUE_URL"); url != "" {
		conns.Refresh = refreshSoon{sqsqueue.New(newSQS(d), url)}
	}
	if d.env.err != nil {
		return nil, d.env.err
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
		return fmt.Errorf("app: refresh job %s: %w", job.Connection, err)
	}
	return r.q.Resend(ctx, string(b), after)
}

// NewSync builds the sync function's handler.
func NewSync(ctx context.Context, o Options) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	d, err := build(ctx, o)
	if err != nil {
		return nil, err
	}
	sqsc := newSQS(d)
	queue := sqsqueue.New(sqsc, d.env.required("SYNC_QUEUE_URL"))
	mail := sesmail.New(newSES(d.cfg), d.env.required("SENDER_ADDRESS"))
	cfg := syncer.Config{
		MaxAttempts: d.env.int("MAX_RECEIVE_COUNT", 3),
		RetryBase:   time.Duration(d.env.int("RETRY_BASE_MILLIS", 1500)) * time.Millisecond,
	}
	if d.env.err != nil {
		return nil, d.env.err
	}
	hc := newHTTPClient()
	s := syncer.New(cfg, d.store, marketplaces{secrets: d.secrets, hc: hc}, newNotifier(d, mail), d.log).
		WithStorefronts(storefronts{secrets: d.secrets, hc: hc}).
		// The merchant's SKU aliases, read once per event.
		WithAliases(d.store).
		// The webhook's ledger: an accepted event leaves it once synced.
		WithLedger(d.store.Deduper(webhookInFlight), ingest.DedupKey)
	// No DLQ of its own: a failure is left to the sync queue's redrive
	// policy, so SQS records its source and the console's default redrive
	// ("Redrive to source queue(s)") works.
	return syncbatch.New(syncbatch.Config{}, s, queue, nil, d.log).Handle, nil
}

// NewRefreshDispatch builds the refresh dispatcher's handler: on the
// schedule, one job per connection on the refresh queue. An error (no
// connections listed, or a job not queued) fails the invocation, and
// Lambda runs it again: a connection queued twice is refreshed twice,
// which is harmless; one never queued would be missed.
func NewRefreshDispatch(ctx context.Context, o Options) (func(context.Context, events.EventBridgeEvent) error, error) {
	d, err := build(ctx, o)
	if err != nil {
		return nil, err
	}
	jobs := sqsqueue.New(newSQS(d), d.env.required("REFRESH_QUEUE_URL"))
	digests := newNotifier(d, sesmail.New(newSES(d.cfg), d.env.required("SENDER_ADDRESS")))
	if d.env.err != nil {
		return nil, d.env.err
	}
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		n, err := refresh.Dispatch(ctx, d.store, jobs, ev.Time)
		if err != nil {
			return err
		}
		d.log.Info("refresh dispatched", "at", ev.Time, "jobs", n)
		sendDigests(ctx, d, digests)
		return nil
	}, nil
}

// newNotifier builds the error emails' notifier: actions as URLs of the
// merchant API (API_BASE_URL), and past DIGEST_AFTER emails in a
// connection's hour, the rest in the hour's digest.
func newNotifier(d *deps, mail notify.Mailer) *notify.Notifier {
	return notify.New(mail).WithAPIBaseURL(d.env.get("API_BASE_URL")).
		WithDigest(d.store.Digests(), d.env.int("DIGEST_AFTER", notify.DefaultDigestAfter))
}

// sendDigests sends the digests of the hours closed. A failure is logged,
// not returned: Lambda's retry would queue every refresh job again, and
// the next hour's sweep sends what this one could not (see
// notify.DigestLookback).
func sendDigests(ctx context.Context, d *deps, nf *notify.Notifier) {
	sent, err := nf.SendDigests(ctx, d.store)
	d.log.Info("digests sent", "digests", sent)
	if err != nil {
		d.log.Error("could not send every digest; the next hour's sweep tries again", "err", err)
	}
}

// NewRefresh builds the refresh worker's handler: one connection per job
// of the refresh queue.
func NewRefresh(ctx context.Context, o Options) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	d, err := build(ctx, o)
	if err != nil {
		return nil, err
	}
	sqsc := newSQS(d)
	syncQueue := sqsqueue.New(sqsc, d.env.required("SYNC_QUEUE_URL"))
	jobs := sqsqueue.New(sqsc, d.env.required("REFRESH_QUEUE_URL")) // to time a job's retry
	dlq := sqsqueue.New(sqsc, d.env.required("REFRESH_DLQ_URL"))
	sweep := refresh.SweepConfig{
		After:       unsyncedAfter(d.env),
		MaxAttempts: d.env.int("UNSYNCED_MAX_REQUEUES", 3),
	}
	cfg := refreshbatch.Config{
		MaxReceives: d.env.int("REFRESH_MAX_RECEIVE_COUNT", 3),
		RetryBase:   time.Duration(d.env.int("REFRESH_RETRY_BASE_SECONDS", 15)) * time.Second,
	}
	if d.env.err != nil {
		return nil, d.env.err
	}
	hc := newHTTPClient()
	r := refresh.New(d.store, marketplaces{secrets: d.secrets, hc: hc}, syncQueue, d.log).
		WithStorefronts(storefronts{secrets: d.secrets, hc: hc}).
		// The merchant's SKU aliases, to plan as the sync does.
		WithAliases(d.store).
		WithLedger(d.store.Deduper(webhookInFlight), sweep)
	return refreshbatch.New(cfg, r, jobs, dlq, d.log).Handle, nil
}

// NewJobs builds the job worker's handler: one bulk re-sync job per
// message of the job queue, its orders queued on the sync queue.
func NewJobs(ctx context.Context, o Options) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	d, err := build(ctx, o)
	if err != nil {
		return nil, err
	}
	q := sqsqueue.New(newSQS(d), d.env.required("SYNC_QUEUE_URL"))
	if d.env.err != nil {
		return nil, d.env.err
	}
	return merchantapi.NewWorker(d.store, q, nil, d.log).Handle, nil
}
