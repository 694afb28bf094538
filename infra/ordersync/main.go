// Command ordersync is the operator's CLI: the sync's dead-letter queue
// grouped by connection and error code, a filtered redrive at a bounded
// rate, an order's state and timeline, re-syncs. It uses the AWS SDK's
// default credentials and region, and the stack's outputs (SyncQueueURL,
// SyncDLQURL, TableName) as flags or ORDERSYNC_* variables; -local points
// it at `make run`'s stack. See README.md, "Operating".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/ordersync/operator"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
	"github.com/ordersync/ordersync/shared/syncerr"
)

const usage = `usage: ordersync [flags] <command>

commands:
  dlq list                                   failures in the DLQ, by connection and error code
  dlq redrive [-connection C] [-code E] [-order ID] [-since T] [-until T] [-rate N] [-dry-run]
                                             move the matching messages back to the sync queue
  order show <connection> <marketplace order id>   an order's state and timeline
  resync <connection> <marketplace order id>...    queue a re-sync of orders

flags:
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ordersync:", err)
		os.Exit(1)
	}
}

// stack names the deployed resources the CLI works on.
type stack struct {
	syncQueueURL, dlqURL, table string
	local                       bool
}

// The local stack of `make run` (infra/localrun): its emulators' ports and
// the names localstack.Provision gives the template's resources.
const (
	localSQS, localDynamoDB = "http://127.0.0.1:9324", "http://127.0.0.1:8000"
	localPrefix             = "ordersync-local-"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ordersync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var st stack
	asJSON := fs.Bool("json", false, "print JSON, for scripts")
	fs.StringVar(&st.syncQueueURL, "sync-queue-url", os.Getenv("ORDERSYNC_SYNC_QUEUE_URL"), "the stack's SyncQueueURL output (env ORDERSYNC_SYNC_QUEUE_URL)")
	fs.StringVar(&st.dlqURL, "dlq-url", os.Getenv("ORDERSYNC_DLQ_URL"), "the stack's SyncDLQURL output (env ORDERSYNC_DLQ_URL)")
	fs.StringVar(&st.table, "table", os.Getenv("ORDERSYNC_TABLE"), "the stack's TableName output (env ORDERSYNC_TABLE)")
	fs.BoolVar(&st.local, "local", false, "work on `make run`'s stack (emulators on 127.0.0.1)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("no command")
	}
	op, err := connect(ctx, &st)
	if err != nil {
		return err
	}
	if !*asJSON {
		op.Progress = stderr
	}
	out := printer{w: stdout, json: *asJSON}
	switch cmd := strings.Join(rest[:min(2, len(rest))], " "); {
	case cmd == "dlq list":
		groups, all, err := op.List(ctx)
		if err != nil {
			return err
		}
		return out.groups(groups, all)
	case cmd == "dlq redrive":
		return redrive(ctx, op, rest[2:], out, stderr)
	case cmd == "order show":
		if len(rest) != 4 {
			return errors.New("usage: order show <connection> <marketplace order id>")
		}
		o, err := op.Order(ctx, rest[2], rest[3])
		if err != nil {
			return err
		}
		return out.order(o)
	case rest[0] == "resync":
		if len(rest) < 3 {
			return errors.New("usage: resync <connection> <marketplace order id>...")
		}
		res, err := op.Resync(ctx, rest[1], rest[2:])
		if err != nil {
			return err
		}
		return out.value(res, fmt.Sprintf("queued %d: %s; not found %d: %s", len(res.Queued), strings.Join(res.Queued, " "), len(res.NotFound), strings.Join(res.NotFound, " ")))
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", strings.Join(rest, " "))
	}
}

func redrive(ctx context.Context, op *operator.Operator, args []string, out printer, stderr io.Writer) error {
	fs := flag.NewFlagSet("dlq redrive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f operator.Filter
	var since, until string
	fs.StringVar(&f.Connection, "connection", "", "only this connection's failures")
	fs.StringVar(&f.Code, "code", "", "only failures with this error code")
	fs.StringVar(&f.MarketplaceOrderID, "order", "", "only this marketplace order's failures")
	fs.StringVar(&since, "since", "", "only failures at or after this time (RFC 3339 or 2006-01-02)")
	fs.StringVar(&until, "until", "", "only failures before this time (RFC 3339 or 2006-01-02)")
	rate := fs.Float64("rate", 10, "at most this many messages a second (0: no bound)")
	dryRun := fs.Bool("dry-run", false, "count what would move, move nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if f.Since, err = parseTime(since); err != nil {
		return fmt.Errorf("-since: %w", err)
	}
	if f.Until, err = parseTime(until); err != nil {
		return fmt.Errorf("-until: %w", err)
	}
	if *rate < 0 {
		return errors.New("-rate must be 0 or more")
	}
	if !knownCode(f.Code) {
		return fmt.Errorf("-code %q is no error code ordersync gives a failure (dlq list shows those in the DLQ)", f.Code)
	}
	res, err := op.Redrive(ctx, f, *rate, *dryRun)
	verb := "redriven"
	if res.DryRun {
		verb = "would redrive"
	}
	if perr := out.value(res, fmt.Sprintf("matched %d, %s %d, left in the DLQ %d", res.Matched, verb, max(res.Redriven, boolInt(res.DryRun)*res.Matched), res.LeftInDLQ)); err == nil {
		err = perr
	}
	return err
}

// knownCode reports whether code is empty, a catalogue code, or one the
// CLI files a message under whose reason is not one.
func knownCode(code string) bool {
	switch code {
	case "", operator.Unknown, operator.Unreadable, operator.NotFailing:
		return true
	}
	return slices.Contains(syncerr.Codes(), syncerr.Code(code))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// connect builds the operator on the SDK's default configuration.
func connect(ctx context.Context, st *stack) (*operator.Operator, error) {
	var opts []func(*config.LoadOptions) error
	if st.local {
		opts = append(opts, config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	sqsc := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if st.local {
			o.BaseEndpoint = aws.String(localSQS)
		}
	})
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if st.local {
			o.BaseEndpoint = aws.String(localDynamoDB)
			localaws.DynamoDBLocalFix(o)
		}
	})
	if st.local {
		for _, q := range []struct {
			url  *string
			name string
		}{{&st.syncQueueURL, "SyncQueue"}, {&st.dlqURL, "SyncDLQ"}} {
			if *q.url != "" {
				continue
			}
			out, err := sqsc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(localPrefix + q.name)})
			if err != nil {
				return nil, fmt.Errorf("the local %s (is `make run` running?): %w", q.name, err)
			}
			*q.url = aws.ToString(out.QueueUrl)
		}
		if st.table == "" {
			st.table = localPrefix + "Table"
		}
	}
	var missing []string
	for _, m := range []struct{ v, name string }{{st.syncQueueURL, "-sync-queue-url"}, {st.dlqURL, "-dlq-url"}, {st.table, "-table"}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s (the stack's outputs; or -local for `make run`)", strings.Join(missing, ", "))
	}
	store := dynamostore.New(db, st.table)
	return operator.New(operator.Config{SyncQueueURL: st.syncQueueURL, DLQURL: st.dlqURL}, sqsc, store, sqsqueue.New(sqsc, st.syncQueueURL)), nil
}

// printer writes results as text or JSON.
type printer struct {
	w    io.Writer
	json bool
}

func (p printer) value(v any, text string) error {
	if p.json {
		return json.NewEncoder(p.w).Encode(v)
	}
	_, err := fmt.Fprintln(p.w, text)
	return err
}

func (p printer) groups(gs []operator.Group, all []operator.DeadLetter) error {
	if p.json {
		return json.NewEncoder(p.w).Encode(struct {
			Groups   []operator.Group      `json:"groups"`
			Messages []operator.DeadLetter `json:"messages"`
		}{gs, all})
	}
	tw := tabwriter.NewWriter(p.w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTION\tERROR CODE\tCOUNT\tSYNCED SINCE\tOLDEST\tNEWEST")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", g.Connection, g.Code, g.Count, g.Resolved, g.Oldest.Format(time.RFC3339), g.Newest.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "total\t\t%d\t\t\t\n", len(all))
	return tw.Flush()
}

func (p printer) order(o order.State) error {
	if p.json {
		return json.NewEncoder(p.w).Encode(o)
	}
	fmt.Fprintf(p.w, "order %s/%s (%s)\n  store: %s   marketplace: %s (%s)\n  last sync: %s %s at %s, %d attempt(s)\n",
		o.Connection, o.Ref.MarketplaceOrderID, o.Ref.Name(), o.StoreStatus, o.MarketplaceStatus, o.MarketplaceState,
		o.Sync.Result, o.Sync.ErrorCode, o.Sync.At.Format(time.RFC3339), o.Sync.Attempts)
	tw := tabwriter.NewWriter(p.w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tKIND\tSOURCE\tTOPIC/STEP\tCODE\tDETAIL")
	for _, e := range o.Timeline {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Kind, e.Source, e.Topic+e.Step, e.Code, e.Detail)
	}
	return tw.Flush()
}
