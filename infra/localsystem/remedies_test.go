package localsystem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/amazon/amazontest"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/woocommerce/woocommercetest"
)

// remedyWalk is how the catalogue's remedy for one code is shown to work
// end to end: the failure made to happen for real through the fakes, then
// only merchant API calls (and the change the remedy asks for in the
// store or marketplace) until the order is synced.
type remedyWalk struct {
	// name is the test that walks the remedy; empty when there is none.
	name string
	// walk is that test. A walk that is a top-level test of its own file
	// (elsewhere) is only checked to be the one named: go test runs it.
	walk      func(*testing.T)
	elsewhere bool
	// pending marks a walk another branch adds: its absence here is not a
	// failure until that branch is merged.
	pending string
	// outside is why there is no walk: the fix lies outside ordersync
	// (the code's action is null), or the failure cannot be made for real
	// on the shared system.
	outside string
}

// outsideOrdersync is the reason of a code whose catalogue action is null.
const outsideOrdersync = "outside ordersync"

// remedies is every code of the catalogue with its walk. The table is the
// walks: TestEveryRemedyHasAWalk runs those of this file as its subtests.
var remedies = map[syncerr.Code]remedyWalk{
	syncerr.ShippingDataMissing:    {name: "TestFixFillsInTheTrackingAndReSends", walk: TestFixFillsInTheTrackingAndReSends, elsewhere: true},
	syncerr.AuthExpired:            {name: "TestMerchantReconnectsThroughTheAPI", walk: TestMerchantReconnectsThroughTheAPI, elsewhere: true},
	syncerr.MarketplaceUnavailable: {name: "TestResyncAfterRetriesRanOut", walk: TestResyncAfterRetriesRanOut, elsewhere: true},
	syncerr.SKUNotFound:            {name: "TestSKUAliasReleasesTheHeldOrder", walk: TestSKUAliasReleasesTheHeldOrder, elsewhere: true},

	syncerr.CancelUnsupported:   {outside: outsideOrdersync},
	syncerr.RefundUnsupported:   {outside: outsideOrdersync},
	syncerr.ParcelsUnsupported:  {outside: outsideOrdersync},
	syncerr.OrderNotEditable:    {outside: outsideOrdersync},
	syncerr.PlatformUnsupported: {outside: outsideOrdersync},

	syncerr.InvalidTransition:    {name: "walkInvalidTransition", walk: walkInvalidTransition},
	syncerr.MarketplaceOutOfStep: {name: "walkMarketplaceOutOfStep", walk: walkMarketplaceOutOfStep},
	syncerr.RateLimited:          {name: "walkRateLimited", walk: walkRateLimited},
	syncerr.OrderNotFound:        {name: "walkOrderNotFound", walk: walkOrderNotFound},
	syncerr.ConnectionPaused:     {name: "walkConnectionPaused", walk: walkConnectionPaused},
	syncerr.AddressMissing:       {name: "walkAddressMissing", walk: walkAddressMissing},
	syncerr.AddressInvalid:       {name: "walkAddressInvalid", walk: walkAddressInvalid},
	syncerr.StoreDisconnected:    {name: "walkStoreDisconnected", walk: walkStoreDisconnected},
	syncerr.OrderLinkUnverified:  {name: "walkOrderLinkUnverified", walk: walkOrderLinkUnverified},
	syncerr.SKUDuplicate:         {name: "walkSKUDuplicate", walk: walkSKUDuplicate},
	syncerr.InvalidData:          {name: "walkInvalidData", walk: walkInvalidData},
	syncerr.InventoryHeld:        {outside: outsideOrdersync},

	syncerr.AddressRestricted: {name: "walkAddressRestricted", walk: walkAddressRestricted},

	syncerr.InternalError: {outside: "internal_error is ordersync's own storage failing on an order's last try " +
		"(syncer.go: infra errors); making it happen for real means stopping DynamoDB under the shared system, " +
		"which every other test of the package uses"},
}

// TestEveryRemedyHasAWalk holds the catalogue and the walks together (see
// remedyProblems), and runs the walks of this file as its subtests.
func TestEveryRemedyHasAWalk(t *testing.T) {
	for _, p := range remedyProblems(remedies) {
		t.Error(p)
	}
	codes := syncerr.Codes()
	slices.Sort(codes)
	for _, code := range codes {
		w := remedies[code]
		switch {
		case w.outside != "":
			t.Logf("%s: no walk: %s", code, w.outside)
		case w.walk == nil && w.pending != "":
			t.Run(string(code), func(t *testing.T) { t.Skipf("%s is added by %s", w.name, w.pending) })
		case w.walk != nil && !w.elsewhere:
			t.Run(string(code), w.walk)
		}
	}
}

