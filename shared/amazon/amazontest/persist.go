package amazontest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ordersync/ordersync/shared/testkit/snapshot"
)

// savedOrder is an order as Persist keeps it: with what getOrder does not
// show (its items, full address and packages), which Order's JSON leaves
// out.
type savedOrder struct {
	Order
	Items          []OrderItem `json:"OrderItems"`
	Address        *Address    `json:"Address,omitempty"`
	Packages       []Package   `json:"Packages,omitempty"`
	AddressRefused bool        `json:"AddressRefused,omitempty"`
}

// saved is what Persist keeps in its file: the orders, by id.
type saved struct {
	Orders []savedOrder `json:"orders"`
}

// Persist makes the fake keep its orders in the JSON file at path: it
// loads them from there now when the file exists (replacing any seeded
// ones), and writes them there after every change (Seed, a confirmed
// shipment), so that a sandbox started again on the same folder holds its
// orders in the states the sync left them, as the real marketplace does.
// The calls log, tokens, rate buckets and faults are not kept: a restart
// is a new session, whose first call takes a new access token.
func (s *Server) Persist(path string) error {
	var snap saved
	found, err := snapshot.Read(path, &snap)
	switch {
	case err != nil:
		return fmt.Errorf("amazontest: %w", err)
	case found:
		s.mu.Lock()
		s.orders = map[string]*Order{}
		for _, so := range snap.Orders {
			o := so.Order
			o.Items, o.Address, o.Packages, o.AddressRefused = so.Items, so.Address, so.Packages, so.AddressRefused
			o = clone(o)
			s.orders[o.AmazonOrderID] = &o
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.path = path
	return s.saveLocked()
}

// saveLocked writes the orders to the Persist file, when there is one.
// The caller holds s.mu. snapshot.Write replaces the file whole.
func (s *Server) saveLocked() error {
	if s.path == "" {
		return nil
	}
	snap := saved{Orders: make([]savedOrder, 0, len(s.orders))}
	for _, o := range s.orders {
		c := clone(*o)
		snap.Orders = append(snap.Orders, savedOrder{Order: c, Items: c.Items, Address: c.Address, Packages: c.Packages, AddressRefused: c.AddressRefused})
	}
	slices.SortFunc(snap.Orders, func(a, b savedOrder) int { return strings.Compare(a.AmazonOrderID, b.AmazonOrderID) })
	if err := snapshot.Write(s.path, snap); err != nil {
		return fmt.Errorf("amazontest: %w", err)
	}
	return nil
}

// SetSaveErrorLog has f hear of every failure to write the Persist file.
// Call it before serving.
func (s *Server) SetSaveErrorLog(f func(error)) { s.saveErr = f }

// save is saveLocked reporting a failure to the SetSaveErrorLog function
// rather than to the client: the change is made in memory either way. The
// caller holds s.mu.
func (s *Server) save() {
	if err := s.saveLocked(); err != nil && s.saveErr != nil {
		s.saveErr(err)
	}
}

// SeedIfAbsent seeds o (as Seed does) unless the fake already has an
// order with its id, and reports whether it did: a demo seeds its orders
// with it, so that a restarted sandbox keeps what was done to them.
func (s *Server) SeedIfAbsent(o Order) bool {
	s.mu.Lock()
	_, ok := s.orders[o.AmazonOrderID]
	s.mu.Unlock()
	if ok {
		return false
	}
	s.Seed(o)
	return true
}
