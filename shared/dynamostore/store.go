// Package dynamostore keeps ordersync's state in one DynamoDB table, with
// typed items keyed by connection and order (the table is declared in
// template.yaml):
//
//	pk                              sk                    what
//	CONN#<id>                       CONN                  a connection (gsi1: CONNECTIONS)
//	CONN#<id>                       CHECKPOINT#<side>     where the refresh of one side stands (marketplace, store)
//	CONN#<id>                       CHECKPOINT            the checkpoint of the refresh before sides: read as the
//	                                                      marketplace's while it has no CHECKPOINT#marketplace
//	CONN#<id>                       REPORT#<time>         a refresh run's drift report (7-day TTL; reports.go)
//	ORDER#<conn>#<marketplace id>   STATE                 an order's state, versioned; while unsettled (pending,
//	                                                      failed, held) on gsi3: UNSETTLED#<conn>, sync time
//	                                                      always on gsi6: ORDERS#<conn>#<sync state>, time#id; with a
//	                                                      store order name, on gsi5: NAME#<conn>#<name> (jobs.go);
//	                                                      a TTL of the order retention once closed, longer while open (retention.go)
//	ORDER#<conn>#<marketplace id>   ERR#<time>, or ERR#<code>#<run start>: a failure, or a run's (gsi1: ERRORS#<conn>, 7-day TTL)
//	LINK#<conn>#<store order id>    LINK                  store order -> marketplace order (a TTL past its state's; retention.go)
//	DEDUP#<key>                     CLAIM                 a webhook delivery claim (TTL), and its accepted
//	                                                      event until synced (gsi2: UNSYNCED#<conn>; ledger.go)
//	EFFECTS#<conn>#<marketplace id> EFFECTS               the order's marketplace call claims, an attribute
//	                                                      each (TTL; effects.go)
//	NOTIFIED#<key>                  NOTIFIED              an email already sent (TTL)
//	ALIAS#<conn>                    S#<store sku>         a merchant's SKU alias, store to marketplace, and
//	ALIAS#<conn>                    M#<marketplace sku>   the same alias the other way (aliases.go)
//	ALIAS#<conn>                    COUNT                 how many aliases the connection holds
//	CONN#<id>                       JOB#<job id>          a merchant's bulk re-sync job (7-day TTL; jobs.go)
//	JOB#<conn>#<job id>             PART#<n>              the job's order ids, 1,000 a part (7-day TTL)
//	DIGEST#<conn>                   HOUR#<hour>           an hour's email count, its digest's claim and sent mark (TTL; digests.go)
//	DIGEST#<conn>#<hour>            <n>                   the hour's n-th failure, held for its digest (TTL)
//
// Times in sort keys are sortable: UTC, RFC 3339 with all nine digits of
// the fraction. The indexes (gsi1 to gsi5) are eventually consistent:
// what they list may lag the last writes by a moment.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/order"
)

// API is the part of the DynamoDB client the store uses; *dynamodb.Client
// satisfies it.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	// TransactWriteItems writes both directions of an SKU alias (aliases.go).
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is ordersync's table.
type Store struct {
	db    API
	table string
	now   func() time.Time
	// retention is how long a closed order's items are kept (retention.go).
	retention time.Duration
	// conns, when set, caches connections (conncache.go).
	conns *connCache
	// linked are the links LinkOrder just put (retention.go).
	linked *justLinked
}

// New returns a Store over the named table.
func New(db API, table string) *Store {
	return &Store{db: db, table: table, now: time.Now, retention: order.DefaultRetention, linked: &justLinked{}}
}

// WithClock returns a copy of s that reads the time from now (for tests of
// expiry and leases).
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// get reads one item into out; it returns a wrapped order.ErrNotFound (via
// notFound) when there is none.
func (s *Store) get(ctx context.Context, pk, sk string, out any) (bool, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fmt.Errorf("dynamostore: get %s/%s: %w", pk, sk, err)
	}
	if res.Item == nil {
		return false, nil
	}
	if err := attributevalue.UnmarshalMapWithOptions(res.Item, out, jsonTags); err != nil {
		return false, fmt.Errorf("dynamostore: decode %s/%s: %w", pk, sk, err)
	}
	return true, nil
}

// item marshals v and adds the key and extra attributes.
func item(v any, pk, sk string, extra map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	m := map[string]types.AttributeValue{}
	if v != nil {
		var err error
		if m, err = attributevalue.MarshalMapWithOptions(v, jsonTagsEnc); err != nil {
			return nil, fmt.Errorf("dynamostore: encode %s/%s: %w", pk, sk, err)
		}
	}
	m["pk"], m["sk"] = str(pk), str(sk)
	for k, a := range extra {
		m[k] = a
	}
	return m, nil
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// The domain's types carry json tags only; items use the same names.
func jsonTags(o *attributevalue.DecoderOptions)    { o.TagKey = "json" }
func jsonTagsEnc(o *attributevalue.EncoderOptions) { o.TagKey = "json" }