// remedyProblems lists what is wrong with table: a code of the catalogue
// without an entry, a code the catalogue does not hold, a code said to be
// fixed outside ordersync whose action is not null (or one with a null
// action given a walk or another reason), an entry without its test, and a
// walk that is not the test its entry names.
func remedyProblems(table map[syncerr.Code]remedyWalk) []string {
	var out []string
	codes := syncerr.Codes()
	slices.Sort(codes)
	for _, code := range codes {
		action := syncerr.Lookup(code).Action
		w, ok := table[code]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: no entry in remedies: add the test that walks its remedy", code))
		case w.outside == outsideOrdersync:
			if action != nil {
				out = append(out, fmt.Sprintf("%s: entry says %s, but its catalogue action is %s", code, outsideOrdersync, action))
			}
		case action == nil:
			out = append(out, fmt.Sprintf("%s: its action is null: its entry must say %q", code, outsideOrdersync))
		case w.outside != "":
			// No walk, for the reason given.
		case w.walk == nil && w.pending == "":
			out = append(out, fmt.Sprintf("%s: entry names %q, which is no test", code, w.name))
		case w.walk != nil && funcName(w.walk) != w.name:
			out = append(out, fmt.Sprintf("%s: entry names %s but its walk is %s", code, w.name, funcName(w.walk)))
		}
	}
	for code := range table {
		if !slices.Contains(codes, code) {
			out = append(out, fmt.Sprintf("remedies has %s, which is not in the catalogue", code))
		}
	}
	return out
}

// TestRemedyProblemsFindABrokenTable: each way the table can go wrong is
// found.
func TestRemedyProblemsFindABrokenTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(map[syncerr.Code]remedyWalk)
		wants string
	}{
		{"a code without an entry", func(m map[syncerr.Code]remedyWalk) { delete(m, syncerr.RateLimited) }, "rate_limited: no entry"},
		{"a code not in the catalogue", func(m map[syncerr.Code]remedyWalk) { m["no_such_code"] = remedyWalk{outside: outsideOrdersync} }, "no_such_code, which is not in the catalogue"},
		{"outside ordersync with an action", func(m map[syncerr.Code]remedyWalk) { m[syncerr.RateLimited] = remedyWalk{outside: outsideOrdersync} }, "rate_limited: entry says outside ordersync"},
		{"a null action given a walk", func(m map[syncerr.Code]remedyWalk) {
			m[syncerr.CancelUnsupported] = remedyWalk{name: "walkRateLimited", walk: walkRateLimited}
		}, "cancel_unsupported: its action is null"},
		{"a name without its test", func(m map[syncerr.Code]remedyWalk) { m[syncerr.RateLimited] = remedyWalk{name: "walkGone"} }, `rate_limited: entry names "walkGone", which is no test`},
		{"a walk that is not the one named", func(m map[syncerr.Code]remedyWalk) {
			m[syncerr.RateLimited] = remedyWalk{name: "walkRateLimited", walk: walkOrderNotFound}
		}, "rate_limited: entry names walkRateLimited but its walk is walkOrderNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := maps.Clone(remedies)
			tc.edit(table)
			got := remedyProblems(table)
			if len(got) != 1 || !strings.Contains(got[0], tc.wants) {
				t.Errorf("problems = %q, want one saying %q", got, tc.wants)
			}
		})
	}
	if got := remedyProblems(remedies); len(got) != 0 {
		t.Errorf("problems of the table itself = %q, want none", got)
	}
}

// funcName is the bare name of a function value.
func funcName(f func(*testing.T)) string {
	n := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return n[strings.LastIndex(n, ".")+1:]
}

// apiCall calls the merchant API of conn with the demo connection's key
// (the test connections of this file take it too) and checks the answer's
// status.
func apiCall(t *testing.T, conn, method, path string, body any, want int) []byte {
	t.Helper()
	status, b := callJSON(t, method, "/connections/"+conn+path, sys.Secrets[localsystem.DemoAPIKeyRef], body)
	if status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, want)
	}
	return b
}

