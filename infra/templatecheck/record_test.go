package templatecheck_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/templatecheck"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s("X")}
}

// TestRecorder sends requests through a real client to a closed port: the
// recorder names each permission before the request leaves.
func TestRecorder(t *testing.T) {
	tbl := aws.String("t")
	tests := []struct {
		name string
		call func(context.Context, *dynamodb.Client) error
		want []string
	}{
		{"get", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tbl, Key: key("CONN#a")})
			return err
		}, []string{"dynamodb:GetItem ${Table.Arn} pk=CONN#a"}},
		{"query table", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tbl, KeyConditionExpression: aws.String("pk = :p AND begins_with(sk, :s)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("ALIAS#a"), ":s": s("S#")}})
			return err
		}, []string{"dynamodb:Query ${Table.Arn} pk=ALIAS#a"}},
		{"query index", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tbl, IndexName: aws.String("gsi6"), KeyConditionExpression: aws.String("gsi4pk = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("ORDERS#a#failed")}})
			return err
		}, []string{"dynamodb:Query ${Table.Arn}/index/gsi6"}},
		{"transaction: each part's own action", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: tbl, Item: key("ALIAS#a")}},
				{Update: &types.Update{TableName: tbl, Key: key("ALIAS#a"), UpdateExpression: aws.String("ADD n :one")}},
				{Delete: &types.Delete{TableName: tbl, Key: key("ALIAS#b")}},
			}})
			return err
		}, []string{"dynamodb:DeleteItem ${Table.Arn} pk=ALIAS#b", "dynamodb:PutItem ${Table.Arn} pk=ALIAS#a", "dynamodb:UpdateItem ${Table.Arn} pk=ALIAS#a"}},
		{"batch get", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				"t": {Keys: []map[string]types.AttributeValue{key("ORDER#a#1"), key("LINK#a#2")}}}})
			return err
		}, []string{"dynamodb:BatchGetItem ${Table.Arn} pk=LINK#a#2", "dynamodb:BatchGetItem ${Table.Arn} pk=ORDER#a#1"}},
		{"scan", func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: tbl})
			return err
		}, []string{"dynamodb:Scan ${Table.Arn}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := templatecheck.NewRecorder()
			c := dynamodb.New(dynamodb.Options{Region: "eu-west-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
				Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}, r.Options("Fn"))
			if err := tt.call(context.Background(), c); err == nil {
				t.Fatal("no error from a closed port")
			}
			var got []string
			for _, c := range r.Calls()["Fn"] {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("calls = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	gs := []templatecheck.Grant{
		{Action: "dynamodb:GetItem", Resource: "${Table.Arn}", Key: "CONN#*"},
		{Action: "dynamodb:Query", Resource: "${Table.Arn}/index/gsi1"},
	}
	tests := []struct {
		name string
		call templatecheck.Call
		want bool
	}{
		{"prefix", templatecheck.Call{Action: "dynamodb:GetItem", Resource: "${Table.Arn}", Key: "CONN#a"}, true},
		{"other prefix", templatecheck.Call{Action: "dynamodb:GetItem", Resource: "${Table.Arn}", Key: "ORDER#a#1"}, false},
		{"other action", templatecheck.Call{Action: "dynamodb:PutItem", Resource: "${Table.Arn}", Key: "CONN#a"}, false},
		{"named index", templatecheck.Call{Action: "dynamodb:Query", Resource: "${Table.Arn}/index/gsi1"}, true},
		{"other index", templatecheck.Call{Action: "dynamodb:Query", Resource: "${Table.Arn}/index/gsi2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := templatecheck.Allows(gs, tt.call); got != tt.want {
				t.Errorf("Allows(%s) = %v, want %v", tt.call, got, tt.want)
			}
		})
	}
}

// TestRecorderSQS names an SQS request's permission on its queue.
func TestRecorderSQS(t *testing.T) {
	r := templatecheck.NewRecorder()
	c := sqs.New(sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}, r.SQSOptions("Fn"))
	url := "http://127.0.0.1:1/000000000000/q"
	_, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url),
		Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("1"), MessageBody: aws.String("{}")}}})
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	got := r.Calls()["Fn"]
	want := []templatecheck.Call{{Action: "sqs:SendMessage*", Resource: url}}
	if !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}
