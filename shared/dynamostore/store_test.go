package dynamostore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/testkit/storetest"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// TestConformance runs the store suite on DynamoDB Local, one table per
// case; shared/memstore passes the same suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		st := stacktest.New(t, nil)
		clock := &storetest.Clock{}
		s := dynamostore.New(stacktest.Clients().DynamoDB, st.Ref("Table")).WithClock(clock.Now)
		return storetest.Harness{Store: s, Clock: clock,
			Deduper:    func(inFlight time.Duration) storetest.Deduper { return s.Deduper(inFlight) },
			Recovering: func(inFlight, after time.Duration) storetest.Deduper { return s.Deduper(inFlight).RecoverAfter(after) }}
	})
}

// TestAnOutageIsNeitherNotFoundNorConflict: when DynamoDB fails (here, a
// table that is not there), every call says so with an error its callers
// take as transient, never as an answer about the data.
func TestAnOutageIsNeitherNotFoundNorConflict(t *testing.T) {
	ctx := t.Context()
	s := dynamostore.New(stacktest.Clients().DynamoDB, "no-such-table")
	tests := []struct {
		name string
		call func() error
	}{
		{"Connection", func() error { _, err := s.Connection(ctx, "acme"); return err }},
		{"Connections", func() error { _, err := s.Connections(ctx); return err }},
		{"PauseConnection", func() error { return s.PauseConnection(ctx, "acme", "auth_expired") }},
		{"FindOrder", func() error { _, err := s.FindOrder(ctx, "acme", "s1"); return err }},
		{"LoadOrder", func() error { _, err := s.LoadOrder(ctx, "acme", "m1"); return err }},
		{"SaveOrder", func() error {
			_, err := s.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "m1"}, Version: 1})
			return err
		}},
		{"ClaimEffect", func() error { _, err := s.ClaimEffect(ctx, "k", time.Minute); return err }},
		{"RecentErrors", func() error { _, err := s.RecentErrors(ctx, "acme", time.Now().Add(-time.Hour), 20); return err }},
		{"MarkNotified", func() error { _, err := s.MarkNotified(ctx, "k", time.Hour); return err }},
		{"Deduper.Claim", func() error { _, err := s.Deduper(time.Minute).Claim(ctx, "k", time.Hour); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || errors.Is(err, order.ErrNotFound) || errors.Is(err, order.ErrConflict) {
				t.Errorf("err = %v, want an error that is neither order.ErrNotFound nor order.ErrConflict", err)
			}
		})
	}
}
