package order_test

import (
	"testing"

	"github.com/ordersync/ordersync/shared/order"
)

func TestSyncStateOf(t *testing.T) {
	transient := func(code string) bool { return code == "marketplace_unavailable" }
	tests := []struct {
		name string
		in   order.SyncOutcome
		want order.SyncState
	}{
		{"synced", order.SyncOutcome{Result: order.SyncSynced}, order.StateSynced},
		{"never tried", order.SyncOutcome{}, order.StatePending},
		{"retrying a transient failure", order.SyncOutcome{Result: order.SyncPending, ErrorCode: "marketplace_unavailable"}, order.StateRetrying},
		{"held", order.SyncOutcome{Result: order.SyncHeld, ErrorCode: "address_missing"}, order.StateHeld},
		{"transient, tries ran out", order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "marketplace_unavailable"}, order.StateRequiresSync},
		{"permanent", order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "sku_not_found"}, order.StateFailed},
		{"failed without a code", order.SyncOutcome{Result: order.SyncFailed}, order.StateFailed},
		{"a result unknown", order.SyncOutcome{Result: "exploded"}, order.StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := order.SyncStateOf(tt.in, transient); got != tt.want {
				t.Errorf("SyncStateOf(%+v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("no transient predicate", func(t *testing.T) {
		if got := order.SyncStateOf(order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "x"}, nil); got != order.StateFailed {
			t.Errorf("got %q, want failed", got)
		}
	})
}

func TestParseSyncState(t *testing.T) {
	for _, st := range order.SyncStates() {
		if got, ok := order.ParseSyncState(string(st)); !ok || got != st {
			t.Errorf("ParseSyncState(%q) = %q, %v", st, got, ok)
		}
	}
	for _, bad := range []string{"", "Synced", "ok", "synced "} {
		if got, ok := order.ParseSyncState(bad); ok {
			t.Errorf("ParseSyncState(%q) = %q, true; want false", bad, got)
		}
	}
}
