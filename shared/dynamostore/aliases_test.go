package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
)

// queries counts the table client's Query calls.
type queries struct {
	dynamostore.API
	n atomic.Int64
}

func (q *queries) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	q.n.Add(1)
	return q.API.Query(ctx, in, opts...)
}

// TestAllAliasesInOneQuery: a connection's most aliases, with the longest
// SKUs, come in one Query, as the sync reads them once per event; the
// alias past the limit is refused.
func TestAllAliasesInOneQuery(t *testing.T) {
	ctx := t.Context()
	st := stacktest.New(t, nil)
	db := &queries{API: stacktest.Clients().DynamoDB}
	s := dynamostore.New(db, st.Ref("Table"))
	long := func(prefix string, i int) string {
		p := fmt.Sprintf("%s%04d-", prefix, i)
		return p + strings.Repeat("x", order.MaxSKUBytes-len(p))
	}
	const writers = 4
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			var err error
			for i := w; i < order.MaxSKUAliases && err == nil; i += writers {
				err = s.PutSKUAlias(ctx, "acme", order.SKUAlias{StoreSKU: long("S", i), MarketplaceSKU: long("M", i)})
			}
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutSKUAlias(ctx, "acme", order.SKUAlias{StoreSKU: "ONE-MORE", MarketplaceSKU: "M-ONE-MORE"}); !errors.Is(err, order.ErrAliasLimit) {
		t.Errorf("alias %d = %v, want order.ErrAliasLimit", order.MaxSKUAliases+1, err)
	}
	db.n.Store(0)
	got, next, err := s.SKUAliases(ctx, "acme", "", order.MaxSKUAliases)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != order.MaxSKUAliases || next != "" || len(got[0].StoreSKU) != order.MaxSKUBytes {
		t.Errorf("got %d aliases, next %q; want all %d of %d-byte SKUs, no next", len(got), next, order.MaxSKUAliases, order.MaxSKUBytes)
	}
	if n := db.n.Load(); n != 1 {
		t.Errorf("%d Query calls, want 1", n)
	}
}
