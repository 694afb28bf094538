package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/order"
)

// WithOrderRetention returns a copy of s that keeps a closed order's
// items (its state, which holds the shipping address, and its store
// order's link) for d after the save that closed it (order.State.ExpiresAt);
// the table's TTL (expires_at) deletes them then. New stores keep them
// order.DefaultRetention.
func (s *Store) WithOrderRetention(d time.Duration) *Store {
	c := *s
	c.retention = d
	return &c
}

// orderExpiry adds the state item's expires_at to extra when st is
// closed, and returns it (0 while the order is open: no TTL).
func (s *Store) orderExpiry(st order.State, extra map[string]types.AttributeValue) int64 {
	at, ok := st.ExpiresAt(s.now(), s.retention)
	if !ok {
		return 0
	}
	extra["expires_at"] = num(at.Unix())
	return at.Unix()
}

// linkMark is State.LinkExpiry: the store order and its link's expiry.
func linkMark(storeOrderID string, until int64) string {
	return storeOrderID + "@" + strconv.FormatInt(until, 10)
}

// linkCovers reports whether the link mark carried from the stored state
// says the link of st's store order is there and expires as st needs: at
// or after expires, or never while the order is open (expires 0).
func linkCovers(st order.State, expires int64) bool {
	id, at, ok := strings.Cut(st.LinkExpiry, "@")
	if !ok || id != st.Ref.StoreOrderID {
		return false
	}
	until, err := strconv.ParseInt(at, 10, 64)
	if err != nil || (expires == 0) != (until == 0) {
		return false
	}
	return until >= expires
}

// linkOrder makes the store order's link of st, before st is written:
// with no expiry while the order is open, and once closed an expiry at or
// after the state's (order.LinkUntil), so that the link (which names the order)
// goes with it. It returns the mark the state records of it
// (State.LinkExpiry), and writes only when the mark the stored state
// carries does not cover the state already: an order's first save, the
// one that closes it, a later one past the link's week. A link naming
// another marketplace order is left alone (a store order never takes over
// another's order).
//
// Written before the state, a link must never end up expiring before the
// state that wins: an expiry is only ever moved later, never earlier (two
// saves a week apart racing), and the one write that shortens a link,
// giving an expiry to one that had none, returns undo, which SaveOrder
// runs when its put then fails (another worker's state won, maybe open).
func (s *Store) linkOrder(ctx context.Context, st order.State, expires int64) (mark string, undo func(context.Context), err error) {
	if st.Ref.StoreOrderID == "" {
		return "", nil, nil
	}
	if linkCovers(st, expires) {
		return st.LinkExpiry, nil, nil
	}
	if expires == 0 && s.linked.took(linkPK(st.Connection, st.Ref.StoreOrderID), st.Ref.MarketplaceOrderID) {
		// LinkOrder put it a moment ago, with no expiry: what an open
		// order's link is (the import links before its state's save).
		return linkMark(st.Ref.StoreOrderID, 0), nil, nil
	}
	k := key(linkPK(st.Connection, st.Ref.StoreOrderID), "LINK")
	m := str(st.Ref.MarketplaceOrderID)
	if expires == 0 {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: k,
			UpdateExpression:          aws.String("SET marketplace_order_id = :m REMOVE expires_at"),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR marketplace_order_id = :m"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":m": m},
		})
		if isConditionFailed(err) {
			return "", nil, nil // linked to another order: not this state's
		}
		if err != nil {
			return "", nil, fmt.Errorf("dynamostore: link order %s: %w", st.Ref.MarketplaceOrderID, err)
		}
		return linkMark(st.Ref.StoreOrderID, 0), nil, nil
	}
	until := order.LinkUntil(expires)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: k,
		UpdateExpression: aws.String("SET expires_at = :e, marketplace_order_id = :m"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR " +
			"(marketplace_order_id = :m AND (attribute_not_exists(expires_at) OR expires_at < :e))"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":m": m, ":e": num(until)},
		ReturnValues:                        types.ReturnValueUpdatedOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// Linked to another order, or expiring at or after until already.
		if held, ok := ccf.Item["marketplace_order_id"].(*types.AttributeValueMemberS); ok && held.Value == st.Ref.MarketplaceOrderID {
			if at, ok := numberAttr(ccf.Item, "expires_at"); ok {
				return linkMark(st.Ref.StoreOrderID, at), nil, nil
			}
		}
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("dynamostore: link order %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	if _, had := out.Attributes["expires_at"]; !had {
		undo = func(ctx context.Context) {
			// Best effort; left undone, the next save of the order mends it.
			_, _ = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(s.table), Key: k,
				UpdateExpression:          aws.String("REMOVE expires_at"),
				ConditionExpression:       aws.String("expires_at = :e"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":e": num(until)},
			})
		}
	}
	return linkMark(st.Ref.StoreOrderID, until), undo, nil
}

// justLinked remembers the links this store's LinkOrder put in the last
// moments (linkMemory), each until a save takes it: the import puts its
// store order's link right after creating the order, then saves the state
// naming it, whose own link write would put the same again.
type justLinked struct {
	mu sync.Mutex
	m  map[string]linkedAt
}

type linkedAt struct {
	marketplaceOrderID string
	at                 time.Time
}

// linkMemory is how long a put link stands for the state's link write;
// maxJustLinked bounds the memory, emptied when full.
const (
	linkMemory    = time.Minute
	maxJustLinked = 1000
)

func (j *justLinked) put(pk, marketplaceOrderID string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.m == nil || len(j.m) >= maxJustLinked {
		j.m = map[string]linkedAt{}
	}
	j.m[pk] = linkedAt{marketplaceOrderID: marketplaceOrderID, at: time.Now()}
}

// took reports whether pk was put linked to marketplaceOrderID in the
// last linkMemory, and forgets it.
func (j *justLinked) took(pk, marketplaceOrderID string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	l, ok := j.m[pk]
	delete(j.m, pk)
	return ok && l.marketplaceOrderID == marketplaceOrderID && time.Since(l.at) < linkMemory
}
