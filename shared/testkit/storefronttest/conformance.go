package storefronttest

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Seed describes an order a harness puts into its fake store the way the
// merchant's store would hold it: paid, not yet shipped.
type Seed struct {
	Lines           []order.Line
	ShippingAddress *order.Address
	UpdatedAt       time.Time
}

// Harness is one storefront connector wired to a fresh fake of its
// platform. A connector's test builds one per subtest.
type Harness struct {
	// Storefront is the connector under test, talking to the fake. It must
	// list at most two orders per page, so that the suite exercises paging.
	Storefront syncer.Storefront
	// BadCredentials is the same connector holding a credential the fake
	// refuses.
	BadCredentials syncer.Storefront
	// Secret is the credential the connector holds; no error may show it.
	Secret string
	// SeedOrder puts an order into the fake and returns its store id.
	SeedOrder func(t *testing.T, s Seed) string
	// SeedStatus is the status the connector reports for a seeded order.
	SeedStatus order.Status
	// SKUs are SKUs the fake's catalogue holds, at least two.
	SKUs []string
	// Imports is false where CreateOrder is not implemented yet: the suite
	// then expects platform_unsupported without a call to the fake.
	Imports bool
	// OrderCount reports how many orders the fake holds.
	OrderCount func() int
	// SetFault and Calls reach the fake's fault switch and call log.
	SetFault func(Fault)
	Calls    func() []Call
}

