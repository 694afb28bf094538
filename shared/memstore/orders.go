package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

func connPK(id string) string                   { return "CONN#" + id }
func orderPK(conn, marketplaceID string) string { return "ORDER#" + conn + "#" + marketplaceID }
func linkPK(conn, storeID string) string        { return "LINK#" + conn + "#" + storeID }

// PutConnection creates or replaces a connection.
func (s *Store) PutConnection(_ context.Context, c order.Connection) error {
	pk := connPK(c.ID)
	if err := checkKey(pk, "CONN"); err != nil {
		return err
	}
	b, err := encode("connection "+c.ID, c)
	if err != nil {
		return err
	}
	defer s.lock()()
	s.t.conns[pk] = b
	return nil
}

// DeleteConnection removes a connection; its orders stay. Deleting one
// that is gone is no error.
func (s *Store) DeleteConnection(_ context.Context, id string) error {
	defer s.lock()()
	delete(s.t.conns, connPK(id))
	return nil
}

// Connection returns a connection, or an error wrapping order.ErrNotFound.
func (s *Store) Connection(_ context.Context, id string) (order.Connection, error) {
	var c order.Connection
	pk := connPK(id)
	if err := checkKey(pk, "CONN"); err != nil {
		return c, err
	}
	defer s.lock()()
	b, ok := s.t.conns[pk]
	if !ok {
		return c, fmt.Errorf("memstore: connection %q: %w", id, order.ErrNotFound)
	}
	return c, decode("connection "+id, b, &c)
}

