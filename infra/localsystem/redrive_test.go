package localsystem_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

// TestRedriveFromTheDLQAfterTheFix is the operator's path: two orders
// fail for different causes; the merchant fixes one (reconnects the
// expired token); the operator redrives the DLQ with StartMessageMoveTask,
// as the console's "Start DLQ redrive" does. The fixed order syncs from
// today's data; the other returns to the DLQ, and nobody is emailed twice.
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

	// The operator redrives the DLQ into the sync queue.
	dlqARN, queueARN := sys.Stack.Attr("SyncDLQ", "Arn"), sys.Stack.Attr("SyncQueue", "Arn")
	if _, err := sys.Clients.SQS.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{
		SourceArn: aws.String(dlqARN), DestinationArn: aws.String(queueARN)}); err != nil {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
	waitMoveTask(t, dlqARN)

	if st := waitSync(t, expired, order.SyncSynced); st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("redriven order: marketplace status %q, want shipped", st.MarketplaceStatus)
	}
	for _, c := range callsFor(expired) {
		if c.NewState == 3 && c.Status < 300 && c.TrackingNumber != "6A55555555555" {
			t.Errorf("ship call = %+v, want the order's tracking number", c)
		}
	}
	// The order whose cause is still there fails again...
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := sys.Store.LoadOrder(ctx, localsystem.DemoConnection, fmt.Sprint(noTracking.MarketplaceID))
		if err == nil && st.Sync.At.After(failedAt) {
			if st.Sync.Result != order.SyncFailed || st.Sync.ErrorCode != "shipping_data_missing" {
				t.Errorf("redriven unfixed order: sync = %+v, want failed with shipping_data_missing", st.Sync)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the redriven unfixed order was never handled again")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// ...and is back in the DLQ with its reason...
	if !inDLQ(t, noTracking, "shipping_data_missing") {
		t.Errorf("order %s is not back in the DLQ", noTracking.Name)
	}
	// ...with no second email for either order.
	waitMails(t, noTracking.Name, 1)
	waitMails(t, expired.Name, 1)
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
// waiting for it a while. The messages it reads stay in the DLQ, visible
// again at once for the other tests.
func inDLQ(t *testing.T, o localsystem.DemoOrder, code string) bool {
	t.Helper()
	ctx := context.Background()
	dlq := aws.String(sys.Stack.Ref("SyncDLQ"))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		out, err := sys.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq,
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1, VisibilityTimeout: 2})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range out.Messages {
			key := aws.ToString(m.MessageAttributes["order_key"].StringValue)
			if strings.HasSuffix(key, "/"+fmt.Sprint(o.MarketplaceID)) && aws.ToString(m.MessageAttributes["error_code"].StringValue) == code {
				found = true
			}
			_, _ = sys.Clients.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: dlq, ReceiptHandle: m.ReceiptHandle})
		}
		if found {
			return true
		}
	}
	return false
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
