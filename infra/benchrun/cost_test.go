package main

import (
	"math"
	"testing"

	"github.com/ordersync/ordersync/infra/awscount"
)

// TestPrices checks the price model against the figures: the
// floor design at $2.45 per million events, and an event that made the
// calls the issue counted at $7.70.
func TestPrices(t *testing.T) {
	if got := floorUsage.dollars() * perMillion; math.Abs(got-2.45) > 1e-9 {
		t.Errorf("floor = $%.4f/M, want $2.45/M", got)
	}
	ev := awscount.Event{
		Webhook: awscount.Counts{"sqs:SendMessage": {Calls: 1}, "dynamodb:PutItem": {Calls: 2, WRU: 2}},
		Sync: awscount.Counts{
			"sqs:ReceiveMessage": {Calls: 1}, "sqs:ReceiveMessage(empty)": {Calls: 7}, "sqs:GetQueueAttributes": {Calls: 1},
			"sqs:DeleteMessageBatch": {Calls: 1}, "dynamodb:PutItem": {Calls: 7, WRU: 7}, "dynamodb:GetItem": {Calls: 3, RRU: 3},
		},
	}
	if got := usageOf(ev).dollars() * perMillion; math.Abs(got-7.70) > 1e-9 {
		t.Errorf("9 WRU, 3 RRU = $%.4f/M, want $7.70/M", got)
	}
	ev.Sync["sesv2:SendEmail"] = awscount.Op{Calls: 1}
	if got := usageOf(ev).dollars() * perMillion; math.Abs(got-107.70) > 1e-9 {
		t.Errorf("with an email = $%.4f/M, want $107.70/M", got)
	}
}
