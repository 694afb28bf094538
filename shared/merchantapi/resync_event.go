package merchantapi

import "github.com/ordersync/ordersync/shared/order"

// ResyncEvent is the sync queue event that re-syncs the stored order st
// of conn, as the re-sync routes queue it (a fresh event id each call), for
// the operator's CLI.
func ResyncEvent(conn order.Connection, marketplaceOrderID string, st order.State) order.Event {
	return resyncEvent(conn, marketplaceOrderID, st)
}