// RunConformance runs the storefront conformance suite against the harness
// newHarness builds, one fresh harness per subtest.
func RunConformance(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Helper()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	seed := Seed{
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 2, Title: "Widget A"}, {SKU: "SKU-B", Quantity: 1, Title: "Widget B"}},
		ShippingAddress: &order.Address{Name: "Jane Doe", Line1: "1 Rue de Rivoli", City: "Paris",
			PostalCode: "75001", Country: "FR"},
		UpdatedAt: base,
	}

	t.Run("FetchOrder", func(t *testing.T) {
		h := newHarness(t)
		id := h.SeedOrder(t, seed)
		ev, err := h.Storefront.Order(context.Background(), id)
		if err != nil {
			t.Fatalf("Order(%q): %v", id, err)
		}
		if got := ev.Order.StoreOrderID; got != id {
			t.Errorf("StoreOrderID = %q, want %q", got, id)
		}
		if ev.Source == "" {
			t.Error("Source is empty")
		}
		if got, want := ev.Status, h.SeedStatus; got != want {
			t.Errorf("Status = %q, want %q", got, want)
		}
		if got, want := skuQuantities(ev.Lines), skuQuantities(seed.Lines); !slices.Equal(got, want) {
			t.Errorf("lines = %v, want %v", got, want)
		}
		if ev.ShippingAddress == nil {
			t.Fatal("ShippingAddress is nil")
		}
		if got, want := *ev.ShippingAddress, *seed.ShippingAddress; got.City != want.City ||
			got.Country != want.Country || got.PostalCode != want.PostalCode || got.Line1 != want.Line1 {
			t.Errorf("ShippingAddress = %+v, want %+v", got, want)
		}
	})

	t.Run("UnknownOrder", func(t *testing.T) {
		h := newHarness(t)
		_, err := h.Storefront.Order(context.Background(), "987654321")
		wantCode(t, err, syncerr.OrderNotFound)
	})

	t.Run("ImportOrder", func(t *testing.T) {
		h := newHarness(t)
		mo := order.MarketplaceOrder{
			ID:     "MP-1001",
			Status: order.StatusAccepted,
			Lines: []order.MarketplaceLine{
				{ID: "L1", SKU: h.SKUs[0], Quantity: 2},
				{ID: "L2", SKU: h.SKUs[1], Quantity: 1},
			},
			ShippingAddress: seed.ShippingAddress,
			CreatedAt:       base,
		}
		before := h.OrderCount()
		if !h.Imports {
			calls := len(h.Calls())
			_, _, err := h.Storefront.CreateOrder(context.Background(), mo)
			wantCode(t, err, syncerr.PlatformUnsupported)
			if got := len(h.Calls()); got != calls {
				t.Errorf("CreateOrder made %d calls, want none", got-calls)
			}
			return
		}
		id, name, err := h.Storefront.CreateOrder(context.Background(), mo)
		if err != nil {
			t.Fatalf("CreateOrder: %v", err)
		}
		if id == "" {
			t.Fatal("CreateOrder returned an empty id")
		}
		ev, err := h.Storefront.Order(context.Background(), id)
		if err != nil {
			t.Fatalf("Order(%q) after import: %v", id, err)
		}
		// The import records the store's name, so the merchant finds the
		// order by it at once: the one the store's events name it by.
		if name == "" || name != ev.Order.StoreOrderName {
			t.Errorf("CreateOrder's name = %q, want the store's %q", name, ev.Order.StoreOrderName)
		}
		want := []string{h.SKUs[0] + "x2", h.SKUs[1] + "x1"}
		slices.Sort(want)
		if got := skuQuantities(ev.Lines); !slices.Equal(got, want) {
			t.Errorf("imported lines = %v, want %v", got, want)
		}
		// The attribute shows the marketplace order to the merchant's
		// staff; the sync links the two by what it recorded on import.
		if got := ev.Order.ClaimedMarketplaceOrderID; got != mo.ID {
			t.Errorf("imported order's ClaimedMarketplaceOrderID = %q, want %q", got, mo.ID)
		}

		again, againName, err := h.Storefront.CreateOrder(context.Background(), mo)
		if err != nil {
			t.Fatalf("second CreateOrder: %v", err)
		}
		if again != id || againName != name {
			t.Errorf("second CreateOrder = %q, %q; want the first's %q, %q", again, againName, id, name)
		}
		if got, want := h.OrderCount(), before+1; got != want {
			t.Errorf("fake holds %d orders after importing one twice, want %d", got, want)
		}
	})

	t.Run("ImportUnknownSKU", func(t *testing.T) {
		h := newHarness(t)
		if !h.Imports {
			t.Skip("connector does not import orders yet")
		}
		mo := order.MarketplaceOrder{ID: "MP-2002", Lines: []order.MarketplaceLine{{ID: "L1", SKU: "NO-SUCH-SKU", Quantity: 1}},
			ShippingAddress: seed.ShippingAddress}
		before := h.OrderCount()
		_, _, err := h.Storefront.CreateOrder(context.Background(), mo)
		wantCode(t, err, syncerr.SKUNotFound)
		if got := h.OrderCount(); got != before {
			t.Errorf("fake holds %d orders after a refused import, want %d", got, before)
		}
	})

	t.Run("OrdersUpdatedSince", func(t *testing.T) {
		h := newHarness(t)
		old := seed
		old.UpdatedAt = base.Add(-time.Hour)
		h.SeedOrder(t, old)
		var want []string
		for i := range 3 {
			s := seed
			s.UpdatedAt = base.Add(time.Duration(i) * time.Minute)
			want = append(want, h.SeedOrder(t, s))
		}
		evs, err := h.Storefront.OrdersUpdatedSince(context.Background(), base)
		if err != nil {
			t.Fatalf("OrdersUpdatedSince: %v", err)
		}
		var got []string
		for _, ev := range evs {
			got = append(got, ev.Order.StoreOrderID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("OrdersUpdatedSince(%v) = %v, want %v", base, got, want)
		}
	})

	t.Run("RateLimited", func(t *testing.T) {
		h := newHarness(t)
		id := h.SeedOrder(t, seed)
		h.SetFault(Fault{Status: 429, RetryAfter: 3 * time.Second, Count: 1})
		calls := len(h.Calls())
		_, err := h.Storefront.Order(context.Background(), id)
		wantCode(t, err, syncerr.RateLimited)
		if got, want := syncerr.RetryAfterOf(err), 3*time.Second; got != want {
			t.Errorf("RetryAfter = %v, want %v", got, want)
		}
		if got := len(h.Calls()) - calls; got != 1 {
			t.Errorf("connector made %d calls on a 429, want 1 (connectors never retry)", got)
		}
		if _, err := h.Storefront.Order(context.Background(), id); err != nil {
			t.Errorf("Order after the fault cleared: %v", err)
		}
	})

	t.Run("Unavailable", func(t *testing.T) {
		h := newHarness(t)
		id := h.SeedOrder(t, seed)
		h.SetFault(Fault{Status: 503, Count: 1})
		calls := len(h.Calls())
		_, err := h.Storefront.Order(context.Background(), id)
		wantCode(t, err, syncerr.MarketplaceUnavailable)
		if got := len(h.Calls()) - calls; got != 1 {
			t.Errorf("connector made %d calls on a 503, want 1 (connectors never retry)", got)
		}
	})

	t.Run("Slow", func(t *testing.T) {
		h := newHarness(t)
		id := h.SeedOrder(t, seed)
		// The fake holds its answer for an hour; the deadline ends the call
		// long before, whatever the machine's speed.
		h.SetFault(Fault{Delay: time.Hour, Count: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := h.Storefront.Order(ctx, id)
		wantCode(t, err, syncerr.MarketplaceUnavailable)
	})

	t.Run("Unauthorized", func(t *testing.T) {
		h := newHarness(t)
		id := h.SeedOrder(t, seed)
		_, err := h.BadCredentials.Order(context.Background(), id)
		wantCode(t, err, syncerr.StoreDisconnected)
		h.SetFault(Fault{Status: 403, Count: 1})
		_, err = h.Storefront.Order(context.Background(), id)
		wantCode(t, err, syncerr.StoreDisconnected)
		if err != nil && h.Secret != "" && strings.Contains(err.Error(), h.Secret) {
			t.Errorf("error %q shows the credential", err)
		}
	})
}

func wantCode(t *testing.T, err error, want syncerr.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", want)
	}
	if _, ok := syncerr.As(err); !ok {
		t.Errorf("err %v is not a *syncerr.Error", err)
	}
	if got := syncerr.CodeOf(err); got != want {
		t.Errorf("code = %s, want %s (err: %v)", got, want, err)
	}
}

// skuQuantities renders lines as sorted "SKUxN" strings for comparison.
func skuQuantities(lines []order.Line) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, l.SKU+"x"+strconv.Itoa(l.Quantity))
	}
	slices.Sort(out)
	return out
}
