// Package app holds what every function's wiring shares, and only that:
// reading a function's configuration from its environment, the logger,
// the AWS config, the store and the SQS client, built once per cold start.
// Each function is wired in its own package below this one
// (shared/app/webhookapp, syncapp, refreshapp, dispatchapp, apiapp,
// jobsapp), which its Lambda main and the local runner both call, so that
// what runs locally is what runs on AWS and a function's binary links only
// the code it uses (no marketplace connector in the webhook, no SDK SSM
// client or credential chain in any; infra/templatecheck's deps test holds
// that).
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/shared/dynamostore"
)

// Options are what a function is built from.
type Options struct {
	// Getenv reads the function's environment (os.Getenv on Lambda; the
	// template's resolved variables locally).
	Getenv func(string) string
	// Log receives the function's structured logs; nil logs JSON to stdout.
	Log *slog.Logger
	// AWS, when set, is used instead of the config read from the process
	// environment (envConfig).
	AWS *aws.Config
	// DynamoDB are extra options for the DynamoDB client (the local stack
	// turns off response checksums, which DynamoDB Local gets wrong).
	DynamoDB []func(*dynamodb.Options)
	// SQS are extra options for the SQS clients (the end-to-end tests
	// record each function's calls, to check them against its IAM).
	SQS []func(*sqs.Options)
	// SESEndpoint, when set, is where the SES client sends (infra/awscount
	// counts its calls there). A URL, not client options: the functions
	// that send no mail do not link the SES client.
	SESEndpoint string
}

// Env reads a function's environment, keeping the first problem (a
// variable missing or not a number) for Err.
type Env struct {
	get func(string) string
	err error
}

// Get returns the variable's value, "" when unset.
func (e *Env) Get(name string) string { return e.get(name) }

// Required returns the variable's value; when it is unset, Err says so.
func (e *Env) Required(name string) string {
	v := e.get(name)
	if v == "" && e.err == nil {
		e.err = fmt.Errorf("app: %s is not set", name)
	}
	return v
}

// Int returns the variable as a number, def when unset; when it is not a
// number, Err says so.
func (e *Env) Int(name string, def int) int {
	v := e.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("app: %s=%q is not a number", name, v)
	}
	return n
}

// Err returns the first problem met reading the environment, or nil.
func (e *Env) Err() error { return e.err }

// SecretsSource returns where the function's secrets are read: the local
// file SECRETS_FILE (set by the local runner), or else the SSM parameters
// under SECRETS_PREFIX (required then). See secrets.Open.
func (e *Env) SecretsSource() (file, prefix string) {
	if file = e.get("SECRETS_FILE"); file != "" {
		return file, ""
	}
	return "", e.Required("SECRETS_PREFIX")
}

// WebhookInFlight is how long an unconfirmed webhook claim holds: past
// the webhook function's 5 s timeout, a delivery that held it has died.
const WebhookInFlight = 10 * time.Second

// UnsyncedAfter is how long an accepted event may stay unsynced before it
// is taken for lost and queued again (by the refresh's sweep, and by the
// webhook on a redelivery).
func (e *Env) UnsyncedAfter() time.Duration {
	return time.Duration(e.Int("UNSYNCED_AFTER_MINUTES", 60)) * time.Minute
}

// Deps are the configuration and clients every function shares.
type Deps struct {
	Env   *Env
	Log   *slog.Logger
	AWS   aws.Config
	Store *dynamostore.Store

	sqsOpts []func(*sqs.Options)
}

// Build reads the shared configuration and builds the shared clients. It
// makes no AWS call (the SDK resolves credentials on the first request).
func Build(ctx context.Context, o Options) (*Deps, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	e := &Env{get: o.Getenv}
	log := o.Log
	if log == nil {
		level := slog.LevelInfo
		_ = level.UnmarshalText([]byte(o.Getenv("LOG_LEVEL")))
		log = NewLogger(os.Stdout, level)
	}
	var cfg aws.Config
	if o.AWS != nil {
		cfg = *o.AWS
	} else {
		var err error
		if cfg, err = envConfig(os.Getenv); err != nil {
			return nil, fmt.Errorf("app: aws config: %w", err)
		}
	}
	d := &Deps{Env: e, Log: log, AWS: cfg, sqsOpts: o.SQS}
	d.Store = dynamostore.New(dynamodb.NewFromConfig(cfg, o.DynamoDB...), e.Required("TABLE_NAME"))
	// Personal data retention: a closed order's items expire this long
	// after it closed (template.yaml's OrderRetentionDays).
	if days := e.Int("ORDER_RETENTION_DAYS", 0); days > 0 {
		d.Store = d.Store.WithOrderRetention(time.Duration(days) * 24 * time.Hour)
	}
	return d, e.err
}

// NewLogger is the functions' logger when Options.Log is nil, writing to
// w (stdout on Lambda): JSON lines (CloudWatch reads their metrics,
// shared/emf), with personal data redacted should any path log some
// (redact.go), from level up. infra/benchrun logs through it to nowhere,
// so a measured handler formats each line as on Lambda.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(newRedactor(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// CacheConnections has the store keep the connections it reads for
// CONNECTION_CACHE_SECONDS (template.yaml's ConnectionCacheSeconds): the
// webhook and the sync read one per event. The functions that change
// connections read them every time.
func (d *Deps) CacheConnections() {
	if secs := d.Env.Int("CONNECTION_CACHE_SECONDS", 0); secs > 0 {
		d.Store = d.Store.WithConnectionCache(time.Duration(secs) * time.Second)
	}
}

// SQS returns a new SQS client with the options' extras.
func (d *Deps) SQS() *sqs.Client { return sqs.NewFromConfig(d.AWS, d.sqsOpts...) }
