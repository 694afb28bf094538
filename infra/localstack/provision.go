package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Stack is a template provisioned in the emulators: the physical names and
// attributes of its resources, used to resolve !Ref and !GetAtt.
type Stack struct {
	Template *Template
	// Prefix starts every physical name (e.g. "ordersync-local-").
	Prefix string
	refs   map[string]string            // logical id -> !Ref value
	attrs  map[string]map[string]string // logical id -> attribute -> value
}

// Clients are the SDK clients Provision uses.
type Clients struct {
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
}

// Provision creates the template's DynamoDB tables and SQS queues (dead-
// letter queues first) under names starting with prefix. Resources that
// exist already are reused, so a persistent local run can restart.
func Provision(ctx context.Context, t *Template, prefix string, c Clients, params map[string]string) (*Stack, error) {
	s := &Stack{Template: t, Prefix: prefix, refs: map[string]string{}, attrs: map[string]map[string]string{}}
	for k, v := range params {
		t.Parameters[k] = v
	}
	for name, v := range t.Parameters {
		s.refs[name] = v
	}
	s.refs["AWS::Region"] = "us-east-1"
	s.refs["AWS::AccountId"] = "000000000000"
	s.refs["AWS::URLSuffix"] = "amazonaws.com"
	for _, name := range t.Names("AWS::DynamoDB::Table") {
		if err := s.createTable(ctx, c.DynamoDB, name); err != nil {
			return nil, fmt.Errorf("localstack: table %s: %w", name, err)
		}
	}
	queues := t.Names("AWS::SQS::Queue")
	// Queues with no RedrivePolicy first: they are the dead-letter targets.
	sort.SliceStable(queues, func(i, j int) bool {
		_, ri := t.Resources[queues[i]].Properties["RedrivePolicy"]
		_, rj := t.Resources[queues[j]].Properties["RedrivePolicy"]
		return !ri && rj
	})
	for _, name := range queues {
		if err := s.createQueue(ctx, c.SQS, name); err != nil {
			return nil, fmt.Errorf("localstack: queue %s: %w", name, err)
		}
	}
	return s, nil
}

func (s *Stack) createTable(ctx context.Context, db *dynamodb.Client, name string) error {
	p := s.Template.Resources[name].Properties
	physical := s.Prefix + name
	in := &dynamodb.CreateTableInput{TableName: aws.String(physical), BillingMode: ddbtypes.BillingModePayPerRequest}
	for _, a := range asSlice(p["AttributeDefinitions"]) {
		am := asMap(a)
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(fmt.Sprint(am["AttributeName"])),
			AttributeType: ddbtypes.ScalarAttributeType(fmt.Sprint(am["AttributeType"]))})
	}
	in.KeySchema = keySchema(p["KeySchema"])
	for _, g := range asSlice(p["GlobalSecondaryIndexes"]) {
		gm := asMap(g)
		pm := asMap(gm["Projection"])
		proj := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(fmt.Sprint(pm["ProjectionType"]))}
		for _, a := range asSlice(pm["NonKeyAttributes"]) { // an INCLUDE projection's
			proj.NonKeyAttributes = append(proj.NonKeyAttributes, fmt.Sprint(a))
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(fmt.Sprint(gm["IndexName"])),
			KeySchema:  keySchema(gm["KeySchema"]),
			Projection: proj,
		})
	}
	_, err := db.CreateTable(ctx, in)
	var inUse *ddbtypes.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		// A table kept in a data folder from before the template gained
		// an index: add those it lacks, as a stack update would.
		if err := addIndexes(ctx, db, in); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(physical)}, 30*time.Second); err != nil {
			return err
		}
	}
	if ttl := asMap(p["TimeToLiveSpecification"]); ttl != nil && fmt.Sprint(ttl["Enabled"]) == "true" {
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(physical),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(fmt.Sprint(ttl["AttributeName"])), Enabled: aws.Bool(true)}})
		if err != nil && !strings.Contains(err.Error(), "already enabled") {
			return err
		}
	}
	s.refs[name] = physical
	s.attrs[name] = map[string]string{"Arn": "arn:aws:dynamodb:ddblocal:000000000000:table/" + physical}
	return nil
}

