package templatecheck_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/infra/templatecheck"
)

// Resources as render writes them.
const (
	table     = "${Table.Arn}"
	ssmPrefix = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SecretsPrefix}"
	sesPrefix = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/"
)

func index(name string) string { return table + "/index/" + name }

type grant = templatecheck.Grant

// Every function that saves an order state (SaveOrder: the API's fix, the
// sync, the refresh) also expires a closed order's link (UpdateItem
// LINK#, shared/dynamostore/retention.go).
//
// needs is what a function's code calls, read from shared/app's wiring and
// the adapters (shared/dynamostore's items, pk prefixes in its doc; the
// SQS, SES and SSM adapters): DynamoDB actions by partition key prefix on
// the table, Query by index, SQS actions by queue, SSM and SES.
type needs struct {
	items   map[string][]string // action -> pk patterns
	indexes []string            // Query
	send    []string            // queues sent to (SendMessage, SendMessageBatch)
	poll    []string            // the queue of its event source
	ssmRead bool                // connections' secrets, GetParameter
	ssmPut  bool                // the merchant API's, under connections/
	ses     bool
}

var want = map[string]needs{
	// The console's static page: it calls nothing (the page calls the
	// merchant API itself).
	"ConsoleFunction": {},
	// The connection (GetItem CONN#), and nothing written: no dedup claim
	// (the sync's claims deduplicate).
	"WebhookFunction": {
		items: map[string][]string{
			"dynamodb:GetItem": {"CONN#*"},
		},
		send: []string{"SyncQueue"}, ssmRead: true,
	},
	// merchantapi's Store and OrderStore on dynamostore: connections, orders,
	// links, aliases (a transaction of Put/Update/Delete), jobs and their
	// parts; errors (gsi1), unsettled (gsi3), listing (gsi4), names (gsi5).
	"ApiFunction": {
		items: map[string][]string{
			"dynamodb:GetItem":      {"ALIAS#*", "CONN#*", "LINK#*", "ORDER#*"},
			"dynamodb:BatchGetItem": {"ORDER#*"},
			"dynamodb:Query":        {"ALIAS#*", "CONN#*", "JOB#*"},
			"dynamodb:PutItem":      {"ALIAS#*", "CONN#*", "JOB#*", "ORDER#*"},
			"dynamodb:UpdateItem":   {"ALIAS#*", "CONN#*", "LINK#*"},
			"dynamodb:DeleteItem":   {"ALIAS#*", "JOB#*"},
		},
		indexes: []string{"gsi1", "gsi3", "gsi5", "gsi6"},
		send:    []string{"JobQueue", "RefreshQueue", "SyncQueue"}, ssmRead: true, ssmPut: true,
	},
	// merchantapi.Worker: the job and connection, the ids or the filter's
	// listing (gsi4), the orders, the job put back with its parts.
	"JobFunction": {
		items: map[string][]string{
			"dynamodb:GetItem":      {"CONN#*"},
			"dynamodb:BatchGetItem": {"ORDER#*"},
			"dynamodb:Query":        {"JOB#*"},
			"dynamodb:PutItem":      {"CONN#*", "JOB#*"},
			"dynamodb:DeleteItem":   {"JOB#*"},
		},
		indexes: []string{"gsi6"},
		send:    []string{"SyncQueue"}, poll: []string{"JobQueue"},
	},
	// syncer's Store and Aliases, notify's digests; syncbatch resends on the
	// sync queue (SendMessage, delayed); failures reach SyncDLQ by the
	// redrive policy, never sent there.
	"SyncFunction": {
		items: map[string][]string{
			"dynamodb:GetItem":    {"CONN#*", "EFFECTS#*", "LINK#*", "ORDER#*"},
			"dynamodb:Query":      {"ALIAS#*"},
			"dynamodb:PutItem":    {"DIGEST#*", "NOTIFIED#*", "ORDER#*"},
			"dynamodb:UpdateItem": {"CONN#*", "DIGEST#*", "EFFECTS#*", "LINK#*"},
			"dynamodb:DeleteItem": {"NOTIFIED#*"},
		},
		send: []string{"SyncQueue"}, poll: []string{"SyncQueue"}, ssmRead: true, ses: true,
	},
	// refresh.Dispatch lists connections (gsi1); the digests: due (gsi1),
	// claimed, held (Query), marked sent, their connection read.
	"RefreshDispatchFunction": {
		items: map[string][]string{
			"dynamodb:GetItem":    {"CONN#*"},
			"dynamodb:Query":      {"DIGEST#*"},
			"dynamodb:UpdateItem": {"DIGEST#*"},
		},
		indexes: []string{"gsi1"},
		send:    []string{"RefreshQueue"}, ses: true,
	},
	// refresh's Store and Ledger: connection, checkpoints and reports
	// (CONN#), orders and links in batches, aliases, errors (gsi1), the
	// ledger's unsynced (gsi2), unsettled orders (gsi3).
	"RefreshFunction": {
		items: map[string][]string{
			"dynamodb:GetItem":      {"CONN#*"},
			"dynamodb:BatchGetItem": {"LINK#*", "ORDER#*"},
			"dynamodb:Query":        {"ALIAS#*"},
			"dynamodb:PutItem":      {"CONN#*", "ORDER#*"},
			"dynamodb:UpdateItem":   {"CONN#*", "DEDUP#*", "LINK#*"},
		},
		indexes: []string{"gsi1", "gsi2", "gsi3"},
		send:    []string{"SyncQueue"}, poll: []string{"RefreshQueue"}, ssmRead: true,
	},
}

