package templatecheck

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/ordersync/ordersync/infra/localstack"
)

// Call is one permission a request needed: its IAM action and resource,
// and for DynamoDB the partition key of the item. DynamoDB's resource is
// the table (${Table.Arn}) or index (${Table.Arn}/index/<name>), the key
// "" for index queries; SQS's is the queue's URL until Check names it.
type Call struct{ Action, Resource, Key string }

func (c Call) String() string {
	s := c.Action + " " + c.Resource
	if c.Key != "" {
		s += " pk=" + c.Key
	}
	return s
}

// Recorder records the DynamoDB and SQS calls of each function. It is
// safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	calls map[string]map[Call]bool
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{calls: map[string]map[Call]bool{}} }

// Options returns a DynamoDB client option that records the function fn's
// calls, before they are sent.
func (r *Recorder) Options(fn string) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("templatecheck.Record",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					r.add(fn, calls(in.Parameters))
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}
}

// SQSOptions returns an SQS client option that records the function fn's
// calls, before they are sent.
func (r *Recorder) SQSOptions(fn string) func(*sqs.Options) {
	return func(o *sqs.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("templatecheck.Record",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					r.add(fn, []Call{sqsCall(in.Parameters)})
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}
}

// sqsCall names the permission of an SQS request, on the queue's URL.
// SendMessageBatch needs sqs:SendMessage, as the SAM policy grants it
// (sqs:SendMessage*).
func sqsCall(in any) Call {
	switch x := in.(type) {
	case *sqs.SendMessageInput:
		return Call{"sqs:SendMessage*", deref(x.QueueUrl), ""}
	case *sqs.SendMessageBatchInput:
		return Call{"sqs:SendMessage*", deref(x.QueueUrl), ""}
	case *sqs.ChangeMessageVisibilityInput:
		return Call{"sqs:ChangeMessageVisibility", deref(x.QueueUrl), ""}
	case *sqs.ChangeMessageVisibilityBatchInput:
		return Call{"sqs:ChangeMessageVisibilityBatch", deref(x.QueueUrl), ""}
	case *sqs.DeleteMessageInput:
		return Call{"sqs:DeleteMessage", deref(x.QueueUrl), ""}
	case *sqs.ReceiveMessageInput:
		return Call{"sqs:ReceiveMessage", deref(x.QueueUrl), ""}
	case *sqs.GetQueueAttributesInput:
		return Call{"sqs:GetQueueAttributes", deref(x.QueueUrl), ""}
	}
	return Call{fmt.Sprintf("sqs:%T", in), "?", ""}
}

func (r *Recorder) add(fn string, cs []Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls[fn] == nil {
		r.calls[fn] = map[Call]bool{}
	}
	for _, c := range cs {
		r.calls[fn][c] = true
	}
}

// Calls returns the distinct calls each function made, sorted.
func (r *Recorder) Calls() map[string][]Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]Call{}
	for fn, cs := range r.calls {
		for c := range cs {
			out[fn] = append(out[fn], c)
		}
		sort.Slice(out[fn], func(i, j int) bool { return out[fn][i].String() < out[fn][j].String() })
	}
	return out
}

// Check returns the calls the template does not grant the function that
// made them, one line each ("Function: call"). queues maps each queue's
// URL to its logical id, whose ${Id.Arn} the grants name.
func (r *Recorder) Check(tpl *localstack.Template, queues map[string]string) ([]string, error) {
	var denied []string
	for fn, cs := range r.Calls() {
		gs, err := Grants(tpl, fn)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if strings.HasPrefix(c.Action, "sqs:") {
				if id, ok := queues[c.Resource]; ok {
					c.Resource = "${" + id + ".Arn}"
				}
			}
			if !Allows(gs, c) {
				denied = append(denied, fn+": "+c.String())
			}
		}
	}
	sort.Strings(denied)
	return denied, nil
}

// Allows reports whether a grant allows c: the same action and resource,
// and an item key the grant's pattern matches (a trailing * matching any
// rest, as StringLike does for ordersync's prefixes).
func Allows(gs []Grant, c Call) bool {
	for _, g := range gs {
		if g.Action != c.Action || g.Resource != c.Resource {
			continue
		}
		if g.Key == "" || g.Key == c.Key || strings.HasSuffix(g.Key, "*") && strings.HasPrefix(c.Key, strings.TrimSuffix(g.Key, "*")) {
			return true
		}
	}
	return false
}

const tableARN = "${Table.Arn}"

func pk(item map[string]types.AttributeValue) string {
	if s, ok := item["pk"].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return "?"
}

var keyCond = regexp.MustCompile(`(?:^|[\s(])pk\s*=\s*(:\w+)`)

// calls names what the request in needs, one Call per item it touches.
func calls(in any) []Call {
	item := func(action string, it map[string]types.AttributeValue) Call {
		return Call{action, tableARN, pk(it)}
	}
	switch x := in.(type) {
	case *dynamodb.GetItemInput:
		return []Call{item("dynamodb:GetItem", x.Key)}
	case *dynamodb.PutItemInput:
		return []Call{item("dynamodb:PutItem", x.Item)}
	case *dynamodb.UpdateItemInput:
		return []Call{item("dynamodb:UpdateItem", x.Key)}
	case *dynamodb.DeleteItemInput:
		return []Call{item("dynamodb:DeleteItem", x.Key)}
	case *dynamodb.QueryInput:
		if x.IndexName != nil {
			return []Call{{"dynamodb:Query", tableARN + "/index/" + *x.IndexName, ""}}
		}
		key := "?"
		if m := keyCond.FindStringSubmatch(deref(x.KeyConditionExpression)); m != nil {
			key = pk(map[string]types.AttributeValue{"pk": x.ExpressionAttributeValues[m[1]]})
		}
		return []Call{{"dynamodb:Query", tableARN, key}}
	case *dynamodb.ScanInput:
		return []Call{{"dynamodb:Scan", tableARN, ""}}
	case *dynamodb.BatchGetItemInput:
		var out []Call
		for _, ka := range x.RequestItems {
			for _, k := range ka.Keys {
				out = append(out, item("dynamodb:BatchGetItem", k))
			}
		}
		return out
	case *dynamodb.BatchWriteItemInput:
		var out []Call
		for _, ws := range x.RequestItems {
			for _, w := range ws {
				switch {
				case w.PutRequest != nil:
					out = append(out, item("dynamodb:BatchWriteItem", w.PutRequest.Item))
				case w.DeleteRequest != nil:
					out = append(out, item("dynamodb:BatchWriteItem", w.DeleteRequest.Key))
				}
			}
		}
		return out
	case *dynamodb.TransactWriteItemsInput:
		// A transaction needs the permission of each of its parts.
		var out []Call
		for _, t := range x.TransactItems {
			switch {
			case t.Put != nil:
				out = append(out, item("dynamodb:PutItem", t.Put.Item))
			case t.Update != nil:
				out = append(out, item("dynamodb:UpdateItem", t.Update.Key))
			case t.Delete != nil:
				out = append(out, item("dynamodb:DeleteItem", t.Delete.Key))
			case t.ConditionCheck != nil:
				out = append(out, item("dynamodb:ConditionCheckItem", t.ConditionCheck.Key))
			}
		}
		return out
	}
	return []Call{{fmt.Sprintf("dynamodb:%T", in), tableARN, "?"}}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
