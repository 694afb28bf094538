package refreshsim

import (
	"context"
	"strconv"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

// Mix is how one connection's orders, all changed within the refresh's
// window on both sides, stand before the run. Every connection gets the
// same mix, so what each report should say is known.
type Mix struct {
	// InSync: synced, both sides agree. Needs nothing.
	InSync int
	// Behind: the store shipped and ordersync holds it as synced, but the
	// marketplace still says accepted (a sync's call undone). Re-synced.
	Behind int
	// LostStoreChange: the store shipped 40 minutes ago and its webhook
	// never came. Queued as a store change (Recovered).
	LostStoreChange int
	// ChangedByHand: cancelled in the marketplace's back office. Recorded.
	ChangedByHand int
	// Failed: the last sync failed on an outage (marketplace_unavailable)
	// after its quick retries. Given another try (Retried).
	Failed int
}

// DefaultMix is 100 orders per connection.
var DefaultMix = Mix{InSync: 92, Behind: 3, LostStoreChange: 2, ChangedByHand: 1, Failed: 2}

// Orders is the number of orders in the mix.
func (m Mix) Orders() int {
	return m.InSync + m.Behind + m.LostStoreChange + m.ChangedByHand + m.Failed
}

// connection is connection i's seed: its connection item, its stored
// states, and what each side's listing returns.
type connection struct {
	conn   order.Connection
	states []order.State
	mp     fakeMarketplace
	store  fakeStorefront
}

// seedConnection builds connection i's orders for a run at at. It is a
// pure function of i, mix and at.
func seedConnection(i int, mix Mix, at time.Time) connection {
	id := "conn-" + strconv.Itoa(i)
	c := connection{conn: order.Connection{ID: id, MerchantEmail: "ops@" + id + ".test",
		Store:       order.Endpoint{Platform: order.Shopify, CredentialRef: id + "/shop"},
		Marketplace: order.Endpoint{Platform: order.BackMarket, CredentialRef: id + "/bm"}}}
	placed := at.Add(-3 * time.Hour)
	n := 0
	add := func(count int, f func(mk string, st *order.State, mo *order.MarketplaceOrder, ev *order.Event)) {
		for range count {
			n++
			mk := strconv.Itoa(i*1000 + n)
			line := order.Line{SKU: "SKU-" + strconv.Itoa(n%7), Quantity: 1, MarketplaceLineID: mk + "01"}
			st := order.State{Connection: id, Ref: order.Ref{MarketplaceOrderID: mk, StoreOrderID: "s" + mk},
				StoreStatus: order.StatusAccepted, StoreUpdatedAt: placed, MarketplaceStatus: order.StatusAccepted,
				MarketplaceState: "3", Lines: []order.Line{line}, Sync: order.SyncOutcome{Result: order.SyncSynced, At: placed}}
			mo := order.MarketplaceOrder{ID: mk, Status: order.StatusAccepted, State: "3", CreatedAt: placed,
				UpdatedAt: at.Add(-30 * time.Minute),
				Lines:     []order.MarketplaceLine{{ID: line.MarketplaceLineID, SKU: line.SKU, Quantity: 1, Status: order.StatusAccepted, State: "2"}}}
			ev := order.Event{Connection: id, Source: order.Shopify, SourceEventID: "shop/" + mk, Topic: "orders/updated",
				OccurredAt: placed, Order: st.Ref, Status: order.StatusAccepted, Lines: []order.Line{line}}
			f(mk, &st, &mo, &ev)
			c.states = append(c.states, st)
			c.mp.orders = append(c.mp.orders, mo)
			c.store.events = append(c.store.events, ev)
		}
	}
	shipped := func(mk string, line order.Line) []order.Parcel {
		return []order.Parcel{{ID: "f" + mk, Tracking: order.Tracking{Number: "1Z" + mk, Carrier: "UPS", URL: "https://ups.example/1Z" + mk},
			Lines: []order.Line{line}}}
	}
	add(mix.InSync, func(string, *order.State, *order.MarketplaceOrder, *order.Event) {})
	add(mix.Behind, func(mk string, st *order.State, _ *order.MarketplaceOrder, ev *order.Event) {
		st.StoreStatus, st.StoreUpdatedAt, st.Parcels = order.StatusShipped, placed.Add(time.Hour), shipped(mk, st.Lines[0])
		ev.Status, ev.OccurredAt, ev.Parcels = st.StoreStatus, st.StoreUpdatedAt, st.Parcels
	})
	add(mix.LostStoreChange, func(mk string, st *order.State, _ *order.MarketplaceOrder, ev *order.Event) {
		ev.Status, ev.OccurredAt, ev.Parcels = order.StatusShipped, at.Add(-40*time.Minute), shipped(mk, st.Lines[0])
	})
	add(mix.ChangedByHand, func(_ string, _ *order.State, mo *order.MarketplaceOrder, _ *order.Event) {
		mo.Status, mo.State = order.StatusCancelled, "8"
		mo.Lines[0].Status, mo.Lines[0].State = order.StatusCancelled, "4"
	})
	add(mix.Failed, func(mk string, st *order.State, _ *order.MarketplaceOrder, ev *order.Event) {
		st.StoreStatus, st.StoreUpdatedAt, st.Parcels = order.StatusShipped, placed.Add(time.Hour), shipped(mk, st.Lines[0])
		st.Sync = order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "marketplace_unavailable", Attempts: 3, At: at.Add(-2 * time.Hour)}
		ev.Status, ev.OccurredAt, ev.Parcels = st.StoreStatus, st.StoreUpdatedAt, st.Parcels
	})
	return c
}

// fakeMarketplace is a Back Market account in memory: its listing, and
// Back Market's capabilities.
type fakeMarketplace struct {
	syncer.Marketplace // the sync's calls: the metered wrapper refuses them
	orders             []order.MarketplaceOrder
}

func (f *fakeMarketplace) OrdersUpdatedSince(_ context.Context, since time.Time) ([]order.MarketplaceOrder, error) {
	var out []order.MarketplaceOrder
	for _, o := range f.orders {
		if !o.UpdatedAt.Before(since) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (f *fakeMarketplace) Capabilities() order.Capabilities {
	return order.Capabilities{AcceptRequired: true, CarrierRequired: true, PerLine: true}
}

// fakeStorefront is a Shopify store in memory: its listing, whose events
// name their marketplace order (Shopify's source_identifier, which only
// the API sets).
type fakeStorefront struct {
	syncer.Storefront
	events []order.Event
}

func (f *fakeStorefront) OrdersUpdatedSince(_ context.Context, since time.Time) ([]order.Event, error) {
	var out []order.Event
	for _, e := range f.events {
		if !e.OccurredAt.Before(since) {
			out = append(out, e)
		}
	}
	return out, nil
}
