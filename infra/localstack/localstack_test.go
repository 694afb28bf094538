package localstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localaws"
)

var emu localaws.Clients

func TestMain(m *testing.M) {
	ctx := context.Background()
	st, err := localaws.Start(ctx, localaws.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	emu, err = st.Clients(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	st.Stop()
	os.Exit(code)
}

// provision provisions testdata/template.yaml under a fresh prefix.
func provision(t *testing.T, params map[string]string) *Stack {
	t.Helper()
	tmpl, err := LoadTemplate(filepath.Join("testdata", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("t%d-", time.Now().UnixNano())
	st, err := Provision(context.Background(), tmpl, prefix, Clients{DynamoDB: emu.DynamoDB, SQS: emu.SQS}, params)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestProvisionFromTemplate(t *testing.T) {
	ctx := context.Background()
	st := provision(t, map[string]string{"Tries": "2"})
	table := st.Ref("Store")
	d, err := emu.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("table %q: %v", table, err)
	}
	if got := len(d.Table.GlobalSecondaryIndexes); got != 1 {
		t.Errorf("GSIs = %d, want 1", got)
	}
	ttl, err := emu.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires_at" {
		t.Errorf("TTL = %+v, %v; want expires_at", ttl, err)
	}
	attrs, err := emu.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(st.Ref("Jobs")), AttributeNames: []sqsAttr{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := attrs.Attributes["RedrivePolicy"], st.Attr("Dead", "Arn"); !strings.Contains(got, want) || !strings.Contains(got, `"maxReceiveCount":"2"`) && !strings.Contains(got, `"maxReceiveCount":2`) {
		t.Errorf("RedrivePolicy = %s, want DLQ %s and the overridden maxReceiveCount 2", got, want)
	}
	if got := attrs.Attributes["VisibilityTimeout"]; got != "180" {
		t.Errorf("VisibilityTimeout = %s, want 180", got)
	}

	fns, err := st.Functions()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Function{}
	for _, f := range fns {
		byID[f.LogicalID] = f
	}
	if len(byID) != 3 {
		t.Errorf("functions = %+v, want Front, Worker and Ticker", fns)
	}
	front := byID["Front"]
	if want := []Route{{"ANY", "/things/{id}"}, {"GET", "/hello/{name}"}}; !slices.Equal(front.Routes, want) {
		t.Errorf("front routes = %+v, want %+v (sorted by event name)", front.Routes, want)
	}
	if front.Env["STORE"] != table || front.Env["GREETING"] != "hello" || front.Env["JOBS_URL"] != st.Ref("Jobs") || front.Timeout != 7*time.Second {
		t.Errorf("front env/timeout = %v %v; want the globals' and its own, 7 s", front.Env, front.Timeout)
	}
	w := byID["Worker"]
	if want := []QueueSource{{QueueURL: st.Ref("Jobs"), BatchSize: 5, ReportBatchFailures: true}}; !slices.Equal(w.Queues, want) {
		t.Errorf("worker queues = %+v, want %+v", w.Queues, want)
	}
	if w.Env["TRIES"] != "2" || w.Env["DEAD_URL"] != st.Ref("Dead") || w.Timeout != 30*time.Second {
		t.Errorf("worker env/timeout = %v %v; want the overridden Tries, the DLQ's URL, 30 s", w.Env, w.Timeout)
	}
	if want := []Schedule{{Name: "Tick", Expression: "rate(1 hour)"}}; !slices.Equal(byID["Ticker"].Schedules, want) {
		t.Errorf("ticker schedules = %+v, want %+v", byID["Ticker"].Schedules, want)
	}
	// Provisioning again reuses what exists.
	if _, err := Provision(ctx, st.Template, st.Prefix, Clients{DynamoDB: emu.DynamoDB, SQS: emu.SQS}, nil); err != nil {
		t.Errorf("second provision: %v", err)
	}
}

// TestPollerPartialBatch checks the poller deletes what succeeded and
// leaves the failures, the way the Lambda event source mapping does.
func TestPollerPartialBatch(t *testing.T) {
	ctx := context.Background()
	st := provision(t, nil)
	url := st.Ref("Jobs")
	for _, b := range []string{"ok-1", "fail", "ok-2"} {
		if _, err := emu.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	p := &Poller{SQS: emu.SQS, Source: QueueSource{QueueURL: url, BatchSize: 10, ReportBatchFailures: true}, Timeout: time.Minute,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler: func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			for _, r := range ev.Records {
				seen = append(seen, r.Body)
				if r.Attributes["ApproximateReceiveCount"] == "" || r.EventSourceARN != st.Attr("Jobs", "Arn") {
					t.Errorf("record %s lacks its receive count or source ARN: %+v", r.Body, r)
				}
				if r.Body == "fail" {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				}
			}
			return resp, nil
		}}
	total := 0
	for total < 3 {
		n, err := p.PollOnce(ctx, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("got %d of 3 messages", total)
		}
		total += n
	}
	// local-aws-sqs counts in-flight messages too: only the failed one is left.
	attrs, err := emu.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqsAttr{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := attrs.Attributes["ApproximateNumberOfMessages"]; got != "1" {
		t.Errorf("messages left = %s (attrs %v), want 1 (the failed one); handler saw %v", got, attrs.Attributes, seen)
	}
}

func TestMatchPath(t *testing.T) {
	tests := []struct {
		name, tmpl, path string
		want             map[string]string
	}{
		{"params", "/webhooks/{source}/{connection}", "/webhooks/shopify/demo", map[string]string{"source": "shopify", "connection": "demo"}},
		{"too short", "/webhooks/{source}/{connection}", "/webhooks/shopify", nil},
		{"literal differs", "/webhooks/{source}", "/hooks/shopify", nil},
		{"empty param", "/webhooks/{source}/{connection}", "/webhooks//demo", nil},
		// A greedy parameter takes the rest of the path (the console's files).
		{"greedy one segment", "/console/{proxy+}", "/console/index.html", map[string]string{"proxy": "index.html"}},
		{"greedy several segments", "/console/{proxy+}", "/console/img/a.svg", map[string]string{"proxy": "img/a.svg"}},
		{"greedy folder", "/console/{proxy+}", "/console/", map[string]string{"proxy": ""}},
		{"greedy needs the slash", "/console/{proxy+}", "/console", nil},
		{"greedy prefix differs", "/console/{proxy+}", "/consoles/index.html", nil},
		{"greedy after a param", "/c/{id}/{proxy+}", "/c/7/a/b", map[string]string{"id": "7", "proxy": "a/b"}},
		{"not greedy", "/console/{proxy}", "/console/a/b", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := matchPath(tt.tmpl, tt.path)
			if ok != (tt.want != nil) || fmt.Sprint(got) != fmt.Sprint(tt.want) && tt.want != nil {
				t.Errorf("matchPath(%q, %q) = %v, %v; want %v", tt.tmpl, tt.path, got, ok, tt.want)
			}
		})
	}
}

func TestNextRun(t *testing.T) {
	from := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		expr string
		want time.Time
	}{
		{"cron(20 * * * ? *)", time.Date(2026, 11, 23, 10, 20, 0, 0, time.UTC)},
		{"cron(45 * * * ? *)", time.Date(2026, 11, 23, 9, 45, 0, 0, time.UTC)},
		{"rate(5 minutes)", from.Add(5 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := NextRun(tt.expr, from)
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("NextRun = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := NextRun("cron(0 12 * * ? *)", from); err == nil {
		t.Error("a fixed-hour cron should be reported as unsupported, not misread")
	}
}

type sqsAttr = sqstypes.QueueAttributeName
