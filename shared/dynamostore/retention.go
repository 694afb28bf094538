package dynamostore

import (
	"context"
	"fmt"
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

// expireLink gives the closed order's store order link the state's expiry,
// so that the link (which names the order) goes with it. A link naming
// another marketplace order is left alone; one that is not there is made
// again: the sync writes the link only for an order whose state does not
// name its store order yet (process.go), so a link the TTL deleted before
// its state (both expired, neither gone) would otherwise never come back
// once the state is saved again. It runs on every save of a closed order,
// so a save that failed here is mended by the next.
func (s *Store) expireLink(ctx context.Context, st order.State, expires int64) error {
	if expires == 0 || st.Ref.StoreOrderID == "" {
		return nil
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(linkPK(st.Connection, st.Ref.StoreOrderID), "LINK"),
		UpdateExpression:          aws.String("SET expires_at = :e, marketplace_order_id = :m"),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR marketplace_order_id = :m"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": num(expires), ":m": str(st.Ref.MarketplaceOrderID)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("dynamostore: expire the link of order %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	return nil
}
