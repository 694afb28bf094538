package rules

import (
	"strconv"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Each vendor package maps its platform's own states onto the common
// lifecycle with a table that follows ../shared/reference/platforms.md
// (backmarket.OrderState, mirakl.State, shopify.Status, woocommerce.Status,
// bigcommerce.Status, amazon.Status). A value missing from a table is
// reported as invalid_data rather than guessed, because platforms add
// states (Mirakl says so, WooCommerce allows custom ones).

// UnknownState is what a state map returns for a platform state its table
// does not know: StatusUnknown and an invalid_data error whose details name
// the field (field followed by the quoted value, e.g. `Mirakl order state
// "INCIDENT_OPEN"`), the platform and the value.
func UnknownState(platform order.Platform, field, value string) (order.Status, error) {
	return order.StatusUnknown, syncerr.E(syncerr.InvalidData,
		"field", field+" "+strconv.Quote(value),
		"platform", string(platform),
		"value", value)
}
