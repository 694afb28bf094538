package refresh_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/secrets"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/testkit/queuetest"
)

type marketplaces struct{ secrets connectors.Secrets }

func (m marketplaces) Marketplace(ctx context.Context, conn order.Connection) (syncer.Marketplace, error) {
	return connectors.Marketplace(ctx, conn, m.secrets, httpclient.New(httpclient.Options{}))
}

type env struct {
	t     *testing.T
	store *memstore.Store
	fake  *backmarkettest.Server
	queue *queuetest.Queue
	r     *refresh.Refresher
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, store: memstore.New(), queue: &queuetest.Queue{},
		fake: backmarkettest.New(backmarkettest.Options{Token: "bm-token"})}
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	conn := order.Connection{ID: "acme", MerchantEmail: "ops@acme.test", Store: order.Endpoint{Platform: order.Shopify},
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: srv.URL, CredentialRef: "bm"},
		Paused:      true, PausedCode: "auth_expired"}
	if err := e.store.PutConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	e.r = refresh.New(e.store, marketplaces{secrets.Static{"bm": "bm-token"}}, e.queue,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	return e
}

// held records an order held with code, as the sync does.
func (e *env) held(mk, code, kind string) {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	_, err := e.store.SaveOrder(ctx, order.State{Connection: "acme", Ref: order.Ref{MarketplaceOrderID: mk, StoreOrderID: "s" + mk},
		StoreStatus: order.StatusShipped, Sync: order.SyncOutcome{Result: order.SyncHeld, ErrorCode: code, Attempts: 1, At: now}})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.RecordError(ctx, order.ErrorRecord{Connection: "acme", MarketplaceOrderID: mk, Code: code, Kind: kind, At: now}); err != nil {
		e.t.Fatal(err)
	}
}

// queued drains the sync queue.
func (e *env) queued() []order.Event {
	e.t.Helper()
	out, err := e.queue.Take()
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) paused() bool {
	e.t.Helper()
	c, err := e.store.Connection(context.Background(), "acme")
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Paused
}

func TestReconnectResumesThePausedConnectionAndItsHeldOrders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.held("101", "auth_expired", "auth")
	e.held("102", "auth_expired", "auth")
	e.held("103", "address_missing", "permanent") // held for another reason: the merchant must act
	noticeKey := syncer.ConnectionNoticeKey("acme", "auth_expired")
	if _, err := e.store.MarkNotified(ctx, noticeKey, time.Hour); err != nil {
		t.Fatal(err)
	}

	// The key is still refused: nothing changes.
	e.fake.SetFault(backmarkettest.Fault{Status: 401})
	if err := e.r.Run(ctx, time.Now()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !e.paused() {
		t.Error("resumed while the marketplace still refuses the key")
	}
	if q := e.queued(); len(q) != 0 {
		t.Errorf("queued %d events for a paused connection, want 0", len(q))
	}

	// The merchant reconnects with a key the marketplace takes.
	e.fake.ClearFaults()
	at := time.Now()
	if err := e.r.Run(ctx, at); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if e.paused() {
		t.Error("still paused after the marketplace took the key again")
	}
	got := map[string]order.Event{}
	for _, ev := range e.queued() {
		got[ev.Order.MarketplaceOrderID] = ev
	}
	if len(got) != 2 || got["101"].Connection != "acme" || got["102"].Order.StoreOrderID != "s102" {
		t.Errorf("queued %+v, want one re-sync for each of 101 and 102 (not 103)", got)
	}
	if ev := got["101"]; ev.Source != refresh.Source || !ev.OccurredAt.IsZero() || ev.Status != "" {
		t.Errorf("re-sync event %+v: want an ordersync event that changes nothing", ev)
	}
	// The email mark stays until a held order syncs (the sync clears it):
	// a key that reads but cannot write must not email every hour.
	if first, _ := e.store.MarkNotified(ctx, noticeKey, time.Hour); first {
		t.Error("the expiry email mark was cleared on resume")
	}
	if cp, _ := e.store.Checkpoint(ctx, "acme"); cp.Sub(at).Abs() > time.Second {
		t.Errorf("checkpoint = %v, want %v", cp, at)
	}
}

func TestAnOutageDuringTheProbeKeepsThePause(t *testing.T) {
	e := newEnv(t)
	e.held("201", "auth_expired", "auth")
	e.fake.SetFault(backmarkettest.Fault{Status: 503})
	// One connection's trouble is logged, not returned: an error would
	// make Lambda run every connection's refresh again.
	if err := e.r.Run(context.Background(), time.Now()); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if !e.paused() {
		t.Error("resumed on a 503: the key was never checked")
	}
	if q := e.queued(); len(q) != 0 {
		t.Errorf("queued %d events, want 0", len(q))
	}
}

func TestNewMarketplaceOrdersAreQueuedForImportWhereAsked(t *testing.T) {
	for _, importOrders := range []bool{true, false} {
		t.Run(fmt.Sprint("import_orders=", importOrders), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			c, _ := e.store.Connection(ctx, "acme")
			c.Paused, c.PausedCode, c.ImportOrders = false, "", importOrders
			if err := e.store.PutConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
			e.fake.Seed(backmarkettest.AwaitingAcceptance(301, "SKU-A"))
			shipped := backmarkettest.AwaitingAcceptance(302, "SKU-A")
			shipped.State = backmarkettest.OrderShipped
			e.fake.Seed(shipped)
			e.held("303", "auth_expired", "auth") // known to ordersync already
			e.fake.Seed(backmarkettest.AwaitingAcceptance(303, "SKU-A"))
			if err := e.r.Run(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			var imports []string
			for _, ev := range e.queued() {
				if ev.Intent == order.IntentImport {
					imports = append(imports, ev.Order.MarketplaceOrderID)
				}
			}
			want := 0
			if importOrders {
				want = 1
			}
			if len(imports) != want || (want == 1 && imports[0] != "301") {
				t.Errorf("imports queued = %v, want %d (the open order ordersync does not know)", imports, want)
			}
		})
	}
}
