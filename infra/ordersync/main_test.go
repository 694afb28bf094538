package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/order"
)

// The CLI builds its clients with the SDK's default configuration; the
// emulators' variables (set by stacktest.Main) point it at them, as
// credentials and AWS_REGION point it at a deployed stack.
func TestMain(m *testing.M) { stacktest.Main(m) }

func TestCommands(t *testing.T) {
	st := stacktest.New(t, nil)
	queue, dlq := st.Ref("SyncQueue"), st.Ref("SyncDLQ")
	body, _ := order.EncodeMessage(order.Event{Connection: "acme", Source: order.Shopify, Order: order.Ref{MarketplaceOrderID: "7"}})
	if _, err := stacktest.Clients().SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(dlq), MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	stackFlags := []string{"-sync-queue-url", queue, "-dlq-url", dlq, "-table", st.Ref("Table")}
	for _, tc := range []struct {
		name    string
		args    []string
		wantOut string // a part of stdout
		wantErr string // a part of the error; "" for none
	}{
		{"dlq list as JSON", []string{"-json", "dlq", "list"}, `"connection":"acme","error_code":"unknown","count":1`, ""},
		{"dlq list as a table", []string{"dlq", "list"}, "acme        unknown", ""},
		{"a dry run", []string{"-json", "dlq", "redrive", "-connection", "acme", "-dry-run"}, `{"matched":1,"redriven":0,"left_in_dlq":0,"dry_run":true}`, ""},
		{"a dry run matching nothing", []string{"dlq", "redrive", "-connection", "globex", "-dry-run"}, "matched 0, would redrive 0, left in the DLQ 1", ""},
		{"a bad date", []string{"dlq", "redrive", "-since", "yesterday"}, "", "-since"},
		{"a negative rate", []string{"dlq", "redrive", "-rate", "-1"}, "", "-rate"},
		// A mistyped code matched nothing, silently, where the API refuses it.
		{"a code ordersync does not know", []string{"dlq", "redrive", "-code", "bogus_code", "-dry-run"}, "", "-code"},
		{"the CLI's own unknown", []string{"dlq", "redrive", "-code", "unknown", "-dry-run"}, "matched 1", ""},
		{"an order not stored", []string{"order", "show", "acme", "7"}, "", "not found"},
		{"order show without its id", []string{"order", "show", "acme"}, "", "usage"},
		{"resync of a connection not stored", []string{"resync", "acme", "7"}, "", "not found"},
		{"an unknown command", []string{"dlq", "purge"}, "", "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append(append([]string{}, stackFlags...), tc.args...), &out, &errOut)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("run: %v (stderr %s)", err, errOut.String())
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("run: error %v, want one naming %q", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", out.String(), tc.wantOut)
			}
		})
	}
}

func TestMissingStackOutputsAreNamed(t *testing.T) {
	t.Setenv("ORDERSYNC_SYNC_QUEUE_URL", "")
	t.Setenv("ORDERSYNC_DLQ_URL", "")
	t.Setenv("ORDERSYNC_TABLE", "")
	err := run(context.Background(), []string{"dlq", "list"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "-sync-queue-url, -dlq-url, -table") {
		t.Errorf("run = %v, want the missing flags named", err)
	}
}
