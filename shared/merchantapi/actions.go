package merchantapi

import (
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// actionView is the call that fixes a listed failure (the catalogue's
// action for its code): the method and the path relative to the API, the
// order's ids filled in. A parameter the record does not hold ({sku})
// stays in the path as the route names it; the remedy names its value.
type actionView struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// actionOf returns the action of r's code, or nil when the fix lies
// outside ordersync.
func actionOf(r order.ErrorRecord) *actionView {
	a := syncerr.Lookup(syncerr.Code(r.Code)).Action
	if a == nil {
		return nil
	}
	f := a.Fill(map[string]string{"connection": r.Connection, "marketplaceOrderId": r.MarketplaceOrderID})
	return &actionView{Method: f.Method, Path: f.Route}
}
