package templatecheck_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/infra/localstack"
)

func number(t *testing.T, v any, what string) int {
	t.Helper()
	n, err := strconv.Atoi(render(v))
	if err != nil {
		t.Fatalf("%s = %v: %v", what, v, err)
	}
	return n
}

// queueOf names the queue an intrinsic refers to: ${Q.Arn} -> Q.
func queueOf(v any) string {
	s := strings.TrimPrefix(render(v), "${")
	q, _, _ := strings.Cut(s, ".")
	return strings.TrimSuffix(q, "}")
}

// TestQueues holds each SQS event source's queue to a visibility of at
// least six times its function's timeout (AWS's advice, so that a slow
// batch is not delivered twice), each dead-letter queue to a retention
// longer than its source's (a message's age carries over when SQS moves
// it), and the refresh to minute 20.
func TestQueues(t *testing.T) {
	tpl := load(t)
	for _, fn := range functions(tpl) {
		for name, ev := range asMap(props(tpl, fn)["Events"]) {
			e := asMap(ev)
			if render(e["Type"]) != "SQS" {
				continue
			}
			q := queueOf(asMap(e["Properties"])["Queue"])
			t.Run(fn+"/"+name, func(t *testing.T) {
				vis := number(t, props(tpl, q)["VisibilityTimeout"], q+" VisibilityTimeout")
				if to := timeout(t, tpl, fn); vis < 6*to {
					t.Errorf("%s VisibilityTimeout = %d, want >= 6 x %s's timeout %d = %d", q, vis, fn, to, 6*to)
				}
			})
		}
	}
	for _, q := range tpl.Names("AWS::SQS::Queue") {
		rp := asMap(props(tpl, q)["RedrivePolicy"])
		if rp == nil {
			continue
		}
		dlq := queueOf(rp["deadLetterTargetArn"])
		t.Run(q+"->"+dlq, func(t *testing.T) {
			src := number(t, props(tpl, q)["MessageRetentionPeriod"], q+" MessageRetentionPeriod")
			dst := number(t, props(tpl, dlq)["MessageRetentionPeriod"], dlq+" MessageRetentionPeriod")
			if dst <= src {
				t.Errorf("%s retention %d s, %s %d s: want the DLQ's longer", dlq, dst, q, src)
			}
		})
	}
	var schedules int
	for _, fn := range functions(tpl) {
		for name, ev := range asMap(props(tpl, fn)["Events"]) {
			e := asMap(ev)
			if typ := render(e["Type"]); typ != "ScheduleV2" && typ != "Schedule" {
				continue
			}
			schedules++
			expr := render(asMap(e["Properties"])["ScheduleExpression"])
			if f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")")); len(f) != 6 || f[0] != "20" {
				t.Errorf("%s %s = %s, want cron at minute 20", fn, name, expr)
			}
		}
	}
	if schedules == 0 {
		t.Error("no schedule: the hourly refresh is gone")
	}
}

// deadLetterQueues are the queues another's RedrivePolicy targets.
func deadLetterQueues(tpl *localstack.Template) map[string]string {
	out := map[string]string{}
	for _, q := range tpl.Names("AWS::SQS::Queue") {
		if rp := asMap(props(tpl, q)["RedrivePolicy"]); rp != nil {
			out[queueOf(rp["deadLetterTargetArn"])] = q
		}
	}
	return out
}

// TestAlarms holds every alarm to an action on the operators' topic, and
// the alarms to what needs an operator: a message in any dead-letter
// queue, the sync queue's oldest message, every function's errors and
// throttles; and the topic's email subscription to AlarmEmail.
func TestAlarms(t *testing.T) {
	tpl := load(t)
	const topic = "${AlarmTopic}"
	watched := map[string]bool{} // metric/dimension
	for _, a := range tpl.Names("AWS::CloudWatch::Alarm") {
		p := props(tpl, a)
		var acts []string
		for _, v := range asList(p["AlarmActions"]) {
			acts = append(acts, render(v))
		}
		if !strings.Contains(strings.Join(acts, " "), topic) {
			t.Errorf("%s: AlarmActions %v, want %s: an alarm nobody hears is no alarm", a, acts, topic)
		}
		for _, d := range asList(p["Dimensions"]) {
			v := render(asMap(d)["Value"])
			v = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(v, "${"), "}"), ".QueueName")
			watched[render(p["MetricName"])+"/"+v] = true
		}
	}
	var wantWatched []string
	for dlq := range deadLetterQueues(tpl) {
		wantWatched = append(wantWatched, "ApproximateNumberOfMessagesVisible/"+dlq)
	}
	wantWatched = append(wantWatched, "ApproximateAgeOfOldestMessage/SyncQueue")
	for _, fn := range functions(tpl) {
		wantWatched = append(wantWatched, "Errors/"+fn, "Throttles/"+fn)
	}
	for _, w := range wantWatched {
		if !watched[w] {
			t.Errorf("no alarm on %s", w)
		}
	}
	if got := tpl.Resources["AlarmTopic"].Type; got != "AWS::SNS::Topic" {
		t.Fatalf("AlarmTopic is %q, want AWS::SNS::Topic", got)
	}
	var subs int
	for _, s := range tpl.Names("AWS::SNS::Subscription") {
		r := tpl.Resources[s]
		if render(r.Properties["TopicArn"]) != topic {
			continue
		}
		subs++
		if r.Condition == "" || tpl.Conditions[r.Condition] == nil || render(r.Properties["Endpoint"]) != "${AlarmEmail}" {
			t.Errorf("%s: condition %q, endpoint %s; want ${AlarmEmail} under a condition (no email, no subscription)",
				s, r.Condition, render(r.Properties["Endpoint"]))
		}
	}
	if subs != 1 {
		t.Errorf("%d subscriptions to the alarm topic, want the AlarmEmail one", subs)
	}
	if _, ok := tpl.Parameters["AlarmEmail"]; !ok {
		t.Error("no AlarmEmail parameter with a default (empty: no subscription)")
	}
}

// TestOutputs holds the stack's outputs to what operators and the CLI
// read: the webhook, API and console URLs, and each dead-letter queue with
// its page in the SQS console (where its redrive starts).
func TestOutputs(t *testing.T) {
	tpl := load(t)
	wantOut := map[string]string{
		"WebhookURL": "/webhooks/",
		"ApiURL":     "https://${HttpApi}.execute-api.",
		"ConsoleURL": "/console", // redirected to /console/index.html
	}
	for dlq := range deadLetterQueues(tpl) {
		wantOut[dlq+"URL"] = "${" + dlq + "}"
		wantOut[dlq+"ConsoleURL"] = "console.aws.amazon.com/sqs/v3/home?region=${AWS::Region}#/queues/"
	}
	for name, part := range wantOut {
		o := asMap(tpl.Outputs[name])
		if o == nil {
			t.Errorf("no output %s", name)
			continue
		}
		if got := render(o["Value"]); !strings.Contains(got, part) {
			t.Errorf("output %s = %s, want it to hold %s", name, got, part)
		}
		if o["Description"] == nil {
			t.Errorf("output %s has no Description", name)
		}
	}
}
