package localsystem_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/infra/ordersync/operator"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// TestRedriveFromTheDLQAfterTheFix is the operator's path: two orders
// fail for different causes; the merchant fixes one (reconnects the
// expired token); the operator redrives the DLQ with StartMessageMoveTask
// as the console's "Start DLQ redrive" does by default, to the messages'
// source queue (SQS moved them there, so it knows it). The fixed order
// syncs from today's data; the other returns to the DLQ. Redriven again,
// to the sync queue named as a custom destination, it fails and returns
// once more. Nobody is emailed twice.
func TestRedriveFromTheDLQAfterTheFix(t *testing.T) {
	ctx := context.Background()
	noTracking, expired := newOrder(t), newOrder(t)

	post(t, localsystem.FulfilledOrder(noTracking, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	waitSync(t, noTracking, order.SyncFailed)

	sys.Sandbox.SetFault(backmarkettest.Fault{Status: 401})
	t.Cleanup(sys.Sandbox.ClearFaults)
	post(t, localsystem.FulfilledOrder(expired, localsystem.Tracking{Number: "6A55555555555", Carrier: "Colissimo"}, time.Now()))
	if st := waitSync(t, expired, order.SyncHeld); st.Sync.ErrorCode != "auth_expired" {
		t.Fatalf("error code = %q, want auth_expired", st.Sync.ErrorCode)
	}
	conn, err := sys.Store.Connection(ctx, localsystem.DemoConnection)
	if err != nil || !conn.Paused {
		t.Fatalf("connection = %+v, %v; want it paused", conn, err)
	}
	waitMails(t, noTracking.Name, 1)
	waitMails(t, expired.Name, 1)

	// The merchant reconnects: the marketplace takes the token again.
	sys.Sandbox.ClearFaults()
	conn.Paused = false
	if err := sys.Store.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	failedAt := waitSync(t, noTracking, order.SyncFailed).Sync.At
	// Both are in the DLQ (the redrive policy moves them after their last
	// quick receive), with their reasons.
	if !inDLQ(t, noTracking, "shipping_data_missing") || !inDLQ(t, expired, "auth_expired") {
		t.Fatal("the failures never reached the DLQ")
	}

	// The operator redrives the DLQ to the source queue: no destination.
	redriveDLQ(t, "")

	if st := waitSync(t, expired, order.SyncSynced); st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("redriven order: marketplace status %q, want shipped", st.MarketplaceStatus)
	}
	// Counted as a redrive, though the console's keeps nothing on the
	// message: the order records the event failed for good.
	if !redrivenLogged(expired, "auth_expired") {
		t.Error("no redriven line (the metric) for the order redriven from the console")
	}
	for _, c := range callsFor(expired) {
		if c.NewState == 3 && c.Status < 300 && c.TrackingNumber != "6A55555555555" {
			t.Errorf("ship call = %+v, want the order's tracking number", c)
		}
	}
	// The order whose cause is still there fails again and is back in
	// the DLQ; then once more through a custom destination.
	for _, destination := range []string{"", sys.Stack.Attr("SyncQueue", "Arn")} {
		if destination != "" {
			redriveDLQ(t, destination)
		}
		failedAt = waitFailedAgain(t, noTracking, failedAt)
		if !inDLQ(t, noTracking, "shipping_data_missing") {
			t.Fatalf("order %s is not back in the DLQ (destination %q)", noTracking.Name, destination)
		}
	}
	// No second email for either order.
	waitMails(t, noTracking.Name, 1)
	waitMails(t, expired.Name, 1)
}

// redriveDLQ moves the sync DLQ's messages to destination ("": their
// source queue, the console's default) and waits for the task to end.
func redriveDLQ(t *testing.T, destination string) {
	t.Helper()
	dlqARN := sys.Stack.Attr("SyncDLQ", "Arn")
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)}
	if destination != "" {
		in.DestinationArn = aws.String(destination)
	}
	if _, err := sys.Clients.SQS.StartMessageMoveTask(context.Background(), in); err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	waitMoveTask(t, dlqARN)
}

