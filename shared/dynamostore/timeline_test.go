package dynamostore_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/testkit/storetest"
)

// TestTimelineItemSize measures what the timeline adds to the state item,
// which every state write puts whole: the item's size (DynamoDB's rule:
// names and values, a few bytes of overhead per list and map) and the
// write units DynamoDB Local charges for putting it. A full timeline must
// keep a busy order's state write within 2 units (order.MaxTimeline):
// packed with the rest of the state (pack.go), the order puts 0.6 KiB
// without a timeline and 1.4 KiB with a full one.
func TestTimelineItemSize(t *testing.T) {
	st := stacktest.New(t, nil)
	table := st.Ref("Table")
	s := dynamostore.New(stacktest.Clients().DynamoDB, table)
	// A busy order: three lines, two parcels.
	base := storetestOrder()
	full := base
	full.Ref.MarketplaceOrderID = "m2"
	full.Timeline, full.TimelineDropped = storetest.FullTimeline(base.Sync.At)
	tests := []struct {
		name     string
		st       order.State
		maxUnits float64
	}{
		{"no timeline", base, 1},
		{"full timeline", full, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size, units := putCost(t, s, table, tt.st)
			t.Logf("%s: %d entries, item %d bytes, %.0f write units a put", tt.name, len(tt.st.Timeline), size, units)
			if units > tt.maxUnits {
				t.Errorf("a put of the state costs %.0f write units (%d bytes), want at most %.0f", units, size, tt.maxUnits)
			}
		})
	}
}

// putCost saves st and returns its item's size (itemSize) and the write
// units DynamoDB Local charges for putting that item again, as the next
// state write puts it; where the emulator reports no units, the units of
// the size (one a started KiB).
func putCost(t *testing.T, s *dynamostore.Store, table string, st order.State) (int, float64) {
	t.Helper()
	ctx := t.Context()
	db := stacktest.Clients().DynamoDB
	if _, err := s.SaveOrder(ctx, st); err != nil {
		t.Fatal(err)
	}
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ORDER#" + st.Connection + "#" + st.Ref.MarketplaceOrderID},
		"sk": &types.AttributeValueMemberS{Value: "STATE"}}
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
	if err != nil || got.Item == nil {
		t.Fatalf("GetItem = %v, %v", got, err)
	}
	size := itemSize(got.Item)
	put, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: got.Item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if c := put.ConsumedCapacity; c != nil && c.CapacityUnits != nil {
		return size, *c.CapacityUnits
	}
	return size, float64((size + 1023) / 1024)
}

// storetestOrder is a busy order's state: three lines, two parcels, an
// address, a failure resolved.
func storetestOrder() order.State {
	st := order.State{Connection: "acme", Ref: order.Ref{StoreOrderID: "5981234567890", StoreOrderName: "#10234", MarketplaceOrderID: "m1"},
		StoreStatus: order.StatusShipped, MarketplaceStatus: order.StatusShipped, MarketplaceState: "3",
		ShippingAddress: &order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR", Phone: "+33 1 42 72 10 16"},
		Sync:            order.SyncOutcome{Result: order.SyncSynced, Attempts: 1},
		Resolved:        &order.Resolution{Code: "shipping_data_missing", How: "merchant/resync"}}
	for i := range 3 {
		l := order.Line{SKU: fmt.Sprintf("IPH13-128-BLK-%d", i), Quantity: 1, StoreLineID: fmt.Sprintf("1412345678%d", i),
			MarketplaceLineID: fmt.Sprintf("2345678%d", i), Title: "iPhone 13 128 GB Midnight - Unlocked"}
		st.Lines = append(st.Lines, l)
	}
	for i := range 2 {
		st.Parcels = append(st.Parcels, order.Parcel{ID: fmt.Sprintf("gid://shopify/Fulfillment/47123456%d", i),
			Tracking: order.Tracking{Number: "6A12345678901", Carrier: "Colissimo", URL: "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"},
			Lines:    st.Lines[i : i+1]})
	}
	return st
}

// itemSize is an item's size as DynamoDB counts it: each attribute's name
// and value; numbers about a byte for two digits; lists and maps 3 bytes
// and 1 a member.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return (len(v.Value)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, x := range v.Value {
			n += 1 + valueSize(x)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, x := range v.Value {
			n += 1 + len(k) + valueSize(x)
		}
		return n
	}
	return 0
}