// resyncOrder is the remedies' "re-sync the order": POST …/orders/{id}/resync.
func resyncOrder(t *testing.T, conn, mk string) {
	t.Helper()
	apiCall(t, conn, http.MethodPost, "/orders/"+mk+"/resync", nil, http.StatusAccepted)
}

// wantFailed waits for the order's sync to end as result with code, and
// checks the merchant API lists the failure with the catalogue's action.
func wantFailed(t *testing.T, conn, mk string, result order.SyncResult, code syncerr.Code) order.State {
	t.Helper()
	st := waitState(t, conn, mk, fmt.Sprintf("%s with %s", result, code), func(st order.State) bool {
		return st.Sync.Result == result
	})
	if st.Sync.ErrorCode != string(code) {
		t.Fatalf("sync = %+v, want %s with %s", st.Sync, result, code)
	}
	wantListed(t, conn, mk, code)
	return st
}

// listedAction is an error's action as the merchant API lists it.
type listedAction struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// wantListed waits for the merchant API's error list to name the order
// (any order when mk is empty) with code, checks the action listed is the
// catalogue's filled in for the order, and returns it.
func wantListed(t *testing.T, conn, mk string, code syncerr.Code) *listedAction {
	t.Helper()
	var b []byte
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var got struct {
			Errors []struct {
				Order  order.Ref     `json:"order"`
				Code   string        `json:"code"`
				Action *listedAction `json:"action"`
			} `json:"errors"`
		}
		b = apiCall(t, conn, http.MethodGet, "/errors?limit=100", nil, http.StatusOK)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("errors body %s: %v", b, err)
		}
		for _, e := range got.Errors {
			if e.Code != string(code) || (mk != "" && e.Order.MarketplaceOrderID != mk) {
				continue
			}
			if a := syncerr.Lookup(code).Action; a != nil && mk != "" {
				want := a.Fill(map[string]string{"connection": conn, "marketplaceOrderId": mk})
				if e.Action == nil || e.Action.Method != want.Method || e.Action.Path != want.Route {
					t.Errorf("listed action %+v, want %s", e.Action, want)
				}
			}
			return e.Action
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("order %q is not in the errors with %s: %s", mk, code, b)
	return nil
}

// wantResolved waits for the order to sync and checks its failure is
// resolved by how (the topic of the merchant's action).
func wantResolved(t *testing.T, conn, mk string, code syncerr.Code, how string) order.State {
	t.Helper()
	st := waitState(t, conn, mk, "synced", func(st order.State) bool { return st.Sync.Result == order.SyncSynced })
	if st.Resolved == nil || st.Resolved.Code != string(code) || st.Resolved.How != how {
		t.Errorf("resolved = %+v, want %s resolved by %s", st.Resolved, code, how)
	}
	return st
}

// shippedOn checks the order is shipped on the sandbox marketplace.
func shippedOn(t *testing.T, mp *backmarkettest.Server, mk string) {
	t.Helper()
	if o, ok := mp.Order(mk); !ok || o.State != backmarkettest.OrderShipped {
		t.Errorf("marketplace order %s = %+v, want state %d (shipped)", mk, o, backmarkettest.OrderShipped)
	}
}

// walkInvalidTransition: the store ships an order the marketplace still
// shows awaiting payment; the marketplace refuses to skip ahead
// (invalid_transition). The remedy: wait for the payment, then re-sync.
func walkInvalidTransition(t *testing.T) {
	o := newOrder(t)
	mk := fmt.Sprint(o.MarketplaceID)
	unpaid := backmarkettest.AwaitingAcceptance(o.MarketplaceID, o.SKUs...)
	unpaid.State = backmarkettest.OrderAwaitingPayment
	for i := range unpaid.OrderLines {
		unpaid.OrderLines[i].State = backmarkettest.LineAwaitingPayment
	}
	sys.Sandbox.Seed(unpaid)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A31000000001", Carrier: "Colissimo"}, time.Now()))
	wantFailed(t, localsystem.DemoConnection, mk, order.SyncFailed, syncerr.InvalidTransition)

	sys.SeedMarketplaceOrder(o) // the buyer paid: awaiting acceptance now
	resyncOrder(t, localsystem.DemoConnection, mk)
	wantResolved(t, localsystem.DemoConnection, mk, syncerr.InvalidTransition, "merchant/resync")
	shippedOn(t, sys.Sandbox, mk)
}

