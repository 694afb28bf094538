package merchantapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/syncerr"
)

// methodsOf splits a route's methods ("PUT, DELETE").
func methodsOf(r route) []string {
	var out []string
	for _, m := range strings.Split(r.method, ",") {
		out = append(out, strings.TrimSpace(m))
	}
	return out
}

// servedBy says whether an action's route is served by a route pattern: the
// same segments, where the pattern's {parameter} takes any value (the
// action's "credentials/store" is served by "credentials/{side}") and the
// action's own {parameter} only a {parameter}.
func servedBy(pattern, action string) bool {
	ps, as := strings.Split(pattern, "/"), strings.Split(action, "/")
	if len(ps) != len(as) {
		return false
	}
	for i := range ps {
		param := strings.HasPrefix(ps[i], "{")
		if ps[i] != as[i] && !param || strings.HasPrefix(as[i], "{") && !param {
			return false
		}
	}
	return true
}

// TestCatalogueActionsAreServed: each action the error catalogue sends a
// merchant to is a method and route the API carries out (the routes map,
// and Routes(), which template.yaml is held to).
func TestCatalogueActionsAreServed(t *testing.T) {
	for _, code := range syncerr.Codes() {
		a := syncerr.Lookup(code).Action
		if a == nil {
			continue
		}
		t.Run(string(code), func(t *testing.T) {
			var served []string
			for path, r := range routeTable() {
				if servedBy(path, a.Route) && slices.Contains(methodsOf(r), a.Method) {
					served = append(served, path)
				}
			}
			if len(served) != 1 {
				t.Fatalf("action %s is served by %v, want exactly one route", a, served)
			}
			if !slices.Contains(Routes(), served[0]) {
				t.Errorf("%s is in the routes map but not in Routes()", served[0])
			}
		})
	}
}

func TestServedBy(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{RouteOrderResync, "/connections/{connection}/orders/{marketplaceOrderId}/resync", true},
		{"/connections/{connection}/credentials/{side}", "/connections/{connection}/credentials/store", true},
		{RouteOrderResync, "/connections/{connection}/orders/{marketplaceOrderId}/link", false},
		{RouteOrder, "/connections/{connection}/orders/{marketplaceOrderId}/resync", false},
		{"/connections/{connection}/credentials/marketplace", "/connections/{connection}/credentials/{side}", false},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			if got := servedBy(tt.pattern, tt.action); got != tt.want {
				t.Errorf("servedBy(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
			}
		})
	}
}
