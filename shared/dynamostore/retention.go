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
// says the link of st's store order is there and expires no earlier than
// need (order.State.LinkNeeds). A mark of no expiry is a link made before
// every link had one: it covers an open order, and is given an expiry by
// the save that closes it.
func linkCovers(st order.State, need int64) bool {
	id, at, ok := strings.Cut(st.LinkExpiry, "@")
	if !ok || id != st.Ref.StoreOrderID {
		return false
	}
	until, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return false
	}
	if until == 0 {
		return !st.MarketplaceStatus.Closed()
	}
	return until >= need
}

// linkOrder makes the store order's link of st, before st is written, with
// an expiry that outlives st (order.State.LinkNeeds): the link, which
// names the order, goes some weeks after it. It returns the mark the state
// records of it (State.LinkExpiry), and writes only when the mark the
// stored state carries does not cover the state already: an order's first
// save, and one far enough (order.LinkSlack) from the link's last write;
// not the save that closes an order days after its link was made. A link
// naming another marketplace order is left alone (a store order never
// takes over another's order).
//
// Written before the state, a link must never end up expiring before the
// state that wins: an expiry is only ever moved later, never earlier (two
// saves racing), and the one write that shortens a link, giving an expiry
// to one made before links had one, returns undo, which SaveOrder runs
// when its put then fails (another worker's state won, whose mark says the
// link never expires).
func (s *Store) linkOrder(ctx context.Context, st order.State) (mark string, undo func(context.Context), err error) {
	if st.Ref.StoreOrderID == "" {
		return "", nil, nil
	}
	need, until := st.LinkNeeds(s.now(), s.retention)
	if linkCovers(st, need) {
		return st.LinkExpiry, nil, nil
	}
	pk := linkPK(st.Connection, st.Ref.StoreOrderID)
	if at, ok := s.linked.took(pk, st.Ref.MarketplaceOrderID); ok && at >= need {
		// LinkOrder put it a moment ago (the import links before its
		// state's save).
		return linkMark(st.Ref.StoreOrderID, at), nil, nil
	}
	k := key(pk, "LINK")
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: k,
		UpdateExpression: aws.String("SET expires_at = :e, marketplace_order_id = :m"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR " +
			"(marketplace_order_id = :m AND (attribute_not_exists(expires_at) OR expires_at < :e))"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":m": str(st.Ref.MarketplaceOrderID), ":e": num(until)},
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
	if _, had := out.Attributes["expires_at"]; !had && len(out.Attributes) > 0 {
		undo = func(ctx context.Context) {
			// Best effort; left undone, the link lasts a retention
			// after this write, as every link does after its last.
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
	expires            int64 // the link's expires_at
	at                 time.Time
}

// linkMemory is how long a put link stands for the state's link write;
// maxJustLinked bounds the memory, emptied when full.
const (
	linkMemory    = time.Minute
	maxJustLinked = 1000
)

func (j *justLinked) put(pk, marketplaceOrderID string, expires int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.m == nil || len(j.m) >= maxJustLinked {
		j.m = map[string]linkedAt{}
	}
	j.m[pk] = linkedAt{marketplaceOrderID: marketplaceOrderID, expires: expires, at: time.Now()}
}

// took reports whether pk was put linked to marketplaceOrderID in the
// last linkMemory, with the expiry it was put with, and forgets it.
func (j *justLinked) took(pk, marketplaceOrderID string) (expires int64, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	l, ok := j.m[pk]
	delete(j.m, pk)
	if !ok || l.marketplaceOrderID != marketplaceOrderID || time.Since(l.at) >= linkMemory {
		return 0, false
	}
	return l.expires, true
}
