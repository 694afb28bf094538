package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// ListOrders returns one page of a connection's orders in q.State, newest
// first by merchantapi.OrderKey, as dynamostore's reads them from its
// index gsi6 (merchantapi.Listed).
func (s *Store) ListOrders(_ context.Context, conn string, q merchantapi.OrderQuery) ([]order.State, error) {
	if q.Limit < 1 {
		return nil, nil
	}
	lo, hi := q.KeyRange()
	defer s.lock()()
	type hit struct{ pk, key string }
	var hits []hit
	for pk, it := range s.t.orders {
		if it.conn != conn || it.listState != q.State || q.Code != "" && it.listCode != q.Code ||
			lo != "" && it.listKey < lo || hi != "" && it.listKey >= hi {
			continue
		}
		hits = append(hits, hit{pk, it.listKey})
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(b.key, a.key) })
	out := make([]order.State, 0, min(q.Limit, len(hits)))
	for _, h := range hits[:min(q.Limit, len(hits))] {
		var st order.State
		if err := decode(h.pk, s.t.orders[h.pk].body, &st); err != nil {
			return nil, err
		}
		out = append(out, merchantapi.Listed(st))
	}
	return out, nil
}

// FindOrdersByName returns the marketplace order ids of the connection's
// orders named name at the store, sorted. As the table's index, it knows
// only names of at most order.MaxIDBytes bytes.
func (s *Store) FindOrdersByName(_ context.Context, conn, name string) ([]string, error) {
	defer s.lock()()
	out := []string{}
	if name == "" || len(name) > order.MaxIDBytes {
		return out, nil // never indexed
	}
	prefix := orderPK(conn, "")
	for pk, it := range s.t.orders {
		if it.conn == conn && it.name == name {
			out = append(out, strings.TrimPrefix(pk, prefix))
		}
	}
	slices.Sort(out)
	return out, nil
}

func jobKey(conn, id string) string { return conn + "/" + id }

// PutJob creates or replaces a job and, with orders not nil, its orders.
func (s *Store) PutJob(_ context.Context, j merchantapi.Job, orders []string) error {
	if err := checkKey("CONN#"+j.Connection, "JOB#"+j.ID); err != nil {
		return err
	}
	if len(orders) > merchantapi.MaxJobOrders {
		return fmt.Errorf("memstore: job %s: %d orders, more than %d", j.ID, len(orders), merchantapi.MaxJobOrders)
	}
	b, err := encode("job "+j.ID, j)
	if err != nil {
		return err
	}
	defer s.lock()()
	if orders != nil {
		s.t.jobOrders[jobKey(j.Connection, j.ID)] = slices.Clone(orders)
	}
	s.t.jobs[jobKey(j.Connection, j.ID)] = b
	return nil
}

// Job returns a job of the past merchantapi.JobRetention, or an error
// wrapping order.ErrNotFound.
func (s *Store) Job(_ context.Context, conn, id string) (merchantapi.Job, error) {
	var j merchantapi.Job
	defer s.lock()()
	b, ok := s.t.jobs[jobKey(conn, id)]
	if ok {
		if err := decode("job "+id, b, &j); err != nil {
			return j, err
		}
		ok = s.now().Before(j.CreatedAt.Add(merchantapi.JobRetention))
	}
	if !ok {
		return merchantapi.Job{}, fmt.Errorf("memstore: job %q of %q: %w", id, conn, order.ErrNotFound)
	}
	return j, nil
}

// Jobs lists a connection's jobs of the past merchantapi.JobRetention,
// newest (greatest id) first, at most limit of them.
func (s *Store) Jobs(_ context.Context, conn string, limit int) ([]merchantapi.Job, error) {
	defer s.lock()()
	var out []merchantapi.Job
	for k, b := range s.t.jobs {
		if !strings.HasPrefix(k, conn+"/") {
			continue
		}
		var j merchantapi.Job
		if err := decode("job "+k, b, &j); err != nil {
			return nil, err
		}
		if s.now().Before(j.CreatedAt.Add(merchantapi.JobRetention)) {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b merchantapi.Job) int { return cmp.Compare(b.ID, a.ID) })
	return out[:min(max(limit, 0), len(out))], nil
}

// JobOrders returns the ids a job names, in the order put.
func (s *Store) JobOrders(_ context.Context, conn, id string) ([]string, error) {
	defer s.lock()()
	return slices.Clone(s.t.jobOrders[jobKey(conn, id)]), nil
}
