package order_test

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

func TestAClosedOrderExpiresTheRetentionAfterItsSave(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		status order.Status
		closed bool
	}{
		{order.StatusUnknown, false},
		{order.StatusPendingPayment, false},
		{order.StatusAwaitingAcceptance, false},
		{order.StatusAccepted, false},
		{order.StatusPartiallyShipped, false},
		{order.StatusShipped, true},
		{order.StatusDelivered, true},
		{order.StatusCancelled, true},
		{order.StatusRefused, true},
		{order.StatusRefunded, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			if got := tt.status.Closed(); got != tt.closed {
				t.Errorf("Closed() = %v, want %v", got, tt.closed)
			}
			got, ok := order.State{MarketplaceStatus: tt.status, StoreStatus: order.StatusShipped}.ExpiresAt(now, 24*time.Hour)
			want := time.Time{}
			if tt.closed {
				want = now.Add(24 * time.Hour)
			}
			if ok != tt.closed || !got.Equal(want) {
				t.Errorf("ExpiresAt = %v, %v; want %v, %v", got, ok, want, tt.closed)
			}
		})
	}
}
