package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// connectionWrites pins CreateConnection and SaveConnection, the merchant
// API's writes of a connection.
func (s *suite) connectionWrites(t *testing.T) {
	t.Run("create stores it whole, once", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		want := acme()
		want.WebhookSecretExpiry = map[string]time.Time{"acme-whsec-1": s.base.Add(24 * time.Hour)}
		if err := h.Store.CreateConnection(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := h.Store.Connection(ctx, "acme")
		if err != nil || jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("Connection = %+v, %v; want %+v", got, err, want)
		}
		again := acme()
		again.MerchantName = "Someone else"
		if err := h.Store.CreateConnection(ctx, again); !errors.Is(err, order.ErrConflict) {
			t.Errorf("second create: %v, want order.ErrConflict", err)
		}
		if got, _ := h.Store.Connection(ctx, "acme"); got.MerchantName != want.MerchantName {
			t.Errorf("after a refused create: merchant %q, want %q (unchanged)", got.MerchantName, want.MerchantName)
		}
		if all, err := h.Store.Connections(ctx); err != nil || len(all) != 1 {
			t.Errorf("Connections = %d, %v; want 1", len(all), err)
		}
	})

	t.Run("save replaces a connection whose pause is unchanged", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if err := h.Store.CreateConnection(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		want := acme()
		want.MerchantName, want.ImportOrders = "Acme Ltd", false
		if err := h.Store.SaveConnection(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Store.Connection(ctx, "acme"); err != nil || jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("Connection = %+v, %v; want %+v", got, err, want)
		}
		// Paused, then saved as read while paused.
		if err := h.Store.PauseConnection(ctx, "acme", "auth_expired"); err != nil {
			t.Fatal(err)
		}
		paused, err := h.Store.Connection(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		paused.MerchantEmail = "new@acme.test"
		if err := h.Store.SaveConnection(ctx, paused); err != nil {
			t.Errorf("save of the paused connection as read: %v", err)
		}
		if got, _ := h.Store.Connection(ctx, "acme"); jsonOf(t, got) != jsonOf(t, paused) {
			t.Errorf("Connection = %+v, want %+v", got, paused)
		}
	})

	t.Run("save refuses what a pause or resume changed meanwhile", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			pauseWith string // stored pause before the save ("" none)
			saved     func(order.Connection) order.Connection
		}{
			{"paused since read", "auth_expired", func(c order.Connection) order.Connection { return c }},
			{"resumed since read", "", func(c order.Connection) order.Connection {
				c.Paused, c.PausedCode = true, "auth_expired"
				return c
			}},
			{"paused for another code since read", "store_disconnected", func(c order.Connection) order.Connection {
				c.Paused, c.PausedCode = true, "auth_expired"
				return c
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := s.fresh(t)
				ctx := t.Context()
				if err := h.Store.CreateConnection(ctx, acme()); err != nil {
					t.Fatal(err)
				}
				if tc.pauseWith != "" {
					if err := h.Store.PauseConnection(ctx, "acme", tc.pauseWith); err != nil {
						t.Fatal(err)
					}
				}
				before, _ := h.Store.Connection(ctx, "acme")
				c := tc.saved(acme())
				c.MerchantName = "Lost update"
				if err := h.Store.SaveConnection(ctx, c); !errors.Is(err, order.ErrConflict) {
					t.Errorf("SaveConnection = %v, want order.ErrConflict", err)
				}
				if got, _ := h.Store.Connection(ctx, "acme"); jsonOf(t, got) != jsonOf(t, before) {
					t.Errorf("after a refused save: %+v, want %+v", got, before)
				}
			})
		}
	})

	t.Run("save of an unknown connection creates nothing", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if err := h.Store.SaveConnection(ctx, acme()); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("SaveConnection = %v, want order.ErrNotFound", err)
		}
		if _, err := h.Store.Connection(ctx, "acme"); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Connection after the save: %v, want order.ErrNotFound", err)
		}
	})

	t.Run("a put connection paused later gets its pause time", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if err := h.Store.PutConnection(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.PauseConnection(ctx, "acme", order.PausedByMerchant); err != nil {
			t.Fatal(err)
		}
		got, err := h.Store.Connection(ctx, "acme")
		if err != nil || !got.PausedAt.Equal(s.base) || got.PausedCode != order.PausedByMerchant {
			t.Errorf("Connection = paused %q at %v, %v; want %q at %v", got.PausedCode, got.PausedAt, err, order.PausedByMerchant, s.base)
		}
	})
}
