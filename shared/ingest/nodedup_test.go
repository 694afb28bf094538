package ingest_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/ordersync/ordersync/shared/ingest"
)

// TestWithoutDeduperEveryCopyIsQueued: with no deduper (how the webhook
// function is wired), concurrent copies of one delivery are each answered
// 202 and queued; the sync's claims keep their calls to one.
func TestWithoutDeduperEveryCopyIsQueued(t *testing.T) {
	e := newEnv(t, ingest.Config{})
	e.h = ingest.New(ingest.Config{Now: e.dedup.Now}, e.conns, e.secrets, nil, e.queue, slog.New(slog.DiscardHandler))
	req := shopifyRequest(t, "orders/updated", webhookTestdata(t, "shopify_order_2026-07.json"), shopSecret)
	var wg sync.WaitGroup
	statuses := make([]int, 5)
	for i := range statuses {
		wg.Go(func() {
			resp, err := e.h.Handle(context.Background(), req)
			if err != nil {
				t.Error(err)
			}
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusAccepted {
			t.Errorf("copy %d: status %d, want 202", i, s)
		}
	}
	if n := len(e.queue.Events()); n != 5 {
		t.Errorf("queued %d events, want 5", n)
	}

	e.queue.Err = errors.New("sqs: service unavailable")
	if resp := e.do(t, req); resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] == "" {
		t.Errorf("failed enqueue: status %d (%s), want 503 with Retry-After", resp.StatusCode, resp.Body)
	}
}
