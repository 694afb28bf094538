package memstore_test

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/testkit/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		clock := &storetest.Clock{}
		s := memstore.New().WithClock(clock.Now)
		return storetest.Harness{Store: s, Clock: clock,
			Deduper:    func(inFlight time.Duration) storetest.Deduper { return s.Deduper(inFlight) },
			Recovering: func(inFlight, after time.Duration) storetest.Deduper { return s.Deduper(inFlight).RecoverAfter(after) },
			Expiries:   func(_ *testing.T, conn, mk, storeID string) (int64, int64) { return s.Expiries(conn, mk, storeID) }}
	})
}
