package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/testkit/storetest"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// TestConformance runs the store suite on DynamoDB Local, one table per
// case; shared/memstore passes the same suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		st := stacktest.New(t, nil)
		clock := &storetest.Clock{}
		s := dynamostore.New(stacktest.Clients().DynamoDB, st.Ref("Table")).WithClock(clock.Now)
		return storetest.Harness{Store: s, Clock: clock,
			Deduper:    func(inFlight time.Duration) storetest.Deduper { return s.Deduper(inFlight) },
			Recovering: func(inFlight, after time.Duration) storetest.Deduper { return s.Deduper(inFlight).RecoverAfter(after) },
			Expiries: func(t *testing.T, conn, mk, storeID string) (int64, int64) {
				return expiresAt(t, st.Ref("Table"), "ORDER#"+conn+"#"+mk, "STATE"), expiresAt(t, st.Ref("Table"), "LINK#"+conn+"#"+storeID, "LINK")
			}}
	})
}

// TestAnOutageIsNeitherNotFoundNorConflict: when DynamoDB fails (here, a
// table that is not there), every call says so with an error its callers
// take as transient, never as an answer about the data.
func TestAnOutageIsNeitherNotFoundNorConflict(t *testing.T) {
	ctx := t.Context()
	s := dynamostore.New(stacktest.Clients().DynamoDB, "no-such-table")
	tests := []struct {
		name string
		call func() error
	}{
		{"Connection", func() error { _, err := s.Connection(ctx, "acme"); return err }},
		{"Connections", func() error { _, err := s.Connections(ctx); return err }},
		{"PauseConnection", func() error { return s.PauseConnection(ctx, "acme", "auth_expired") }},
		{"FindOrder", func() error { _, err := s.FindOrder(ctx, "acme", "s1"); return err }},
		{"LoadOrder", func() error { _, err := s.LoadOrder(ctx, "acme", "m1"); return err }},
		{"LoadOrders", func() error { _, err := s.LoadOrders(ctx, "acme", []string{"m1"}); return err }},
		{"FindOrders", func() error { _, err := s.FindOrders(ctx, "acme", []string{"s1"}); return err }},
		{"Unsettled", func() error { _, err := s.Unsettled(ctx, "acme", 10); return err }},
		{"Checkpoint", func() error { _, err := s.Checkpoint(ctx, "acme", refresh.SideMarketplace); return err }},
		{"SetCheckpoint", func() error { return s.SetCheckpoint(ctx, "acme", refresh.SideStore, refresh.Checkpoint{}) }},
		{"SaveReport", func() error { return s.SaveReport(ctx, refresh.Report{Connection: "acme", At: time.Now()}) }},
		{"Reports", func() error { _, err := s.Reports(ctx, "acme", 10); return err }},
		{"SaveOrder", func() error {
			_, err := s.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "m1"}, Version: 1})
			return err
		}},
		{"ClaimEffects", func() error { _, err := s.ClaimEffects(ctx, "acme#m1", []string{"k"}, time.Minute); return err }},
		{"RecentErrors", func() error { _, err := s.RecentErrors(ctx, "acme", time.Now().Add(-time.Hour), 20); return err }},
		{"MarkNotified", func() error { _, err := s.MarkNotified(ctx, "k", time.Hour); return err }},
		{"Deduper.Claim", func() error { _, err := s.Deduper(time.Minute).Claim(ctx, "k", time.Hour); return err }},
		// SKU aliases.
		{"PutSKUAlias", func() error { return s.PutSKUAlias(ctx, "acme", order.SKUAlias{StoreSKU: "A", MarketplaceSKU: "B"}) }},
		{"DeleteSKUAlias", func() error { _, err := s.DeleteSKUAlias(ctx, "acme", "A"); return err }},
		{"SKUAliases", func() error { _, _, err := s.SKUAliases(ctx, "acme", "", 10); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || errors.Is(err, order.ErrNotFound) || errors.Is(err, order.ErrConflict) {
				t.Errorf("err = %v, want an error that is neither order.ErrNotFound nor order.ErrConflict", err)
			}
		})
	}
}

// TestLegacyCheckpoint: a table deployed before the refresh had sides
// holds CONN#<id>/CHECKPOINT {at}. The marketplace side reads it until it
// has its own checkpoint; the store side never does.
func TestLegacyCheckpoint(t *testing.T) {
	ctx := t.Context()
	st := stacktest.New(t, nil)
	db := stacktest.Clients().DynamoDB
	s := dynamostore.New(db, st.Ref("Table"))
	legacy := time.Date(2026, 11, 20, 10, 30, 0, 123000000, time.UTC)
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Ref("Table")), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "CONN#acme"}, "sk": &types.AttributeValueMemberS{Value: "CHECKPOINT"},
		"at": &types.AttributeValueMemberS{Value: legacy.Format(time.RFC3339Nano)},
	}}); err != nil {
		t.Fatal(err)
	}
	check := func(when string, side refresh.Side, want refresh.Checkpoint) {
		t.Helper()
		got, err := s.Checkpoint(ctx, "acme", side)
		if err != nil || !got.Since.Equal(want.Since) || !got.RunAt.Equal(want.RunAt) {
			t.Errorf("%s: Checkpoint(%s) = %+v, %v; want %+v", when, side, got, err, want)
		}
	}
	check("before any new checkpoint", refresh.SideMarketplace, refresh.Checkpoint{Since: legacy})
	check("before any new checkpoint", refresh.SideStore, refresh.Checkpoint{})
	if got, err := s.Checkpoint(ctx, "other", refresh.SideMarketplace); err != nil || !got.Since.IsZero() {
		t.Errorf("Checkpoint(other) = %+v, %v; want the zero checkpoint", got, err)
	}

	store := refresh.Checkpoint{Since: legacy.Add(time.Hour), RunAt: legacy.Add(2 * time.Hour)}
	if err := s.SetCheckpoint(ctx, "acme", refresh.SideStore, store); err != nil {
		t.Fatal(err)
	}
	check("after the store side's", refresh.SideMarketplace, refresh.Checkpoint{Since: legacy})
	check("after the store side's", refresh.SideStore, store)

	mkt := refresh.Checkpoint{Since: legacy.Add(-time.Hour), RunAt: legacy.Add(3 * time.Hour)}
	if err := s.SetCheckpoint(ctx, "acme", refresh.SideMarketplace, mkt); err != nil {
		t.Fatal(err)
	}
	check("after the marketplace side's", refresh.SideMarketplace, mkt)
}

// unprocessed is the table's client, whose BatchGetItem leaves the last
// keys of each call unread, as DynamoDB does when throttled, the first
// fails times (every time when fails < 0).
type unprocessed struct {
	dynamostore.API
	fails       int
	calls, keys int
}

func (u *unprocessed) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	u.calls++
	var table string
	for table = range in.RequestItems {
	}
	ka := in.RequestItems[table]
	u.keys += len(ka.Keys)
	if u.fails == 0 {
		return u.API.BatchGetItem(ctx, in, opts...)
	}
	u.fails--
	half := len(ka.Keys) / 2
	out := &dynamodb.BatchGetItemOutput{}
	if half > 0 {
		asked := ka
		asked.Keys = ka.Keys[:half]
		var err error
		if out, err = u.API.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: asked}}, opts...); err != nil {
			return nil, err
		}
	}
	left := ka
	left.Keys = ka.Keys[half:]
	out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: left}
	return out, nil
}

func TestBatchReads(t *testing.T) {
	ctx := t.Context()
	st := stacktest.New(t, nil)
	seed := dynamostore.New(stacktest.Clients().DynamoDB, st.Ref("Table"))
	var ids []string
	for i := range 150 {
		id := fmt.Sprintf("m%03d", i)
		ids = append(ids, id)
		if _, err := seed.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: id}}); err != nil {
			t.Fatal(err)
		}
		if err := seed.LinkOrder(ctx, "acme", "s"+id, id); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		fails     int
		ids       []string
		wantCalls int
		wantErr   bool
	}{
		{"no ids, no call", 0, nil, 0, false},
		{"150 ids in two calls", 0, ids, 2, false},
		{"repeated ids are asked once", 0, append(append([]string{}, ids[:60]...), ids[:60]...), 1, false},
		// The first 100 keys take all 5 tries (50 read, then 25, 12, 6 and
		// the last 7); the other 50, one.
		{"unprocessed keys are asked again", 4, ids, 6, false},
		{"keys never processed are an error", -1, ids[:100], 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, read := range []struct {
				what string
				call func(s *dynamostore.Store, ids []string) (int, error)
			}{
				{"LoadOrders", func(s *dynamostore.Store, ids []string) (int, error) {
					m, err := s.LoadOrders(ctx, "acme", ids)
					for id, st := range m {
						if st.Ref.MarketplaceOrderID != id || st.Version != 1 {
							t.Errorf("LoadOrders[%s] = %s v%d, want %s v1", id, st.Ref.MarketplaceOrderID, st.Version, id)
						}
					}
					return len(m), err
				}},
				{"FindOrders", func(s *dynamostore.Store, ids []string) (int, error) {
					store := make([]string, len(ids))
					for i, id := range ids {
						store[i] = "s" + id
					}
					m, err := s.FindOrders(ctx, "acme", store)
					for sid, id := range m {
						if sid != "s"+id {
							t.Errorf("FindOrders[%s] = %s, want %s", sid, id, sid[1:])
						}
					}
					return len(m), err
				}},
			} {
				db := &unprocessed{API: stacktest.Clients().DynamoDB, fails: tt.fails}
				s := dynamostore.New(db, st.Ref("Table"))
				n, err := read.call(s, tt.ids)
				want := len(slices.Compact(slices.Sorted(slices.Values(tt.ids))))
				switch {
				case tt.wantErr && err == nil:
					t.Errorf("%s = %d, nil; want an error", read.what, n)
				case !tt.wantErr && (err != nil || n != want):
					t.Errorf("%s = %d, %v; want %d", read.what, n, err, want)
				}
				if db.calls != tt.wantCalls {
					t.Errorf("%s: %d BatchGetItem calls (%d keys), want %d", read.what, db.calls, db.keys, tt.wantCalls)
				}
			}
		})
	}
}

// TestTableIndexes: the table provisioned from template.yaml has the
// sparse index of unsettled orders, whole states projected.
func TestTableIndexes(t *testing.T) {
	st := stacktest.New(t, nil)
	d, err := stacktest.Clients().DynamoDB.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(st.Ref("Table"))})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, g := range d.Table.GlobalSecondaryIndexes {
		var ks []string
		for _, k := range g.KeySchema {
			ks = append(ks, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		got[aws.ToString(g.IndexName)] = strings.Join(ks, ", ") + " / " + string(g.Projection.ProjectionType)
	}
	if want := "gsi3pk HASH, gsi3sk RANGE / ALL"; got["gsi3"] != want {
		t.Errorf("gsi3 = %q, want %q (all indexes: %v)", got["gsi3"], want, got)
	}
	// The listing by sync state and the one by name hold keys only: a
	// save that keeps an order's place writes neither.
	if want := "gsi4pk HASH, gsi4sk RANGE / KEYS_ONLY"; got["gsi6"] != want {
		t.Errorf("gsi6 = %q, want %q", got["gsi6"], want)
	}
	if _, ok := got["gsi4"]; ok {
		t.Errorf("gsi4 is still there (%v); gsi6 replaced it", got)
	}
	if want := "gsi5pk HASH / KEYS_ONLY"; got["gsi5"] != want {
		t.Errorf("gsi5 = %q, want %q", got["gsi5"], want)
	}
}

// expiresAt reads an item's TTL attribute as DynamoDB's TTL reads it:
// expires_at, a number of Unix seconds (0 when the item or its TTL is
// absent).
func expiresAt(t *testing.T, table, pk, sk string) int64 {
	t.Helper()
	out, err := stacktest.Clients().DynamoDB.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := out.Item["expires_at"].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatalf("%s/%s: expires_at %q: %v", pk, sk, n.Value, err)
	}
	return v
}

// TestALostSaveLeavesALinkLastingAsTheWinnersMarkSays: a link made before
// links had an expiry is given one by its order's next save, open or
// closed. Two workers then save the same open order; one closes it, the
// other (which wins) keeps it open: whichever wins, the link lasts at
// least as the mark its state carries says (the review of 7cf884e found a
// link left without an expiry by two closers when the loser took its
// expiry back). And an expiry is never moved earlier by a save.
func TestALostSaveLeavesALinkLastingAsTheWinnersMarkSays(t *testing.T) {
	st := stacktest.New(t, nil)
	table := st.Ref("Table")
	s := dynamostore.New(stacktest.Clients().DynamoDB, table)
	ctx := t.Context()
	// The link as a build before this one put it: no expiry, and the state
	// naming it carries the mark that says so.
	if _, err := stacktest.Clients().DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "LINK#acme#srace-1"}, "sk": &types.AttributeValueMemberS{Value: "LINK"},
		"marketplace_order_id": &types.AttributeValueMemberS{Value: "race-1"}}}); err != nil {
		t.Fatal(err)
	}
	open := order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "race-1", StoreOrderID: "srace-1"},
		StoreStatus: order.StatusAccepted, MarketplaceStatus: order.StatusAccepted, LinkExpiry: "srace-1@0"}
	v1, err := s.SaveOrder(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	_, want := open.LinkNeeds(time.Now(), order.DefaultRetention)
	lasts := expiresAt(t, table, "LINK#acme#srace-1", "LINK")
	if lasts < want-order.LinkWeek || lasts > want+order.LinkWeek {
		t.Fatalf("the legacy link expires at %d after its open order's save, want about %d", lasts, want)
	}
	winner := v1
	winner.StoreStatus = order.StatusPartiallyShipped
	if _, err := s.SaveOrder(ctx, winner); err != nil {
		t.Fatal(err)
	}
	loser := v1
	loser.MarketplaceStatus = order.StatusShipped
	if _, err := s.SaveOrder(ctx, loser); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("the loser's save = %v, want a conflict", err)
	}
	won, err := s.LoadOrder(ctx, "acme", "race-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := expiresAt(t, table, "LINK#acme#srace-1", "LINK"); got != lasts || won.LinkExpiry != fmt.Sprintf("srace-1@%d", lasts) {
		t.Errorf("after a lost save: the link expires at %d, the winner's mark %q; want both %d", got, won.LinkExpiry, lasts)
	}
	// Closed: the link lasts long enough already, and a save that would
	// give it an earlier expiry leaves it.
	won.MarketplaceStatus = order.StatusShipped
	if won, err = s.SaveOrder(ctx, won); err != nil {
		t.Fatal(err)
	}
	if state := expiresAt(t, table, "ORDER#acme#race-1", "STATE"); state == 0 || lasts < state {
		t.Fatalf("the closed order's state expires at %d, its link at %d; want the link at or after it", state, lasts)
	}
	shorter := dynamostore.New(stacktest.Clients().DynamoDB, table).WithOrderRetention(time.Hour)
	won.LinkExpiry = ""
	if _, err := shorter.SaveOrder(ctx, won); err != nil {
		t.Fatal(err)
	}
	if got := expiresAt(t, table, "LINK#acme#srace-1", "LINK"); got != lasts {
		t.Errorf("the link expires at %d after a save with a shorter retention, want %d as before", got, lasts)
	}
}

// TestAShortRetentionNeverShortensAnOpenOrdersLink: with a retention of a
// day, an open order's link still lasts order.OpenRetention and the
// slack (the review found it lasting the retention and 4 weeks: an order
// shipped after that, with no save between, lost its events); the closed
// order's state goes a day after its close.
func TestAShortRetentionNeverShortensAnOpenOrdersLink(t *testing.T) {
	st := stacktest.New(t, nil)
	table := st.Ref("Table")
	s := dynamostore.New(stacktest.Clients().DynamoDB, table).WithOrderRetention(24 * time.Hour)
	ctx := t.Context()
	open := order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "short-1", StoreOrderID: "sshort-1"},
		StoreStatus: order.StatusAccepted, MarketplaceStatus: order.StatusAccepted}
	v1, err := s.SaveOrder(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	floor := time.Now().Add(order.OpenRetention).Unix()
	if got := expiresAt(t, table, "ORDER#acme#short-1", "STATE"); got < floor {
		t.Errorf("the open order's state expires at %d, want at or after %d", got, floor)
	}
	if got := expiresAt(t, table, "LINK#acme#sshort-1", "LINK"); got < floor+order.LinkSlack {
		t.Errorf("the open order's link expires at %d, want at or after %d", got, floor+order.LinkSlack)
	}
	v1.MarketplaceStatus = order.StatusShipped
	if _, err := s.SaveOrder(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if got, want := expiresAt(t, table, "ORDER#acme#short-1", "STATE"), time.Now().Add(24*time.Hour).Unix(); got < want-60 || got > want+60 {
		t.Errorf("the closed order's state expires at %d, want about %d", got, want)
	}
}

// TestTheMerchantsLinkNeverShortensALinksExpiry: a closed order saved
// under a long retention has a link lasting past its state; after the
// retention is cut, linking its store order again (the merchant's link
// action, a re-import) put the open order's shorter expiry over it, and
// the state's mark, still covered, kept any save from mending it: the
// state outlived its link (review of stop 27).
func TestTheMerchantsLinkNeverShortensALinksExpiry(t *testing.T) {
	st := stacktest.New(t, nil)
	table := st.Ref("Table")
	long := dynamostore.New(stacktest.Clients().DynamoDB, table).WithOrderRetention(3 * order.OpenRetention)
	s := dynamostore.New(stacktest.Clients().DynamoDB, table).WithOrderRetention(30 * 24 * time.Hour)
	ctx := t.Context()
	closed := order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "long-1", StoreOrderID: "slong-1"},
		StoreStatus: order.StatusShipped, MarketplaceStatus: order.StatusShipped}
	if _, err := long.SaveOrder(ctx, closed); err != nil {
		t.Fatal(err)
	}
	lasts := expiresAt(t, table, "LINK#acme#slong-1", "LINK")
	if err := s.LinkOrder(ctx, "acme", "slong-1", "long-1"); err != nil {
		t.Fatal(err)
	}
	if got := expiresAt(t, table, "LINK#acme#slong-1", "LINK"); got < lasts {
		t.Errorf("after the link action the link expires at %d, before the %d it had", got, lasts)
	}
	if got, err := s.FindOrder(ctx, "acme", "slong-1"); err != nil || got != "long-1" {
		t.Errorf("FindOrder = %q, %v; want long-1", got, err)
	}
	// Linked to another order, the link takes its expiry as it was.
	if err := s.LinkOrder(ctx, "acme", "slong-1", "long-2"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindOrder(ctx, "acme", "slong-1"); err != nil || got != "long-2" {
		t.Errorf("FindOrder after relinking = %q, %v; want long-2", got, err)
	}
}