func (n needs) grants() []grant {
	var out []grant
	for a, keys := range n.items {
		for _, k := range keys {
			out = append(out, grant{a, table, k})
		}
	}
	for _, i := range n.indexes {
		out = append(out, grant{"dynamodb:Query", index(i), ""})
	}
	for _, q := range n.send {
		out = append(out, grant{"sqs:SendMessage*", "${" + q + ".Arn}", ""})
	}
	for _, q := range n.poll {
		for _, a := range templatecheck.SAMPolicies["SQSPollerPolicy"] {
			out = append(out, grant{a, "${" + q + ".Arn}", ""})
		}
	}
	if n.ssmRead {
		out = append(out, grant{"ssm:GetParameter", ssmPrefix + "*", ""})
	}
	if n.ssmPut {
		out = append(out, grant{"ssm:PutParameter", ssmPrefix + "connections/*", ""})
	}
	if n.ses {
		out = append(out, grant{"ses:SendEmail", sesPrefix + "${SenderAddress}", ""},
			grant{"ses:SendEmail", sesPrefix + "${SenderDomain}", ""})
	}
	return out
}

// TestLeastPrivilege holds each function's IAM to what its code calls:
// nothing missing (it would fail on AWS, where nothing local checks IAM),
// nothing more (no Scan, no whole-table write, no "*", no send to a
// dead-letter queue: failures reach a DLQ through their queue's redrive
// policy, so SQS records their source queue and the console's default
// redrive works).
func TestLeastPrivilege(t *testing.T) {
	tpl := load(t)
	dlqs := deadLetterQueues(tpl)
	for _, fn := range functions(tpl) {
		t.Run(fn, func(t *testing.T) {
			n, ok := want[fn]
			if !ok {
				t.Fatalf("no needs listed for %s: read its code and add them", fn)
			}
			got := map[string]bool{}
			gs, err := templatecheck.Grants(tpl, fn)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gs {
				got[g.String()] = true
				switch {
				case g.Resource == "*":
					t.Errorf("%s on *: scope it", g.Action)
				case g.Action == "dynamodb:Scan":
					t.Errorf("%s: no function scans the table", g)
				case strings.HasPrefix(g.Action, "ssm:") && !strings.HasPrefix(g.Resource, ssmPrefix):
					t.Errorf("%s: SSM outside the stack's SecretsPrefix", g)
				case strings.HasPrefix(g.Action, "ses:") && !strings.HasPrefix(g.Resource, sesPrefix):
					t.Errorf("%s: SES beyond the sender's identity", g)
				case g.Resource == table && g.Key == "":
					t.Errorf("%s on the whole table: add its dynamodb:LeadingKeys", g.Action)
				case strings.HasPrefix(g.Action, "sqs:SendMessage") && dlqs[queueOf(g.Resource)] != "":
					t.Errorf("%s: %s is %s's dead-letter queue; leave failures to the redrive policy", g, queueOf(g.Resource), dlqs[queueOf(g.Resource)])
				}
			}
			wanted := map[string]bool{}
			for _, g := range n.grants() {
				wanted[g.String()] = true
			}
			var extra, missing []string
			for g := range got {
				if !wanted[g] {
					extra = append(extra, g)
				}
			}
			for g := range wanted {
				if !got[g] {
					missing = append(missing, g)
				}
			}
			sort.Strings(extra)
			sort.Strings(missing)
			if len(extra) > 0 {
				t.Errorf("granted, not called by the code:\n  %s", strings.Join(extra, "\n  "))
			}
			if len(missing) > 0 {
				t.Errorf("called by the code, not granted:\n  %s", strings.Join(missing, "\n  "))
			}
		})
	}
}