// walkRateLimited: the marketplace answers 429 to every try; the sync
// gives up after its tries (rate_limited). The remedy: re-sync once it
// answers again.
func walkRateLimited(t *testing.T) {
	o := newOrder(t)
	mk := fmt.Sprint(o.MarketplaceID)
	sys.Sandbox.SetFault(backmarkettest.Fault{Status: 429, RetryAfter: "1", Methods: "POST"})
	t.Cleanup(sys.Sandbox.ClearFaults)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A31000000002", Carrier: "Colissimo"}, time.Now()))
	wantFailed(t, localsystem.DemoConnection, mk, order.SyncFailed, syncerr.RateLimited)

	sys.Sandbox.ClearFaults()
	resyncOrder(t, localsystem.DemoConnection, mk)
	wantResolved(t, localsystem.DemoConnection, mk, syncerr.RateLimited, "merchant/resync")
	shippedOn(t, sys.Sandbox, mk)
}

// walkOrderNotFound: the store ships an order the marketplace account does
// not hold (order_not_found). The remedy: make sure the order is on the
// marketplace account connected, then re-sync.
func walkOrderNotFound(t *testing.T) {
	id := nextID.Add(1)
	o := localsystem.DemoOrder{MarketplaceID: id, StoreID: 450789000 + id, Name: fmt.Sprintf("#%d", id), SKUs: []string{"IPH12-64-BLK"}}
	mk := fmt.Sprint(id)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A31000000003", Carrier: "Colissimo"}, time.Now()))
	wantFailed(t, localsystem.DemoConnection, mk, order.SyncFailed, syncerr.OrderNotFound)

	sys.SeedMarketplaceOrder(o) // the order is on the connected account now
	resyncOrder(t, localsystem.DemoConnection, mk)
	wantResolved(t, localsystem.DemoConnection, mk, syncerr.OrderNotFound, "merchant/resync")
	shippedOn(t, sys.Sandbox, mk)
}

// walkConnectionPaused: the merchant pauses the connection; a shipment
// waits (connection_paused). The remedy: resume it.
func walkConnectionPaused(t *testing.T) {
	ctx := context.Background()
	conn := localsystem.DemoConnection
	apiCall(t, conn, http.MethodPost, "/pause", nil, http.StatusOK)
	t.Cleanup(func() {
		if c, err := sys.Store.Connection(ctx, conn); err == nil && c.Paused {
			_ = sys.Store.ResumeConnection(ctx, conn)
		}
	})
	o := newOrder(t)
	mk := fmt.Sprint(o.MarketplaceID)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A31000000004", Carrier: "Colissimo"}, time.Now()))
	wantFailed(t, conn, mk, order.SyncHeld, syncerr.ConnectionPaused)
	if calls := callsFor(o); len(calls) != 0 {
		t.Errorf("marketplace calls while paused: %+v", calls)
	}

	apiCall(t, conn, http.MethodPost, "/resume", nil, http.StatusAccepted)
	wantResolved(t, conn, mk, syncerr.ConnectionPaused, "connection/resumed")
	shippedOn(t, sys.Sandbox, mk)
}

// openToDemoKey lets the demo connection's merchant API key (and webhook
// secret) open the test connection conn too, so that its walk can call
// the merchant API.
func openToDemoKey(t *testing.T, conn string) {
	t.Helper()
	ctx := context.Background()
	c, err := sys.Store.Connection(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	c.APIKeyRefs = []string{localsystem.DemoAPIKeyRef}
	if err := sys.Store.PutConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// importWorld is an import connection of its own: the store given and a
// Back Market account served by this test, opened by the demo key.
func importWorld(t *testing.T, conn string, store order.Endpoint) *backmarkettest.Server {
	t.Helper()
	ctx := context.Background()
	mp := backmarkettest.New(backmarkettest.Options{Token: sys.Secrets[localsystem.SandboxTokenRef]})
	srv := httptest.NewServer(mp)
	t.Cleanup(srv.Close)
	c := order.Connection{ID: conn, MerchantName: "Remedy test", MerchantEmail: "remedy@merchant.test", ImportOrders: true,
		Store:       store,
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: srv.URL, CredentialRef: localsystem.SandboxTokenRef},
		APIKeyRefs:  []string{localsystem.DemoAPIKeyRef}}
	if err := sys.Store.PutConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Store.DeleteConnection(ctx, conn) })
	return mp
}

