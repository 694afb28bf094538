package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
)

// The merchant's SKU aliases: one-to-one per connection, refused whole on
// a conflict or past the limit, listed by store SKU in pages.

func (s *suite) aliases(t *testing.T) {
	a := func(st, mk string) order.SKUAlias { return order.SKUAlias{StoreSKU: st, MarketplaceSKU: mk} }
	list := func(t *testing.T, h Harness, conn string) []order.SKUAlias {
		t.Helper()
		got, next, err := h.Store.SKUAliases(t.Context(), conn, "", order.MaxSKUAliases)
		if err != nil || next != "" {
			t.Fatalf("SKUAliases(%s) next = %q, err = %v; want every alias, no next", conn, next, err)
		}
		return got
	}

	t.Run("put, listed by store SKU, per connection, again is no error", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		for _, p := range []struct {
			conn string
			a    order.SKUAlias
		}{
			{"acme", a("TSHIRT-RED-M", "BM-TS-R-M")},
			{"acme", a("MUG-été", "BM-MUG 01")},
			{"acme", a("CAP", "BM-CAP")},
			{"acme", a("CAP", "BM-CAP")}, // the same again
			{"other", a("CAP", "MK-CAP")},
		} {
			if err := h.Store.PutSKUAlias(ctx, p.conn, p.a); err != nil {
				t.Fatalf("PutSKUAlias(%s, %+v) = %v", p.conn, p.a, err)
			}
		}
		if got, want := jsonOf(t, list(t, h, "acme")), jsonOf(t, []order.SKUAlias{a("CAP", "BM-CAP"), a("MUG-été", "BM-MUG 01"), a("TSHIRT-RED-M", "BM-TS-R-M")}); got != want {
			t.Errorf("acme's aliases = %s, want %s", got, want)
		}
		if got, want := jsonOf(t, list(t, h, "other")), jsonOf(t, []order.SKUAlias{a("CAP", "MK-CAP")}); got != want {
			t.Errorf("other's aliases = %s, want %s", got, want)
		}
		if got := list(t, h, "nobody"); len(got) != 0 {
			t.Errorf("nobody's aliases = %+v, want none", got)
		}
	})

	t.Run("one-to-one: a second partner for either SKU is a conflict and stores nothing", func(t *testing.T) {
		tests := []struct {
			name string
			put  order.SKUAlias
		}{
			{"store SKU given a second marketplace SKU", a("CAP", "BM-CAP-2")},
			{"marketplace SKU given a second store SKU", a("CAP-OLD", "BM-CAP")},
			{"both SKUs taken by two aliases", a("CAP", "BM-MUG")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := s.fresh(t)
				ctx := t.Context()
				for _, p := range []order.SKUAlias{a("CAP", "BM-CAP"), a("MUG", "BM-MUG")} {
					if err := h.Store.PutSKUAlias(ctx, "acme", p); err != nil {
						t.Fatal(err)
					}
				}
				if err := h.Store.PutSKUAlias(ctx, "acme", tt.put); !errors.Is(err, order.ErrAliasConflict) {
					t.Errorf("PutSKUAlias(%+v) = %v, want order.ErrAliasConflict", tt.put, err)
				}
				if got, want := jsonOf(t, list(t, h, "acme")), jsonOf(t, []order.SKUAlias{a("CAP", "BM-CAP"), a("MUG", "BM-MUG")}); got != want {
					t.Errorf("aliases = %s, want %s (unchanged)", got, want)
				}
			})
		}
	})

	t.Run("racing aliases for one SKU: exactly one is stored", func(t *testing.T) {
		tests := []struct {
			name  string
			alias func(i int) order.SKUAlias
		}{
			{"one store SKU", func(i int) order.SKUAlias { return a("CAP", fmt.Sprintf("BM-CAP-%d", i)) }},
			{"one marketplace SKU", func(i int) order.SKUAlias { return a(fmt.Sprintf("CAP-%d", i), "BM-CAP") }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := s.fresh(t)
				errs := race(6, func(i int) error { return h.Store.PutSKUAlias(t.Context(), "acme", tt.alias(i)) })
				won := -1
				for i, err := range errs {
					switch {
					case err == nil && won >= 0:
						t.Errorf("puts %d and %d both succeeded", won, i)
					case err == nil:
						won = i
					case !errors.Is(err, order.ErrAliasConflict):
						t.Errorf("put %d = %v, want nil or order.ErrAliasConflict", i, err)
					}
				}
				if won < 0 {
					t.Fatal("no put succeeded")
				}
				if got, want := jsonOf(t, list(t, h, "acme")), jsonOf(t, []order.SKUAlias{tt.alias(won)}); got != want {
					t.Errorf("aliases = %s, want %s (the winner's only)", got, want)
				}
			})
		}
	})

	t.Run("delete frees both SKUs; unknown is not found", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if err := h.Store.PutSKUAlias(ctx, "acme", a("CAP", "BM-CAP")); err != nil {
			t.Fatal(err)
		}
		got, err := h.Store.DeleteSKUAlias(ctx, "acme", "CAP")
		if err != nil || got != a("CAP", "BM-CAP") {
			t.Fatalf("DeleteSKUAlias = %+v, %v; want the alias", got, err)
		}
		for _, sku := range []string{"CAP", "BM-CAP", "NEVER"} {
			if _, err := h.Store.DeleteSKUAlias(ctx, "acme", sku); !errors.Is(err, order.ErrNotFound) {
				t.Errorf("DeleteSKUAlias(%q) = %v, want order.ErrNotFound", sku, err)
			}
		}
		// Both directions are free: each SKU takes a new partner.
		for _, p := range []order.SKUAlias{a("CAP", "BM-CAP-2"), a("CAP-OLD", "BM-CAP")} {
			if err := h.Store.PutSKUAlias(ctx, "acme", p); err != nil {
				t.Errorf("PutSKUAlias(%+v) after the delete = %v", p, err)
			}
		}
	})

	t.Run("pages follow on to the end", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		var want []order.SKUAlias
		for i := range 7 {
			p := a(fmt.Sprintf("SKU-%02d", i), fmt.Sprintf("MK-%02d", i))
			want = append(want, p)
			if err := h.Store.PutSKUAlias(ctx, "acme", p); err != nil {
				t.Fatal(err)
			}
		}
		var got []order.SKUAlias
		after, pages := "", 0
		for {
			page, next, err := h.Store.SKUAliases(ctx, "acme", after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 3 {
				t.Fatalf("page of %d, want at most 3", len(page))
			}
			got, pages = append(got, page...), pages+1
			if next == "" {
				break
			}
			if pages > 3 {
				t.Fatalf("more than 3 pages for 7 aliases")
			}
			after = next
		}
		if g, w := jsonOf(t, got), jsonOf(t, want); g != w || pages != 3 {
			t.Errorf("pages of 3 = %d pages of %s, want 3 of %s", pages, g, w)
		}
		if page, _, err := h.Store.SKUAliases(ctx, "acme", "", 0); err != nil || len(page) != 0 {
			t.Errorf("SKUAliases(limit 0) = %+v, %v; want none", page, err)
		}
	})

	t.Run("at most MaxSKUAliases per connection", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		const writers = 4 // every put moves the one COUNT item: more only contend
		errs := race(writers, func(w int) error {
			for i := w; i < order.MaxSKUAliases; i += writers {
				if err := h.Store.PutSKUAlias(ctx, "acme", a(fmt.Sprintf("S%04d", i), fmt.Sprintf("M%04d", i))); err != nil {
					return err
				}
			}
			return nil
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.PutSKUAlias(ctx, "acme", a("ONE-TOO-MANY", "M-ONE-TOO-MANY")); !errors.Is(err, order.ErrAliasLimit) {
			t.Errorf("alias %d = %v, want order.ErrAliasLimit", order.MaxSKUAliases+1, err)
		}
		if err := h.Store.PutSKUAlias(ctx, "acme", a("S0007", "M0007")); err != nil {
			t.Errorf("an alias held already, again at the limit = %v, want nil", err)
		}
		if err := h.Store.PutSKUAlias(ctx, "other", a("S0007", "M0007")); err != nil {
			t.Errorf("another connection at acme's limit = %v, want nil", err)
		}
		if got := list(t, h, "acme"); len(got) != order.MaxSKUAliases {
			t.Errorf("acme holds %d aliases, want %d", len(got), order.MaxSKUAliases)
		}
		if _, err := h.Store.DeleteSKUAlias(ctx, "acme", "S0007"); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.PutSKUAlias(ctx, "acme", a("ONE-TOO-MANY", "M-ONE-TOO-MANY")); err != nil {
			t.Errorf("an alias after one was deleted at the limit = %v, want nil", err)
		}
	})
}
