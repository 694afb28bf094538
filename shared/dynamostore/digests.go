package dynamostore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/notify"
)

// Digests keeps the email digests' items in the store's table:
//
//	pk                          sk              what
//	DIGEST#<conn>               HOUR#<hour>     the hour's email count, and its digest's claim and sent mark (TTL);
//	                                            once it holds failures and until sent, on gsi1: DIGESTS, <hour>#<conn>
//	DIGEST#<conn>#<hour>        <n, 10 digits>  the n-th failure of the hour, held for its digest (TTL)
//
// <hour> is UTC, "2006-01-02T15". Both expire DigestRetention after the
// hour. The index lists only the digests to send, so the hourly sweep
// reads what is due whatever the number of connections.
type Digests struct{ s *Store }

var _ notify.Digests = Digests{}

// DigestRetention is how long a digest's items outlive their hour: past
// notify.DigestLookback, so a sweep never finds a counter whose held
// failures are gone.
const DigestRetention = 48 * time.Hour

// Digests returns the store's digest items.
func (s *Store) Digests() Digests { return Digests{s: s} }

const digestHour = "2006-01-02T15"

func digestKey(conn string, hour time.Time) map[string]types.AttributeValue {
	return key("DIGEST#"+conn, "HOUR#"+hour.UTC().Format(digestHour))
}

// Count adds one to the connection's count of the hour (UpdateItem ADD,
// atomic) and returns the new count.
func (d Digests) Count(ctx context.Context, conn string, hour time.Time) (int, error) {
	out, err := d.s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.s.table), Key: digestKey(conn, hour),
		UpdateExpression:          aws.String("ADD #n :one SET expires_at = if_not_exists(expires_at, :exp)"),
		ExpressionAttributeNames:  map[string]string{"#n": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":exp": num(hour.Add(DigestRetention).Unix())},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("dynamostore: count emails: %w", err)
	}
	n, ok := out.Attributes["count"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("dynamostore: count emails: no count returned")
	}
	c, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, fmt.Errorf("dynamostore: count emails: %w", err)
	}
	return c, nil
}

// Hold keeps e as the hour's n-th failure, and lists the hour's digest as
// one to send.
func (d Digests) Hold(ctx context.Context, conn string, hour time.Time, n int, e notify.DigestEntry) error {
	h := hour.UTC().Format(digestHour)
	expires := num(hour.Add(DigestRetention).Unix())
	it, err := item(e, "DIGEST#"+conn+"#"+h, fmt.Sprintf("%010d", n), map[string]types.AttributeValue{"expires_at": expires})
	if err != nil {
		return err
	}
	if _, err := d.s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: hold for the digest: %w", err)
	}
	_, err = d.s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.s.table), Key: digestKey(conn, hour),
		UpdateExpression: aws.String("SET gsi1pk = :pk, gsi1sk = :sk, expires_at = if_not_exists(expires_at, :exp)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str("DIGESTS"), ":sk": str(h + "#" + conn), ":exp": expires,
		},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: list the digest: %w", err)
	}
	return nil
}

// Due lists the digests of the hours in [since, before) that hold
// failures and are neither sent nor claimed within their lease, oldest
// first. It reads gsi1, which may lag the last writes by a moment; Claim
// reads the table itself.
func (d Digests) Due(ctx context.Context, since, before time.Time) ([]notify.DueDigest, error) {
	p := dynamodb.NewQueryPaginator(d.s.db, &dynamodb.QueryInput{
		TableName: aws.String(d.s.table), IndexName: aws.String("gsi1"),
		// "#" sorts before every character of a connection id, "~" after.
		KeyConditionExpression: aws.String("gsi1pk = :p AND gsi1sk BETWEEN :from AND :to"),
		FilterExpression:       aws.String("attribute_not_exists(sent_at) AND (attribute_not_exists(claimed_until) OR claimed_until < :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": str("DIGESTS"), ":from": str(since.UTC().Format(digestHour) + "#"),
			":to":  str(before.UTC().Add(-time.Hour).Format(digestHour) + "#~"),
			":now": num(d.s.now().Unix()),
		},
	})
	var out []notify.DueDigest
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: digests due: %w", err)
		}
		for _, it := range page.Items {
			sk, _ := it["gsi1sk"].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			h, conn, _ := strings.Cut(sk.Value, "#")
			hour, err := time.Parse(digestHour, h)
			if err != nil {
				return nil, fmt.Errorf("dynamostore: digests due: %w", err)
			}
			out = append(out, notify.DueDigest{Connection: conn, Hour: hour})
		}
	}
	return out, nil
}

// Claim takes the hour's digest until lease has passed, unless it is sent
// or claimed by another within its lease.
func (d Digests) Claim(ctx context.Context, conn string, hour time.Time, lease time.Duration) (bool, error) {
	now := d.s.now()
	_, err := d.s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.s.table), Key: digestKey(conn, hour),
		UpdateExpression:    aws.String("SET claimed_until = :until"),
		ConditionExpression: aws.String("attribute_exists(pk) AND attribute_not_exists(sent_at) AND (attribute_not_exists(claimed_until) OR claimed_until < :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":until": num(now.Add(lease).Unix()), ":now": num(now.Unix()),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamostore: claim digest: %w", err)
	}
	return true, nil
}

// Held lists the hour's held failures in the order they were counted.
func (d Digests) Held(ctx context.Context, conn string, hour time.Time) ([]notify.DigestEntry, error) {
	p := dynamodb.NewQueryPaginator(d.s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(d.s.table),
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("DIGEST#" + conn + "#" + hour.UTC().Format(digestHour))},
		ConsistentRead:            aws.Bool(true),
	})
	var out []notify.DigestEntry
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: held for the digest: %w", err)
		}
		var items []notify.DigestEntry
		if err := unmarshalList(page.Items, &items); err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// MarkSent records that the hour's digest was sent.
func (d Digests) MarkSent(ctx context.Context, conn string, hour time.Time) error {
	_, err := d.s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.s.table), Key: digestKey(conn, hour),
		UpdateExpression:          aws.String("SET sent_at = :now REMOVE claimed_until, gsi1pk, gsi1sk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(d.s.now().Unix())},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: mark digest sent: %w", err)
	}
	return nil
}
