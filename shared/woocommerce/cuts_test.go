package woocommerce_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/woocommerce"
	"github.com/ordersync/ordersync/shared/woocommerce/woocommercetest"
)

// cutsOf are ev's refunds of kind cancel, by SKU: the quantities cut.
func cutsOf(ev order.Event) map[string]int {
	out := map[string]int{}
	for _, r := range ev.Refunds {
		if r.Kind != order.RefundCancel {
			continue
		}
		if !strings.HasPrefix(r.ID, "cut/") {
			continue
		}
		for _, l := range r.Lines {
			out[l.SKU] += l.Quantity
		}
	}
	return out
}

// TestQuantityCutIsALineCancel: a line of an imported order whose quantity
// the merchant reduces (or removes) reads as a cancel of what was cut,
// from the quantities the import wrote; the same order read again says
// the same; an order ordersync did not make, whatever its meta, says none.
func TestQuantityCutIsALineCancel(t *testing.T) {
	srv, c := importStore(t)
	ctx := context.Background()
	id, _, err := c.CreateOrder(ctx, marketplaceOrder("BM-7", "SKU-A", "SKU-V")) // SKU-A ×1, SKU-V ×2
	if err != nil {
		t.Fatal(err)
	}
	ev, err := c.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := cutsOf(ev); len(got) != 0 {
		t.Fatalf("cuts of the order as imported = %v, want none", got)
	}
	o := srv.Orders()[0]
	if !srv.EditLine(o.ID, o.LineItems[1].ID, 1) || !srv.EditLine(o.ID, o.LineItems[0].ID, 0) {
		t.Fatal("EditLine: no such line")
	}
	for i := range 2 {
		ev, err = c.Order(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cutsOf(ev), map[string]int{"SKU-A": 1, "SKU-V": 1}; !reflect.DeepEqual(got, want) {
			t.Errorf("read %d: cuts = %v (refunds %+v), want %v", i, got, ev.Refunds, want)
		}
	}
	ids := []string{}
	for _, r := range ev.Refunds {
		ids = append(ids, r.ID)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("refund ids %v: want a stable order", ids)
	}

	// A checkout order whose buyer wrote the same meta is not ordersync's.
	forged := srv.Orders()[0]
	forged.CreatedVia = "checkout"
	added, err := srv.AddOrder(forged)
	if err != nil {
		t.Fatal(err)
	}
	ev, err = c.Order(ctx, itoa(added.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got := cutsOf(ev); len(got) != 0 {
		t.Errorf("cuts of a checkout order = %v, want none", got)
	}

	// The webhook of the edited order says what the read does.
	body := webhookBody(t, srv, o.ID)
	wev, err := woocommerce.ParseWebhook("order.updated", "dlv", body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cutsOf(wev), map[string]int{"SKU-A": 1, "SKU-V": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("webhook cuts = %v, want %v", got, want)
	}
}

// webhookBody is the REST order id as the fake answers it: an order.*
// webhook's body.
func webhookBody(t *testing.T, srv *woocommercetest.Server, id int64) []byte {
	t.Helper()
	return srv.RenderOrder(id)
}
