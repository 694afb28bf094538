package localsystem_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/refreshbatch"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// refreshWorld is a connection of its own for the refresh's end-to-end
// tests: a Shopify store and a Back Market account, both fakes served by
// this test, both taking the sandbox's token (a secret the system holds).
type refreshWorld struct {
	conn string
	shop *shopifytest.Server
	mp   *backmarkettest.Server
}

func newRefreshWorld(t *testing.T, id string) *refreshWorld {
	t.Helper()
	token := sys.Secrets[localsystem.SandboxTokenRef]
	w := &refreshWorld{conn: id, shop: shopifytest.New(token), mp: backmarkettest.New(backmarkettest.Options{Token: token})}
	shop := httptest.NewServer(w.shop)
	t.Cleanup(shop.Close)
	mp := httptest.NewServer(w.mp)
	t.Cleanup(mp.Close)
	c := order.Connection{ID: id, MerchantName: "Refresh test", MerchantEmail: "refresh@merchant.test",
		Store:       order.Endpoint{Platform: order.Shopify, BaseURL: shop.URL, CredentialRef: localsystem.SandboxTokenRef},
		Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: mp.URL, CredentialRef: localsystem.SandboxTokenRef}}
	ctx := context.Background()
	if err := sys.Store.PutConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Store.DeleteConnection(ctx, id) })
	return w
}

// order seeds an order on both sides, accepted and linked, as ordersync
// left it after its last sync, and returns its marketplace id.
func (w *refreshWorld) order(t *testing.T, id int64, placed time.Time, sync order.SyncOutcome) (mk, storeID string) {
	t.Helper()
	ctx := context.Background()
	so := w.shop.AddOrder(shopifytest.Order{UpdatedAt: placed, LineItems: []shopifytest.LineItem{{SKU: "SKU-A", Quantity: 1}}})
	o := backmarkettest.AwaitingAcceptance(id, "SKU-A")
	o.State, o.OrderLines[0].State, o.DateModification = backmarkettest.OrderToShip, backmarkettest.LineAccepted, placed.UTC().Format(time.RFC3339)
	w.mp.Seed(o)
	mk = strconv.FormatInt(id, 10)
	if err := sys.Store.LinkOrder(ctx, w.conn, so.ID, mk); err != nil {
		t.Fatal(err)
	}
	_, err := sys.Store.SaveOrder(ctx, order.State{Connection: w.conn, Ref: order.Ref{MarketplaceOrderID: mk, StoreOrderID: so.ID, StoreOrderName: so.Name},
		StoreStatus: order.StatusAccepted, StoreUpdatedAt: placed, MarketplaceStatus: order.StatusAccepted, MarketplaceState: "3",
		Lines: []order.Line{{SKU: "SKU-A", Quantity: 1, StoreLineID: so.LineItems[0].ID}}, Sync: sync})
	if err != nil {
		t.Fatal(err)
	}
	return mk, so.ID
}

// ship records a shipment of the store order at at, as the merchant made
// it in the store (its webhook is lost: nothing is posted).
func (w *refreshWorld) ship(t *testing.T, storeID string, at time.Time, tracking shopifytest.Tracking) {
	t.Helper()
	ok := w.shop.UpdateOrder(storeID, func(o *shopifytest.Order) {
		o.Fulfillments = append(o.Fulfillments, shopifytest.Fulfillment{ID: "f" + storeID, Status: "SUCCESS",
			Tracking: []shopifytest.Tracking{tracking}, Lines: []shopifytest.FulfilledLine{{LineItemID: o.LineItems[0].ID, Quantity: 1}}})
		o.FulfillmentOrders[0].Status = "CLOSED"
		o.UpdatedAt = at
	})
	if !ok {
		t.Fatalf("no store order %s", storeID)
	}
}

// fireRefresh runs the hourly schedule now, as EventBridge would.
func fireRefresh(t *testing.T) {
	t.Helper()
	resp, err := http.Post(sys.APIURL+"/_local/schedules/Hourly", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("firing the schedule: %s", resp.Status)
	}
}

