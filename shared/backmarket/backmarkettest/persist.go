package backmarkettest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/ordersync/ordersync/shared/testkit/snapshot"
)

// saved is what Persist keeps in its file: the orders, oldest id first.
type saved struct {
	Orders []Order `json:"orders"`
}

// Persist makes the fake keep its orders in the JSON file at path: it
// loads them from there now when the file exists (replacing any seeded
// ones), and writes them there after every change (Seed, an accepted
// update), so that a sandbox started again on the same folder remembers
// every order it was told about and every change made to them, as the
// real marketplace does. The calls log and faults are not kept.
func (s *Server) Persist(path string) error {
	var snap saved
	found, err := snapshot.Read(path, &snap)
	switch {
	case err != nil:
		return fmt.Errorf("backmarkettest: %w", err)
	case found:
		s.mu.Lock()
		s.orders = map[string]*Order{}
		for _, o := range snap.Orders {
			o := clone(o)
			s.orders[strconv.FormatInt(o.OrderID, 10)] = &o
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.path = path
	return s.saveLocked()
}

// saveLocked writes the orders to the Persist file, when there is one.
// The caller holds s.mu. The file is replaced whole (write, then rename),
// so a crash leaves the old snapshot or the new one, never half of one.
func (s *Server) saveLocked() error {
	if s.path == "" {
		return nil
	}
	snap := saved{Orders: make([]Order, 0, len(s.orders))}
	for _, o := range s.orders {
		snap.Orders = append(snap.Orders, clone(*o))
	}
	slices.SortFunc(snap.Orders, func(a, b Order) int { return cmp.Compare(a.OrderID, b.OrderID) })
	if err := snapshot.Write(s.path, snap); err != nil {
		return fmt.Errorf("backmarkettest: %w", err)
	}
	return nil
}

// SetSaveErrorLog has f hear of every failure to write the Persist file.
// Call it before serving.
func (s *Server) SetSaveErrorLog(f func(error)) { s.saveErr = f }

// save is saveLocked reporting a failure to the SetSaveErrorLog function rather
// than to the client: the change is made in memory either way. The
// caller holds s.mu.
func (s *Server) save() {
	if err := s.saveLocked(); err != nil && s.saveErr != nil {
		s.saveErr(err)
	}
}

// SeedIfAbsent seeds o (as Seed does) unless the fake already has an
// order with its id, and reports whether it did. A demo seeds its orders
// with it, so that a restarted sandbox keeps what was done to them.
func (s *Server) SeedIfAbsent(o Order) bool {
	s.mu.Lock()
	_, ok := s.orders[strconv.FormatInt(o.OrderID, 10)]
	s.mu.Unlock()
	if ok {
		return false
	}
	s.Seed(o)
	return true
}

// Create seeds a new order awaiting acceptance with one line per SKU
// (AwaitingAcceptance), under the next free id (one past the highest, at
// least 10001), modified now, and returns it.
func (s *Server) Create(skus ...string) Order {
	s.mu.Lock()
	next := int64(10001)
	for _, o := range s.orders {
		next = max(next, o.OrderID+1)
	}
	o := AwaitingAcceptance(next, skus...)
	o.DateCreation, o.DateModification = s.stamp(), s.stamp()
	c := clone(o)
	s.orders[strconv.FormatInt(o.OrderID, 10)] = &c
	s.save()
	s.mu.Unlock()
	return o
}

// postOrder is POST /_sandbox/orders: a new order awaiting acceptance,
// as a buyer's purchase makes one, from {"skus": [...]}.
func (s *Server) postOrder(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SKUs []string `json:"skus"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", `body is not {"skus": [...]}: `+err.Error())
		return
	}
	if len(body.SKUs) == 0 || slices.Contains(body.SKUs, "") {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "skus must name at least one SKU, none empty")
		return
	}
	writeJSON(w, http.StatusCreated, s.Create(body.SKUs...))
}
