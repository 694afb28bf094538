package merchantapi

import (
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// actionView is the call that fixes a listed failure (the catalogue's
// action for its code): the method and the path relative to the API, the
// order's ids filled in. A parameter not known ({sku}, see actionOf)
// stays in the path as the route names it; the remedy names its value.
type actionView struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// actionOf returns the action of r's code, or nil when the fix lies
// outside ordersync. st is r's order as stored now: while its last sync
// still fails with r's code on a store order, the SKU it keeps
// (order.SyncOutcome.SKU, the store's) fills {sku}. A failed import's SKU
// is the marketplace's, not the store SKU the alias route takes: {sku}
// stays.
func actionOf(r order.ErrorRecord, st order.State) *actionView {
	a := syncerr.Lookup(syncerr.Code(r.Code)).Action
	if a == nil {
		return nil
	}
	vars := map[string]string{"connection": r.Connection, "marketplaceOrderId": orderOfError(r)}
	if st.Sync.ErrorCode == r.Code && st.Ref.StoreOrderID != "" {
		vars["sku"] = st.Sync.SKU
	}
	f := a.Fill(vars)
	return &actionView{Method: f.Method, Path: f.Route}
}