// waitState polls an order's state until ok says yes.
func waitState(t *testing.T, conn, mk string, what string, ok func(order.State) bool) order.State {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var st order.State
	for time.Now().Before(deadline) {
		var err error
		if st, err = sys.Store.LoadOrder(context.Background(), conn, mk); err == nil && ok(st) {
			return st
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("order %s/%s: never %s; last state %+v", conn, mk, what, st)
	return st
}

// waitReport waits for a drift report of conn newer than after.
func waitReport(t *testing.T, conn string, after time.Time) refresh.Report {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		reps, err := sys.Store.Reports(context.Background(), conn, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) == 1 && reps[0].FinishedAt.After(after) {
			return reps[0]
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no drift report for %s after %v", conn, after)
	return refresh.Report{}
}

// TestTheRefreshCatchesWhatWebhooksLost is the safety net end to end: the
// schedule fans out one job per connection; the worker of this one finds a
// shipment whose webhook was lost, a failed order the merchant fixed in the
// store, and a cancellation made in the marketplace's back office, and the
// sync carries out the first two and leaves the third alone.
func TestTheRefreshCatchesWhatWebhooksLost(t *testing.T) {
	w := newRefreshWorld(t, "e2e-refresh")
	placed := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	synced := order.SyncOutcome{Result: order.SyncSynced, At: placed}

	lostMK, lostStore := w.order(t, 9501, placed, synced)
	w.ship(t, lostStore, time.Now().Add(-30*time.Minute), shopifytest.Tracking{Company: "Colissimo", Number: "6A11111111111"})

	// Failed: the merchant marked it shipped without a tracking number; has
	// added one since, and that webhook was lost too.
	fixedMK, fixedStore := w.order(t, 9502, placed, order.SyncOutcome{Result: order.SyncFailed, ErrorCode: "shipping_data_missing", Attempts: 1, At: placed})
	w.ship(t, fixedStore, time.Now().Add(-20*time.Minute), shopifytest.Tracking{Company: "Colissimo", Number: "6A22222222222"})

	cancelMK, _ := w.order(t, 9503, placed, synced)
	c := backmarkettest.AwaitingAcceptance(9503, "SKU-A")
	c.State, c.OrderLines[0].State = backmarkettest.OrderCancelled, backmarkettest.LineCancelled
	w.mp.Seed(c)

	started := time.Now()
	fireRefresh(t)
	shipped := func(st order.State) bool {
		return st.Sync.Result == order.SyncSynced && st.MarketplaceStatus == order.StatusShipped
	}
	waitState(t, w.conn, lostMK, "shipped on the marketplace", shipped)
	st := waitState(t, w.conn, fixedMK, "shipped on the marketplace", shipped)
	if st.Resolved == nil || st.Resolved.Code != "shipping_data_missing" || st.Resolved.How != refresh.TopicStoreChanged {
		t.Errorf("healed order resolved = %+v, want shipping_data_missing resolved by %s", st.Resolved, refresh.TopicStoreChanged)
	}
	st = waitState(t, w.conn, cancelMK, "recorded as cancelled by hand", func(st order.State) bool { return st.ManualChange != nil })
	if st.MarketplaceStatus != order.StatusCancelled || st.ManualChange.To != order.StatusCancelled {
		t.Errorf("cancelled order %+v: want the back-office cancellation recorded", st)
	}
	for _, call := range w.mp.Calls() {
		if call.OrderID == cancelMK {
			t.Errorf("the sync called the marketplace for the order cancelled by hand: %+v", call)
		}
	}
	rep := waitReport(t, w.conn, started)
	if rep.Recovered.Count != 1 || rep.Retried.Count != 1 || rep.ChangedByHand.Count != 1 {
		t.Errorf("report recovered %+v retried %+v changed by hand %+v; want one each", rep.Recovered, rep.Retried, rep.ChangedByHand)
	}
	for _, mk := range []string{lostMK, fixedMK} {
		if n := len(w.callsFor(mk)); n == 0 {
			t.Errorf("no marketplace call for %s", mk)
		}
	}
}

func (w *refreshWorld) callsFor(mk string) []backmarkettest.Call {
	var out []backmarkettest.Call
	for _, c := range w.mp.Calls() {
		if c.OrderID == mk {
			out = append(out, c)
		}
	}
	return out
}

// TestAConnectionWhoseMarketplaceIsDownIsDeadLetteredWithItsReason: the
// marketplace answers 503 for the whole run; the job is tried again, then
// failed for good with its reason on the connection's report for the hour
// (what the merchant reads), and moved to the refresh DLQ by the queue's
// redrive policy, while the other connections' jobs finish. Redriven to
// its source (the console's default), it runs again and, the marketplace
// back, its report replaces the failed one.
func TestAConnectionWhoseMarketplaceIsDownIsDeadLetteredWithItsReason(t *testing.T) {
	ctx := context.Background()
	up := newRefreshWorld(t, "e2e-up")
	down := newRefreshWorld(t, "e2e-down")
	down.mp.SetFault(backmarkettest.Fault{Status: 503})
	started := time.Now()
	fireRefresh(t)
	if rep := waitReport(t, up.conn, started); rep.Connection != up.conn {
		t.Errorf("report %+v", rep)
	}
	// Its tries wait 15 s, then 30 s (REFRESH_RETRY_BASE_SECONDS).
	var failed refresh.Report
	for deadline := time.Now().Add(120 * time.Second); failed.Failed == nil; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no failed report for %s", down.conn)
		}
		reps, err := sys.Store.Reports(ctx, down.conn, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) == 1 && reps[0].FinishedAt.After(started) {
			failed = reps[0]
		}
	}
	if failed.Failed == nil || failed.Failed.Code != "marketplace_unavailable" || failed.Failed.Detail == "" ||
		failed.Failed.Cause != syncerr.ExplainRefresh(syncerr.E(syncerr.MarketplaceUnavailable)).Cause || failed.Failed.Attempts != 3 {
		t.Fatalf("report of the connection that was down = %+v, want its failure after 3 tries", failed)
	}
	dlqURL := sys.Stack.Ref("RefreshDLQ")
	deadline := time.Now().Add(30 * time.Second)
	for !inRefreshDLQ(t, dlqURL, down.conn) {
		if time.Now().After(deadline) {
			t.Fatalf("no job for %s in the refresh DLQ", down.conn)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Fixed, then redriven to the source queue: the job runs again.
	down.mp.ClearFaults()
	dlqARN := sys.Stack.Attr("RefreshDLQ", "Arn")
	if _, err := sys.Clients.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)}); err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	waitMoveTask(t, dlqARN)
	if rep := waitReport(t, down.conn, failed.FinishedAt); rep.Failed != nil || !rep.At.Equal(failed.At) {
		t.Errorf("report after the redrive = %+v, want the same hour's, refreshed", rep)
	}
}

// inRefreshDLQ reports whether the refresh DLQ holds a job for conn. The
// messages it reads are made visible again at once.
func inRefreshDLQ(t *testing.T, dlqURL, conn string) bool {
	t.Helper()
	ctx := context.Background()
	out, err := sys.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range out.Messages {
		if job, err := refreshbatch.DecodeJob(aws.ToString(m.Body)); err == nil && job.Connection == conn {
			found = true
		}
		if _, err := sys.Clients.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(dlqURL),
			ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
	}
	return found
}
