package awscount_test

import (
	"testing"

	"github.com/ordersync/ordersync/infra/awscount"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
)

// TestPathsAreCounted drives one event of each path through the real
// webhook and sync handlers on the emulators, after a warm-up event, and
// checks what the proxies counted.
func TestPathsAreCounted(t *testing.T) {
	ctx := t.Context()
	sys, err := awscount.StartSystem(ctx, map[string]string{"RetryBaseMillis": "100"})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()
	if _, err := sys.Deliver(ctx, awscount.Happy); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	got := map[awscount.Path]awscount.Event{}
	for _, p := range awscount.Paths {
		ev, err := sys.Deliver(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		got[p] = ev
		t.Logf("%s: webhook %s", p, ev.Webhook)
		t.Logf("%s: sync    %s", p, ev.Sync)
	}
	for _, p := range awscount.Paths {
		ev := got[p]
		if n := ev.Webhook["sqs:SendMessage"].Calls; n != 1 {
			t.Errorf("%s: webhook sent %d messages, want 1", p, n)
		}
		if n := ev.Sync["sqs:ReceiveMessage"].Calls; n < 1 {
			t.Errorf("%s: the event source received %d times, want at least 1", p, n)
		}
		if ev.All().Total("dynamodb:").WRU <= 0 {
			t.Errorf("%s: no write units counted", p)
		}
	}
	// Budgets of the happy path (issue 14), warm: the webhook reads the
	// cached connection and sends, nothing else; at most 2 read units.
	// The goal of 3 write units is not reached: 5 is what the
	// claims (one write for the plan's accept and shipment), the link
	// (one write, by the state's save, with the closed order's expiry) and
	// the order's one write (1 unit, packed under 1 KB, and the new
	// order's entries on gsi6 and gsi5) cost today; this holds it from
	// growing back.
	happy := got[awscount.Happy]
	if n := happy.Webhook.Billed(""); n > 2 {
		t.Errorf("happy: webhook made %d AWS calls before its answer, want at most 2 (%s)", n, happy.Webhook)
	}
	if d := happy.All().Total("dynamodb:"); d.RRU > 2 || d.WRU > 5 {
		t.Errorf("happy: %g RRU and %g WRU, want at most 2 and 5 (%s)", d.RRU, d.WRU, happy.All())
	}
	// The sync reads the order's state (1 unit), and its connection (half
	// a unit) only when its cache entry, 10 s old, expires during the run:
	// the SKUs match, so no alias is read (a Query, billed even when it
	// finds none).
	for _, p := range []awscount.Path{awscount.Happy, awscount.Known, awscount.Imported} {
		sync := got[p].Sync
		if n := sync["dynamodb:Query"].Calls; n != 0 {
			t.Errorf("%s: the sync made %d Query calls, want none (its SKUs need no alias): %s", p, n, sync)
		}
		if r := sync.Total("dynamodb:").RRU; r > 1.5 {
			t.Errorf("%s: the sync read %g units, want at most 1.5 (the order's state, its connection): %s", p, r, sync)
		}
	}
	// A later event of a synced order writes its state once (1 unit,
	// packed; its listing entries, keys only, stay: gsi6's key is when
	// the order entered its state, gsi5's its name), and nothing else: its link is not
	// written again (e79a1e2: it was, a put per event), nor its expiry,
	// which the first save of the closed order set to a week covering the
	// state's (it was an update per event). It reads its state (1 unit),
	// and the webhook and the sync each their connection (half a unit)
	// when a cache entry expires during the run.
	known := got[awscount.Known]
	if n := known.Sync["dynamodb:PutItem"].Calls; n != 1 {
		t.Errorf("known: %d puts, want 1 (the order's state; no link, no claims): %s", n, known.Sync)
	}
	if n := known.Sync["dynamodb:UpdateItem"].Calls; n != 0 {
		t.Errorf("known: %d updates, want none (the link's expiry covers the state's): %s", n, known.Sync)
	}
	if d := known.All().Total("dynamodb:"); d.RRU > 2 || d.WRU > 1 {
		t.Errorf("known: %g RRU and %g WRU, want at most 2 and 1 (%s)", d.RRU, d.WRU, known.All())
	}
	// The fulfilment of an order ordersync imported (its state, link and
	// acceptance written by the import): the shipment's claim and the
	// state (1 unit; its listing entries stay). The link the import made
	// lasts long enough for the closed order already (order.LinkSlack);
	// it was given the closed order's expiry then, a third unit.
	// The import of a new marketplace order: its claim and its accept's
	// in one write, the store order's link, and the state once (its first
	// write: 1 unit, its gsi6 entry and, the store's name recorded, its
	// gsi5 one). The accept's claim was a write of its own. It wrote the state twice (its second
	// write moving its gsi6 entry), the link twice and confirmed its
	// claim by itself: 10 units.
	if d := got[awscount.Import].Sync.Total("dynamodb:"); d.WRU > 5 {
		t.Errorf("import: %g WRU, want at most 5 (%s)", d.WRU, got[awscount.Import].Sync)
	}
	// A transient failure retried tells nobody, so its sync has no email
	// mark to forget: it deleted one each time, a write unit (even of an
	// item that is not there).
	if n := got[awscount.Retried].Sync["dynamodb:DeleteItem"].Calls; n != 0 {
		t.Errorf("retried: %d deletes, want none (no mark was set): %s", n, got[awscount.Retried].Sync)
	}
	imported := got[awscount.Imported]
	if d := imported.Sync.Total("dynamodb:"); d.WRU > 2 {
		t.Errorf("imported: %g WRU, want at most 2 (%s)", d.WRU, imported.Sync)
	}
	if n := got[awscount.Failed].Sync["sesv2:SendEmail"].Calls; n != 1 {
		t.Errorf("failed: %d emails sent, want 1", n)
	}
	if n := got[awscount.Happy].Sync["sesv2:SendEmail"].Calls; n != 0 {
		t.Errorf("happy: %d emails sent, want 0", n)
	}
	if a, b := got[awscount.Retried].Sync.Billed("sqs:"), got[awscount.Happy].Sync.Billed("sqs:"); a <= b {
		t.Errorf("retried: %d SQS requests, not more than the happy path's %d", a, b)
	}
}

// TestCopiesOfOneDelivery: 5 concurrent copies of one webhook are each
// answered 2xx after at most 2 AWS calls (the connection, cached, and the
// message), and the marketplace order is accepted once and shipped once.
func TestCopiesOfOneDelivery(t *testing.T) {
	ctx := t.Context()
	sys, err := awscount.StartSystem(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()
	if _, err := sys.Deliver(ctx, awscount.Happy); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	const copies = 5
	ev, mkID, err := sys.DeliverCopies(ctx, awscount.Happy, copies)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("webhook %s; sync %s", ev.Webhook, ev.Sync)
	if n := ev.Webhook.Billed(""); n > 2*copies {
		t.Errorf("webhook: %d AWS calls for %d copies, want at most 2 each", n, copies)
	}
	accepts, ships := 0, 0
	for _, c := range sys.Sandbox.Calls() {
		if c.OrderID != mkID || c.Status >= 300 || c.NewState == 0 {
			continue
		}
		switch c.NewState {
		case backmarkettest.LineShipped:
			ships++
		default:
			accepts++
		}
	}
	if accepts != 1 || ships != 1 {
		t.Errorf("marketplace: %d accepting and %d shipping calls of order %s, want 1 each (calls %+v)", accepts, ships, mkID, sys.Sandbox.Calls())
	}
}
