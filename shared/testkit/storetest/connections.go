package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// acme is a connection with every field set.
func acme() order.Connection {
	return order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test",
		Store:             order.Endpoint{Platform: order.Shopify, BaseURL: "https://acme.myshopify.com", CredentialRef: "acme-shopify", Account: "acme.myshopify.com"},
		Marketplace:       order.Endpoint{Platform: order.BackMarket, BaseURL: "https://www.backmarket.fr", CredentialRef: "acme-bm"},
		WebhookSecretRefs: []string{"acme-whsec-1", "acme-whsec-2"}, APIKeyRefs: []string{"acme-api"}, ImportOrders: true}
}

func (s *suite) connections(t *testing.T) {
	t.Run("put then get returns it whole", func(t *testing.T) {
		h := s.fresh(t)
		want := acme()
		if err := h.Store.PutConnection(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		got, err := h.Store.Connection(t.Context(), "acme")
		if err != nil || jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("Connection = %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("put replaces", func(t *testing.T) {
		h := s.fresh(t)
		c := acme()
		if err := h.Store.PutConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		c.MerchantEmail, c.WebhookSecretRefs, c.ImportOrders = "new@acme.test", []string{"acme-whsec-3"}, false
		if err := h.Store.PutConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		got, err := h.Store.Connection(t.Context(), "acme")
		if err != nil || jsonOf(t, got) != jsonOf(t, c) {
			t.Errorf("Connection = %+v, %v; want %+v", got, err, c)
		}
	})

	t.Run("pause and resume change only the pause", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		want := acme()
		if err := h.Store.PutConnection(ctx, want); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name       string
			do         func(context.Context, string) error
			paused     bool
			pausedCode string
		}{
			{"pause", func(ctx context.Context, id string) error { return h.Store.PauseConnection(ctx, id, "auth_expired") }, true, "auth_expired"},
			{"pause for another code", func(ctx context.Context, id string) error {
				return h.Store.PauseConnection(ctx, id, "store_disconnected")
			}, true, "store_disconnected"},
			{"resume", h.Store.ResumeConnection, false, ""},
			{"resume again", h.Store.ResumeConnection, false, ""},
		}
		for _, st := range steps {
			if err := st.do(ctx, "acme"); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			got, err := h.Store.Connection(ctx, "acme")
			want.Paused, want.PausedCode = st.paused, st.pausedCode
			if want.PausedAt = (time.Time{}); st.paused {
				want.PausedAt = s.base // the first pause's time, kept by the second
			}
			if err != nil || jsonOf(t, got) != jsonOf(t, want) {
				t.Errorf("after %s: Connection = %+v, %v; want %+v", st.name, got, err, want)
			}
		}
	})

	t.Run("pause and resume of an unknown connection create nothing", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		for name, do := range map[string]func() error{
			"pause":  func() error { return h.Store.PauseConnection(ctx, "nobody", "auth_expired") },
			"resume": func() error { return h.Store.ResumeConnection(ctx, "nobody") },
		} {
			if err := do(); !errors.Is(err, order.ErrNotFound) {
				t.Errorf("%s: err = %v, want order.ErrNotFound", name, err)
			}
		}
		if got, err := h.Store.Connection(ctx, "nobody"); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Connection after pause and resume = %+v, %v; want order.ErrNotFound", got, err)
		}
		if got, err := h.Store.Connections(ctx); err != nil || len(got) != 0 {
			t.Errorf("Connections = %+v, %v; want none", got, err)
		}
	})

	t.Run("delete removes it from get and the list, and is idempotent", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		other := acme()
		other.ID = "other"
		for _, c := range []order.Connection{acme(), other} {
			if err := h.Store.PutConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if err := h.Store.DeleteConnection(ctx, "acme"); err != nil {
				t.Fatalf("DeleteConnection: %v", err)
			}
		}
		if _, err := h.Store.Connection(ctx, "acme"); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Connection after delete = %v, want order.ErrNotFound", err)
		}
		got, err := h.Store.Connections(ctx)
		if err != nil || len(got) != 1 || got[0].ID != "other" {
			t.Errorf("Connections = %+v, %v; want only other", got, err)
		}
	})

	t.Run("an empty store lists none", func(t *testing.T) {
		h := s.fresh(t)
		if got, err := h.Store.Connections(t.Context()); err != nil || len(got) != 0 {
			t.Errorf("Connections = %+v, %v; want none", got, err)
		}
	})

	// DynamoDB returns at most 1 MB per page: 40 connections of 30 KB
	// take two.
	t.Run("lists every connection, past one page", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		var want []string
		for i := range 40 {
			c := acme()
			c.ID = fmt.Sprintf("conn-%02d", i)
			c.MerchantName = c.ID + strings.Repeat(" ", 30<<10)
			if err := h.Store.PutConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
			want = append(want, c.ID)
		}
		all, err := h.Store.Connections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range all {
			got = append(got, c.ID)
			if !strings.HasPrefix(c.MerchantName, c.ID+" ") || len(c.MerchantName) != len(c.ID)+30<<10 || c.MerchantEmail != "ops@acme.test" {
				t.Errorf("connection %s came back altered: merchant %d bytes, email %q", c.ID, len(c.MerchantName), c.MerchantEmail)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("Connections = %d %v, want the %d %v", len(got), got, len(want), want)
		}
	})

	t.Run("lists connections, not checkpoints, reports or orders", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if err := h.Store.PutConnection(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.SetCheckpoint(ctx, "other", refresh.SideMarketplace, refresh.Checkpoint{Since: s.base}); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.SaveReport(ctx, refresh.Report{Connection: "acme", At: s.base}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Store.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "m1"}}); err != nil {
			t.Fatal(err)
		}
		all, err := h.Store.Connections(ctx)
		if err != nil || len(all) != 1 || jsonOf(t, all[0]) != jsonOf(t, acme()) {
			t.Errorf("Connections = %+v, %v; want just acme", all, err)
		}
	})

	t.Run("values are copies", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		in := acme()
		if err := h.Store.PutConnection(ctx, in); err != nil {
			t.Fatal(err)
		}
		in.WebhookSecretRefs[0] = "changed by the caller after put"
		got, err := h.Store.Connection(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		got.WebhookSecretRefs[0], got.APIKeyRefs[0] = "changed", "changed"
		all, err := h.Store.Connections(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("Connections = %+v, %v; want acme", all, err)
		}
		all[0].WebhookSecretRefs[1] = "changed"
		again, err := h.Store.Connection(ctx, "acme")
		if err != nil || jsonOf(t, again) != jsonOf(t, acme()) {
			t.Errorf("Connection after callers changed their copies = %+v, %v; want %+v", again, err, acme())
		}
	})
}

