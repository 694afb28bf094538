package localstack

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestProvisionAddsMissingIndexes: a table kept in a data folder from
// before the template gained an index gets it when the stack is
// provisioned again, as a stack update would add it.
func TestProvisionAddsMissingIndexes(t *testing.T) {
	ctx := context.Background()
	tmpl, err := LoadTemplate(filepath.Join("testdata", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("t%d-", time.Now().UnixNano())
	// The table as an older template made it: no index.
	if _, err := emu.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(prefix + "Store"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: "S"}, {AttributeName: aws.String("sk"), AttributeType: "S"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}, {AttributeName: aws.String("sk"), KeyType: "RANGE"}},
	}); err != nil {
		t.Fatal(err)
	}
	st, err := Provision(ctx, tmpl, prefix, Clients{DynamoDB: emu.DynamoDB, SQS: emu.SQS}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := emu.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(st.Ref("Store"))})
	if err != nil {
		t.Fatal(err)
	}
	if g := d.Table.GlobalSecondaryIndexes; len(g) != 1 || aws.ToString(g[0].IndexName) != "by_kind" {
		t.Errorf("indexes = %+v, want by_kind added", g)
	}
}
