package dynamostore_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
)

// TestOrderItemSize measures what a write of an ordinary order's state
// costs (issue 14): a Back Market order of one line, shipped in one
// Colissimo parcel, with its address, the two calls the sync made and a
// short timeline must put at most 1 KiB, one write unit. A bigger order
// may take more; its budget is stated here so that it does not grow
// unseen.
func TestOrderItemSize(t *testing.T) {
	st := stacktest.New(t, nil)
	table := st.Ref("Table")
	s := dynamostore.New(stacktest.Clients().DynamoDB, table)
	// A connection named by a UUID: each call key is about 80 bytes, and the
	// connection's name is in four attributes.
	long := ordinaryOrder("6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "51234568", 1)
	tests := []struct {
		name     string
		st       order.State
		maxUnits float64
	}{
		{"one line", ordinaryOrder("acme-backmarket", "51234567", 1), 1},
		{"one line, long connection id", long, 1},
		// Five lines in one parcel, a call for each line's acceptance and
		// one for the shipment: 1.1 KiB, 2 units (2.7 KiB and 3 units as
		// attributes).
		{"five lines", ordinaryOrder("acme-backmarket", "51234569", 5), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size, units := putCost(t, s, table, tt.st)
			t.Logf("%s: item %d bytes, %.0f write units a put", tt.name, size, units)
			if units > tt.maxUnits {
				t.Errorf("a put of the state costs %.0f write units (%d bytes), want at most %.0f", units, size, tt.maxUnits)
			}
		})
	}
}

