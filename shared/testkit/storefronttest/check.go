package storefronttest

import (
	"encoding/json"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
)

// CheckEvent fails t unless e is what every connector promises of an
// event read from the store, whatever the store answered: from source, on
// connection conn, naming a store order, in a lifecycle status, and
// unchanged by the JSON trip it makes on the sync queue. Fuzz targets call
// it on every event a connector returns without an error.
func CheckEvent(t testing.TB, e order.Event, source order.Platform, conn string) {
	t.Helper()
	switch {
	case e.Source != source:
		t.Fatalf("Source = %q, want %q", e.Source, source)
	case e.Connection != conn:
		t.Fatalf("Connection = %q, want %q", e.Connection, conn)
	case e.Order.StoreOrderID == "":
		t.Fatalf("an event without a store order id: %+v", e)
	case !rules.Known(e.Status):
		t.Fatalf("status %q is not a lifecycle status", e.Status)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("the event does not marshal: %v", err)
	}
	var back order.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the event does not unmarshal: %v", err)
	}
	if back.ContentHash() != e.ContentHash() || !back.OccurredAt.Equal(e.OccurredAt) || back.SourceEventID != e.SourceEventID {
		t.Fatalf("the event changed on its JSON trip:\n%+v\n%+v", e, back)
	}
}