func (s *suite) links(t *testing.T) {
	h := s.fresh(t)
	ctx := t.Context()
	for _, l := range [][3]string{{"acme", "450789469", "BM-1"}, {"acme", "450789470", "BM-2"}, {"other", "s9", "BM-9"}} {
		if err := h.Store.LinkOrder(ctx, l[0], l[1], l[2]); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, conn, storeID string
		want                string // "" for order.ErrNotFound
	}{
		{"linked", "acme", "450789469", "BM-1"},
		{"another link", "acme", "450789470", "BM-2"},
		{"another connection's", "other", "450789469", ""},
		{"unknown store order", "acme", "1", ""},
		{"of another connection", "other", "s9", "BM-9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Store.FindOrder(ctx, tt.conn, tt.storeID)
			if tt.want == "" {
				if !errors.Is(err, order.ErrNotFound) {
					t.Errorf("FindOrder = %q, %v; want order.ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("FindOrder = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("linking again is idempotent", func(t *testing.T) {
		if err := h.Store.LinkOrder(ctx, "acme", "450789469", "BM-1"); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Store.FindOrder(ctx, "acme", "450789469"); err != nil || got != "BM-1" {
			t.Errorf("FindOrder = %q, %v; want BM-1", got, err)
		}
	})
	t.Run("the last link wins", func(t *testing.T) {
		if err := h.Store.LinkOrder(ctx, "acme", "450789470", "BM-3"); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Store.FindOrder(ctx, "acme", "450789470"); err != nil || got != "BM-3" {
			t.Errorf("FindOrder = %q, %v; want BM-3", got, err)
		}
	})
}

func (s *suite) notFound(t *testing.T) {
	h := s.fresh(t)
	ctx := t.Context()
	if err := h.Store.PutConnection(ctx, acme()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "m1"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Store.LinkOrder(ctx, "acme", "s1", "m1"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"Connection", func() error { _, err := h.Store.Connection(ctx, "nobody"); return err }},
		{"PauseConnection", func() error { return h.Store.PauseConnection(ctx, "nobody", "auth_expired") }},
		{"ResumeConnection", func() error { return h.Store.ResumeConnection(ctx, "nobody") }},
		{"FindOrder", func() error { _, err := h.Store.FindOrder(ctx, "acme", "s2"); return err }},
		{"FindOrder of another connection", func() error { _, err := h.Store.FindOrder(ctx, "nobody", "s1"); return err }},
		{"LoadOrder", func() error { _, err := h.Store.LoadOrder(ctx, "acme", "m2"); return err }},
		{"LoadOrder of another connection", func() error { _, err := h.Store.LoadOrder(ctx, "nobody", "m1"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, order.ErrNotFound) {
				t.Errorf("err = %v, want one wrapping order.ErrNotFound", err)
			}
		})
	}
}

// keyLimits: DynamoDB refuses a key over 2048 bytes. A store must answer
// such an id with an error that is neither "not found" nor "conflict": a
// caller must not take an id it cannot store for one it does not know.
func (s *suite) keyLimits(t *testing.T) {
	h := s.fresh(t)
	ctx := t.Context()
	long := strings.Repeat("x", 3000)
	tests := []struct {
		name string
		call func() error
	}{
		{"Connection", func() error { _, err := h.Store.Connection(ctx, long); return err }},
		{"PauseConnection", func() error { return h.Store.PauseConnection(ctx, long, "auth_expired") }},
		{"FindOrder", func() error { _, err := h.Store.FindOrder(ctx, "acme", long); return err }},
		{"FindOrders", func() error { _, err := h.Store.FindOrders(ctx, "acme", []string{"s1", long}); return err }},
		{"LoadOrder", func() error { _, err := h.Store.LoadOrder(ctx, "acme", long); return err }},
		{"LoadOrders", func() error { _, err := h.Store.LoadOrders(ctx, "acme", []string{"m1", long}); return err }},
		{"SaveOrder", func() error {
			_, err := h.Store.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: long}})
			return err
		}},
		{"ClaimEffects", func() error {
			_, err := h.Store.ClaimEffects(ctx, "acme#m1", []string{"k", long}, time.Minute)
			return err
		}},
		{"ClaimEffects of a long scope", func() error { _, err := h.Store.ClaimEffects(ctx, long, []string{"k"}, time.Minute); return err }},
		{"MarkNotified", func() error { _, err := h.Store.MarkNotified(ctx, long, time.Hour); return err }},
		{"Deduper.Claim", func() error { _, err := h.Deduper(time.Minute).Claim(ctx, long, time.Hour); return err }},
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