// newImport seeds a new marketplace order awaiting acceptance, changed by
// edit, old enough for the refresh to import it.
func newImport(mp *backmarkettest.Server, id int64, edit func(*backmarkettest.Order), skus ...string) string {
	o := backmarkettest.AwaitingAcceptance(id, skus...)
	o.DateModification = time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)
	if edit != nil {
		edit(&o)
	}
	mp.Seed(o)
	return strconv.FormatInt(id, 10)
}

// accepted waits for the imported order to be synced and accepted on the
// marketplace.
func acceptedOn(t *testing.T, mp *backmarkettest.Server, mk string) {
	t.Helper()
	if o, ok := mp.Order(mk); !ok || o.State != backmarkettest.OrderToShip {
		t.Errorf("marketplace order %s = %+v, want state %d (accepted, to ship)", mk, o, backmarkettest.OrderToShip)
	}
}

// completeAddress is the address the merchant gives ordersync's fix.
var completeAddress = order.Address{Name: "Victor Hugo", Line1: "6 place des Vosges", City: "Paris", PostalCode: "75004", Country: "FR"}

// walkAddressMissing: the marketplace order to import has no shipping
// address; the import is held (address_missing). The remedy: give the
// address to ordersync's fix, which re-sends the order at once.
func walkAddressMissing(t *testing.T) {
	store := wooStore(t)
	conn := "e2e-remedy-address-missing"
	mp := importWorld(t, conn, store.endpoint)
	mk := newImport(mp, 9711, func(o *backmarkettest.Order) { o.ShippingAddress = nil }, "SKU-A")
	fireRefresh(t)
	wantFailed(t, conn, mk, order.SyncHeld, syncerr.AddressMissing)
	if ids := store.imported(mk); len(ids) != 0 {
		t.Fatalf("store orders %v made without an address", ids)
	}

	apiCall(t, conn, http.MethodPost, "/orders/"+mk+"/fix", map[string]any{"shipping_address": completeAddress}, http.StatusAccepted)
	st := wantResolved(t, conn, mk, syncerr.AddressMissing, "merchant/fix")
	if ids := store.imported(mk); len(ids) != 1 || ids[0] != st.Ref.StoreOrderID {
		t.Errorf("store orders imported %v, want the linked one, %s", ids, st.Ref.StoreOrderID)
	}
	acceptedOn(t, mp, mk)
}

// walkAddressRestricted: Amazon withholds the address of the order to
// import from ordersync's role (the restricted data token refused); the
// import is held (address_restricted), no store order made. The remedy:
// give the address to ordersync's fix, which imports the order with it.
func walkAddressRestricted(t *testing.T) {
	conn := localsystem.DemoAmazonConnection
	o := amazontest.Unshipped(fmt.Sprintf("402-9714000-%07d", nextID.Add(1)), "GALAXY-S21")
	o.AddressRefused = true
	sys.AmazonSandbox.Seed(o)
	mk := o.AmazonOrderID
	fireRefresh(t)
	held := wantFailed(t, conn, mk, order.SyncHeld, syncerr.AddressRestricted)
	// The merchant reads which marketplace withholds it, and why.
	if !strings.Contains(held.Sync.Message, "Amazon") {
		t.Errorf("message %q, want it to name Amazon", held.Sync.Message)
	}
	if got := storeOrdersOf(mk); len(got) != 0 {
		t.Fatalf("store orders %+v made without an address", got)
	}

	apiCall(t, conn, http.MethodPost, "/orders/"+mk+"/fix", map[string]any{"shipping_address": completeAddress}, http.StatusAccepted)
	st := wantResolved(t, conn, mk, syncerr.AddressRestricted, "merchant/fix")
	got := storeOrdersOf(mk)
	if len(got) != 1 || got[0].ID != st.Ref.StoreOrderID {
		t.Fatalf("store orders imported %+v, want the linked one, %s", got, st.Ref.StoreOrderID)
	}
	if a := got[0].ShippingAddress; a == nil || a.Address1 != completeAddress.Line1 || a.City != completeAddress.City {
		t.Errorf("imported address %+v, want the merchant's %+v", a, completeAddress)
	}
	if a, _ := sys.AmazonSandbox.Order(mk); a.OrderStatus != amazontest.StatusUnshipped {
		t.Errorf("Amazon order status %s, want %s (to ship)", a.OrderStatus, amazontest.StatusUnshipped)
	}
}

