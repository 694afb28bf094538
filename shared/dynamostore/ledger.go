package dynamostore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncer"
)

// The ledger of accepted events lives on the webhook's dedup items
// (DEDUP#<key>/CLAIM). Confirm adds to the item:
//
//	event          the event's JSON, as queued (trimmed when too large)
//	event_trimmed  true when only the order's ids were kept
//	queued_at      when it was last queued, Unix milliseconds
//	attempts       how many times a sweep queued it again
//	gsi2pk, gsi2sk UNSYNCED#<connection>, queued_at: the sparse index the
//	               refresh sweeps, on the item only while it is unsynced
//
// MarkApplied (the sync, at a final outcome) sets applied_at and takes the
// item off gsi2; GiveUp (the sweep, after its last attempt) sets
// given_up_at and does the same. The item keeps its TTL throughout.

var (
	_ syncer.Ledger  = (*Deduper)(nil)
	_ refresh.Ledger = (*Deduper)(nil)
)

// maxLedgerEvent is the largest event JSON an item keeps: an item holds at
// most 400 KB, names and values, and the rest of a dedup item is well under
// the margin left.
const maxLedgerEvent = 350_000

// ledgerEvent is e as a dedup item keeps it: whole, or, when too large,
// only the order it names (Fetch set), for the sync to read from the store.
func ledgerEvent(e order.Event) (string, bool, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", false, fmt.Errorf("dynamostore: encode event: %w", err)
	}
	if len(b) <= maxLedgerEvent {
		return string(b), false, nil
	}
	b, err = json.Marshal(order.Event{Connection: e.Connection, Source: e.Source, SourceEventID: e.SourceEventID,
		Topic: e.Topic, OccurredAt: e.OccurredAt, Order: e.Order, Test: e.Test, Fetch: true, Intent: e.Intent})
	if err != nil {
		return "", false, fmt.Errorf("dynamostore: encode event: %w", err)
	}
	return string(b), true, nil
}

var ledgerNames = map[string]string{"#s": "state", "#ev": "event", "#tr": "event_trimmed", "#q": "queued_at", "#n": "attempts"}

// names returns the expression attribute names an expression uses.
func names(expr string) map[string]string {
	m := map[string]string{}
	for k, v := range ledgerNames {
		if strings.Contains(expr, k) {
			m[k] = v
		}
	}
	return m
}

// accept confirms the dedup item pk and puts its event in the ledger; on an
// item the sync has marked applied already (it ran before the confirm), it
// only confirms.
func (s *Store) accept(ctx context.Context, pk string, e order.Event) error {
	body, trimmed, err := ledgerEvent(e)
	if err != nil {
		return err
	}
	now := num(s.now().UnixMilli())
	const set = "SET #s = :done, #ev = :ev, #tr = :tr, #q = :q, gsi2pk = :p, gsi2sk = :q"
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, "CLAIM"),
		UpdateExpression:         aws.String(set),
		ConditionExpression:      aws.String("attribute_not_exists(applied_at)"),
		ExpressionAttributeNames: names(set),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":done": str("done"), ":ev": str(body), ":tr": &types.AttributeValueMemberBOOL{Value: trimmed},
			":q": now, ":p": str("UNSYNCED#" + e.Connection),
		},
	})
	if isConditionFailed(err) {
		return s.confirmKeepTTL(ctx, pk)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: confirm %s: %w", pk, err)
	}
	return nil
}

// MarkApplied records that the sync of key's event reached a final
// outcome: it leaves the ledger. It is idempotent, and a no-op for a key
// with no dedup item.
func (d *Deduper) MarkApplied(ctx context.Context, k string) error {
	const upd = "SET applied_at = :now REMOVE gsi2pk, gsi2sk, #ev"
	_, err := d.store.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.store.table), Key: key("DEDUP#"+k, "CLAIM"),
		UpdateExpression:          aws.String(upd),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  names(upd),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(d.store.now().UnixMilli())},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("dynamostore: mark applied %s: %w", k, err)
	}
	return nil
}

// Unsynced lists the connection's unsynced events last queued before
// queuedBefore, oldest first, at most limit of them, from gsi2.
func (d *Deduper) Unsynced(ctx context.Context, conn string, queuedBefore time.Time, limit int) ([]refresh.Unsynced, error) {
	if limit < 1 {
		return nil, nil
	}
	var out []refresh.Unsynced
	p := dynamodb.NewQueryPaginator(d.store.db, &dynamodb.QueryInput{
		TableName: aws.String(d.store.table), IndexName: aws.String("gsi2"),
		KeyConditionExpression: aws.String("gsi2pk = :p AND gsi2sk < :before"),
		// TTL deletion lags expiry by up to days: leave out what expired.
		FilterExpression: aws.String("expires_at >= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": str("UNSYNCED#" + conn), ":before": num(queuedBefore.UnixMilli()), ":now": num(d.store.now().Unix()),
		},
		ScanIndexForward: aws.Bool(true),
		Limit:            aws.Int32(int32(min(limit, math.MaxInt32))),
	})
	for p.HasMorePages() && len(out) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: unsynced: %w", err)
		}
		var items []struct {
			PK       string `json:"pk"`
			Event    string `json:"event"`
			Trimmed  bool   `json:"event_trimmed"`
			QueuedAt int64  `json:"queued_at"`
			Attempts int    `json:"attempts"`
		}
		if err := attributevaluelist(page.Items, &items); err != nil {
			return nil, fmt.Errorf("dynamostore: decode unsynced: %w", err)
		}
		for _, it := range items {
			u := refresh.Unsynced{Key: strings.TrimPrefix(it.PK, "DEDUP#"), Trimmed: it.Trimmed,
				QueuedAt: time.UnixMilli(it.QueuedAt).UTC(), Attempts: it.Attempts}
			if err := json.Unmarshal([]byte(it.Event), &u.Event); err != nil {
				return nil, fmt.Errorf("dynamostore: decode unsynced %s: %w", it.PK, err)
			}
			out = append(out, u)
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Requeued counts a sweep's attempt at key and starts its wait anew at at;
// false when key is not unsynced.
func (d *Deduper) Requeued(ctx context.Context, key string, at time.Time) (bool, error) {
	return d.ifUnsynced(ctx, key, "SET #q = :at, gsi2sk = :at ADD #n :one",
		map[string]types.AttributeValue{":at": num(at.UnixMilli()), ":one": num(1)})
}

// GiveUp takes key out of the sweeps; false when it is not unsynced.
func (d *Deduper) GiveUp(ctx context.Context, key string, at time.Time) (bool, error) {
	return d.ifUnsynced(ctx, key, "SET given_up_at = :at REMOVE gsi2pk, gsi2sk",
		map[string]types.AttributeValue{":at": num(at.UnixMilli())})
}

// ifUnsynced applies upd to key's item if it is on gsi2 (a consistent
// check, where the index may lag).
func (d *Deduper) ifUnsynced(ctx context.Context, k, upd string, values map[string]types.AttributeValue) (bool, error) {
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(d.store.table), Key: key("DEDUP#"+k, "CLAIM"),
		UpdateExpression:          aws.String(upd),
		ConditionExpression:       aws.String("attribute_exists(gsi2pk)"),
		ExpressionAttributeValues: values,
	}
	if n := names(upd); len(n) > 0 {
		in.ExpressionAttributeNames = n
	}
	_, err := d.store.db.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamostore: ledger %s: %w", k, err)
	}
	return true, nil
}
