// Command localrun is `make run`: ordersync on this machine, from
// template.yaml, with a sandbox marketplace and a demo that shows orders
// flowing. Ctrl-C stops everything it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

func main() {
	dir := flag.String("data", ".local", "folder for local data (git-ignored)")
	api := flag.String("api", "127.0.0.1:3000", "HTTP API address (webhooks, merchant API)")
	sandbox := flag.String("sandbox", "127.0.0.1:3001", "sandbox marketplace address")
	store := flag.String("store", "127.0.0.1:3002", "sandbox store address (the Shopify fake)")
	demo := flag.Bool("demo", true, "run the demo flows at start")
	verbose := flag.Bool("v", false, "show every function log line")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	fmt.Println("ordersync: starting DynamoDB Local, local-aws-sqs and aws-ses-v2-local…")
	sys, err := localsystem.Start(ctx, localsystem.Options{
		Dir: *dir, APIAddr: *api, SandboxAddr: *sandbox, StoreAddr: *store, Log: logger,
		AWS: localaws.Options{DynamoDBPort: 8000, SQSPort: 9324, SESPort: 8005},
	})
	if err != nil {
		log.Fatalf("ordersync: %v (are ports 3000, 3001, 3002, 8000, 8005 and 9324 free?)", err)
	}
	defer sys.Stop()
	if err := sys.SeedDemo(ctx); err != nil {
		log.Fatalf("ordersync: seed demo connection: %v", err)
	}
	// The README's order: seeded once, kept in .local/ with what was done
	// to it; its curl is the same on every start (event id included).
	sys.SeedReadmeOrder()
	readmeCurl, err := sys.ReadmeCurl(*dir)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Printf(`
ordersync is running locally (template.yaml: %s, %s, %s)

  console           %s/console/   (sign in: connection %q, API key below)
  webhook API       %s/webhooks/{source}/{connection}
  merchant API      %s/connections/{connection}/errors, /orders?state=, /orders/{id}[/timeline|/fix|/resync|/link],
                    /resync, /jobs, /aliases/{sku}, /reports, /pause, /resume, /webhook-secret, /credentials/{side}
                    (every route, with a curl: README.md, "Merchant API")
  sandbox market    %s   (Back Market API; faults: POST /_sandbox/faults, calls: GET /_sandbox/calls)
  mail UI           %s   (every email the sync sends)
  DynamoDB Local    %s
  SQS               %s
  refresh now       curl -X POST %s/_local/schedules/Hourly

  demo connection   %q  (Shopify store -> sandbox marketplace)
  webhook secret    %s  (in %s)
  API key           %s
  provisioning key  %s  (POST /connections creates a connection)

Send a signed Shopify orders/fulfilled webhook for sandbox order 9001:

%s

The demo connection's last errors of the past week, with what to do about each:

%s

`, sys.Stack.Ref("Table"), sys.Stack.Attr("SyncQueue", "QueueName"), sys.Stack.Attr("SyncDLQ", "QueueName"),
		sys.APIURL, localsystem.DemoConnection, // the console
		sys.APIURL, sys.APIURL, sys.SandboxURL, sys.AWS.SES, sys.AWS.DynamoDB, sys.AWS.SQS, sys.APIURL,
		localsystem.DemoConnection, sys.Secrets[localsystem.WebhookSecretRef], filepath.Join(*dir, "secrets.json"),
		sys.Secrets[localsystem.DemoAPIKeyRef], sys.Secrets[localsystem.ProvisioningKeyRef],
		readmeCurl, sys.CurlErrors())

	printSandboxes(sys, *dir)

	if *demo {
		if err := runDemo(ctx, sys); err != nil {
			fmt.Println("demo:", err)
		}
	}
	fmt.Println("\nRunning. Ctrl-C stops everything.")
	<-ctx.Done()
	fmt.Println("\nordersync: stopping…")
}

