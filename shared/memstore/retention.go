package memstore

import (
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// WithOrderRetention returns a view of s that keeps a closed order's
// items d after the save that closed it, as dynamostore's does. Both see
// the same items.
func (s *Store) WithOrderRetention(d time.Duration) *Store {
	c := *s
	c.retention = d
	return &c
}

// expireOrder returns the TTL of st's state item (order.State.ExpiresAt)
// and links its store order to it, unless the link names another
// order, with an expiry that outlives the state (order.State.LinkNeeds),
// only ever moved later, as dynamostore's SaveOrder. The caller holds the
// lock.
func (s *Store) expireOrder(st order.State) int64 {
	expires := st.ExpiresAt(s.now(), s.retention).Unix()
	if id := st.Ref.StoreOrderID; id != "" {
		pk := linkPK(st.Connection, id)
		if m, ok := s.t.links[pk]; !ok || m == st.Ref.MarketplaceOrderID {
			need, until := st.LinkNeeds(s.now(), s.retention)
			if held := s.t.linkExpiry[pk]; ok && held >= need {
				until = held // lasting long enough already
			}
			s.t.links[pk], s.t.linkExpiry[pk] = st.Ref.MarketplaceOrderID, until
		}
	}
	return expires
}

// Expiries returns the TTLs (Unix seconds, 0 for none) of an order's state
// item and of its store order's link item, as the table's expires_at
// would hold them, for the store suite.
func (s *Store) Expiries(conn, marketplaceOrderID, storeOrderID string) (state, link int64) {
	defer s.lock()()
	return s.t.orders[orderPK(conn, marketplaceOrderID)].expiresAt, s.t.linkExpiry[linkPK(conn, storeOrderID)]
}