// ordinaryOrder is the state of a Back Market order of n lines after its
// sync shipped it: one Colissimo parcel, an address, the calls made (an
// acceptance a line, then the shipment; keys shaped as the sync's effect
// keys), and the timeline of its import, acceptance and shipment.
func ordinaryOrder(conn, id string, n int) order.State {
	at := time.Date(2026, 11, 27, 14, 3, 21, 123456789, time.UTC)
	st := order.State{Connection: conn,
		Ref:         order.Ref{StoreOrderID: "5981234567890", StoreOrderName: "#1042", MarketplaceOrderID: id},
		StoreStatus: order.StatusShipped, StoreUpdatedAt: at.Add(-time.Minute),
		MarketplaceStatus: order.StatusShipped, MarketplaceState: "3",
		ShippingAddress: &order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR", Phone: "+33 1 42 72 10 16"},
		Sync:            order.SyncOutcome{Result: order.SyncSynced, Attempts: 1, At: at},
	}
	products := []struct{ sku, title string }{
		{"IPH12-64-BLK", "iPhone 12 64 GB - Black - Unlocked"},
		{"SMG-S21-128-GRY", "Galaxy S21 5G 128 GB - Phantom Gray - Unlocked"},
		{"IPAD9-64-SLV", "iPad 10.2 (2021) 9th gen 64 GB - WiFi - Silver"},
		{"APP-AIRPODS2", "AirPods 2nd gen (2019) - Charging case"},
		{"MBA-M1-256-SG", "MacBook Air 13\" (2020) - Apple M1 - 8GB - SSD 256 GB - QWERTY"},
	}
	for i := range n {
		p := products[i%len(products)]
		st.Lines = append(st.Lines, order.Line{SKU: p.sku, Quantity: 1,
			StoreLineID: fmt.Sprintf("141234%08d", 3917*(i+1)), MarketplaceLineID: fmt.Sprintf("61%06d", 7331*(i+1)), Title: p.title})
	}
	st.Parcels = []order.Parcel{{ID: "4712345678901",
		Tracking: order.Tracking{Number: "6A12345678901", Carrier: "Colissimo", URL: "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"},
		Lines:    st.Lines}}
	call := func(action string, i int) string {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%s/%d", conn, id, action, i))
		return conn + "#" + id + "#" + action + "#" + hex.EncodeToString(sum[:12])
	}
	for i := range n {
		st.Calls = append(st.Calls, call("accept", i))
	}
	st.Calls = append(st.Calls, call("ship", 0))
	st.Timeline = []order.TimelineEntry{
		{At: at.Add(-time.Hour), Kind: order.TimelineReceived, Source: order.BackMarket, Topic: "refresh/import", EventID: "import-" + id},
		{At: at.Add(-time.Hour + time.Second), Kind: order.TimelineCall, Source: order.BackMarket, Step: "accept", Detail: "ok"},
		{At: at.Add(-time.Hour + 2*time.Second), Kind: order.TimelineSynced},
		{At: at.Add(-time.Second), Kind: order.TimelineReceived, Source: order.Shopify, Topic: "orders/fulfilled", EventID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
		{At: at.Add(-time.Millisecond), Kind: order.TimelineCall, Source: order.BackMarket, Step: "ship", Detail: "ok"},
		{At: at, Kind: order.TimelineSynced},
	}
	return st
}

// TestOlderItemsRead: items written before state_z (the state as
// attributes, its timeline as attributes or gzipped in timeline_z) read
// as they are, by one, by many and from gsi3; their next save packs them.
func TestOlderItemsRead(t *testing.T) {
	ctx := t.Context()
	stack := stacktest.New(t, nil)
	table := stack.Ref("Table")
	db := stacktest.Clients().DynamoDB
	s := dynamostore.New(db, table)
	tests := []struct {
		name      string
		timelineZ bool
	}{
		{"timeline as attributes", false},
		{"timeline in timeline_z", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := fmt.Sprintf("older-%d", i)
			want := ordinaryOrder(conn, "51234567", 2)
			want.Sync = order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "sku_not_found", Message: "no such SKU", Attempts: 1,
				At: want.Sync.At, FirstFailedAt: want.Sync.At, SKU: "IPH12-64-BLK"}
			want.Refunds = []order.Refund{{ID: "r1", Kind: order.RefundCancel, Lines: want.Lines[1:]}}
			want.Explained, want.TimelineDropped, want.Version = []string{"line-cancel"}, 3, 4
			it := olderItem(t, want, tt.timelineZ)
			if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
				t.Fatal(err)
			}
			wantJSON := jsonString(t, want)
			one, err := s.LoadOrder(ctx, conn, "51234567")
			if err != nil || jsonString(t, one) != wantJSON {
				t.Fatalf("LoadOrder = %s, %v; want %s", jsonString(t, one), err, wantJSON)
			}
			many, err := s.LoadOrders(ctx, conn, []string{"51234567"})
			if err != nil || jsonString(t, many["51234567"]) != wantJSON {
				t.Errorf("LoadOrders = %s, %v; want %s", jsonString(t, many["51234567"]), err, wantJSON)
			}
			unsettled, err := s.Unsettled(ctx, conn, 10)
			if err != nil || len(unsettled) != 1 || jsonString(t, unsettled[0]) != wantJSON {
				t.Errorf("Unsettled = %v, %v; want the one order %s", unsettled, err, wantJSON)
			}

			saved, err := s.SaveOrder(ctx, one)
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
				"pk": strAttr("ORDER#" + conn + "#51234567"), "sk": strAttr("STATE")}})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"lines", "parcels", "shipping_address", "calls", "refunds", "timeline", "timeline_z"} {
				if _, ok := got.Item[name]; ok {
					t.Errorf("saved again, the item still has %s", name)
				}
			}
			if _, ok := got.Item["state_z"]; !ok {
				t.Errorf("saved again, the item has no state_z")
			}
			again, err := s.LoadOrder(ctx, conn, "51234567")
			if err != nil || jsonString(t, again) != jsonString(t, saved) {
				t.Errorf("LoadOrder after the save = %s, %v; want %s", jsonString(t, again), err, jsonString(t, saved))
			}
		})
	}
}

// olderItem is st's item as SaveOrder wrote it before state_z: every field
// an attribute, the timeline too or, with timelineZ, gzipped in timeline_z;
// on gsi3 (st is unsettled).
func olderItem(t *testing.T, st order.State, timelineZ bool) map[string]types.AttributeValue {
	t.Helper()
	it, err := attributevalue.MarshalMapWithOptions(st, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
	if err != nil {
		t.Fatal(err)
	}
	it["pk"], it["sk"], it["type"] = strAttr("ORDER#"+st.Connection+"#"+st.Ref.MarketplaceOrderID), strAttr("STATE"), strAttr("order")
	it["gsi3pk"], it["gsi3sk"] = strAttr("UNSETTLED#"+st.Connection), strAttr(st.Sync.At.Format("2006-01-02T15:04:05.000000000Z07:00"))
	if timelineZ {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		if err := json.NewEncoder(zw).Encode(st.Timeline); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		delete(it, "timeline")
		it["timeline_z"] = &types.AttributeValueMemberB{Value: z.Bytes()}
	}
	return it
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
