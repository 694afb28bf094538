package dynamostore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// TestBackfillListing: order states saved before gsi4 and gsi5 (here, with
// their keys removed) are listed and found by name once backfilled; the
// backfill touches nothing else, and a second run updates none.
func TestBackfillListing(t *testing.T) {
	ctx := t.Context()
	st := stacktest.New(t, nil)
	db := stacktest.Clients().DynamoDB
	s := dynamostore.New(db, st.Ref("Table"))
	at := time.Now().UTC().Truncate(time.Second)
	for _, m := range []string{"m1", "m2"} {
		_, err := s.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: m, StoreOrderName: "#" + m},
			Sync: order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "sku_not_found", At: at}})
		if err != nil {
			t.Fatal(err)
		}
		// As an older SaveOrder wrote it.
		if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.Ref("Table")),
			Key: map[string]types.AttributeValue{"pk": strAttr("ORDER#acme#" + m), "sk": strAttr("STATE")}, UpdateExpression: aws.String("REMOVE gsi4pk, gsi4sk, gsi5pk")}); err != nil {
			t.Fatal(err)
		}
	}
	list := func() []string {
		t.Helper()
		sts, err := s.ListOrders(ctx, "acme", merchantapi.OrderQuery{State: order.StateFailed, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, st := range sts {
			out = append(out, st.Ref.MarketplaceOrderID)
		}
		slices.Sort(out)
		return out
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("before the backfill, listed %v", got)
	}
	n, err := s.BackfillListing(ctx, db)
	if err != nil || n != 2 {
		t.Fatalf("BackfillListing = %d, %v; want 2", n, err)
	}
	if got := list(); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Errorf("after the backfill, listed %v, want [m1 m2]", got)
	}
	if got, err := s.FindOrdersByName(ctx, "acme", "#m2"); err != nil || !slices.Equal(got, []string{"m2"}) {
		t.Errorf("FindOrdersByName(#m2) = %v, %v", got, err)
	}
	if got, err := s.LoadOrder(ctx, "acme", "m1"); err != nil || got.Version != 1 {
		t.Errorf("LoadOrder = v%d, %v; want the state untouched, v1", got.Version, err)
	}
	if n, err := s.BackfillListing(context.Background(), db); err != nil || n != 0 {
		t.Errorf("a second run = %d, %v; want 0", n, err)
	}
}

func strAttr(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
