package ingesttest

import (
	"context"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
)

// TestDeduper is the conformance suite for ingest.Deduper implementations.
// newDeduper returns an empty deduper; keys are unique per call so a shared
// table may be used. It asserts no timing: ttl is long, and stale claims are
// left to implementation tests that control their clock.
func TestDeduper(t *testing.T, newDeduper func(t *testing.T) ingest.Deduper) {
	t.Helper()
	ctx := context.Background()
	const ttl = time.Hour
	key := func(t *testing.T) string {
		return "conformance/" + t.Name() + "/" + time.Now().Format(time.RFC3339Nano)
	}
	claim := func(t *testing.T, d ingest.Deduper, k string, want ingest.ClaimResult) {
		t.Helper()
		got, err := d.Claim(ctx, k, ttl)
		if err != nil {
			t.Fatalf("Claim(%q): %v", k, err)
		}
		if got != want {
			t.Fatalf("Claim(%q) = %v, want %v", k, got, want)
		}
	}

	t.Run("first claim is claimed", func(t *testing.T) {
		d := newDeduper(t)
		claim(t, d, key(t), ingest.Claimed)
	})
	t.Run("second claim before confirm is in flight", func(t *testing.T) {
		d := newDeduper(t)
		k := key(t)
		claim(t, d, k, ingest.Claimed)
		claim(t, d, k, ingest.InFlight)
	})
	t.Run("claim after confirm is duplicate", func(t *testing.T) {
		d := newDeduper(t)
		k := key(t)
		claim(t, d, k, ingest.Claimed)
		if err := d.Confirm(ctx, k, order.Event{Connection: "conformance", SourceEventID: k}); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		claim(t, d, k, ingest.Duplicate)
		if err := d.Confirm(ctx, k, order.Event{Connection: "conformance", SourceEventID: k}); err != nil {
			t.Fatalf("second Confirm (idempotent): %v", err)
		}
		claim(t, d, k, ingest.Duplicate)
	})
	t.Run("claim after release is claimed again", func(t *testing.T) {
		d := newDeduper(t)
		k := key(t)
		claim(t, d, k, ingest.Claimed)
		if err := d.Release(ctx, k); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if err := d.Release(ctx, k); err != nil {
			t.Fatalf("second Release (idempotent): %v", err)
		}
		claim(t, d, k, ingest.Claimed)
	})
	t.Run("release never drops a confirmed key", func(t *testing.T) {
		d := newDeduper(t)
		k := key(t)
		claim(t, d, k, ingest.Claimed)
		if err := d.Confirm(ctx, k, order.Event{Connection: "conformance", SourceEventID: k}); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if err := d.Release(ctx, k); err != nil {
			t.Fatalf("Release: %v", err)
		}
		claim(t, d, k, ingest.Duplicate)
	})
	t.Run("keys are independent", func(t *testing.T) {
		d := newDeduper(t)
		a, b := key(t)+"/a", key(t)+"/b"
		claim(t, d, a, ingest.Claimed)
		claim(t, d, b, ingest.Claimed)
	})
}
