package syncbatch_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/testkit/memqueue"
)

// TestAPackedMessageIsSynced: an order too large for a plain message
// reaches the sync packed (order.EncodeMessage), and is synced as any
// other.
func TestAPackedMessageIsSynced(t *testing.T) {
	ctx := context.Background()
	const lines = 1000
	skus := make([]string, lines)
	ev := order.Event{Connection: "acme", Source: order.Shopify, SourceEventID: "evt-big", OccurredAt: time.Now(),
		Order:  order.Ref{StoreOrderID: "9500", StoreOrderName: "#9500", MarketplaceOrderID: "500"},
		Status: order.StatusAccepted}
	for i := range skus {
		skus[i] = fmt.Sprintf("SKU-%04d", i)
		ev.Lines = append(ev.Lines, order.Line{SKU: skus[i], Quantity: 1, StoreLineID: fmt.Sprint(466157049 + i),
			Title: strings.Repeat(fmt.Sprintf("<b>Bolts & nuts</b> M%d <x> ", i%10), 12)[:255]})
	}
	body, err := order.EncodeMessage(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, `{"encoding":"gzip"`) {
		t.Fatalf("the event is not packed (%d bytes): the test needs a larger one", len(body))
	}

	fake := backmarkettest.New(backmarkettest.Options{Token: "bm-token"})
	fake.Seed(backmarkettest.AwaitingAcceptance(500, skus...))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	store := memstore.New()
	conn := order.Connection{ID: "acme", MerchantName: "Acme", MerchantEmail: "ops@acme.test", Store: order.Endpoint{Platform: order.Shopify},
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: srv.URL, CredentialRef: "bm"}}
	if err := store.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	mps := marketplacesFunc(func(_ context.Context, conn order.Connection) (syncer.Marketplace, error) {
		return backmarket.New(srv.Client(), backmarket.Options{BaseURL: conn.Marketplace.BaseURL, Token: "bm-token"}), nil
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	q, dlq := memqueue.New("sync", memqueue.Options{}), memqueue.New("dlq", memqueue.Options{})
	h := syncbatch.New(syncbatch.Config{}, syncer.New(syncer.Config{MaxAttempts: 3}, store, mps, &notices{}, log), q, dlq, log)

	if err := q.Enqueue(ctx, ev); err != nil {
		t.Fatal(err)
	}
	msgs, err := q.Receive(10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("received %d, %v", len(msgs), err)
	}
	resp, err := h.Handle(ctx, events.SQSEvent{Records: msgs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %v, %v; want no failure", resp.BatchItemFailures, err)
	}
	for _, m := range dlq.Messages() {
		t.Errorf("dead-lettered with %v", m.Attributes)
	}
	st, err := store.LoadOrder(ctx, "acme", "500")
	if err != nil {
		t.Fatal(err)
	}
	if st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusAccepted || len(st.Lines) != lines {
		t.Errorf("state: sync %+v, marketplace %q, %d lines; want synced, accepted, %d lines", st.Sync, st.MarketplaceStatus, len(st.Lines), lines)
	}
}