// walkAddressInvalid: the marketplace order to import has an address
// without its city (address_invalid). The remedy: give ordersync the
// complete address through the fix.
func walkAddressInvalid(t *testing.T) {
	store := wooStore(t)
	conn := "e2e-remedy-address-invalid"
	mp := importWorld(t, conn, store.endpoint)
	mk := newImport(mp, 9712, func(o *backmarkettest.Order) { o.ShippingAddress.City = "" }, "SKU-A")
	fireRefresh(t)
	wantFailed(t, conn, mk, order.SyncFailed, syncerr.AddressInvalid)

	apiCall(t, conn, http.MethodPost, "/orders/"+mk+"/fix", map[string]any{"shipping_address": completeAddress}, http.StatusAccepted)
	st := wantResolved(t, conn, mk, syncerr.AddressInvalid, "merchant/fix")
	if ids := store.imported(mk); len(ids) != 1 || ids[0] != st.Ref.StoreOrderID {
		t.Errorf("store orders imported %v, want the linked one, %s", ids, st.Ref.StoreOrderID)
	}
	acceptedOn(t, mp, mk)
}

// walkStoreDisconnected: the import connection's store refuses ordersync's
// key (the app's token was revoked); the import pauses the connection and
// holds the order (store_disconnected). The remedy: send the store's new
// key to the merchant API; the refresh checks it, resumes the connection
// and imports the order.
func walkStoreDisconnected(t *testing.T) {
	ctx := context.Background()
	store := bigCommerceStore(t)
	conn := "e2e-remedy-store-disconnected"
	revoked := store.endpoint
	revoked.CredentialRef = localsystem.DemoAPIKeyRef // a key the store does not take
	mp := importWorld(t, conn, revoked)
	mk := newImport(mp, 9713, nil, "SKU-A")
	fireRefresh(t)
	wantFailed(t, conn, mk, order.SyncHeld, syncerr.StoreDisconnected)
	if c, err := sys.Store.Connection(ctx, conn); err != nil || !c.Paused || c.PausedCode != string(syncerr.StoreDisconnected) {
		t.Fatalf("connection %+v, %v: want paused for store_disconnected", c, err)
	}

	apiCall(t, conn, http.MethodPut, "/credentials/store", map[string]string{"credential": sys.Secrets[localsystem.SandboxTokenRef]}, http.StatusAccepted)
	// The refresh that checks the new key resumes the connection and
	// re-syncs the orders its pause held: the held import is imported.
	st := waitState(t, conn, mk, "synced", func(st order.State) bool { return st.Sync.Result == order.SyncSynced })
	if r := st.Resolved; r == nil || r.Code != string(syncerr.StoreDisconnected) || r.How != "connection/resumed" {
		t.Errorf("resolved = %+v, want store_disconnected resolved by connection/resumed", r)
	}
	if ids := store.imported(mk); len(ids) != 1 || ids[0] != st.Ref.StoreOrderID {
		t.Errorf("store orders imported %v, want the linked one, %s", ids, st.Ref.StoreOrderID)
	}
	acceptedOn(t, mp, mk)
	if c, err := sys.Store.Connection(ctx, conn); err != nil || c.Paused {
		t.Errorf("connection %+v, %v: want resumed", c, err)
	}
}

