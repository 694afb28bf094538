// Package app wires ordersync's functions: it reads a function's
// configuration from its environment, builds the AWS clients and adapters
// once (per cold start), and returns the handler. The Lambda mains and the
// local runner both call it, so what runs locally is what runs on AWS.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/syncer"
)

// Options are what a function is built from.
type Options struct {
	// Getenv reads the function's environment (os.Getenv on Lambda; the
	// template's resolved variables locally).
	Getenv func(string) string
	// Log receives the function's structured logs; nil logs JSON to stdout.
	Log *slog.Logger
	// AWS, when set, is used instead of config.LoadDefaultConfig.
	AWS *aws.Config
	// DynamoDB are extra options for the DynamoDB client (the local stack
	// turns off response checksums, which DynamoDB Local gets wrong).
	DynamoDB []func(*dynamodb.Options)
}

type env struct {
	get func(string) string
	err error
}

func (e *env) required(name string) string {
	v := e.get(name)
	if v == "" && e.err == nil {
		e.err = fmt.Errorf("app: %s is not set", name)
	}
	return v
}

func (e *env) int(name string, def int) int {
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

// deps are the clients every function shares.
type deps struct {
	env     *env
	log     *slog.Logger
	cfg     aws.Config
	store   *dynamostore.Store
	secrets interface {
		Secret(ctx context.Context, name string) (string, error)
	}
	// writer stores the secrets the merchant API makes: the same SSM
	// parameters, or the same local file, secrets reads.
	writer interface {
		PutParameter(ctx context.Context, name, value string) error
	}
}

func build(ctx context.Context, o Options) (*deps, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	e := &env{get: o.Getenv}
	log := o.Log
	if log == nil {
		level := slog.LevelInfo
		_ = level.UnmarshalText([]byte(o.Getenv("LOG_LEVEL")))
		// JSON lines (CloudWatch reads their metrics, shared/emf), with
		// personal data redacted should any path log some (redact.go).
		log = slog.New(newRedactor(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level})))
	}
	var cfg aws.Config
	if o.AWS != nil {
		cfg = *o.AWS
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("app: aws config: %w", err)
		}
	}
	d := &deps{env: e, log: log, cfg: cfg}
	d.store = dynamostore.New(dynamodb.NewFromConfig(cfg, o.DynamoDB...), e.required("TABLE_NAME"))
	// Personal data retention: a closed order's items expire this long
	// after it closed (template.yaml's OrderRetentionDays).
	if days := e.int("ORDER_RETENTION_DAYS", 0); days > 0 {
		d.store = d.store.WithOrderRetention(time.Duration(days) * 24 * time.Hour)
	}
	if file := o.Getenv("SECRETS_FILE"); file != "" {
		// Read on every call: a secret the merchant API writes is seen by
		// every local function at once.
		if _, err := secrets.LoadFile(file); err != nil {
			return nil, err
		}
		f := secrets.NewFile(file)
		d.secrets, d.writer = f, f
	} else {
		p := secrets.NewParameters(ssm.NewFromConfig(cfg), e.required("SECRETS_PREFIX"))
		d.secrets, d.writer = p, p
	}
	return d, e.err
}

// marketplaces builds connectors per connection, sharing one HTTP client.
type marketplaces struct {
	secrets connectors.Secrets
	hc      *http.Client
}

func (m marketplaces) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return connectors.Marketplace(ctx, conn, m.secrets, m.hc)
}

// storefronts builds merchant store clients per connection.
type storefronts struct {
	secrets connectors.Secrets
	hc      *http.Client
}

func (s storefronts) Storefront(ctx context.Context, conn order.Connection) (syncer.Storefront, error) {
	return connectors.Storefront(ctx, conn, s.secrets, s.hc)
}

func newHTTPClient() *http.Client {
	return httpclient.New(httpclient.Options{Timeout: 10 * time.Second})
}

func newSQS(cfg aws.Config) *sqs.Client   { return sqs.NewFromConfig(cfg) }
func newSES(cfg aws.Config) *sesv2.Client { return sesv2.NewFromConfig(cfg) }
