package memstore

import (
	"cmp"
	"context"
	"slices"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// reportItems are one connection's drift reports, by sort key
// (REPORT#<time>).
type reportItems map[string]reportItem

type reportItem struct {
	expiresAt int64 // Unix seconds
	body      []byte
}

// SaveReport stores one run's drift report, kept order.ErrorRetention
// from its At. A report of the same connection and At replaces it.
func (s *Store) SaveReport(_ context.Context, r refresh.Report) error {
	pk, sk := connPK(r.Connection), "REPORT#"+sortable(r.At)
	if err := checkKey(pk, sk); err != nil {
		return err
	}
	b, err := encode("report", r)
	if err != nil {
		return err
	}
	defer s.lock()()
	items := s.t.reports[pk]
	if items == nil {
		items = reportItems{}
		s.t.reports[pk] = items
	}
	items[sk] = reportItem{expiresAt: r.At.Add(order.ErrorRetention).Unix(), body: b}
	return nil
}

// Reports lists the connection's drift reports, newest first, at most
// limit of them (none for a limit below 1). Reports past their retention
// are left out.
func (s *Store) Reports(_ context.Context, conn string, limit int) ([]refresh.Report, error) {
	if limit < 1 {
		return nil, nil
	}
	pk := connPK(conn)
	if err := checkKey(pk, "REPORT#"); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	defer s.lock()()
	var sks []string
	for sk, it := range s.t.reports[pk] {
		if it.expiresAt > now {
			sks = append(sks, sk)
		}
	}
	slices.SortFunc(sks, func(a, b string) int { return cmp.Compare(b, a) })
	out := make([]refresh.Report, 0, min(limit, len(sks)))
	for _, sk := range sks[:min(limit, len(sks))] {
		var r refresh.Report
		if err := decode("report", s.t.reports[pk][sk].body, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
