package operator_test

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/ordersync/operator"
)

func TestFilterMatch(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	d := operator.DeadLetter{Connection: "acme", Code: "auth_expired", MarketplaceOrderID: "101", FailedAt: at}
	for _, tc := range []struct {
		name string
		f    operator.Filter
		want bool
	}{
		{"no filter", operator.Filter{}, true},
		{"its connection", operator.Filter{Connection: "acme"}, true},
		{"another connection", operator.Filter{Connection: "globex"}, false},
		{"its code", operator.Filter{Code: "auth_expired"}, true},
		{"another code", operator.Filter{Code: "sku_not_found"}, false},
		{"its order", operator.Filter{MarketplaceOrderID: "101"}, true},
		{"another order", operator.Filter{MarketplaceOrderID: "102"}, false},
		{"since the very time", operator.Filter{Since: at}, true},
		{"since after", operator.Filter{Since: at.Add(time.Second)}, false},
		{"until the very time (excluded)", operator.Filter{Until: at}, false},
		{"until after", operator.Filter{Until: at.Add(time.Second)}, true},
		{"all of them", operator.Filter{Connection: "acme", Code: "auth_expired", Since: at.Add(-time.Hour), Until: at.Add(time.Hour)}, true},
		{"all but one", operator.Filter{Connection: "acme", Code: "auth_expired", Since: at.Add(-time.Hour), Until: at}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Match(d); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGroupsLargestFirstWithTheirSpan(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	all := []operator.DeadLetter{
		{Connection: "b", Code: "x", FailedAt: at},
		{Connection: "a", Code: "y", FailedAt: at.Add(2 * time.Hour)},
		{Connection: "a", Code: "y", FailedAt: at},
		{Connection: "a", Code: "x", FailedAt: at},
	}
	got := operator.Groups(all)
	want := []operator.Group{
		{Connection: "a", Code: "y", Count: 2, Oldest: at, Newest: at.Add(2 * time.Hour)},
		{Connection: "a", Code: "x", Count: 1, Oldest: at, Newest: at},
		{Connection: "b", Code: "x", Count: 1, Oldest: at, Newest: at},
	}
	if len(got) != len(want) {
		t.Fatalf("groups = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("group %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
