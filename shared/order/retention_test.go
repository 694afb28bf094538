package order_test

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

func TestAnOrderExpiresTheRetentionAfterItsSaveOrOpenRetentionWhileOpen(t *testing.T) {
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
			st := order.State{MarketplaceStatus: tt.status, StoreStatus: order.StatusShipped}
			want := now.Add(order.OpenRetention)
			if tt.closed {
				want = now.Add(24 * time.Hour)
			}
			if got := st.ExpiresAt(now, 24*time.Hour); !got.Equal(want) {
				t.Errorf("ExpiresAt(a day) = %v, want %v", got, want)
			}
			// A retention longer than OpenRetention holds open orders too.
			if got, want := st.ExpiresAt(now, 4*order.OpenRetention), now.Add(4*order.OpenRetention); !got.Equal(want) {
				t.Errorf("ExpiresAt(4 × OpenRetention) = %v, want %v", got, want)
			}
		})
	}
}