// addIndexes creates, one at a time as DynamoDB requires, the indexes of
// in that the existing table lacks, and waits for each to be active.
func addIndexes(ctx context.Context, db *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, g := range d.Table.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	for _, g := range in.GlobalSecondaryIndexes {
		if have[aws.ToString(g.IndexName)] {
			continue
		}
		_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: in.TableName, AttributeDefinitions: in.AttributeDefinitions,
			GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{{Create: &ddbtypes.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection}}}})
		if err != nil {
			return fmt.Errorf("add index %s: %w", aws.ToString(g.IndexName), err)
		}
		if err := waitIndex(ctx, db, in.TableName, g.IndexName); err != nil {
			return err
		}
	}
	return nil
}

// waitIndex polls until the table's index is active (DynamoDB Local
// builds it at once; this is for the rare slow one), within 30 s.
func waitIndex(ctx context.Context, db *dynamodb.Client, table, index *string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: table})
		if err != nil {
			return fmt.Errorf("index %s: %w", aws.ToString(index), err)
		}
		for _, g := range d.Table.GlobalSecondaryIndexes {
			if aws.ToString(g.IndexName) == aws.ToString(index) && g.IndexStatus == ddbtypes.IndexStatusActive {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("index %s: not active: %w", aws.ToString(index), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func keySchema(v any) []ddbtypes.KeySchemaElement {
	var out []ddbtypes.KeySchemaElement
	for _, k := range asSlice(v) {
		km := asMap(k)
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(fmt.Sprint(km["AttributeName"])), KeyType: ddbtypes.KeyType(fmt.Sprint(km["KeyType"]))})
	}
	return out
}

// queueAttributes maps template properties to SQS attribute names.
var queueAttributes = map[string]string{
	"VisibilityTimeout":             "VisibilityTimeout",
	"MessageRetentionPeriod":        "MessageRetentionPeriod",
	"DelaySeconds":                  "DelaySeconds",
	"ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
}

func (s *Stack) createQueue(ctx context.Context, q *sqs.Client, name string) error {
	p := s.Template.Resources[name].Properties
	physical := s.Prefix + name
	attrs := map[string]string{}
	for prop, attr := range queueAttributes {
		if v, ok := p[prop]; ok {
			attrs[attr] = s.Resolve(v)
		}
	}
	if rp := asMap(p["RedrivePolicy"]); rp != nil {
		b, _ := json.Marshal(map[string]string{
			"deadLetterTargetArn": s.Resolve(rp["deadLetterTargetArn"]),
			"maxReceiveCount":     s.Resolve(rp["maxReceiveCount"]),
		})
		attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(b)
	}
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(physical), Attributes: attrs})
	if err != nil {
		return err
	}
	got, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return err
	}
	s.refs[name] = *out.QueueUrl
	s.attrs[name] = map[string]string{"Arn": got.Attributes["QueueArn"], "QueueName": physical, "QueueUrl": *out.QueueUrl}
	return nil
}

// Resolve evaluates a template value: plain scalars, !Ref, !GetAtt and !Sub.
// Unknown references resolve to "" so a missing name shows up as an error
// where it is used, not as a crash here.
func (s *Stack) Resolve(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return fmt.Sprint(x)
	case map[string]any:
		if r, ok := x["Ref"]; ok {
			return s.refs[fmt.Sprint(r)]
		}
		if g, ok := x["Fn::GetAtt"]; ok {
			parts := asSlice(g)
			if len(parts) == 2 {
				return s.attrs[fmt.Sprint(parts[0])][fmt.Sprint(parts[1])]
			}
		}
		if sub, ok := x["Fn::Sub"].(string); ok {
			var b strings.Builder
			for {
				i := strings.Index(sub, "${")
				j := strings.Index(sub, "}")
				if i < 0 || j < i {
					b.WriteString(sub)
					return b.String()
				}
				b.WriteString(sub[:i])
				name := sub[i+2 : j]
				if res, attr, ok := strings.Cut(name, "."); ok {
					b.WriteString(s.attrs[res][attr])
				} else {
					b.WriteString(s.refs[name])
				}
				sub = sub[j+1:]
			}
		}
	}
	return ""
}

// Ref returns what !Ref of a logical id resolves to.
func (s *Stack) Ref(name string) string { return s.refs[name] }

// Attr returns what !GetAtt name.attr resolves to.
func (s *Stack) Attr(name, attr string) string { return s.attrs[name][attr] }
