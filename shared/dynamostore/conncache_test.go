package dynamostore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
)

// countingGets counts the GetItem calls made through the real client.
type countingGets struct {
	dynamostore.API
	gets atomic.Int32
}

func (c *countingGets) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.API.GetItem(ctx, in, o...)
}

// TestConnectionCache: within its ttl a cached store reads a connection
// once; what it changes itself it reads again at once; what another
// instance changes shows once the ttl is out.
func TestConnectionCache(t *testing.T) {
	ctx := t.Context()
	st := stacktest.New(t, nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	db := &countingGets{API: stacktest.Clients().DynamoDB}
	cached := dynamostore.New(db, st.Ref("Table")).WithClock(clock).WithConnectionCache(10 * time.Second)
	other := dynamostore.New(stacktest.Clients().DynamoDB, st.Ref("Table"))
	conn := order.Connection{ID: "acme", Store: order.Endpoint{Platform: order.Shopify}, Marketplace: order.Endpoint{Platform: order.BackMarket},
		WebhookSecretRefs: []string{"s1"}}
	if err := other.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	read := func(step string) order.Connection {
		t.Helper()
		c, err := cached.Connection(ctx, "acme")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return c
	}
	read("first read")
	read("second read")
	if n := db.gets.Load(); n != 1 {
		t.Errorf("two reads within the ttl: %d GetItem calls, want 1", n)
	}
	if err := cached.PauseConnection(ctx, "acme", "auth_expired"); err != nil {
		t.Fatal(err)
	}
	if c := read("after its own pause"); !c.Paused {
		t.Errorf("after the store's own pause: %+v, want paused", c)
	}
	conn.WebhookSecretRefs = []string{"s2"}
	if err := other.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if c := read("within the ttl"); c.WebhookSecretRefs[0] != "s1" {
		t.Errorf("within the ttl: secret refs %v, want the cached [s1]", c.WebhookSecretRefs)
	}
	now = now.Add(11 * time.Second)
	if c := read("past the ttl"); c.WebhookSecretRefs[0] != "s2" || c.Paused {
		t.Errorf("past the ttl: %+v, want another instance's change (s2, not paused)", c)
	}
	if _, err := cached.Connection(ctx, "nobody"); err == nil {
		t.Error("an unknown connection was found")
	}
}
