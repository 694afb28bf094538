package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestDataDirSurvivesKill kills the emulators with SIGKILL, as a killed
// `make run` does, and starts them again on the same data folder: every
// message sent and not deleted must still be there, as on SQS, with its
// receive count; messages in flight come back after their visibility
// timeout (or, past maxReceiveCount, in the dead-letter queue); the
// queues keep their redrive policy; and DynamoDB keeps its items.
func TestDataDirSurvivesKill(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Start(ctx, Options{DataDir: dir, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	c, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// DynamoDB: one table, one item.
	table := aws.String("persist")
	if _, err := c.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: table, BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}}}); err != nil {
		t.Fatal(err)
	}
	item := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "dedup#1"}}
	if _, err := c.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item}); err != nil {
		t.Fatal(err)
	}

	// SQS: a dead-letter queue and a queue that redrives to it after 3 receives.
	dlqURL := createQueue(ctx, t, c.SQS, "persist-dlq", nil)
	dlqARN := queueAttrs(ctx, t, c.SQS, dlqURL)["QueueArn"]
	mainAttrs := map[string]string{
		"VisibilityTimeout": "30",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"3"}`, dlqARN),
	}
	mainURL := createQueue(ctx, t, c.SQS, "persist-main", mainAttrs)
	wantRedrive := queueAttrs(ctx, t, c.SQS, mainURL)["RedrivePolicy"]
	for _, body := range []string{"dead", "held", "retried", "deleted", "waiting-1", "waiting-2", "waiting-3"} {
		send(ctx, t, c.SQS, mainURL, body, 0)
	}
	// Each receive takes the first visible message, in the order sent, and
	// hides it for 30 s; "dead" and "retried" are released between receives.
	var dead, retried sqstypes.Message
	for i := 1; i <= 3; i++ {
		if dead = receiveOne(ctx, t, c.SQS, mainURL, "dead", i); i < 3 {
			changeVisibility(ctx, t, c.SQS, mainURL, dead, 0)
		}
	}
	held := receiveOne(ctx, t, c.SQS, mainURL, "held", 1)
	for i := 1; i <= 2; i++ {
		if retried = receiveOne(ctx, t, c.SQS, mainURL, "retried", i); i < 2 {
			changeVisibility(ctx, t, c.SQS, mainURL, retried, 0)
		}
	}
	del := receiveOne(ctx, t, c.SQS, mainURL, "deleted", 1)
	if _, err := c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(mainURL), ReceiptHandle: del.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	send(ctx, t, c.SQS, mainURL, "delayed", 2)
	send(ctx, t, c.SQS, dlqURL, "dead-before", 0)
	// "dead" and "retried" are in flight for one more second: their
	// timeouts end while the emulators are down or starting again. "held"
	// stays in flight well past the restart.
	changeVisibility(ctx, t, c.SQS, mainURL, dead, 1)
	changeVisibility(ctx, t, c.SQS, mainURL, retried, 1)
	changeVisibility(ctx, t, c.SQS, mainURL, held, 300)

	kill(t, st)
	st2, err := Start(ctx, Options{DataDir: dir, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st2.Stop)
	if c, err = st2.Clients(ctx); err != nil {
		t.Fatal(err)
	}

	got, err := c.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: item, ConsistentRead: aws.Bool(true)})
	if err != nil || got.Item == nil {
		t.Errorf("dynamodb item after the restart: %v, %v; want it kept", got, err)
	}

	for _, name := range []string{"persist-main", "persist-dlq"} {
		if _, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err != nil {
			t.Fatalf("queue %s after the restart: %v; want it kept", name, err)
		}
	}
	// A restarted `make run` creates its queues again with the same
	// attributes: that must find them, not fail as a different queue.
	mainURL = createQueue(ctx, t, c.SQS, "persist-main", mainAttrs)
	dlqURL = createQueue(ctx, t, c.SQS, "persist-dlq", nil)
	attrs := queueAttrs(ctx, t, c.SQS, mainURL)
	if !sameJSON(attrs["RedrivePolicy"], wantRedrive) || attrs["VisibilityTimeout"] != "30" {
		t.Errorf("after the restart RedrivePolicy = %s, VisibilityTimeout = %s; want %s, 30", attrs["RedrivePolicy"], attrs["VisibilityTimeout"], wantRedrive)
	}

	// Every message not deleted comes back, each with the receive count it
	// had plus this receive; "held" stays hidden, "dead" has been received
	// 3 times and goes to the dead-letter queue.
	want := map[string]string{"retried": "3", "waiting-1": "1", "waiting-2": "1", "waiting-3": "1", "delayed": "1"}
	gotMain := drain(ctx, t, c.SQS, mainURL, len(want))
	if !reflect.DeepEqual(gotMain, want) {
		t.Errorf("main queue after the restart: got %v (body: receive count), want %v", gotMain, want)
	}
	gotDLQ := drain(ctx, t, c.SQS, dlqURL, 2)
	if wantDLQ := map[string]string{"dead-before": "1", "dead": "1"}; !reflect.DeepEqual(gotDLQ, wantDLQ) {
		t.Errorf("dead-letter queue after the restart: got %v, want %v", gotDLQ, wantDLQ)
	}
	// The receipt handle taken before the kill still works.
	changeVisibility(ctx, t, c.SQS, mainURL, held, 0)
	receiveOne(ctx, t, c.SQS, mainURL, "held", 2)
}

func createQueue(ctx context.Context, t *testing.T, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	return *out.QueueUrl
}

func queueAttrs(ctx context.Context, t *testing.T, c *sqs.Client, url string) map[string]string {
	t.Helper()
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes
}

func send(ctx context.Context, t *testing.T, c *sqs.Client, url, body string, delay int32) {
	t.Helper()
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), DelaySeconds: delay,
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"body": {DataType: aws.String("String"), StringValue: aws.String(body)}}})
	if err != nil {
		t.Fatal(err)
	}
}

func receive(ctx context.Context, t *testing.T, c *sqs.Client, url string, max int32) []sqstypes.Message {
	t.Helper()
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: max,
		WaitTimeSeconds: 1, VisibilityTimeout: 30, MessageAttributeNames: []string{"All"},
		AttributeNames:              []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.Messages {
		if a := m.MessageAttributes["body"]; a.StringValue == nil || *a.StringValue != *m.Body {
			t.Errorf("message %q: attribute body = %v, want the body", *m.Body, a.StringValue)
		}
	}
	return out.Messages
}

// receiveOne receives one message and checks its body and receive count.
func receiveOne(ctx context.Context, t *testing.T, c *sqs.Client, url, body string, count int) sqstypes.Message {
	t.Helper()
	ms := receive(ctx, t, c, url, 1)
	if len(ms) != 1 {
		t.Fatalf("receive %q: got %d messages, want 1", body, len(ms))
	}
	if got := *ms[0].Body; got != body {
		t.Fatalf("receive: got %q, want %q", got, body)
	}
	if got := ms[0].Attributes["ApproximateReceiveCount"]; got != fmt.Sprint(count) {
		t.Errorf("receive %q: ApproximateReceiveCount = %s, want %d", body, got, count)
	}
	return ms[0]
}

func changeVisibility(ctx context.Context, t *testing.T, c *sqs.Client, url string, m sqstypes.Message, secs int32) {
	t.Helper()
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
		ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: secs}); err != nil {
		t.Fatal(err)
	}
}

// drain receives and deletes messages until it has n or 15 s have passed,
// and returns each body with its receive count.
func drain(ctx context.Context, t *testing.T, c *sqs.Client, url string, n int) map[string]string {
	t.Helper()
	got := map[string]string{}
	for deadline := time.Now().Add(15 * time.Second); len(got) < n && time.Now().Before(deadline); {
		for _, m := range receive(ctx, t, c, url, 10) {
			if _, dup := got[*m.Body]; dup {
				t.Errorf("%q received twice", *m.Body)
			}
			got[*m.Body] = m.Attributes["ApproximateReceiveCount"]
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Nothing more: one more receive finds the queue empty.
	for _, m := range receive(ctx, t, c, url, 10) {
		t.Errorf("unexpected message %q (receive count %s)", *m.Body, m.Attributes["ApproximateReceiveCount"])
	}
	return got
}

func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// kill ends the emulators with SIGKILL: no graceful shutdown, no chance to
// write anything on the way out.
func kill(t *testing.T, s *Stack) {
	t.Helper()
	for _, p := range s.procs {
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s: %v", p.name, err)
		}
	}
	for _, p := range s.procs {
		<-p.exited
	}
}