// walkOrderLinkUnverified: a store order names a marketplace order only in
// its custom attributes (which a buyer can write), and ordersync never
// imported it; the refresh finds it shipped and the sync holds it
// (order_link_unverified). The remedy: link the two through the merchant
// API; ordersync then reads the store order and ships it.
func walkOrderLinkUnverified(t *testing.T) {
	w := newRefreshWorld(t, "e2e-remedy-link")
	openToDemoKey(t, w.conn)
	const id = 9714
	mk := strconv.Itoa(id)
	placed := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	o := backmarkettest.AwaitingAcceptance(id, "SKU-A")
	o.State, o.OrderLines[0].State, o.DateModification = backmarkettest.OrderToShip, backmarkettest.LineAccepted, placed.Format(time.RFC3339)
	w.mp.Seed(o)
	so := w.shop.AddOrder(shopifytest.Order{UpdatedAt: placed, LineItems: []shopifytest.LineItem{{SKU: "SKU-A", Quantity: 1}},
		CustomAttributes: []shopifytest.Attribute{{Key: shopify.MarketplaceOrderAttribute, Value: mk}}})
	w.ship(t, so.ID, time.Now().Add(-30*time.Minute), shopifytest.Tracking{Company: "Colissimo", Number: "6A31000000005"})

	fireRefresh(t)
	// The record names the store order, and the marketplace order it
	// claims: its action is the link of that order.
	listed := wantListed(t, w.conn, "", syncerr.OrderLinkUnverified)
	if want := "/connections/" + w.conn + "/orders/" + mk + "/link"; listed == nil || listed.Path != want {
		t.Errorf("listed action %+v, want POST %s", listed, want)
	}
	if calls := w.callsFor(mk); len(calls) != 0 {
		t.Fatalf("marketplace calls for an unverified link: %+v", calls)
	}

	apiCall(t, w.conn, http.MethodPost, "/orders/"+mk+"/link", map[string]string{"store_order_id": so.ID}, http.StatusAccepted)
	st := waitState(t, w.conn, mk, "synced", func(st order.State) bool { return st.Sync.Result == order.SyncSynced })
	if st.Ref.StoreOrderID != so.ID || st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("order %+v, want store order %s shipped", st, so.ID)
	}
	shippedOn(t, w.mp, mk)
	if r := st.Resolved; r == nil || r.Code != string(syncerr.OrderLinkUnverified) || r.How != "merchant/link" {
		t.Errorf("resolved = %+v, want order_link_unverified resolved by merchant/link", r)
	}
	// The error, recorded under the store order, is resolved with it.
	b := apiCall(t, w.conn, http.MethodGet, "/errors?limit=100&resolved=hide", nil, http.StatusOK)
	if strings.Contains(string(b), `"code":"order_link_unverified"`) {
		t.Errorf("errors?resolved=hide still lists the unverified link: %s", b)
	}
}

// walkSKUDuplicate: the WooCommerce catalogue has two products with the
// SKU of the marketplace order to import (sku_duplicate). The remedy: make
// the SKU unique in the catalogue (rename the duplicate), then re-sync.
func walkSKUDuplicate(t *testing.T) {
	ck, cs, _ := strings.Cut(sys.Secrets[localsystem.WooCommerceKeysRef], ":")
	shop := woocommercetest.New(ck, cs)
	shop.AddProduct(woocommercetest.Product{Name: "Widget D", SKU: "SKU-D"})
	dup := shop.AddProduct(woocommercetest.Product{Name: "Widget D (copy)", SKU: "SKU-D"})
	hs := httptest.NewServer(shop)
	t.Cleanup(hs.Close)
	conn := "e2e-remedy-sku-duplicate"
	mp := importWorld(t, conn, order.Endpoint{Platform: order.WooCommerce, BaseURL: hs.URL, CredentialRef: localsystem.WooCommerceKeysRef})
	mk := newImport(mp, 9715, nil, "SKU-D")
	fireRefresh(t)
	wantFailed(t, conn, mk, order.SyncFailed, syncerr.SKUDuplicate)
	if n := len(shop.Orders()); n != 0 {
		t.Fatalf("%d store orders made with an ambiguous SKU", n)
	}

	if !shop.SetProductSKU(dup.ID, "SKU-D-COPY") {
		t.Fatalf("no product %d", dup.ID)
	}
	resyncOrder(t, conn, mk)
	st := wantResolved(t, conn, mk, syncerr.SKUDuplicate, "merchant/resync")
	if orders := shop.Orders(); len(orders) != 1 || strconv.FormatInt(orders[0].ID, 10) != st.Ref.StoreOrderID {
		t.Errorf("store orders %+v, want one, linked as %s", orders, st.Ref.StoreOrderID)
	}
	acceptedOn(t, mp, mk)
}

// walkInvalidData: the marketplace order to import has a line of quantity
// 0, which the store cannot take (invalid_data, "quantity of SKU-A"). The
// remedy: correct the data at its source, then re-sync. On an import
// connection the data is the marketplace's; the catalogue's words ("in
// your store") read as if it were the store's.
func walkInvalidData(t *testing.T) {
	store := wooStore(t)
	conn := "e2e-remedy-invalid-data"
	mp := importWorld(t, conn, store.endpoint)
	mk := newImport(mp, 9716, func(o *backmarkettest.Order) { o.OrderLines[0].Quantity = 0 }, "SKU-A")
	fireRefresh(t)
	wantFailed(t, conn, mk, order.SyncFailed, syncerr.InvalidData)
	if ids := store.imported(mk); len(ids) != 0 {
		t.Fatalf("store orders %v made with a line of quantity 0", ids)
	}

	newImport(mp, 9716, nil, "SKU-A") // corrected: one of SKU-A
	resyncOrder(t, conn, mk)
	st := wantResolved(t, conn, mk, syncerr.InvalidData, "merchant/resync")
	if ids := store.imported(mk); len(ids) != 1 || ids[0] != st.Ref.StoreOrderID {
		t.Errorf("store orders imported %v, want the linked one, %s", ids, st.Ref.StoreOrderID)
	}
	acceptedOn(t, mp, mk)
}