// Connections lists every connection, by id.
func (s *Store) Connections(_ context.Context) ([]order.Connection, error) {
	defer s.lock()()
	out := make([]order.Connection, 0, len(s.t.conns))
	for pk, b := range s.t.conns {
		var c order.Connection
		if err := decode(pk, b, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	// The table's index sorts them by id.
	slices.SortFunc(out, func(a, b order.Connection) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// PauseConnection marks a connection paused for the error code; an error
// wrapping order.ErrNotFound (and nothing created) if there is none.
func (s *Store) PauseConnection(_ context.Context, id, code string) error {
	now := s.now().UTC()
	return s.setPaused("pause", id, func(c *order.Connection) {
		c.Paused, c.PausedCode = true, code
		if c.PausedAt.IsZero() {
			c.PausedAt = now
		}
	})
}

// ResumeConnection ends a connection's pause; an error wrapping
// order.ErrNotFound if there is no such connection.
func (s *Store) ResumeConnection(_ context.Context, id string) error {
	return s.setPaused("resume", id, func(c *order.Connection) { c.Paused, c.PausedCode, c.PausedAt = false, "", time.Time{} })
}

func (s *Store) setPaused(verb, id string, set func(*order.Connection)) error {
	pk := connPK(id)
	if err := checkKey(pk, "CONN"); err != nil {
		return err
	}
	defer s.lock()()
	b, ok := s.t.conns[pk]
	if !ok {
		return fmt.Errorf("memstore: %s connection %q: %w", verb, id, order.ErrNotFound)
	}
	var c order.Connection
	if err := decode("connection "+id, b, &c); err != nil {
		return err
	}
	set(&c)
	b, err := encode("connection "+id, c)
	if err != nil {
		return err
	}
	s.t.conns[pk] = b
	return nil
}

// CreateConnection stores a new connection: an error wrapping
// order.ErrConflict, and nothing written, if one with its id exists.
func (s *Store) CreateConnection(_ context.Context, c order.Connection) error {
	pk := connPK(c.ID)
	if err := checkKey(pk, "CONN"); err != nil {
		return err
	}
	b, err := encode("connection "+c.ID, c)
	if err != nil {
		return err
	}
	defer s.lock()()
	if _, ok := s.t.conns[pk]; ok {
		return fmt.Errorf("memstore: create connection %q: %w", c.ID, order.ErrConflict)
	}
	s.t.conns[pk] = b
	return nil
}

// SaveConnection replaces a stored connection with c if its pause is still
// c's: an error wrapping order.ErrNotFound if there is none,
// order.ErrConflict if it was paused or resumed since c was read.
func (s *Store) SaveConnection(_ context.Context, c order.Connection) error {
	pk := connPK(c.ID)
	if err := checkKey(pk, "CONN"); err != nil {
		return err
	}
	b, err := encode("connection "+c.ID, c)
	if err != nil {
		return err
	}
	defer s.lock()()
	old, ok := s.t.conns[pk]
	if !ok {
		return fmt.Errorf("memstore: save connection %q: %w", c.ID, order.ErrNotFound)
	}
	var cur order.Connection
	if err := decode("connection "+c.ID, old, &cur); err != nil {
		return err
	}
	if cur.Paused != c.Paused || (c.Paused && cur.PausedCode != c.PausedCode) {
		return fmt.Errorf("memstore: save connection %q: paused or resumed meanwhile: %w", c.ID, order.ErrConflict)
	}
	s.t.conns[pk] = b
	return nil
}

// FindOrder returns the marketplace order linked to a store order, or an
// error wrapping order.ErrNotFound.
func (s *Store) FindOrder(_ context.Context, conn, storeOrderID string) (string, error) {
	pk := linkPK(conn, storeOrderID)
	if err := checkKey(pk, "LINK"); err != nil {
		return "", err
	}
	defer s.lock()()
	id, ok := s.t.links[pk]
	if !ok {
		return "", fmt.Errorf("memstore: store order %q of %q: %w", storeOrderID, conn, order.ErrNotFound)
	}
	return id, nil
}

// LinkOrder links a store order to a marketplace order, replacing any
// link it had, expiring as an open order's link or later, as it did: as
// dynamostore's, it never moves an expiry earlier.
func (s *Store) LinkOrder(_ context.Context, conn, storeOrderID, marketplaceOrderID string) error {
	pk := linkPK(conn, storeOrderID)
	if err := checkKey(pk, "LINK"); err != nil {
		return err
	}
	defer s.lock()()
	s.t.links[pk] = marketplaceOrderID
	_, until := order.State{}.LinkNeeds(s.now(), s.retention)
	s.t.linkExpiry[pk] = max(s.t.linkExpiry[pk], until)
	return nil
}

// LoadOrder returns an order's state, or an error wrapping
// order.ErrNotFound.
func (s *Store) LoadOrder(_ context.Context, conn, marketplaceOrderID string) (order.State, error) {
	var st order.State
	pk := orderPK(conn, marketplaceOrderID)
	if err := checkKey(pk, "STATE"); err != nil {
		return st, err
	}
	defer s.lock()()
	it, ok := s.t.orders[pk]
	if !ok {
		return st, fmt.Errorf("memstore: order %q of %q: %w", marketplaceOrderID, conn, order.ErrNotFound)
	}
	return st, decode(pk, it.body, &st)
}

// SaveOrder writes st if the stored version is still st.Version (or there
// is none and st.Version is 0), and returns st at its new version. On a lost
// race it returns st unchanged and an error wrapping order.ErrConflict, and
// writes nothing.
func (s *Store) SaveOrder(_ context.Context, st order.State) (order.State, error) {
	if st.Ref.MarketplaceOrderID == "" || st.Connection == "" {
		return st, fmt.Errorf("memstore: save order: connection and marketplace order id are required")
	}
	pk := orderPK(st.Connection, st.Ref.MarketplaceOrderID)
	if err := checkKey(pk, "STATE"); err != nil {
		return st, err
	}
	prev := st.Version
	st.Version++
	b, err := encode(pk, st)
	if err != nil {
		st.Version = prev
		return st, err
	}
	defer s.lock()()
	cur, exists := s.t.orders[pk]
	if prev == 0 && exists || prev != 0 && (!exists || cur.version != prev) {
		st.Version = prev
		return st, fmt.Errorf("memstore: order %s at version %d: %w", st.Ref.MarketplaceOrderID, prev, order.ErrConflict)
	}
	s.t.orders[pk] = orderItem{version: st.Version, body: b, conn: st.Connection, unsettled: st.Unsettled(), syncAt: sortable(st.Sync.At),
		// The merchant's listing (jobs.go).
		listState: merchantapi.SyncState(st), listCode: st.Sync.ErrorCode, listKey: merchantapi.OrderKey(st), name: st.Ref.StoreOrderName,
		// A closed order expires (retention.go).
		expiresAt: s.expireOrder(st)}
	return st, nil
}

// Checkpoint returns where the refresh of one side of a connection
// stands: the zero Checkpoint if it never ran.
func (s *Store) Checkpoint(_ context.Context, conn string, side refresh.Side) (refresh.Checkpoint, error) {
	var cp refresh.Checkpoint
	pk, sk := connPK(conn), "CHECKPOINT#"+string(side)
	if err := checkKey(pk, sk); err != nil {
		return cp, err
	}
	defer s.lock()()
	b, ok := s.t.checkpoints[pk+"/"+sk]
	if !ok {
		return cp, nil
	}
	return cp, decode("checkpoint "+conn, b, &cp)
}

// SetCheckpoint records where the refresh of one side of a connection
// stands (its times in UTC, as an item holds them), replacing what it was.
func (s *Store) SetCheckpoint(_ context.Context, conn string, side refresh.Side, cp refresh.Checkpoint) error {
	pk, sk := connPK(conn), "CHECKPOINT#"+string(side)
	if err := checkKey(pk, sk); err != nil {
		return err
	}
	cp.Since, cp.RunAt = cp.Since.UTC(), cp.RunAt.UTC()
	b, err := encode("checkpoint "+conn, cp)
	if err != nil {
		return err
	}
	defer s.lock()()
	s.t.checkpoints[pk+"/"+sk] = b
	return nil
}

// LoadOrders returns the states of the connection's orders named, by
// marketplace order id; orders with no state are absent. Repeated ids are
// read once; no ids is an empty map.
func (s *Store) LoadOrders(_ context.Context, conn string, marketplaceOrderIDs []string) (map[string]order.State, error) {
	for _, id := range marketplaceOrderIDs {
		if err := checkKey(orderPK(conn, id), "STATE"); err != nil {
			return nil, err
		}
	}
	out := map[string]order.State{}
	defer s.lock()()
	for _, id := range marketplaceOrderIDs {
		pk := orderPK(conn, id)
		it, ok := s.t.orders[pk]
		if !ok {
			continue
		}
		var st order.State
		if err := decode(pk, it.body, &st); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, nil
}

// FindOrders returns the marketplace orders linked to the store orders
// named, by store order id; unlinked ones are absent. No ids is an empty
// map.
func (s *Store) FindOrders(_ context.Context, conn string, storeOrderIDs []string) (map[string]string, error) {
	for _, id := range storeOrderIDs {
		if err := checkKey(linkPK(conn, id), "LINK"); err != nil {
			return nil, err
		}
	}
	out := map[string]string{}
	defer s.lock()()
	for _, id := range storeOrderIDs {
		if m, ok := s.t.links[linkPK(conn, id)]; ok {
			out[id] = m
		}
	}
	return out, nil
}

// Unsettled lists the connection's orders whose last sync did not end
// synced, oldest sync first, at most limit of them (none for a limit below
// 1). Orders synced at the same time come in no particular order (here,
// by key).
func (s *Store) Unsettled(_ context.Context, conn string, limit int) ([]order.State, error) {
	if limit < 1 {
		return nil, nil
	}
	defer s.lock()()
	type hit struct {
		pk string
		it orderItem
	}
	var hits []hit
	for pk, it := range s.t.orders {
		if it.unsettled && it.conn == conn {
			hits = append(hits, hit{pk, it})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Or(cmp.Compare(a.it.syncAt, b.it.syncAt), cmp.Compare(a.pk, b.pk)) })
	out := make([]order.State, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		var st order.State
		if err := decode(h.pk, h.it.body, &st); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
