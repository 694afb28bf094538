package syncbatch_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestShipAcceptsFirstAndSyncs(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	if resp := e.deliver(shipped(mk, store, "6A123", time.Now()), 1); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	st := e.state(mk)
	if st.Sync.Result != order.SyncSynced || st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("state = %+v, want synced and shipped", st.Sync)
	}
	if ok, _ := e.callsFor(mk); ok != 2 {
		t.Errorf("calls = %d, want accept then ship", ok)
	}
	if got, err := e.store.FindOrder(context.Background(), "acme", store); err != nil || got != mk {
		t.Errorf("store order link = %q, %v; want %s", got, err, mk)
	}
}

func TestDuplicateAndReplayMakeNoSecondCall(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	ev := shipped(mk, store, "6A123", time.Now())
	e.deliver(ev, 1)
	ev.SourceEventID = "redelivered-with-another-id"
	e.deliver(ev, 1)
	e.deliver(ev, 1)
	if ok, _ := e.callsFor(mk); ok != 2 {
		t.Errorf("marketplace calls = %d, want 2 (one accept, one ship) whatever the duplicates", ok)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Errorf("sync = %+v", st.Sync)
	}
}

func TestPermanentFailureIsRecordedEmailedOnceAndDeadLettered(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	ev := shipped(mk, store, "", time.Now())
	if resp := e.deliver(ev, 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("a permanent failure must not be retried: failures = %v", resp.BatchItemFailures)
	}
	st := e.state(mk)
	if st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != string(syncerr.ShippingDataMissing) {
		t.Errorf("sync = %+v, want failed with shipping_data_missing", st.Sync)
	}
	if ok, refused := e.callsFor(mk); ok+refused != 0 {
		t.Errorf("marketplace calls = %d, want none", ok+refused)
	}
	dl := e.deadLetters()
	if len(dl) != 1 || dl[0]["error_code"] != "shipping_data_missing" || dl[0]["order_key"] != "acme/"+mk || dl[0]["attempts"] != "1" || dl[0]["first_failed_at"] == "" {
		t.Errorf("DLQ = %v, want one message with its reason", dl)
	}
	errs, err := e.store.RecentErrors(context.Background(), "acme", time.Now().Add(-7*24*time.Hour), 20)
	if err != nil || len(errs) != 1 || errs[0].Code != "shipping_data_missing" || errs[0].Remedy == "" {
		t.Errorf("recent errors = %+v, %v", errs, err)
	}
	// A redrive with the cause still there: back to the DLQ, no second email.
	e.deliver(ev, 1)
	if got := e.notes.count(); got != 1 {
		t.Errorf("emails = %d, want 1 for the same order and problem", got)
	}
	if dl := e.deadLetters(); len(dl) != 1 {
		t.Errorf("redriven message: DLQ = %v, want it back there", dl)
	}
}

func TestFixThenRedriveApplies(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	at := time.Now()
	old := shipped(mk, store, "", at)
	e.deliver(old, 1)
	// The merchant adds the tracking number: the store sends a newer event.
	e.deliver(shipped(mk, store, "6A999", at.Add(time.Minute)), 1)
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Fatalf("after the fix: sync = %+v, want synced", st.Sync)
	}
	// The operator redrives the old message: nothing more happens.
	if resp := e.deliver(old, 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("redriven stale message failed: %v", resp.BatchItemFailures)
	}
	if ok, _ := e.callsFor(mk); ok != 2 {
		t.Errorf("calls = %d, want 2", ok)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced || st.Parcels[0].Tracking.Number != "6A999" {
		t.Errorf("after redrive: %+v", st)
	}
}

