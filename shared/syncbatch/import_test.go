package syncbatch_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
	"github.com/ordersync/ordersync/shared/syncer"
)

// shopifyStore gives the env's connection a Shopify store (a fake holding
// the variant SKU-A) and makes e.proc read and write it.
func (e *env) shopifyStore() *shopifytest.Server {
	e.t.Helper()
	shop := shopifytest.New("shpat_test")
	shop.AddVariant("SKU-A", "Phone")
	srv := httptest.NewServer(shop)
	e.t.Cleanup(srv.Close)
	e.conn.Store = order.Endpoint{Platform: order.Shopify, BaseURL: srv.URL, CredentialRef: "shop"}
	if err := e.store.PutConnection(context.Background(), e.conn); err != nil {
		e.t.Fatal(err)
	}
	stores := storefrontsFunc(func(_ context.Context, conn order.Connection) (syncer.Storefront, error) {
		return shopify.New(shopify.Config{ShopURL: conn.Store.BaseURL, AccessToken: "shpat_test", Connection: conn.ID}, srv.Client())
	})
	e.proc = e.processor(config{}).WithStorefronts(stores)
	return shop
}

func importEvent(mk string) order.Event {
	return order.Event{Connection: "acme", Source: "ordersync", SourceEventID: "import/" + mk, Intent: order.IntentImport,
		Order: order.Ref{MarketplaceOrderID: mk}}
}

func TestImportCreatesTheStoreOrderLinksAndAccepts(t *testing.T) {
	e := newEnv(t)
	shop := e.shopifyStore()
	mk, _ := e.order()
	if resp := e.deliver(importEvent(mk), 1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	orders := shop.Orders()
	if len(orders) != 1 || orders[0].SourceIdentifier != mk {
		t.Fatalf("store orders = %+v, want one imported from %s", orders, mk)
	}
	storeID, err := e.store.FindOrder(context.Background(), "acme", orders[0].ID)
	if err != nil || storeID != mk {
		t.Errorf("link = %q, %v; want store order %s linked to %s", storeID, err, orders[0].ID, mk)
	}
	st := e.state(mk)
	if st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusAccepted || st.Ref.StoreOrderID != orders[0].ID {
		t.Errorf("state = %+v, want synced, accepted, with the store order", st)
	}
	if ok, _ := e.callsFor(mk); ok != 1 {
		t.Errorf("marketplace calls = %d, want one accept", ok)
	}
	// Delivered again (a retry, a redrive, the next refresh): nothing more.
	e.deliver(importEvent(mk), 1)
	if n := len(shop.Orders()); n != 1 {
		t.Errorf("store orders = %d after a second delivery, want 1", n)
	}
	if ok, _ := e.callsFor(mk); ok != 1 {
		t.Errorf("marketplace calls = %d after a second delivery, want 1", ok)
	}
	// The store ships it later: the usual sync, through the link.
	if resp := e.deliver(shipped("", orders[0].ID, "6A1", st.StoreUpdatedAt.Add(1)), 1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	if st := e.state(mk); st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("after the store shipped: marketplace status %q, want shipped", st.MarketplaceStatus)
	}
}

func TestImportFailuresAreRecordedAndNothingHalfDone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		seed   func(id int64) backmarkettest.Order
		code   string
		result order.SyncResult
	}{
		{"a SKU the store does not have", func(id int64) backmarkettest.Order {
			return backmarkettest.AwaitingAcceptance(id, "SKU-A", "SKU-GONE")
		}, "sku_not_found", order.SyncFailed},
		{"no shipping address (a test order)", func(id int64) backmarkettest.Order {
			o := backmarkettest.AwaitingAcceptance(id, "SKU-A")
			o.ShippingAddress = nil
			return o
		}, "address_missing", order.SyncHeld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			shop := e.shopifyStore()
			e.nextID++
			e.fake.Seed(tc.seed(e.nextID))
			mk := strconv.FormatInt(e.nextID, 10)
			if resp := e.deliver(importEvent(mk), 1); len(resp.BatchItemFailures) != 0 {
				t.Errorf("a permanent failure must not be retried: %v", resp.BatchItemFailures)
			}
			st := e.state(mk)
			if st.Sync.Result != tc.result || st.Sync.ErrorCode != tc.code {
				t.Errorf("sync = %+v, want %s with %s", st.Sync, tc.result, tc.code)
			}
			if n := len(shop.Orders()); n != 0 {
				t.Errorf("store orders = %d, want none", n)
			}
			if ok, refused := e.callsFor(mk); ok+refused != 0 {
				t.Errorf("marketplace calls = %d, want none: an order not imported is not accepted", ok+refused)
			}
			if dl := e.deadLetters(); len(dl) != 1 || dl[0]["error_code"] != tc.code {
				t.Errorf("DLQ = %v, want the import with its reason", dl)
			}
			if e.notes.count() != 1 {
				t.Errorf("emails = %d, want 1", e.notes.count())
			}
		})
	}
}

