package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ordersync/ordersync/infra/awscount"
)

// Prices per request or unit in US dollars: AWS's us-east-1 on-demand list
// prices as of late 2024 (2024-11), without free tiers or Lambda's
// duration (the sync section measures our CPU time).
const (
	pricesAsOf       = "us-east-1 on-demand list prices, late 2024"
	priceHTTPAPI     = 1.00 / 1e6  // API Gateway HTTP API, per request (first 300 M)
	priceLambda      = 0.20 / 1e6  // Lambda, per request
	priceSQS         = 0.40 / 1e6  // SQS standard, per request (64 KB chunk)
	priceWRU         = 0.625 / 1e6 // DynamoDB on-demand, per write request unit
	priceRRU         = 0.125 / 1e6 // DynamoDB on-demand, per read request unit
	priceSESMessage  = 0.10 / 1000 // SES, per email
	syncBatchSize    = 10          // template.yaml: SyncFunction's SyncQueue event, BatchSize
	perMillion       = 1e6
	webhookCallsGoal = 2
)

// usage is what one event asks of AWS, per service, as the price list
// bills it.
type usage struct {
	httpAPI, lambda, sqs, wru, rru, emails float64
}

func (u usage) dollars() float64 {
	return u.httpAPI*priceHTTPAPI + u.lambda*priceLambda + u.sqs*priceSQS +
		u.wru*priceWRU + u.rru*priceRRU + u.emails*priceSESMessage
}

// perBatch are the calls one sync batch makes for all its messages: at
// full batches an event pays its share of them.
var perBatch = map[string]bool{"sqs:ReceiveMessage": true, "sqs:DeleteMessageBatch": true}

// usageOf prices what the proxies counted for one event: one HTTP API
// request and one webhook invocation; the sync's invocations (one per
// receive that returned the event) and the event source's per-batch calls
// shared by a full batch; every other SQS request whole; DynamoDB's units
// as reported; SES's emails.
func usageOf(ev awscount.Event) usage {
	all := ev.All()
	u := usage{httpAPI: 1, lambda: 1, emails: float64(all["sesv2:SendEmail"].Calls)}
	u.lambda += float64(all["sqs:ReceiveMessage"].Calls) / syncBatchSize
	for name := range all {
		if !strings.HasPrefix(name, "sqs:") {
			continue
		}
		n := float64(awscount.Counts{name: all[name]}.Billed("sqs:"))
		if perBatch[name] {
			n /= syncBatchSize
		}
		u.sqs += n
	}
	d := all.Total("dynamodb:")
	u.wru, u.rru = d.WRU, d.RRU
	return u
}

// floorUsage is the floor design: the webhook enqueues, and the sync makes
// one read and one conditional write (the order, its dedup and its calls
// in one item).
var floorUsage = usage{httpAPI: 1, lambda: 1 + 1.0/syncBatchSize, sqs: 1 + 2.0/syncBatchSize, wru: 1, rru: 1}

// costSection drives one event of each path (awscount.Paths) through the
// local stack, after a warm-up event, with the webhook's and sync's AWS
// clients behind counting proxies, and prices what they counted.
func costSection(ctx context.Context, env Env) ([]Row, error) {
	sys, err := awscount.StartSystem(ctx, map[string]string{"RetryBaseMillis": "100"})
	if err != nil {
		return nil, fmt.Errorf("cost: starting the local stack: %w", err)
	}
	defer sys.Stop()
	// Warm: per-instance caches and cold starts are not what an event costs.
	if _, err := sys.Deliver(ctx, awscount.Happy); err != nil {
		return nil, fmt.Errorf("cost: warm-up: %w", err)
	}
	floor := floorUsage.dollars() * perMillion
	var rows []Row
	for _, p := range awscount.Paths {
		ev, err := sys.Deliver(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("cost: %w", err)
		}
		fmt.Fprintf(env.Log, "benchrun: cost: %s: webhook %s; sync %s\n", p, ev.Webhook, ev.Sync)
		all := ev.All()
		d := all.Total("dynamodb:")
		u := usageOf(ev)
		if p == awscount.Import {
			// The refresh's event: no HTTP API request, no webhook
			// invocation (the refresh's run is the connection's hour's,
			// whatever its orders); its send is counted as Webhook's.
			u.httpAPI, u.lambda = 0, u.lambda-1
		}
		name := string(p)
		rows = append(rows,
			Row{Section: "cost", Name: name + ": AWS calls per event", Value: float64(all.Billed("")), Unit: "calls",
				Note: fmt.Sprintf("webhook %d, sync and its event source %d (batch of 1; empty receives left out)", ev.Webhook.Billed(""), ev.Sync.Billed(""))},
			Row{Section: "cost", Name: name + ": DynamoDB writes", Value: d.WRU, Unit: "WRU",
				Note: fmt.Sprintf("of which GSI %g; %d refused conditional writes counted 1 each", d.GSIWRU, d.ConditionFailed)},
			Row{Section: "cost", Name: name + ": DynamoDB reads", Value: d.RRU, Unit: "RRU"},
		)
		cost := Row{Section: "cost", Name: name + ": cost per million events", Value: u.dollars() * perMillion, Unit: "$/M",
			Note: fmt.Sprintf("%s; sync invocations, receives and deletes shared by a batch of %d", pricesAsOf, syncBatchSize)}.
			Compared("floor design", floor)
		if p == awscount.Happy {
			cost.Goal = 1.3
			before := Row{Section: "cost", Name: "webhook: AWS calls before the answer", Value: float64(ev.Webhook.Billed("")), Unit: "calls",
				Note: ev.Webhook.String()}.Compared("goal", webhookCallsGoal)
			before.Goal = 1
			rows = append(rows, cost, before)
			// Powertools-style idempotency: ours, plus one conditional put
			// and one update per event.
			pt := u
			pt.wru += 2
			rows = append(rows, Row{Section: "cost", Name: "powertools-style idempotency: cost per million", Value: pt.dollars() * perMillion, Unit: "$/M",
				Note: "the happy path plus one conditional put and one update per event"}.Compared("floor design", floor))
			continue
		}
		rows = append(rows, cost)
	}
	return rows, nil
}
