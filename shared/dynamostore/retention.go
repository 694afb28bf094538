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
// state, which holds the shipping address, for d after the save that
// closed it, and an open one's for the longer of d and
// order.OpenRetention after its last save (order.State.ExpiresAt); the
// table's TTL (expires_at) deletes it then. Its store order's link (two ids) outlives it
// (order.State.LinkNeeds). New stores keep them order.DefaultRetention.
func (s *Store) WithOrderRetention(d time.Duration) *Store {
	c := *s
	c.retention = d
	return &c
}

// orderExpiry adds the state item's expires_at to extra
// (order.State.ExpiresAt).
func (s *Store) orderExpiry(st order.State, extra map[string]types.AttributeValue) {
	extra["expires_at"] = num(st.ExpiresAt(s.now(), s.retention).Unix())
}

// linkMark is State.LinkExpiry: the store order and its link's expiry.
func linkMark(storeOrderID string, until int64) string {
	return storeOrderID + "@" + strconv.FormatInt(until, 10)
}

// linkCovers reports whether the link mark carried from the stored state
// says the link of st's store order is there and expires no earlier than
// need (order.State.LinkNeeds). A mark of no expiry is a link made before
// every link had one: it covers nothing, so the order's next save gives
// the link its expiry.
func linkCovers(st order.State, need int64) bool {
	id, at, ok := strings.Cut(st.LinkExpiry, "@")
	if !ok || id != st.Ref.StoreOrderID {
		return false
	}
	until, err := strconv.ParseInt(at, 10, 64)
	return err == nil && until != 0 && until >= need
}

// linkOrder makes the store order's link of st, before st is written, with
// an expiry that outlives st (order.State.LinkNeeds). It returns the mark
// the state records of it (State.LinkExpiry), and writes only when the
// mark the stored state carries does not cover the state already: an
// order's first save, and one far enough (order.LinkSlack) from the link's
// last write; not the save that closes an order days after its link was
// made. A link naming another marketplace order is left alone (a store
// order never takes over another's order).
//
// Written before the state, whose put may then lose to another worker's:
// a link's expiry is only ever moved later, and a mark is never later than
// the link's expiry (it is this write's, or the one found), so whichever
// state wins, its link lasts at least as its mark says.
func (s *Store) linkOrder(ctx context.Context, st order.State) (mark string, err error) {
	if st.Ref.StoreOrderID == "" {
		return "", nil
	}
	need, until := st.LinkNeeds(s.now(), s.retention)
	if linkCovers(st, need) {
		return st.LinkExpiry, nil
	}
	pk := linkPK(st.Connection, st.Ref.StoreOrderID)
	if at, ok := s.linked.took(pk, st.Ref.MarketplaceOrderID); ok && at >= need {
		// LinkOrder put it a moment ago (the import links before its
		// state's save).
		return linkMark(st.Ref.StoreOrderID, at), nil
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, "LINK"),
		UpdateExpression: aws.String("SET expires_at = :e, marketplace_order_id = :m"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR " +
			"(marketplace_order_id = :m AND (attribute_not_exists(expires_at) OR expires_at < :e))"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":m": str(st.Ref.MarketplaceOrderID), ":e": num(until)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// Linked to another order, or expiring at or after until already.
		if held, ok := ccf.Item["marketplace_order_id"].(*types.AttributeValueMemberS); ok && held.Value == st.Ref.MarketplaceOrderID {
			if at, ok := numberAttr(ccf.Item, "expires_at"); ok {
				return linkMark(st.Ref.StoreOrderID, at), nil
			}
		}
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("dynamostore: link order %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	return linkMark(st.Ref.StoreOrderID, until), nil
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