// TestAFailedImportGivesBackItsAcceptsClaim: the import claims the accept
// it leads to with its own claim, in one write. An import refused (a SKU
// the store lacks) gives both back: the merchant's re-sync right after
// the fix imports and accepts at once, not after the claims' lease.
func TestAFailedImportGivesBackItsAcceptsClaim(t *testing.T) {
	e := newEnv(t)
	shop := e.shopifyStore()
	e.nextID++
	e.fake.Seed(backmarkettest.AwaitingAcceptance(e.nextID, "SKU-A", "SKU-NEW"))
	mk := strconv.FormatInt(e.nextID, 10)
	e.deliver(importEvent(mk), 1)
	if st := e.state(mk); st.Sync.ErrorCode != "sku_not_found" {
		t.Fatalf("sync = %+v, want sku_not_found", st.Sync)
	}
	shop.AddVariant("SKU-NEW", "Case")
	if resp := e.deliver(importEvent(mk), 1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the re-sync after the fix = %v, want done", resp.BatchItemFailures)
	}
	if n := len(shop.Orders()); n != 1 {
		t.Errorf("store orders = %d, want 1", n)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusAccepted {
		t.Errorf("sync = %+v, status %q; want synced and accepted at once", st.Sync, st.MarketplaceStatus)
	}
}

func TestAnImportWhoseAcceptFailedAcceptsOnTheRetry(t *testing.T) {
	e := newEnv(t)
	shop := e.shopifyStore()
	mk, _ := e.order()
	e.fake.SetFault(backmarkettest.Fault{Status: 503, Count: 1, Methods: "POST"})
	e.send(importEvent(mk))
	if resp, _ := e.receive(e.proc); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures = %v, want a retry: the accept failed", resp.BatchItemFailures)
	}
	e.clock.add(e.retryIn())
	if _, ok := e.receive(e.proc); !ok {
		t.Fatal("the import did not come back for its retry")
	}
	if n := len(shop.Orders()); n != 1 {
		t.Errorf("store orders = %d, want 1", n)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusAccepted {
		t.Errorf("sync = %+v, status %q; want synced and accepted", st.Sync, st.MarketplaceStatus)
	}
}

func TestARetriedHeldImportIsImported(t *testing.T) {
	e := newEnv(t)
	shop := e.shopifyStore()
	e.conn.ImportOrders = true
	if err := e.store.PutConnection(context.Background(), e.conn); err != nil {
		t.Fatal(err)
	}
	mk, _ := e.order()
	e.fake.SetFault(backmarkettest.Fault{Status: 401})
	e.deliver(importEvent(mk), 1)
	if st := e.state(mk); st.Sync.Result != order.SyncHeld {
		t.Fatalf("sync = %+v, want held by the expired key", st.Sync)
	}
	e.fake.ClearFaults()
	if err := e.store.ResumeConnection(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	// The refresh (or a merchant's re-sync) queues a no-change event.
	e.deliver(order.Event{Connection: "acme", Source: "ordersync", SourceEventID: "resumed", Order: order.Ref{MarketplaceOrderID: mk}}, 1)
	if n := len(shop.Orders()); n != 1 {
		t.Errorf("store orders = %d, want the held import made", n)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced || st.Ref.StoreOrderID == "" || st.MarketplaceStatus != order.StatusAccepted {
		t.Errorf("state = %+v, want imported, accepted and synced", st)
	}
}