// TestAnEditOfAnOrderHoldingStockIsLeftToTheMerchant: an imported order
// whose accept failed (the marketplace was down) still awaits acceptance
// when the marketplace edits its address; the refresh refuses the edit,
// since the store holds stock for the order (inventory_held). ordersync
// cannot see the stock released, and an edit changes only its own record
// of the order, so the fix lies outside ordersync: the error says to make
// the change in the store by hand, and names no action.
func TestAnEditOfAnOrderHoldingStockIsLeftToTheMerchant(t *testing.T) {
	store := wooStore(t)
	conn := "e2e-remedy-inventory-held"
	mp := importWorld(t, conn, store.endpoint)
	mp.SetFault(backmarkettest.Fault{Status: 503, Methods: "POST"})
	mk := newImport(mp, 9717, nil, "SKU-A")
	fireRefresh(t)
	st := wantFailed(t, conn, mk, order.SyncFailed, syncerr.MarketplaceUnavailable)
	if st.Ref.StoreOrderID == "" {
		t.Fatalf("order %+v: want it imported into the store, its accept failed", st)
	}
	newImport(mp, 9717, func(o *backmarkettest.Order) {
		o.ShippingAddress.Street = "1 rue de Rivoli"
		o.DateModification = time.Now().Add(-2 * time.Minute).UTC().Format(time.RFC3339)
	}, "SKU-A")
	fireRefresh(t)
	if a := wantListed(t, conn, mk, syncerr.InventoryHeld); a != nil {
		t.Errorf("listed action %+v, want none: the fix lies outside ordersync", a)
	}
	if st := waitState(t, conn, mk, "unchanged", func(order.State) bool { return true }); st.ShippingAddress != nil && st.ShippingAddress.Line1 == "1 rue de Rivoli" {
		t.Errorf("the edit was applied to order %s although stock is held for it", mk)
	}

	// The merchant releases the stock in WooCommerce (nothing ordersync
	// reads: it counts every imported order as holding stock, refresh.go's
	// edit) and re-syncs.
}

// walkMarketplaceOutOfStep: the marketplace answers, but its order no
// longer shows changes ordersync made to it (here the sandbox forgot an
// accept and a shipment it took), and ordersync never sends a change
// twice (marketplace_out_of_step). The remedy: make the missing change in
// the marketplace's back office, then re-sync.
func walkMarketplaceOutOfStep(t *testing.T) {
	o := newOrder(t)
	mk := fmt.Sprint(o.MarketplaceID)
	tracking := localsystem.Tracking{Number: "6A31000000009", Carrier: "Colissimo"}
	post(t, localsystem.FulfilledOrder(o, tracking, time.Now()))
	waitSync(t, o, order.SyncSynced)
	shippedOn(t, sys.Sandbox, mk)

	sys.SeedMarketplaceOrder(o) // the marketplace forgot both changes
	resyncOrder(t, localsystem.DemoConnection, mk)
	wantFailed(t, localsystem.DemoConnection, mk, order.SyncFailed, syncerr.MarketplaceOutOfStep)

	// The merchant ships the order in the back office, then re-syncs.
	shipped := backmarkettest.AwaitingAcceptance(o.MarketplaceID, o.SKUs...)
	shipped.State, shipped.TrackingNumber, shipped.ShipperDisplay = backmarkettest.OrderShipped, tracking.Number, tracking.Carrier
	for i := range shipped.OrderLines {
		shipped.OrderLines[i].State = backmarkettest.LineShipped
	}
	sys.Sandbox.Seed(shipped)
	resyncOrder(t, localsystem.DemoConnection, mk)
	wantResolved(t, localsystem.DemoConnection, mk, syncerr.MarketplaceOutOfStep, "merchant/resync")
	shippedOn(t, sys.Sandbox, mk)
}
