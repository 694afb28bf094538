package localaws

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestStart starts the three emulators and calls each through the SDK.
func TestStart(t *testing.T) {
	ctx := context.Background()
	st, err := Start(ctx, Options{Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	c, err := st.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("dynamodb: %v", err)
	}
	q, err := c.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("probe")})
	if err != nil {
		t.Fatalf("sqs: %v", err)
	}
	// Real SQS counts receives only; infra/local patches local-aws-sqs,
	// which also counted visibility changes, so retries count once each.
	if _, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receive %d: %v, %d messages", want, err, len(out.Messages))
		}
		if got := out.Messages[0].Attributes["ApproximateReceiveCount"]; got != fmt.Sprint(want) {
			t.Errorf("receive %d: ApproximateReceiveCount = %s, want %d (is infra/local/patch-local-aws-sqs.js applied?)", want, got, want)
		}
		if _, err := c.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: q.QueueUrl,
			ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.SES.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("from@example.com"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"to@example.com"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("probe subject")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("probe body")}},
		}},
	})
	if err != nil {
		t.Fatalf("ses: %v", err)
	}
	mails, err := st.Mails(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 || mails[0].Subject != "probe subject" || mails[0].Body.Text != "probe body" || mails[0].Destination.To[0] != "to@example.com" {
		t.Errorf("mails = %+v, want the one probe mail", mails)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }
