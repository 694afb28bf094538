package localstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
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

func provision(t *testing.T) *Stack {
	t.Helper()
	tmpl, err := LoadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("t%d-", time.Now().UnixNano())
	st, err := Provision(context.Background(), tmpl, prefix, Clients{DynamoDB: emu.DynamoDB, SQS: emu.SQS}, map[string]string{"MaxReceiveCount": "2"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestProvisionFromTemplate(t *testing.T) {
	ctx := context.Background()
	st := provision(t)
	table := st.Ref("Table")
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
	attrs, err := emu.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(st.Ref("SyncQueue")), AttributeNames: []sqsAttr{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := attrs.Attributes["RedrivePolicy"], st.Attr("SyncDLQ", "Arn"); !strings.Contains(got, want) || !strings.Contains(got, `"maxReceiveCount":"2"`) && !strings.Contains(got, `"maxReceiveCount":2`) {
		t.Errorf("RedrivePolicy = %s, want DLQ %s and the overridden maxReceiveCount 2", got, want)
	}
	if got := attrs.Attributes["VisibilityTimeout"]; got != "360" {
		t.Errorf("VisibilityTimeout = %s, want 360", got)
	}

	fns, err := st.Functions()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Function{}
	for _, f := range fns {
		byID[f.LogicalID] = f
	}
	wh := byID["WebhookFunction"]
	if len(wh.Routes) != 1 || wh.Routes[0] != (Route{"POST", "/webhooks/{source}/{connection}"}) {
		t.Errorf("webhook routes = %+v", wh.Routes)
	}
	if wh.Env["TABLE_NAME"] != table || wh.Env["SYNC_QUEUE_URL"] != st.Ref("SyncQueue") || wh.Timeout != 5*time.Second {
		t.Errorf("webhook env/timeout = %v %v", wh.Env, wh.Timeout)
	}
	api := byID["ApiFunction"]
	if len(api.Routes) != 4 || api.Env["SYNC_QUEUE_URL"] != st.Ref("SyncQueue") || api.Env["TABLE_NAME"] != table {
		t.Errorf("api routes/env = %+v %v", api.Routes, api.Env)
	}
	for _, r := range api.Routes {
		if r.Method != "ANY" {
			t.Errorf("api route %+v: want ANY, so the function answers a wrong method itself", r)
		}
	}
	sy := byID["SyncFunction"]
	if len(sy.Queues) != 1 || sy.Queues[0].QueueURL != st.Ref("SyncQueue") || !sy.Queues[0].ReportBatchFailures || sy.Queues[0].BatchSize != 10 {
		t.Errorf("sync queues = %+v", sy.Queues)
	}
	if sy.Env["DLQ_URL"] != st.Ref("SyncDLQ") || sy.Env["MAX_RECEIVE_COUNT"] != "2" {
		t.Errorf("sync env = %v", sy.Env)
	}
	rf := byID["RefreshFunction"]
	if len(rf.Schedules) != 1 || rf.Schedules[0].Expression != "cron(20 * * * ? *)" {
		t.Errorf("refresh schedules = %+v", rf.Schedules)
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
	st := provision(t)
	url := st.Ref("SyncQueue")
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
				if r.Attributes["ApproximateReceiveCount"] == "" || r.EventSourceARN != st.Attr("SyncQueue", "Arn") {
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
