package merchantapi

import (
	"go/ast"
	"go/token"
	"maps"
	"slices"
	"testing"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/httpapi/httpapitest"
	"github.com/ordersync/ordersync/shared/order"
)

// problemVars reads the names of the package-level variables that the
// package's Go files (not tests) set to an httpapi.Problem literal.
func problemVars(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, f := range httpapitest.Files(t, ".") {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				for i, name := range v.Names {
					if i >= len(v.Values) {
						continue
					}
					if lit, ok := v.Values[i].(*ast.CompositeLit); ok {
						if sel, ok := lit.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Problem" {
							names = append(names, name.Name)
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// TestEveryRefusalHasWords: every refusal the API answers has words in
// httpapi's catalogue. The refusals are read from the source too, so that
// one added without being listed here fails.
func TestEveryRefusalHasWords(t *testing.T) {
	refusals := map[string]httpapi.Problem{
		"errUnknownRoute": errUnknownRoute, "errMethodNotAllowed": errMethodNotAllowed,
		"errUnauthenticated": errUnauthenticated, "errWrongKey": errWrongKey, "errAPIDisabled": errAPIDisabled,
		"errUnknownConnection": errUnknownConnection, "errOrderNotFound": errOrderNotFound, "errNoOrderFound": errNoOrderFound,
		"errLimit": errLimit, "errReportLimit": errReportLimit, "errDays": errDays, "errBodyTooLarge": errBodyTooLarge, "errMalformedBody": errMalformedBody,
		"errNoOrders": errNoOrders, "errTooManyOrders": errTooManyOrders, "errInvalidOrderID": errInvalidOrderID,
		"errMalformedLink": errMalformedLink, "errInvalidStoreID": errInvalidStoreID, "errLinkedElsewhere": errLinkedElsewhere,
		"errInvalidConnectionID": errInvalidConnectionID, "errInvalidPathOrderID": errInvalidPathOrderID,
		"errUnavailable": errUnavailable, "errInternal": errInternal,
		// Orders by sync state, and jobs.
		"errState": errState, "errCode": errCode, "errDate": errDate, "errCursor": errCursor, "errFind": errFind,
		"errStoreName": errStoreName, "errFindMarketID": errFindMarketID, "errUnknownParams": errUnknownParams,
		"errMalformedJob": errMalformedJob, "errTooManyJobIDs": errTooManyJobIDs, "errNoJobIDs": errNoJobIDs, "errJobBodySize": errJobBodySize,
		"errJobNotFound": errJobNotFound, "errInvalidJobID": errInvalidJobID, "errJobsLimit": errJobsLimit,
		// The connection routes.
		"errMalformedConnBody": errMalformedConnBody, "errProvisioningOff": errProvisioningOff, "errConnectionExists": errConnectionExists,
		"errConnectionChanged": errConnectionChanged, "errInvalidSide": errInvalidSide, "errCredentialMismatch": errCredentialMismatch,
		// The fix's.
		"errMalformedFix": errMalformedFix, "errFixEmpty": errFixEmpty, "errFixMissing": errFixMissing, "errFixText": errFixText,
		"errFixURL": errFixURL, "errFixParcel": errFixParcel, "errFixParcelAmbiguous": errFixParcelAmbiguous, "errFixAddress": errFixAddress,
		// The timeline and the errors list's resolved.
		"errTimelineLimit": errTimelineLimit, "errResolvedParam": errResolvedParam,
		// SKU aliases.
		"errInvalidPathSKU": errInvalidPathSKU, "errInvalidMarketSKU": errInvalidMarketSKU, "errInvalidAfter": errInvalidAfter,
		"errAliasLimitParam": errAliasLimitParam, "errMalformedAlias": errMalformedAlias, "errAliasConflict": errAliasConflict,
		"errTooManyAliases": errTooManyAliases, "errAliasNotFound": errAliasNotFound,
	}
	if declared, listed := problemVars(t), slices.Sorted(maps.Keys(refusals)); !slices.Equal(declared, listed) {
		t.Fatalf("the source declares the refusals %v; this test lists %v", declared, listed)
	}
	httpapitest.CheckWords(t, refusals)
	// The connection routes' refusals built per field.
	built := map[string]httpapi.Problem{}
	for _, kase := range []string{"text", "email", "url", "new_id", "missing"} {
		built["field "+kase] = *fieldProblem(kase, "f", maxArg(1))
	}
	built["unsupported"] = *unsupported("store.platform")
	for _, p := range []order.Platform{order.Shopify, order.Standard} {
		built["credential "+string(p)] = *badCredential("credential", p)
	}
	httpapitest.CheckWords(t, built)
}
