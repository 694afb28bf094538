package dynamostore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordersync/ordersync/shared/order"
)

// connCache keeps the connections one instance read, for a short while.
// A connection changes seldom (a pause, a rotated secret, new
// credentials), and every webhook and every sync reads one: without it,
// each event reads the same item twice.
type connCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedConn
}

type cachedConn struct {
	c  order.Connection
	at time.Time
}

// WithConnectionCache returns a copy of s whose Connection answers from
// what this instance read less than ttl ago, and reads the table
// eventually consistently (half a read unit) otherwise. What another
// instance changes (the merchant's pause, a rotated webhook secret, new
// credentials) shows here up to ttl (and a read's lag, under a second)
// later; what this store changes, it forgets at once. An unknown
// connection is not cached. A ttl of 0 or less returns s.
func (s *Store) WithConnectionCache(ttl time.Duration) *Store {
	if ttl <= 0 {
		return s
	}
	c := *s
	c.conns = &connCache{ttl: ttl, m: map[string]cachedConn{}}
	return &c
}

func (s *Store) cachedConnection(ctx context.Context, id string) (order.Connection, error) {
	cc := s.conns
	now := s.now()
	cc.mu.Lock()
	hit, ok := cc.m[id]
	cc.mu.Unlock()
	if ok && now.Sub(hit.at) < cc.ttl {
		return hit.c, nil
	}
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(connPK(id), "CONN")})
	if err != nil {
		return order.Connection{}, fmt.Errorf("dynamostore: get connection %s: %w", id, err)
	}
	if res.Item == nil {
		return order.Connection{}, fmt.Errorf("dynamostore: connection %q: %w", id, order.ErrNotFound)
	}
	var c order.Connection
	if err := attributevalue.UnmarshalMapWithOptions(res.Item, &c, jsonTags); err != nil {
		return order.Connection{}, fmt.Errorf("dynamostore: decode connection %s: %w", id, err)
	}
	cc.mu.Lock()
	cc.m[id] = cachedConn{c: c, at: now}
	cc.mu.Unlock()
	return c, nil
}

// forgetConnection drops id from the cache, after this store changed it.
func (s *Store) forgetConnection(id string) {
	if s.conns == nil {
		return
	}
	s.conns.mu.Lock()
	delete(s.conns.m, id)
	s.conns.mu.Unlock()
}
