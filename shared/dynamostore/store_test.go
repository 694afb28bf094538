package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/ingest/ingesttest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

func newStore(t *testing.T) *dynamostore.Store {
	t.Helper()
	st := stacktest.New(t, nil)
	return dynamostore.New(stacktest.Clients().DynamoDB, st.Ref("Table"))
}

func TestConnections(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	want := order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test",
		Store:             order.Endpoint{Platform: order.Shopify, BaseURL: "https://acme.myshopify.com", CredentialRef: "acme-shopify"},
		Marketplace:       order.Endpoint{Platform: order.BackMarket, BaseURL: "https://www.backmarket.fr", CredentialRef: "acme-bm"},
		WebhookSecretRefs: []string{"acme-whsec-1", "acme-whsec-2"}}
	if err := s.PutConnection(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Connection(ctx, "acme")
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Connection = %+v, %v; want %+v", got, err, want)
	}
	if _, err := s.Connection(ctx, "nobody"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("unknown connection: err = %v, want ErrNotFound", err)
	}
	if err := s.PauseConnection(ctx, "acme", "auth_expired"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Connection(ctx, "acme"); !got.Paused || got.PausedCode != "auth_expired" {
		t.Errorf("after PauseConnection: paused %v for %q, want paused for auth_expired", got.Paused, got.PausedCode)
	}
	if err := s.ResumeConnection(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Connection(ctx, "acme"); got.Paused || got.PausedCode != "" || got.MerchantEmail != want.MerchantEmail {
		t.Errorf("after ResumeConnection: %+v, want the connection as it was, not paused", got)
	}
	for _, verb := range []func(context.Context, string) error{
		func(ctx context.Context, id string) error { return s.PauseConnection(ctx, id, "auth_expired") },
		s.ResumeConnection,
	} {
		if err := verb(ctx, "nobody"); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("unknown connection: err = %v, want ErrNotFound (and no item created)", err)
		}
	}
	all, err := s.Connections(ctx)
	if err != nil || len(all) != 1 || all[0].ID != "acme" {
		t.Errorf("Connections = %+v, %v; want just acme", all, err)
	}
}

func TestOrderVersioning(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	st := order.State{Connection: "acme", Ref: order.Ref{StoreOrderID: "s1", MarketplaceOrderID: "m1"}, StoreStatus: order.StatusAccepted,
		Parcels: []order.Parcel{{ID: "f1", Tracking: order.Tracking{Number: "1Z", Carrier: "UPS"}, Lines: []order.Line{{SKU: "A", Quantity: 1}}}}}
	saved, err := s.SaveOrder(ctx, st)
	if err != nil || saved.Version != 1 {
		t.Fatalf("first save = v%d, %v; want v1", saved.Version, err)
	}
	if _, err := s.SaveOrder(ctx, st); !errors.Is(err, order.ErrConflict) {
		t.Errorf("second create: err = %v, want ErrConflict", err)
	}
	got, err := s.LoadOrder(ctx, "acme", "m1")
	if err != nil || got.Version != 1 || got.Parcels[0].Tracking.Number != "1Z" {
		t.Fatalf("LoadOrder = %+v, %v", got, err)
	}
	got.StoreStatus = order.StatusShipped
	if got, err = s.SaveOrder(ctx, got); err != nil || got.Version != 2 {
		t.Fatalf("update = v%d, %v; want v2", got.Version, err)
	}
	stale := saved // still at version 1
	stale.StoreStatus = order.StatusAccepted
	if _, err := s.SaveOrder(ctx, stale); !errors.Is(err, order.ErrConflict) {
		t.Errorf("stale write: err = %v, want ErrConflict", err)
	}
	if _, err := s.LoadOrder(ctx, "acme", "nope"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("unknown order: err = %v, want ErrNotFound", err)
	}
}

// TestConcurrentWritersNeverLoseAnUpdate has workers add one parcel each,
// reloading on conflict: every parcel must be in the final state.
func TestConcurrentWritersNeverLoseAnUpdate(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: "m2"}}); err != nil {
		t.Fatal(err)
	}
	const workers = 8
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				st, err := s.LoadOrder(ctx, "acme", "m2")
				if err != nil {
					t.Error(err)
					return
				}
				st.Parcels = append(st.Parcels, order.Parcel{ID: fmt.Sprint(i)})
				if _, err = s.SaveOrder(ctx, st); err == nil {
					return
				} else if !errors.Is(err, order.ErrConflict) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, _ := s.LoadOrder(ctx, "acme", "m2")
	if len(got.Parcels) != workers || got.Version != workers+1 {
		t.Errorf("parcels = %d at v%d, want %d at v%d", len(got.Parcels), got.Version, workers, workers+1)
	}
}

func TestLinks(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.LinkOrder(ctx, "acme", "450789469", "BM-1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindOrder(ctx, "acme", "450789469"); err != nil || got != "BM-1" {
		t.Errorf("FindOrder = %q, %v; want BM-1", got, err)
	}
	if _, err := s.FindOrder(ctx, "other", "450789469"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("links are per connection: err = %v, want ErrNotFound", err)
	}
}

