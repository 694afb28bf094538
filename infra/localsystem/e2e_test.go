package localsystem_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/localstack"
	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/infra/templatecheck"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

var sys *localsystem.System

// calls records every function's DynamoDB and SQS calls, which TestMain checks
// against the template's IAM once the tests have run.
var calls = templatecheck.NewRecorder()

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	// Every function's log lines, as CloudWatch Logs would receive them
	// (logs_test.go reads them), and its DynamoDB and SQS calls.
	sys, err = localsystem.Start(ctx, localsystem.Options{
		Log:      slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DynamoDB: func(fn string) []func(*dynamodb.Options) { return []func(*dynamodb.Options){calls.Options(fn)} },
		SQS:      func(fn string) []func(*sqs.Options) { return []func(*sqs.Options){calls.SQSOptions(fn)} },
	})
	if err == nil {
		err = sys.SeedDemo(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localsystem:", err)
		if sys != nil {
			sys.Stop()
		}
		os.Exit(1)
	}
	code := m.Run()
	sys.Stop()
	if code == 0 {
		code = checkIAM()
	}
	os.Exit(code)
}

// checkIAM fails the run when a function made a DynamoDB or SQS call its IAM in
// template.yaml does not grant: on AWS it would be denied. With
// ORDERSYNC_LIST_CALLS set it lists every call made.
func checkIAM() int {
	root, err := localaws.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localsystem:", err)
		return 1
	}
	tpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "localsystem:", err)
		return 1
	}
	if os.Getenv("ORDERSYNC_LIST_CALLS") != "" {
		for fn, cs := range calls.Calls() {
			for _, c := range cs {
				fmt.Fprintf(os.Stderr, "call %s: %s\n", fn, c)
			}
		}
	}
	queues := map[string]string{}
	for _, q := range tpl.Names("AWS::SQS::Queue") {
		queues[sys.Stack.Ref(q)] = q
	}
	denied, err := calls.Check(tpl, queues)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localsystem: IAM:", err)
		return 1
	}
	if len(denied) > 0 {
		fmt.Fprintf(os.Stderr, "localsystem: calls template.yaml does not grant (denied on AWS):\n  %s\n", strings.Join(denied, "\n  "))
		return 1
	}
	return 0
}

var nextID atomic.Int64

func init() { nextID.Store(7000) }

// newOrder seeds a marketplace order awaiting acceptance, as if imported
// into the store, with a fresh id.
func newOrder(t *testing.T) localsystem.DemoOrder {
	id := nextID.Add(1)
	o := localsystem.DemoOrder{MarketplaceID: id, StoreID: 450789000 + id, Name: fmt.Sprintf("#%d", id), SKUs: []string{"IPH12-64-BLK", "CASE-CLEAR"}}
	sys.SeedMarketplaceOrder(o)
	return o
}

// waitSync polls the order's state until its last sync ended as want.
func waitSync(t *testing.T, o localsystem.DemoOrder, want order.SyncResult) order.State {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(45 * time.Second)
	var st order.State
	for time.Now().Before(deadline) {
		var err error
		st, err = sys.Store.LoadOrder(ctx, localsystem.DemoConnection, fmt.Sprint(o.MarketplaceID))
		if err == nil && st.Sync.Result == want {
			return st
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("order %s: sync never ended %q; last state %+v", o.Name, want, st)
	return st
}

func post(t *testing.T, body []byte) {
	t.Helper()
	status, resp, err := sys.PostShopify(context.Background(), "orders/fulfilled", fmt.Sprintf("evt-%d", time.Now().UnixNano()), body)
	if err != nil || status != 202 {
		t.Fatalf("webhook = %d %s, %v; want 202", status, resp, err)
	}
}

func callsFor(o localsystem.DemoOrder) []backmarkettest.Call {
	var out []backmarkettest.Call
	for _, c := range sys.Sandbox.Calls() {
		if c.OrderID == fmt.Sprint(o.MarketplaceID) {
			out = append(out, c)
		}
	}
	return out
}

func TestFulfilledWithTrackingShipsOnTheMarketplace(t *testing.T) {
	o := newOrder(t)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A12345678901", Carrier: "Colissimo"}, time.Now()))
	st := waitSync(t, o, order.SyncSynced)
	if st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("marketplace status = %q, want shipped", st.MarketplaceStatus)
	}
	var accepted, shipped int
	for _, c := range callsFor(o) {
		switch {
		case c.NewState == 2 && c.Status < 300:
			accepted++
		case c.NewState == 3 && c.Status < 300:
			shipped++
			if c.TrackingNumber != "6A12345678901" || c.Shipper != "Colissimo" {
				t.Errorf("ship call = %+v, want the store's tracking number and carrier", c)
			}
		}
	}
	// Back Market acts per line: two lines, each accepted then shipped.
	if accepted != 2 || shipped != 2 {
		t.Errorf("calls = %+v; want 2 accepts then 2 ships", callsFor(o))
	}
	bm, _ := sys.Sandbox.Order(fmt.Sprint(o.MarketplaceID))
	if bm.State != 9 {
		t.Errorf("sandbox order state = %d, want 9 (shipped)", bm.State)
	}
}

func TestRateLimitedThenSynced(t *testing.T) {
	o := newOrder(t)
	sys.Sandbox.SetFault(backmarkettest.Fault{Status: 429, RetryAfter: "1", Count: 1, Methods: "POST"})
	t.Cleanup(sys.Sandbox.ClearFaults)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "1Z999AA10123456784", Carrier: "UPS"}, time.Now()))
	st := waitSync(t, o, order.SyncSynced)
	if st.Sync.Attempts != 2 {
		t.Errorf("attempts = %d, want 2: one refused with 429, then synced", st.Sync.Attempts)
	}
	limited := 0
	for _, c := range callsFor(o) {
		if c.Status == 429 {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("calls = %+v; want exactly one answered 429", callsFor(o))
	}
}

func TestMissingTrackingFailsWithOneEmail(t *testing.T) {
	o := newOrder(t)
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	st := waitSync(t, o, order.SyncFailed)
	if st.Sync.ErrorCode != "shipping_data_missing" {
		t.Errorf("error code = %q, want shipping_data_missing", st.Sync.ErrorCode)
	}
	if calls := callsFor(o); len(calls) != 0 {
		t.Errorf("marketplace calls = %+v, want none", calls)
	}
	// The failure is in the DLQ (its reason on the order), ready to be re-sent. The
	// sync emails before it dead-letters, so every email is sent by now.
	if !inDLQ(t, o, "shipping_data_missing") {
		t.Errorf("no DLQ message for order %d with error_code shipping_data_missing", o.MarketplaceID)
	}
	all, err := sys.AWS.Mails(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mails []string
	for _, m := range all {
		if strings.Contains(m.Subject, "order "+o.Name) {
			if m.Destination.To[0] != localsystem.DemoMerchantMail {
				t.Errorf("mail to %v, want %s", m.Destination.To, localsystem.DemoMerchantMail)
			}
			mails = append(mails, m.Body.Text)
		}
	}
	if len(mails) != 1 {
		t.Fatalf("%d emails name order %s, want exactly 1", len(mails), o.Name)
	}
	// The fix it names is a call on this system's own merchant API.
	fix := fmt.Sprintf("POST %s/connections/%s/orders/%d/fix", sys.APIURL, localsystem.DemoConnection, o.MarketplaceID)
	for _, want := range []string{o.Name, "tracking number", "Add the tracking number", fix} {
		if !strings.Contains(mails[0], want) {
			t.Errorf("email lacks %q:\n%s", want, mails[0])
		}
	}
}
