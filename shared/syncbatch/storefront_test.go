package syncbatch_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/bigcommerce/bigcommercetest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

// storefrontsFunc adapts a function to syncer.Storefronts.
type storefrontsFunc func(ctx context.Context, conn order.Connection) (syncer.Storefront, error)

func (f storefrontsFunc) Storefront(ctx context.Context, conn order.Connection) (syncer.Storefront, error) {
	return f(ctx, conn)
}

// bigCommerceStore adds a BigCommerce store to the env: connection "bc"
// links it to the env's Back Market fake. It returns the fake store and
// a processor that reads from it.
func (e *env) bigCommerceStore() (*bigcommercetest.Server, *processor) {
	e.t.Helper()
	store := bigcommercetest.New("abc123", "bc-token")
	srv := httptest.NewServer(store)
	e.t.Cleanup(srv.Close)
	bc := e.conn
	bc.ID, bc.Store = "bc", order.Endpoint{Platform: order.BigCommerce, BaseURL: srv.URL, Account: "abc123", CredentialRef: "bc"}
	if err := e.store.PutConnection(context.Background(), bc); err != nil {
		e.t.Fatal(err)
	}
	stores := storefrontsFunc(func(_ context.Context, conn order.Connection) (syncer.Storefront, error) {
		return bigcommerce.New(bigcommerce.Config{BaseURL: conn.Store.BaseURL, StoreHash: conn.Store.Account, AccessToken: "bc-token", Connection: conn.ID}, srv.Client())
	})
	p := e.processor(config{}).WithStorefronts(stores)
	return store, p
}

// shippedInStore seeds a BigCommerce order of one SKU-A, shipped with
// tracking, and links it to a new Back Market order.
func (e *env) shippedInStore(store *bigcommercetest.Server, tracking string) (mk, storeID string) {
	e.t.Helper()
	mk, _ = e.order()
	o := store.AddOrder(bigcommercetest.Order{
		Products:          []bigcommercetest.Product{{ProductID: 1, Name: "Phone", SKU: "SKU-A", Quantity: 1}},
		ShippingAddresses: []bigcommercetest.Address{{FirstName: "Victor", LastName: "Hugo", Street1: "6 place des Vosges", City: "Paris", Zip: "75004", CountryISO2: "FR"}},
	})
	storeID = strconv.FormatInt(o.ID, 10)
	// The store ships it (the merchant's warehouse, through the API).
	o, _ = store.Order(o.ID)
	body := `{"order_address_id":` + strconv.FormatInt(o.ShippingAddresses[0].ID, 10) + `,"tracking_number":"` + tracking +
		`","shipping_provider":"","tracking_carrier":"colissimo","items":[{"order_product_id":` + strconv.FormatInt(o.Products[0].ID, 10) + `,"quantity":1}]}`
	req := httptest.NewRequest("POST", "/stores/abc123/v2/orders/"+storeID+"/shipments", strings.NewReader(body))
	req.Header.Set("X-Auth-Token", "bc-token")
	rec := httptest.NewRecorder()
	store.ServeHTTP(rec, req)
	if rec.Code != 201 {
		e.t.Fatalf("creating the shipment: %d %s", rec.Code, rec.Body)
	}
	if err := e.store.LinkOrder(context.Background(), "bc", storeID, mk); err != nil {
		e.t.Fatal(err)
	}
	return mk, storeID
}

func (e *env) shipCalls(mk string) []string {
	var out []string
	for _, c := range e.fake.Calls() {
		if c.OrderID == mk && c.NewState == 3 && c.Status < 300 {
			out = append(out, c.TrackingNumber)
		}
	}
	return out
}

func TestThinWebhookIsReadFromTheStore(t *testing.T) {
	e := newEnv(t)
	store, p := e.bigCommerceStore()
	mk, storeID := e.shippedInStore(store, "6A777")
	e.proc = p
	// A BigCommerce webhook names the order and nothing else.
	thin := order.Event{Connection: "bc", Source: order.BigCommerce, SourceEventID: "hash-1", Topic: "store/shipment/created",
		OccurredAt: time.Now(), Order: order.Ref{StoreOrderID: storeID, StoreOrderName: storeID}, Fetch: true}
	if resp := e.deliver(thin, 1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	if got := e.shipCalls(mk); len(got) != 1 || got[0] != "6A777" {
		t.Errorf("ship calls with tracking %v, want one with the store's 6A777", got)
	}
	st, err := e.store.LoadOrder(context.Background(), "bc", mk)
	if err != nil || st.Sync.Result != order.SyncSynced || st.StoreStatus != order.StatusShipped {
		t.Errorf("state = %+v, %v; want synced and shipped", st, err)
	}
}

func TestThinWebhookWithoutAStoreConnectorFails(t *testing.T) {
	e := newEnv(t)
	store, _ := e.bigCommerceStore()
	mk, storeID := e.shippedInStore(store, "6A777")
	// e.proc has no storefronts: it cannot read the order.
	thin := order.Event{Connection: "bc", Source: order.BigCommerce, SourceEventID: "hash-2", OccurredAt: time.Now(),
		Order: order.Ref{StoreOrderID: storeID}, Fetch: true}
	e.deliver(thin, 1)
	if st, _ := e.store.LoadOrder(context.Background(), "bc", mk); st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != "platform_unsupported" {
		t.Errorf("sync = %+v, want failed with platform_unsupported", st.Sync)
	}
	if len(e.shipCalls(mk)) != 0 {
		t.Error("shipped without knowing the order")
	}
}

func TestRedriveOfAFailedOrderReadsTodaysStoreData(t *testing.T) {
	e := newEnv(t)
	store, withStore := e.bigCommerceStore()
	mk, storeID := e.shippedInStore(store, "6A888")
	// The payload as it was sent, before the merchant filled in the
	// tracking number: the parcel the store now has, without tracking.
	sf, _ := bigcommerce.New(bigcommerce.Config{BaseURL: mustConn(t, e, "bc").Store.BaseURL, StoreHash: "abc123", AccessToken: "bc-token", Connection: "bc"}, nil)
	now, err := sf.Order(context.Background(), storeID)
	if err != nil {
		t.Fatal(err)
	}
	stale := now
	stale.Connection, stale.SourceEventID, stale.OccurredAt = "bc", "before-the-fix", now.OccurredAt.Add(-time.Hour)
	stale.Order.MarketplaceOrderID = mk
	stale.Parcels = []order.Parcel{now.Parcels[0]}
	stale.Parcels[0].Tracking = order.Tracking{}
	// It failed then (the sync could not read the store at the time).
	e.deliver(stale, 1)
	if st, _ := e.store.LoadOrder(context.Background(), "bc", mk); st.Sync.ErrorCode != "shipping_data_missing" {
		t.Fatalf("sync = %+v, want failed with shipping_data_missing", st.Sync)
	}
	// The operator redrives the same message; the store has the tracking.
	e.proc = withStore
	if resp := e.deliver(stale, 1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	if got := e.shipCalls(mk); len(got) != 1 || got[0] != "6A888" {
		t.Errorf("ship calls with tracking %v, want one with today's 6A888", got)
	}
	if st, _ := e.store.LoadOrder(context.Background(), "bc", mk); st.Sync.Result != order.SyncSynced {
		t.Errorf("sync = %+v, want synced", st.Sync)
	}
}

func mustConn(t *testing.T, e *env, id string) order.Connection {
	t.Helper()
	c, err := e.store.Connection(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
