package dynamostore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/order"
)

// claimState is the outcome of a two-phase claim (pending, then done).
type claimState int

const (
	claimTaken claimState = iota // this caller holds a fresh claim
	claimDone                    // confirmed before
	claimBusy                    // another caller holds a fresh, unconfirmed claim
)

// claimOrRecover takes pk for the caller unless it is confirmed, or
// claimed less than lease ago and not confirmed, in one conditional
// write. It also takes over a dedup item whose event is still unsynced
// (on gsi2) and was last queued before unsyncedBefore (Unix milliseconds;
// 0 for never): its message was lost, and the redelivery is queued in its
// place.
func (s *Store) claimOrRecover(ctx context.Context, pk string, lease, ttl time.Duration, unsyncedBefore int64) (claimState, error) {
	now := s.now()
	cond := "attribute_not_exists(pk) OR (#s = :pending AND claimed_at < :stale) OR expires_at < :now"
	values := map[string]types.AttributeValue{
		":pending": str("pending"), ":stale": num(now.Add(-lease).UnixMilli()), ":now": num(now.Unix()),
	}
	names := map[string]string{"#s": "state"}
	if unsyncedBefore > 0 {
		cond += " OR (attribute_exists(gsi2pk) AND #q < :unsynced)"
		values[":unsynced"], names["#q"] = num(unsyncedBefore), "queued_at"
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			"pk": str(pk), "sk": str("CLAIM"), "state": str("pending"),
			"claimed_at": num(now.UnixMilli()), "expires_at": num(now.Add(ttl).Unix()),
		},
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err == nil {
		return claimTaken, nil
	}
	if !isConditionFailed(err) {
		return 0, fmt.Errorf("dynamostore: claim %s: %w", pk, err)
	}
	var cur struct {
		State string `json:"state"`
	}
	if _, err := s.get(ctx, pk, "CLAIM", &cur); err != nil {
		return 0, err
	}
	if cur.State == "done" {
		return claimDone, nil
	}
	return claimBusy, nil
}

// confirmKeepTTL marks a claim done and leaves its expiry as claimed.
func (s *Store) confirmKeepTTL(ctx context.Context, pk string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, "CLAIM"),
		UpdateExpression:          aws.String("SET #s = :done"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": str("done")},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: confirm %s: %w", pk, err)
	}
	return nil
}

func (s *Store) release(ctx context.Context, pk string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: key(pk, "CLAIM"),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #s = :pending"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": str("pending")},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("dynamostore: release %s: %w", pk, err)
	}
	return nil
}

// sortableLayout is RFC 3339 in UTC with all nine digits of the fraction,
// so that keys (errors, reports, gsi3sk) sort as their times do:
// time.RFC3339Nano drops trailing zeros, and "…:05Z" sorts after
// "…:05.5Z". (Error keys written in that layout before still sort right
// against these across seconds, and expire within the week.)
const sortableLayout = "2006-01-02T15:04:05.000000000Z07:00"

func sortable(t time.Time) string { return t.UTC().Format(sortableLayout) }

// RecordError adds a failure to the connection's error list, or, for a
// failure of a run of failures listed already with its code (r.Since),
// replaces that entry: the list is filed by the last failure's time.
func (s *Store) RecordError(ctx context.Context, r order.ErrorRecord) error {
	at := sortable(r.At)
	it, err := item(r, orderPK(r.Connection, r.MarketplaceOrderID), errorSK(r), map[string]types.AttributeValue{
		"gsi1pk": str("ERRORS#" + r.Connection), "gsi1sk": str(at),
		"expires_at": num(r.At.Add(order.ErrorRetention).Unix()), "type": str("error"),
	})
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: record error: %w", err)
	}
	return nil
}

// errorSK is a failure's sort key: ERR#<time>, or ERR#<code>#<run start>
// for one of a run of failures, whose later failures replace it.
func errorSK(r order.ErrorRecord) string {
	if r.Since.IsZero() {
		return "ERR#" + sortable(r.At)
	}
	return "ERR#" + r.Code + "#" + sortable(r.Since)
}

// RecentErrors lists a connection's failures since a time, newest first,
// at most limit of them (none for a limit below 1). Items past their TTL
// that DynamoDB has not deleted yet are left out.
func (s *Store) RecentErrors(ctx context.Context, conn string, since time.Time, limit int) ([]order.ErrorRecord, error) {
	if limit < 1 {
		return nil, nil
	}
	return queryUpTo[order.ErrorRecord](ctx, dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String("gsi1"),
		KeyConditionExpression: aws.String("gsi1pk = :p AND gsi1sk >= :since"),
		// TTL deletion lags expiry by up to days: leave out what expired.
		FilterExpression: aws.String("expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": str("ERRORS#" + conn), ":since": str(sortable(since)),
			":now": num(s.now().Unix()),
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(min(limit, math.MaxInt32))),
	}), limit, "recent errors")
}

// MarkNotified records that the merchant was told about key.
func (s *Store) MarkNotified(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	now := s.now()
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{"pk": str("NOTIFIED#" + key), "sk": str("NOTIFIED"),
			"at": num(now.Unix()), "expires_at": num(now.Add(ttl).Unix())},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR expires_at < :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamostore: mark notified: %w", err)
	}
	return true, nil
}

// ClearNotified forgets notification marks.
func (s *Store) ClearNotified(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key("NOTIFIED#"+k, "NOTIFIED")}); err != nil {
			return fmt.Errorf("dynamostore: clear notified: %w", err)
		}
	}
	return nil
}

func attributevaluelist(items []map[string]types.AttributeValue, out any) error {
	return attributevalue.UnmarshalListOfMapsWithOptions(items, out, jsonTags)
}
