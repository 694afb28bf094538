package localsystem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localstack"
	"github.com/ordersync/ordersync/shared/merchantapi"
)

// TestTemplate holds template.yaml, as the local stack provisioned and
// resolved it, to what the functions wired here expect of it.
func TestTemplate(t *testing.T) {
	ctx := context.Background()
	st := sys.Stack
	table := st.Ref("Table")
	d, err := sys.Clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("table %q: %v", table, err)
	}
	var gsis []string
	for _, g := range d.Table.GlobalSecondaryIndexes {
		gsis = append(gsis, aws.ToString(g.IndexName))
	}
	slices.Sort(gsis)
	if got, want := strings.Join(gsis, ","), "gsi1,gsi2,gsi3,gsi5,gsi6"; got != want {
		t.Errorf("GSIs = %s, want %s", got, want)
	}
	ttl, err := sys.Clients.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires_at" {
		t.Errorf("TTL = %+v, %v; want expires_at", ttl, err)
	}
	attrs, err := sys.Clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(st.Ref("SyncQueue")),
		AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := attrs.Attributes["RedrivePolicy"], st.Attr("SyncDLQ", "Arn"); !strings.Contains(got, want) {
		t.Errorf("RedrivePolicy = %s, want DLQ %s", got, want)
	}
	if got := attrs.Attributes["VisibilityTimeout"]; got != "360" {
		t.Errorf("VisibilityTimeout = %s, want 360", got)
	}

	fns, err := st.Functions()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]localstack.Function{}
	for _, f := range fns {
		byID[f.LogicalID] = f
	}
	wh := byID["WebhookFunction"]
	if len(wh.Routes) != 1 || wh.Routes[0] != (localstack.Route{Method: "POST", Path: "/webhooks/{source}/{connection}"}) {
		t.Errorf("webhook routes = %+v", wh.Routes)
	}
	if wh.Env["TABLE_NAME"] != table || wh.Env["SYNC_QUEUE_URL"] != st.Ref("SyncQueue") || wh.Timeout != 5*time.Second {
		t.Errorf("webhook env/timeout = %v %v", wh.Env, wh.Timeout)
	}
	api := byID["ApiFunction"]
	if len(api.Routes) != len(merchantapi.Routes()) || api.Env["SYNC_QUEUE_URL"] != st.Ref("SyncQueue") || api.Env["TABLE_NAME"] != table {
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
	// No DLQ of its own: a failure reaches SyncDLQ by the redrive policy.
	if hasKey(sy.Env, "DLQ_URL") || sy.Env["MAX_RECEIVE_COUNT"] != "3" {
		t.Errorf("sync env = %v; want MAX_RECEIVE_COUNT 3 and no DLQ_URL", sy.Env)
	}
	rd := byID["RefreshDispatchFunction"]
	if len(rd.Schedules) != 1 || rd.Schedules[0] != (localstack.Schedule{Name: "Hourly", Expression: "cron(20 * * * ? *)"}) {
		t.Errorf("refresh dispatch schedules = %+v; the README and `make run` name Hourly", rd.Schedules)
	}
	if rd.Env["REFRESH_QUEUE_URL"] != st.Ref("RefreshQueue") || len(rd.Queues) != 0 {
		t.Errorf("refresh dispatch env %v, queues %+v; want it to send to the refresh queue and read none", rd.Env, rd.Queues)
	}
	rf := byID["RefreshFunction"]
	if len(rf.Schedules) != 0 || len(rf.Queues) != 1 || rf.Queues[0].QueueURL != st.Ref("RefreshQueue") || rf.Queues[0].BatchSize != 1 || !rf.Queues[0].ReportBatchFailures {
		t.Errorf("refresh worker schedules %+v, queues %+v; want the refresh queue, one job a call, partial batch responses", rf.Schedules, rf.Queues)
	}
	if rf.Env["UNSYNCED_AFTER_MINUTES"] != "60" || rf.Env["UNSYNCED_MAX_REQUEUES"] != "3" {
		t.Errorf("refresh env = %v; want the ledger swept after 60 minutes, 3 times at most", rf.Env)
	}
	// No DLQ of its own: a failed job reaches RefreshDLQ by the redrive policy.
	if rf.Env["REFRESH_QUEUE_URL"] != st.Ref("RefreshQueue") || rf.Env["SYNC_QUEUE_URL"] != st.Ref("SyncQueue") || hasKey(rf.Env, "REFRESH_DLQ_URL") {
		t.Errorf("refresh env = %v; want its queue and the sync queue, and no DLQ", rf.Env)
	}
	rq, err := sys.Clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(st.Ref("RefreshQueue")),
		AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	var redrive struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(rq.Attributes["RedrivePolicy"]), &redrive); err != nil || redrive.DeadLetterTargetArn != st.Attr("RefreshDLQ", "Arn") {
		t.Errorf("refresh queue RedrivePolicy = %s (%v), want DLQ %s", rq.Attributes["RedrivePolicy"], err, st.Attr("RefreshDLQ", "Arn"))
	}
	// The worker fails a job for good on its last receive itself, with the
	// reason: it must count the receives the queue's redrive counts.
	if got := fmt.Sprint(redrive.MaxReceiveCount); got != rf.Env["REFRESH_MAX_RECEIVE_COUNT"] {
		t.Errorf("refresh queue maxReceiveCount %s, worker's REFRESH_MAX_RECEIVE_COUNT %q: want them equal", got, rf.Env["REFRESH_MAX_RECEIVE_COUNT"])
	}
	// Six times the worker's timeout, as for the sync queue.
	if got, want := rq.Attributes["VisibilityTimeout"], fmt.Sprint(int(6*rf.Timeout.Seconds())); got != want {
		t.Errorf("refresh queue VisibilityTimeout = %s, want %s (6 x the worker's timeout)", got, want)
	}
	if wh.Env["UNSYNCED_AFTER_MINUTES"] != rf.Env["UNSYNCED_AFTER_MINUTES"] {
		t.Errorf("webhook env = %v; want the refresh's UNSYNCED_AFTER_MINUTES, so both take the same events for lost", wh.Env)
	}
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }
