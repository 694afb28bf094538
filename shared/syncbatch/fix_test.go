package syncbatch_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// An import held for its address (missing, or without its city) is healed
// by the merchant's fix: the re-sync imports the order with the
// merchant's address, accepts it, and the order says the fix resolved it.
func TestAnImportHeldForItsAddressIsImportedAfterTheFix(t *testing.T) {
	for _, tc := range []struct {
		name    string
		address *backmarkettest.Address
		code    string
	}{
		{"no address", nil, "address_missing"},
		{"no city", &backmarkettest.Address{FirstName: "Victor", LastName: "Hugo", Street: "6 place des Vosges", PostalCode: "75004", Country: "FR"}, "address_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			shop := e.shopifyStore()
			e.nextID++
			o := backmarkettest.AwaitingAcceptance(e.nextID, "SKU-A")
			o.ShippingAddress = tc.address
			e.fake.Seed(o)
			mk := strconv.FormatInt(e.nextID, 10)
			e.deliver(importEvent(mk), 1)
			st := e.state(mk)
			if st.Sync.ErrorCode != tc.code || len(shop.Orders()) != 0 {
				t.Fatalf("before the fix: sync %+v, %d store orders; want %s and none", st.Sync, len(shop.Orders()), tc.code)
			}

			mine := order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"}
			st.Override = &order.Override{ShippingAddress: &order.AddressOverride{Address: mine, Replaced: st.ShippingAddress, At: e.clock.now()}}
			st, err := e.store.SaveOrder(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			fix := order.Event{Connection: "acme", Source: merchantapi.Source, SourceEventID: "fix-" + mk, Topic: "merchant/fix",
				Intent: order.IntentImport, Order: st.Ref}
			if resp := e.deliver(fix, 1); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failures = %v", resp.BatchItemFailures)
			}
			orders := shop.Orders()
			if len(orders) != 1 || orders[0].ShippingAddress == nil || orders[0].ShippingAddress.City != "Paris" || orders[0].ShippingAddress.Address1 != mine.Line1 {
				t.Fatalf("store orders = %+v, want one with the merchant's address", orders)
			}
			got := e.state(mk)
			if got.Sync.Result != order.SyncSynced || got.MarketplaceStatus != order.StatusAccepted {
				t.Errorf("sync = %+v, marketplace %q; want synced and accepted", got.Sync, got.MarketplaceStatus)
			}
			if got.Resolved == nil || got.Resolved.Code != tc.code || got.Resolved.How != "merchant/fix" {
				t.Errorf("resolved = %+v, want %s resolved by merchant/fix", got.Resolved, tc.code)
			}
		})
	}
}