// waitFailedAgain waits until the order's sync failed again, after
// failedAt, with shipping_data_missing, and returns when.
func waitFailedAgain(t *testing.T, o localsystem.DemoOrder, failedAt time.Time) time.Time {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := sys.Store.LoadOrder(context.Background(), localsystem.DemoConnection, fmt.Sprint(o.MarketplaceID))
		if err == nil && st.Sync.At.After(failedAt) {
			if st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != "shipping_data_missing" {
				t.Errorf("redriven unfixed order: sync = %+v, want failed with shipping_data_missing", st.Sync)
			}
			return st.Sync.At
		}
		if time.Now().After(deadline) {
			t.Fatal("the redriven unfixed order was never handled again")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitMoveTask waits until the DLQ's newest message move task completed.
func waitMoveTask(t *testing.T, source string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := sys.Clients.SQS.ListMessageMoveTasks(context.Background(), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(source), MaxResults: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Results) == 1 {
			switch s := aws.ToString(out.Results[0].Status); s {
			case "COMPLETED":
				return
			case "FAILED", "CANCELLED":
				t.Fatalf("move task %s: %s", s, aws.ToString(out.Results[0].FailureReason))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the message move task never completed")
}

// waitMails waits until exactly want emails name the order, failing if
// there are more, or still fewer after a while.
func waitMails(t *testing.T, name string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all, err := sys.AWS.Mails(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range all {
			if strings.Contains(m.Subject, "order "+name) {
				n++
			}
		}
		if n > want {
			t.Fatalf("%d emails name order %s, want %d", n, name, want)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emails name order %s, want %d", n, name, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// inDLQ reports whether the DLQ holds a message for the order with code,
// as the operator's CLI lists it (the reason from the order's state),
// waiting for it a while. The messages it reads stay in the DLQ, visible
// again at once for the other tests.
func inDLQ(t *testing.T, o localsystem.DemoOrder, code string) bool {
	t.Helper()
	op := cli()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		_, all, err := op.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range all {
			if d.MarketplaceOrderID == fmt.Sprint(o.MarketplaceID) && d.Code == code {
				return true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// cli is the operator's CLI core on this system.
func cli() *operator.Operator {
	return operator.New(operator.Config{SyncQueueURL: sys.Stack.Ref("SyncQueue"), DLQURL: sys.Stack.Ref("SyncDLQ")},
		sys.Clients.SQS, sys.Store, sqsqueue.New(sys.Clients.SQS, sys.Stack.Ref("SyncQueue")))
}

// TestFilteredRedriveWithTheCLI is `ordersync dlq redrive -since`: two
// orders fail one after the other; the operator redrives only the
// failures since the first. The later order is synced again (and, its
// cause still there, is back in the DLQ); the earlier stays in the DLQ,
// not synced again.
func TestFilteredRedriveWithTheCLI(t *testing.T) {
	ctx := context.Background()
	early, late := newOrder(t), newOrder(t)
	post(t, localsystem.FulfilledOrder(early, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	earlyAt := waitSync(t, early, order.SyncFailed).Sync.At
	if !inDLQ(t, early, "shipping_data_missing") {
		t.Fatal("the first failure never reached the DLQ")
	}
	since := time.Now()
	post(t, localsystem.FulfilledOrder(late, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	lateAt := waitSync(t, late, order.SyncFailed).Sync.At
	if !inDLQ(t, late, "shipping_data_missing") {
		t.Fatal("the second failure never reached the DLQ")
	}

	res, err := cli().Redrive(ctx, operator.Filter{Connection: localsystem.DemoConnection, Code: "shipping_data_missing", Since: since}, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Matched != 1 || res.Redriven != 1 {
		t.Errorf("redrive = %+v, want the later failure only", res)
	}
	waitFailedAgain(t, late, lateAt)
	if !inDLQ(t, late, "shipping_data_missing") {
		t.Errorf("order %s is not back in the DLQ", late.Name)
	}
	if !inDLQ(t, early, "shipping_data_missing") {
		t.Errorf("order %s left the DLQ", early.Name)
	}
	if st, err := sys.Store.LoadOrder(ctx, localsystem.DemoConnection, fmt.Sprint(early.MarketplaceID)); err != nil || !st.Sync.At.Equal(earlyAt) {
		t.Errorf("earlier order: sync = %+v, %v; want it untouched since %s", st.Sync, err, earlyAt)
	}
	// (Its emails are TestRedriveFromTheDLQAfterTheFix's subject: here,
	// after the other tests' failures, the connection's digest may take
	// their place.)
}

// TestReconnectResumesHeldOrders is the merchant's path after an expired
// key: the connection pauses and holds the order; once the marketplace
// takes the key again, the hourly refresh resumes the connection and the
// held order syncs, with no operator involved.
func TestReconnectResumesHeldOrders(t *testing.T) {
	ctx := context.Background()
	o := newOrder(t)
	sys.Sandbox.SetFault(backmarkettest.Fault{Status: 401})
	t.Cleanup(sys.Sandbox.ClearFaults)
	t.Cleanup(func() { _ = sys.Store.ResumeConnection(ctx, localsystem.DemoConnection) })
	post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A77777777777", Carrier: "Colissimo"}, time.Now()))
	waitSync(t, o, order.SyncHeld)
	// The sync dead-letters last: once there, the failure is all recorded.
	if !inDLQ(t, o, "auth_expired") {
		t.Fatal("the held order never reached the DLQ")
	}

	sys.Sandbox.ClearFaults() // the merchant's new key works
	resp, err := http.Post(sys.APIURL+"/_local/schedules/Hourly", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("firing the schedule: %s", resp.Status)
	}
	if st := waitSync(t, o, order.SyncSynced); st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("marketplace status %q, want shipped", st.MarketplaceStatus)
	}
	if c, _ := sys.Store.Connection(ctx, localsystem.DemoConnection); c.Paused {
		t.Error("connection still paused")
	}
}

// redrivenLogged reports whether the sync logged the redrive of o's event,
// dead-lettered for code, as the "redriven" metric's line.
func redrivenLogged(o localsystem.DemoOrder, code string) bool {
	for _, line := range logs.lines() {
		if bytes.Contains(line, []byte(`"msg":"redriven message received"`)) && bytes.Contains(line, []byte(`"dead_lettered_for":"`+code+`"`)) &&
			bytes.Contains(line, []byte(`"redriven":1`)) {
			return true
		}
	}
	return false
}