func TestTransientFailureRetriesThenDeadLetters(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	e.fake.SetFault(backmarkettest.Fault{Status: 503})
	e.send(shipped(mk, store, "6A123", time.Now()))
	for attempt := 1; attempt <= 2; attempt++ {
		resp, ok := e.receive(e.proc)
		if !ok || len(resp.BatchItemFailures) != 1 {
			t.Fatalf("attempt %d: received %v, failures = %v, want the message retried", attempt, ok, resp.BatchItemFailures)
		}
		if got := e.held().Receives; got != attempt {
			t.Errorf("attempt %d: receive count = %d", attempt, got)
		}
		if st := e.state(mk); st.Sync.Result != order.SyncPending || st.Sync.ErrorCode != "marketplace_unavailable" {
			t.Errorf("attempt %d: sync = %+v, want pending", attempt, st.Sync)
		}
		e.clock.add(e.retryIn())
	}
	if e.notes.count() != 0 || len(e.deadLetters()) != 0 {
		t.Fatal("retries must not email or dead-letter")
	}
	if resp, ok := e.receive(e.proc); !ok || len(resp.BatchItemFailures) != 0 {
		t.Errorf("last attempt: received %v, failures = %v, want it dead-lettered", ok, resp.BatchItemFailures)
	}
	if _, _, total := e.queue.Counts(); total != 0 {
		t.Errorf("the sync queue holds %d messages after the last try, want 0", total)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncFailed || st.Sync.Attempts != 3 {
		t.Errorf("after the last try: sync = %+v, want failed after 3", st.Sync)
	}
	if dl := e.deadLetters(); len(dl) != 1 || dl[0]["error_code"] != "marketplace_unavailable" || dl[0]["attempts"] != "3" {
		t.Errorf("DLQ = %v", dl)
	}
	if e.notes.count() != 1 || e.notes.sent[0].Attempts != 3 {
		t.Errorf("emails = %+v, want one about a retried failure", e.notes.sent)
	}
}

func TestExpiredTokenPausesTheConnection(t *testing.T) {
	e := newEnv(t)
	e.fake.SetFault(backmarkettest.Fault{Status: 401})
	mk1, s1 := e.order()
	mk2, s2 := e.order()
	e.deliver(shipped(mk1, s1, "6A1", time.Now()), 1)
	e.fake.ClearFaults()
	e.deliver(shipped(mk2, s2, "6A2", time.Now()), 1)
	c, _ := e.store.Connection(context.Background(), "acme")
	if !c.Paused {
		t.Error("connection not paused after auth_expired")
	}
	for _, mk := range []string{mk1, mk2} {
		if st := e.state(mk); st.Sync.Result != order.SyncHeld || st.Sync.ErrorCode != "auth_expired" {
			t.Errorf("order %s: sync = %+v, want held with auth_expired", mk, st.Sync)
		}
	}
	if ok, _ := e.callsFor(mk2); ok != 0 {
		t.Error("a paused connection must not call the marketplace")
	}
	if got := e.notes.count(); got != 1 {
		t.Errorf("emails = %d, want one for the connection", got)
	}
	if dl := e.deadLetters(); len(dl) != 2 {
		t.Errorf("DLQ = %v, want both events kept for after the reconnect", dl)
	}
}

func TestUnsupportedPlatformAndUnreadableMessages(t *testing.T) {
	e := newEnv(t)
	unsupported := e.conn
	unsupported.ID, unsupported.Marketplace.Platform = "amz", "cdiscount"
	if err := e.store.PutConnection(context.Background(), unsupported); err != nil {
		t.Fatal(err)
	}
	ev := shipped("AMZ-1", "55", "6A1", time.Now())
	ev.Connection = "amz"
	e.deliver(ev, 1)
	if st, _ := e.store.LoadOrder(context.Background(), "amz", "AMZ-1"); st.Sync.ErrorCode != "platform_unsupported" {
		t.Errorf("sync = %+v, want platform_unsupported", st.Sync)
	}
	if resp := e.deliver("not an event", 1); len(resp.BatchItemFailures) != 0 {
		t.Errorf("unreadable message: failures = %v, want it dead-lettered", resp.BatchItemFailures)
	}
	dl := e.deadLetters()
	codes := map[string]bool{}
	for _, a := range dl {
		codes[a["error_code"]] = true
	}
	if !codes["platform_unsupported"] || !codes["invalid_data"] {
		t.Errorf("DLQ codes = %v, want platform_unsupported and invalid_data", codes)
	}
}

func TestPanicFailsOnlyItsMessage(t *testing.T) {
	e := newEnv(t)
	boom := e.conn
	boom.ID, boom.Marketplace.Platform = "boom", "exploding"
	if err := e.store.PutConnection(context.Background(), boom); err != nil {
		t.Fatal(err)
	}
	mk, store := e.order()
	proc := e.processorOn(config{}, e.store, marketplacesFunc(func(_ context.Context, conn order.Connection) (syncer.Marketplace, error) {
		if conn.ID == "boom" {
			panic("connector bug")
		}
		return backmarket.New(&http.Client{}, backmarket.Options{BaseURL: conn.Marketplace.BaseURL, Token: "bm-token"}), nil
	}), e.dlq)
	bad := shipped("B-1", "77", "6A1", time.Now())
	bad.Connection = "boom"
	msgs := e.take(1, bad, shipped(mk, store, "6A2", time.Now()))
	resp, err := e.handle(context.Background(), proc, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != msgs[0].MessageId {
		t.Errorf("failures = %+v, want only the panicking message", resp.BatchItemFailures)
	}
	if st := e.state(mk); st.Sync.Result != order.SyncSynced {
		t.Errorf("the other order: sync = %+v, want synced", st.Sync)
	}
}

func TestNoNewWorkNearTheDeadline(t *testing.T) {
	e := newEnv(t)
	mk, store := e.order()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // under the 5 s margin
	defer cancel()
	resp, err := e.handle(ctx, e.proc, e.take(1, shipped(mk, store, "6A1", time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 {
		t.Errorf("failures = %+v, want the unstarted message reported", resp.BatchItemFailures)
	}
	if ok, refused := e.callsFor(mk); ok+refused != 0 {
		t.Error("a message started with too little time left")
	}
}