func TestEffectClaims(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := newStore(t).WithClock(func() time.Time { return now })
	claim := func(name string, want syncer.EffectClaim) {
		t.Helper()
		if got, err := s.ClaimEffect(ctx, "k1", time.Minute); err != nil || got != want {
			t.Errorf("%s: ClaimEffect = %v, %v; want %v", name, got, err, want)
		}
	}
	claim("first", syncer.EffectClaimed)
	claim("while held", syncer.EffectBusy)
	now = now.Add(2 * time.Minute)
	claim("after the lease", syncer.EffectClaimed)
	if err := s.ReleaseEffect(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	claim("after release", syncer.EffectClaimed)
	if err := s.ConfirmEffect(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	claim("confirmed", syncer.EffectDone)
	now = now.Add(time.Hour)
	claim("confirmed, long after the lease", syncer.EffectDone)
	if err := s.ReleaseEffect(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	claim("release never undoes a confirmed effect", syncer.EffectDone)
}

func TestRecentErrors(t *testing.T) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	s := newStore(t).WithClock(func() time.Time { return base })
	// 25 errors every 6 h back from now (all within the week), one for
	// another connection, and one expired that TTL has not deleted yet.
	for i := range 25 {
		r := order.ErrorRecord{Connection: "acme", MarketplaceOrderID: fmt.Sprintf("m%d", i), Code: "sku_not_found",
			Kind: "permanent", Title: "t", Cause: "c", Remedy: "r", At: base.Add(-time.Duration(i) * 6 * time.Hour)}
		if err := s.RecordError(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordError(ctx, order.ErrorRecord{Connection: "other", MarketplaceOrderID: "x", Code: "c", At: base}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecentErrors(ctx, "acme", base.Add(-7*24*time.Hour), 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 {
		t.Fatalf("got %d errors, want the newest 20", len(got))
	}
	for i := 1; i < len(got); i++ {
		if !got[i].At.Before(got[i-1].At) {
			t.Errorf("errors not newest first at %d: %v then %v", i, got[i-1].At, got[i].At)
		}
	}
	if got[0].MarketplaceOrderID != "m0" || got[19].MarketplaceOrderID != "m19" {
		t.Errorf("got %s..%s, want m0..m19", got[0].MarketplaceOrderID, got[19].MarketplaceOrderID)
	}
	// 48 h back: the errors at 0, 6, …, 48 h.
	if got, _ := s.RecentErrors(ctx, "acme", base.Add(-48*time.Hour), 20); len(got) != 9 {
		t.Errorf("since 48 h: got %d, want 9", len(got))
	}
	// Seen 8 days later, every one of them has expired.
	later := s.WithClock(func() time.Time { return base.Add(8 * 24 * time.Hour) })
	if got, _ := later.RecentErrors(ctx, "acme", base.Add(-30*24*time.Hour), 20); len(got) != 0 {
		t.Errorf("after expiry: got %d, want 0 (expired items are left out before TTL deletes them)", len(got))
	}
}

func TestNotifiedOnce(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	first, err := s.MarkNotified(ctx, "acme#m1#sku_not_found", time.Hour)
	if err != nil || !first {
		t.Fatalf("first mark = %v, %v; want true", first, err)
	}
	if again, _ := s.MarkNotified(ctx, "acme#m1#sku_not_found", time.Hour); again {
		t.Error("second mark for the same failure reported first")
	}
	if err := s.ClearNotified(ctx, "acme#m1#sku_not_found"); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.MarkNotified(ctx, "acme#m1#sku_not_found", time.Hour); !after {
		t.Error("after ClearNotified a new failure should be told again")
	}
}

func TestDeduper(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	d := newStore(t).WithClock(func() time.Time { return now }).Deduper(10 * time.Second)
	claim := func(name string, want ingest.ClaimResult) {
		t.Helper()
		if got, err := d.Claim(ctx, "acme#evt-1", 24*time.Hour); err != nil || got != want {
			t.Errorf("%s: Claim = %v, %v; want %v", name, got, err, want)
		}
	}
	claim("first delivery", ingest.Claimed)
	claim("concurrent redelivery", ingest.InFlight)
	if err := d.Release(ctx, "acme#evt-1"); err != nil {
		t.Fatal(err)
	}
	claim("retry after a failed enqueue", ingest.Claimed)
	now = now.Add(11 * time.Second)
	claim("a delivery that died unconfirmed is taken over", ingest.Claimed)
	if err := d.Confirm(ctx, "acme#evt-1"); err != nil {
		t.Fatal(err)
	}
	claim("after confirm", ingest.Duplicate)
	if err := d.Release(ctx, "acme#evt-1"); err != nil {
		t.Fatal(err)
	}
	claim("release never drops a confirmed key", ingest.Duplicate)
	now = now.Add(25 * time.Hour)
	claim("after the TTL the key is new again", ingest.Claimed)
}

// TestDeduperConformance runs the ingest deduper suite the in-memory fake
// passes too.
func TestDeduperConformance(t *testing.T) {
	s := newStore(t)
	ingesttest.TestDeduper(t, func(*testing.T) ingest.Deduper { return s.Deduper(10 * time.Second) })
}
