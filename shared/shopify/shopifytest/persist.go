package shopifytest

import (
	"fmt"
	"net/http"

	"github.com/ordersync/ordersync/shared/testkit/snapshot"
)

// saved is what Persist keeps in its file.
type saved struct {
	Next     int64     `json:"next"`
	Orders   []Order   `json:"orders"`
	Variants []Variant `json:"variants"`
}

// Persist makes the fake keep its orders and catalogue in the JSON file at
// path: it loads them from there now when the file exists (replacing what
// it holds), and writes them there after every change (AddOrder,
// UpdateOrder, AddVariant, RemoveVariant, orderCreate, fulfillmentCreate),
// so that a sandbox store started again on the same folder has every
// order imported into it and every fulfillment made. The call log, faults
// and throttle are not kept.
func (s *Server) Persist(path string) error {
	var snap saved
	found, err := snapshot.Read(path, &snap)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		return fmt.Errorf("shopifytest: %w", err)
	case found:
		s.next, s.orders, s.variants = max(snap.Next, 5000), nil, snap.Variants
		for _, o := range snap.Orders {
			c := o.clone()
			s.orders = append(s.orders, &c)
		}
	}
	s.path = path
	return s.saveLocked()
}

// saveLocked writes the state to the Persist file, when there is one,
// replacing it whole (write, then rename). The caller holds s.mu.
func (s *Server) saveLocked() error {
	if s.path == "" {
		return nil
	}
	snap := saved{Next: s.next, Orders: make([]Order, 0, len(s.orders)), Variants: s.variants}
	for _, o := range s.orders {
		snap.Orders = append(snap.Orders, o.clone())
	}
	if err := snapshot.Write(s.path, snap); err != nil {
		return fmt.Errorf("shopifytest: %w", err)
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

// EnsureVariant adds a product variant with the given SKU unless the
// catalogue has one, and returns the variant's global id either way.
func (s *Server) EnsureVariant(sku, title string) string {
	s.mu.Lock()
	for _, v := range s.variants {
		if v.SKU == sku {
			s.mu.Unlock()
			return v.ID
		}
	}
	s.mu.Unlock()
	return s.AddVariant(sku, title)
}

// serveSandbox answers the fake's own routes, under /_sandbox/ (no auth):
// GET /_sandbox/orders lists every order as the fake holds it (JSON,
// creation order), to watch what ordersync made in the store. It reports
// whether the request was one of them.
func (s *Server) serveSandbox(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.URL.Path == "/_sandbox/orders" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Orders())
	case r.URL.Path == "/_sandbox/variants" && r.Method == http.MethodGet:
		s.mu.Lock()
		vs := append([]Variant{}, s.variants...)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, vs)
	default:
		return false
	}
	return true
}
