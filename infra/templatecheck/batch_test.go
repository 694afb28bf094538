package templatecheck_test

import (
	"testing"
)

// TestSyncUsesItsBatch holds the sync's event source to what
// shared/syncbatch and shared/pace assume: SYNC_CONCURRENCY, when set, is
// at least the batch size (every order of a batch at once), and the
// event source's MaximumConcurrency is above SQS's minimum (2) and no
// more than 10 instances, within which the per-instance buckets' worst
// case on one connection is the one template.yaml's comment works out.
func TestSyncUsesItsBatch(t *testing.T) {
	tpl := load(t)
	p := props(tpl, "SyncFunction")
	var found bool
	for name, ev := range asMap(p["Events"]) {
		e := asMap(ev)
		if render(e["Type"]) != "SQS" || queueOf(asMap(e["Properties"])["Queue"]) != "SyncQueue" {
			continue
		}
		found = true
		ep := asMap(e["Properties"])
		batch := number(t, ep["BatchSize"], name+" BatchSize")
		if v, ok := asMap(asMap(p["Environment"])["Variables"])["SYNC_CONCURRENCY"]; ok {
			if c := number(t, v, "SYNC_CONCURRENCY"); c != 0 && c < batch {
				t.Errorf("SYNC_CONCURRENCY = %d, want 0 or at least the BatchSize, %d: a batch would wait for its slowest few orders", c, batch)
			}
		}
		mc := number(t, asMap(ep["ScalingConfig"])["MaximumConcurrency"], name+" MaximumConcurrency")
		if mc < 2 || mc > 10 {
			t.Errorf("MaximumConcurrency = %d, want 2 to 10 (see its comment: marketplaces' limits)", mc)
		}
	}
	if !found {
		t.Fatal("SyncFunction has no SQS event source on SyncQueue")
	}
}