// runDemo shows three orders flowing: one synced, one rate-limited then
// synced, one failing with an email.
func runDemo(ctx context.Context, sys *localsystem.System) error {
	base := time.Now().Unix() % 100000 * 10 // fresh ids on every run
	flows := []struct {
		what  string
		order localsystem.DemoOrder
		track localsystem.Tracking
		fault *backmarkettest.Fault
	}{
		{"shipped with tracking", localsystem.DemoOrder{MarketplaceID: base + 1, StoreID: 5000000 + base + 1, Name: fmt.Sprintf("#D%d", base+1), SKUs: []string{"IPH12-64-BLK"}},
			localsystem.Tracking{Number: "6A12345678901", Carrier: "Colissimo"}, nil},
		{"marketplace answers 429 once", localsystem.DemoOrder{MarketplaceID: base + 2, StoreID: 5000000 + base + 2, Name: fmt.Sprintf("#D%d", base+2), SKUs: []string{"GALAXY-S21"}},
			localsystem.Tracking{Number: "1Z999AA10123456784", Carrier: "UPS"}, &backmarkettest.Fault{Status: 429, RetryAfter: "2", Count: 1, Methods: "POST"}},
		{"tracking number missing", localsystem.DemoOrder{MarketplaceID: base + 3, StoreID: 5000000 + base + 3, Name: fmt.Sprintf("#D%d", base+3), SKUs: []string{"IPAD-AIR-4"}},
			localsystem.Tracking{Carrier: "Colissimo"}, nil},
	}
	fmt.Println("Demo: three Shopify orders/fulfilled webhooks for sandbox orders awaiting acceptance…")
	for _, f := range flows {
		sys.SeedMarketplaceOrder(f.order)
		if f.fault != nil {
			sys.Sandbox.SetFault(*f.fault)
		}
		status, _, err := sys.PostShopify(ctx, "orders/fulfilled", fmt.Sprintf("demo-%d", f.order.MarketplaceID), localsystem.FulfilledOrder(f.order, f.track, time.Now()))
		if err != nil {
			return err
		}
		fmt.Printf("  %-9s %-30s -> webhook answered %d\n", f.order.Name, f.what, status)
		// One order at a time: a fault must catch its own order's call,
		// not one still in flight for the order before.
		waitFor(ctx, sys, f.order, func(st order.State) bool { return st.Sync.Result != "" })
	}
	for _, f := range flows {
		st := waitFor(ctx, sys, f.order, func(st order.State) bool {
			return st.Sync.Result == order.SyncSynced || st.Sync.Result == order.SyncFailed
		})
		switch st.Sync.Result {
		case order.SyncSynced:
			fmt.Printf("  %-9s synced: marketplace order %d is %s (after %d tr%s)\n", f.order.Name, f.order.MarketplaceID, st.MarketplaceStatus, st.Sync.Attempts, map[bool]string{true: "y", false: "ies"}[st.Sync.Attempts == 1])
		case order.SyncFailed:
			fmt.Printf("  %-9s failed: %s — %s\n            emailed %s: see %s\n", f.order.Name, st.Sync.ErrorCode, st.Sync.Message, localsystem.DemoMerchantMail, sys.AWS.SES)
		default:
			fmt.Printf("  %-9s still %q after 60 s (run with -v to see the logs)\n", f.order.Name, st.Sync.Result)
		}
	}
	return nil
}

func waitFor(ctx context.Context, sys *localsystem.System, o localsystem.DemoOrder, done func(order.State) bool) order.State {
	var st order.State
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(200 * time.Millisecond) {
		var err error
		if st, err = sys.Store.LoadOrder(ctx, localsystem.DemoConnection, fmt.Sprint(o.MarketplaceID)); err == nil && done(st) {
			break
		}
	}
	return st
}

// printSandboxes prints the banner's block on the sandboxes: the store,
// the import demo, the Amazon demo, and how to use them.
func printSandboxes(sys *localsystem.System, dir string) {
	fmt.Printf(`Sandboxes (their orders in %s, kept across restarts, as DynamoDB's are):

  sandbox store     %s   (Shopify Admin API; its orders: GET /_sandbox/orders)
  import demo       %q  (sandbox store <- sandbox marketplace account %s, import on)
  Amazon demo       %q  (sandbox store <- Amazon sandbox %s: SP-API and its LWA endpoint, import on)

The curl above sends X-Shopify-Event-Id: %s: pasted again as is, it is the
same event (answered 202; nothing is made twice); change the id for a new delivery.

Watch a new marketplace order be imported into the sandbox store:

curl -s -X POST %s/_sandbox/orders -d '{"skus": ["PIXEL7-128"]}'
curl -X POST %s/_local/schedules/Hourly
curl -s %s/_sandbox/orders

The same for Amazon (a new Unshipped order; its shipment confirmations: GET /_sandbox/calls):

curl -s -X POST %s/_sandbox/orders -d '{"skus": ["GALAXY-S21"]}'
curl -X POST %s/_local/schedules/Hourly
curl -s -H 'Authorization: Bearer %s' '%s/connections/%s/orders?state=synced&limit=5'

`, filepath.Join(dir, "sandbox"), sys.StoreURL, localsystem.DemoImportConnection, sys.SandboxURL+localsystem.ImportAccountPath,
		localsystem.DemoAmazonConnection, sys.SandboxURL+localsystem.AmazonAccountPath,
		localsystem.ReadmeEventID, sys.SandboxURL+localsystem.ImportAccountPath, sys.APIURL, sys.StoreURL,
		sys.SandboxURL+localsystem.AmazonAccountPath, sys.APIURL, sys.Secrets[localsystem.DemoAPIKeyRef], sys.APIURL, localsystem.DemoAmazonConnection)
}
