package awscount_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/awscount"
	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/localstack/stacktest"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// TestProxyCountsWhatDynamoDBReports: the units come from the emulator's
// ConsumedCapacity, by item size, with a GSI's write counted beside the
// table's, a refused conditional write counted as one unit, and a read
// that found nothing as the least a read costs.
func TestProxyCountsWhatDynamoDBReports(t *testing.T) {
	ctx := t.Context()
	st := stacktest.New(t, nil)
	table := st.Ref("Table")
	c := awscount.NewCounter()
	p, err := awscount.Start(stacktest.Endpoints().DynamoDB, c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	db := dynamodb.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}},
		func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(p.URL); o.Credentials = staticCreds{} }, localaws.DynamoDBLocalFix)

	put := func(pk string, extra map[string]types.AttributeValue, cond string) error {
		it := map[string]types.AttributeValue{"pk": s(pk), "sk": s("X")}
		for k, v := range extra {
			it[k] = v
		}
		in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
		}
		_, err := db.PutItem(ctx, in)
		return err
	}
	get := func(pk string, consistent bool) error {
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": s(pk), "sk": s("X")}, ConsistentRead: aws.Bool(consistent)})
		return err
	}
	query := func(pk string, consistent bool) error {
		_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(pk)}, ConsistentRead: aws.Bool(consistent)})
		return err
	}
	big := strings.Repeat("x", 1500) // 2 KB item: 2 units
	steps := []struct {
		name string
		run  func() error
		want awscount.Op
	}{
		{"small put", func() error { return put("A", nil, "") }, awscount.Op{Calls: 1, WRU: 1}},
		{"2 KB put", func() error { return put("B", map[string]types.AttributeValue{"v": s(big)}, "") }, awscount.Op{Calls: 1, WRU: 2}},
		{"put on gsi3", func() error {
			return put("C", map[string]types.AttributeValue{"gsi3pk": s("U"), "gsi3sk": s("1")}, "")
		}, awscount.Op{Calls: 1, WRU: 2, GSIWRU: 1}},
		{"refused put", func() error {
			err := put("A", nil, "attribute_not_exists(pk)")
			if err == nil {
				t.Error("conditional put of an existing item succeeded")
			}
			return nil
		}, awscount.Op{Calls: 1, WRU: 1, ConditionFailed: 1}},
		{"consistent get", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": s("A"), "sk": s("X")}, ConsistentRead: aws.Bool(true)})
			return err
		}, awscount.Op{Calls: 1, RRU: 1}},
		{"eventually consistent get", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": s("A"), "sk": s("X")}})
			return err
		}, awscount.Op{Calls: 1, RRU: 0.5}},
		// What is not there is billed too, at the least a read costs; the
		// emulator reports less (0 for an empty Query).
		{"consistent get of a missing item", func() error { return get("nothing", true) }, awscount.Op{Calls: 1, RRU: 1}},
		{"eventually consistent get of a missing item", func() error { return get("nothing", false) }, awscount.Op{Calls: 1, RRU: 0.5}},
		{"consistent query of an empty partition", func() error { return query("nothing", true) }, awscount.Op{Calls: 1, RRU: 1}},
		{"eventually consistent query of an empty partition", func() error { return query("nothing", false) }, awscount.Op{Calls: 1, RRU: 0.5}},
		{"consistent query of one item", func() error { return query("A", true) }, awscount.Op{Calls: 1, RRU: 1}},
		{"consistent batch get of two missing items", func() error {
			_, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: {
				Keys:           []map[string]types.AttributeValue{{"pk": s("nothing"), "sk": s("X")}, {"pk": s("nothing either"), "sk": s("X")}},
				ConsistentRead: aws.Bool(true)}}})
			return err
		}, awscount.Op{Calls: 1, RRU: 2}},
	}
	for _, step := range steps {
		before := c.Snapshot()
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got := c.Snapshot().Minus(before).Total("dynamodb:")
		if got != step.want {
			t.Errorf("%s: counted %+v, want %+v", step.name, got, step.want)
		}
	}
}

// TestProxyNamesSQSActions: SQS requests are counted by action, and a
// receive that found nothing apart.
func TestProxyNamesSQSActions(t *testing.T) {
	ctx := t.Context()
	c := awscount.NewCounter()
	p, err := awscount.Start(stacktest.Endpoints().SQS, c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q := sqs.NewFromConfig(aws.Config{Region: "us-east-1"}, func(o *sqs.Options) { o.BaseEndpoint = aws.String(p.URL); o.Credentials = staticCreds{} })
	cq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("awscount-" + strings.ToLower(t.Name()))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: cq.QueueUrl, MessageBody: aws.String("{}")}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl}); err != nil {
		t.Fatal(err)
	}
	got := c.Snapshot()
	for name, want := range map[string]int{"sqs:CreateQueue": 1, "sqs:SendMessage": 1, "sqs:ReceiveMessage": 1, "sqs:ReceiveMessage(empty)": 1} {
		if got[name].Calls != want {
			t.Errorf("%s: %d calls, want %d (all: %s)", name, got[name].Calls, want, got)
		}
	}
	if n := got.Billed("sqs:"); n != 3 {
		t.Errorf("billed SQS requests = %d, want 3 (create, send, receive)", n)
	}
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "test"}, nil
}
