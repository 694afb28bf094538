package amazontest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/amazon/amazontest"
)

// TestPersistKeepsOrdersAcrossRestarts: a fake started again on the same
// file has the orders seeded before, with their items, full address,
// address refusal and the packages confirmed, in the state they left.
func TestPersistKeepsOrdersAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amazon.json")
	first := amazontest.New(amazontest.Options{})
	if err := first.Persist(path); err != nil {
		t.Fatal(err)
	}
	refused := amazontest.Unshipped("402-0000000-0000002", "SKU-B")
	refused.AddressRefused = true
	first.Seed(refused)
	toShip := amazontest.Unshipped("402-0000000-0000001", "SKU-A")
	first.Seed(toShip)
	srv := httptest.NewServer(first)
	tok := token(t, srv.URL)
	body := `{"marketplaceId":"` + amazontest.MarketplaceFR + `","packageDetail":{"packageReferenceId":"1","carrierCode":"UPS",` +
		`"trackingNumber":"1Z999","shipDate":"2026-01-02T10:00:00Z","orderItems":[{"orderItemId":"` + toShip.Items[0].OrderItemID + `","quantity":1}]}}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders/v0/orders/402-0000000-0000001/shipmentConfirmation", strings.NewReader(body))
	req.Header.Set("x-amz-access-token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("confirmShipment = %d %s, want 204", resp.StatusCode, b)
	}
	srv.Close()

	second := amazontest.New(amazontest.Options{})
	if err := second.Persist(path); err != nil {
		t.Fatal(err)
	}
	shipped, ok := second.Order("402-0000000-0000001")
	if !ok {
		t.Fatal("shipped order forgotten after the restart")
	}
	if shipped.OrderStatus != amazontest.StatusShipped || len(shipped.Packages) != 1 || shipped.Packages[0].TrackingNumber != "1Z999" {
		t.Errorf("shipped order = %+v, want Shipped with its package", shipped)
	}
	if shipped.Address == nil || shipped.Address.AddressLine1 == "" || len(shipped.Items) != 1 || shipped.Items[0].QuantityShipped != 1 {
		t.Errorf("shipped order's address %+v and items %+v, want kept", shipped.Address, shipped.Items)
	}
	if got, ok := second.Order(refused.AmazonOrderID); !ok || !got.AddressRefused {
		t.Errorf("refused order = %+v, %v; want kept with its address refused", got, ok)
	}
	if second.SeedIfAbsent(amazontest.Unshipped("402-0000000-0000001", "SKU-A")) {
		t.Error("SeedIfAbsent replaced an order the file had")
	}
	if got, _ := second.Order("402-0000000-0000001"); got.OrderStatus != amazontest.StatusShipped {
		t.Errorf("status after SeedIfAbsent = %s, want %s (kept)", got.OrderStatus, amazontest.StatusShipped)
	}
}

// token takes an access token from the fake's LWA endpoint.
func token(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/auth/o2/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {"Atzr|r"}, "client_id": {"id"}, "client_secret": {"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_, after, ok := strings.Cut(string(b), `"access_token":"`)
	tok, _, _ := strings.Cut(after, `"`)
	if !ok || tok == "" {
		t.Fatalf("LWA token = %d %s", resp.StatusCode, b)
	}
	return tok
}

// TestCreateMakesNewUnshippedOrders: each create is a new order, to ship,
// with an item per SKU, under an id no other order has.
func TestCreateMakesNewUnshippedOrders(t *testing.T) {
	fake := amazontest.New(amazontest.Options{})
	fake.Seed(amazontest.Unshipped("402-1000002-0000002", "SKU-A")) // the id the second create would take first
	a, b := fake.Create("SKU-A"), fake.Create("SKU-B", "SKU-C")
	if a.AmazonOrderID == b.AmazonOrderID || b.AmazonOrderID == "402-1000002-0000002" {
		t.Fatalf("ids %s and %s, want two new ones", a.AmazonOrderID, b.AmazonOrderID)
	}
	got, ok := fake.Order(b.AmazonOrderID)
	if !ok || got.OrderStatus != amazontest.StatusUnshipped || len(got.Items) != 2 || got.NumberOfItemsUnshipped != 2 || got.Address == nil {
		t.Errorf("created order = %+v, want Unshipped with two items to ship and an address", got)
	}
}
