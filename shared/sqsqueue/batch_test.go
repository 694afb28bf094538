package sqsqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// received is one message as a consumer reads it.
type received struct {
	body  string
	attrs map[string]string
}

// drain receives and deletes every message of the queue at url, until
// want are in or the queue stays empty a while.
func drain(t *testing.T, url string, want int) []received {
	t.Helper()
	ctx := t.Context()
	c := stacktest.Clients().SQS
	var out []received
	for empty := 0; len(out) < want && empty < 5; {
		res, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			empty++
			time.Sleep(20 * time.Millisecond)
			continue
		}
		for _, m := range res.Messages {
			r := received{body: aws.ToString(m.Body), attrs: map[string]string{}}
			for k, v := range m.MessageAttributes {
				r.attrs[k] = aws.ToString(v.StringValue)
			}
			out = append(out, r)
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func bodies(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.body
	}
	slices.Sort(out)
	return out
}

// counting counts the SendMessageBatch calls made through the real client.
type counting struct {
	sqsqueue.API
	calls atomic.Int32
}

func (c *counting) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, o ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.calls.Add(1)
	return c.API.SendMessageBatch(ctx, in, o...)
}

// TestSendBatch sends batches of every shape SQS limits, to the emulator.
func TestSendBatch(t *testing.T) {
	big := func(i int) string { return fmt.Sprintf("%03d", i) + strings.Repeat("x", 100<<10) }
	tests := []struct {
		name      string
		msgs      []sqsqueue.Message
		wantCalls int32
		wantSent  int
		wantFail  []int // indexes
	}{
		{"25 messages: ten a call", messages(25, func(i int) string { return fmt.Sprint("m", i) }), 3, 25, nil},
		{"five of 100 KiB: two a call, as SQS takes 256 KiB a call", messages(5, big), 3, 5, nil},
		{"one too large is reported, the others sent", []sqsqueue.Message{{Body: "a", Attrs: map[string]string{"n": "0"}}, {Body: strings.Repeat("y", 257<<10)}, {Body: "c", Attrs: map[string]string{"n": "2"}}}, 1, 2, []int{1}},
		{"nothing to send: no call", nil, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := stacktest.New(t, nil)
			url := st.Ref("SyncQueue")
			api := &counting{API: stacktest.Clients().SQS}
			err := sqsqueue.New(api, url).SendBatch(t.Context(), tt.msgs)
			var be *sqsqueue.BatchError
			switch {
			case tt.wantFail == nil && err != nil:
				t.Fatalf("SendBatch = %v, want nil", err)
			case tt.wantFail != nil && !errors.As(err, &be):
				t.Fatalf("SendBatch = %v, want a *BatchError", err)
			case be != nil:
				var got []int
				for _, f := range be.Failures {
					got = append(got, f.Index)
				}
				if !slices.Equal(got, tt.wantFail) || be.Total != len(tt.msgs) {
					t.Errorf("failed %v of %d, want %v of %d", got, be.Total, tt.wantFail, len(tt.msgs))
				}
			}
			if got := api.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d SendMessageBatch calls, want %d", got, tt.wantCalls)
			}
			got := drain(t, url, tt.wantSent)
			var want []string
			for i, m := range tt.msgs {
				if !slices.Contains(tt.wantFail, i) {
					want = append(want, m.Body)
				}
			}
			slices.Sort(want)
			if g := bodies(got); !slices.Equal(g, want) {
				t.Errorf("%d messages on the queue, want %d (%v)", len(g), len(want), tt.name)
			}
			for _, r := range got {
				if r.attrs["n"] == "" || r.attrs["empty"] != "" {
					t.Errorf("attributes %v: want n kept and the empty one left out", r.attrs)
				}
			}
		})
	}
}

func messages(n int, body func(i int) string) []sqsqueue.Message {
	out := make([]sqsqueue.Message, n)
	for i := range out {
		out[i] = sqsqueue.Message{Body: body(i), Attrs: map[string]string{"n": fmt.Sprint(i), "empty": ""}}
	}
	return out
}

// flaky sends through the real client, but answers the entries whose ids
// fail names as failed on SQS's side (not sent), the first tries times
// each is sent.
type flaky struct {
	sqsqueue.API
	fail  map[string]int // entry id: how often it was failed
	tries int
	calls int
}

func (f *flaky) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, o ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.calls++
	pass := *in
	pass.Entries = nil
	var failed []types.BatchResultErrorEntry
	for _, e := range in.Entries {
		if n, ok := f.fail[aws.ToString(e.Id)]; ok && n < f.tries {
			f.fail[aws.ToString(e.Id)]++
			failed = append(failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: false})
		} else {
			pass.Entries = append(pass.Entries, e)
		}
	}
	out := &sqs.SendMessageBatchOutput{}
	if len(pass.Entries) > 0 {
		var err error
		if out, err = f.API.SendMessageBatch(ctx, &pass, o...); err != nil {
			return nil, err
		}
	}
	out.Failed = append(out.Failed, failed...)
	return out, nil
}

// TestSendBatchTriesFailedEntriesAgain: entries SQS failed on its side
// are sent again, each once in the end, and reported after three tries.
func TestSendBatchTriesFailedEntriesAgain(t *testing.T) {
	tests := []struct {
		name      string
		tries     int
		wantSent  int
		wantFail  string
		wantCalls int
	}{
		{"failed once, sent on the second try", 1, 12, "", 4},
		{"failing three times: reported", 3, 10, "2 of 12 messages not sent: #3 (InternalError: try again (try 3)), #11", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := stacktest.New(t, nil)
			url := st.Ref("SyncQueue")
			api := &flaky{API: stacktest.Clients().SQS, fail: map[string]int{"3": 0, "11": 0}, tries: tt.tries}
			err := sqsqueue.New(api, url).SendBatch(t.Context(), messages(12, func(i int) string { return fmt.Sprint("m", i) }))
			if tt.wantFail == "" && err != nil || tt.wantFail != "" && (err == nil || !strings.Contains(err.Error(), tt.wantFail)) {
				t.Errorf("SendBatch = %v, want %q", err, tt.wantFail)
			}
			if api.calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", api.calls, tt.wantCalls)
			}
			if got := drain(t, url, tt.wantSent); len(got) != tt.wantSent {
				t.Errorf("%d messages on the queue, want %d, each once", len(got), tt.wantSent)
			}
		})
	}
}

// TestEnqueueBatchAndSendJobs: what the sync and the refresh worker
// receive from a batch.
func TestEnqueueBatchAndSendJobs(t *testing.T) {
	st := stacktest.New(t, nil)
	ctx := t.Context()
	c := stacktest.Clients().SQS
	t.Run("events, as Enqueue sends each", func(t *testing.T) {
		url := st.Ref("SyncQueue")
		var evs []order.Event
		for i := range 12 {
			evs = append(evs, order.Event{Connection: "acme", Source: refresh.Source, SourceEventID: fmt.Sprint("import/", i),
				Intent: order.IntentImport, Order: order.Ref{MarketplaceOrderID: fmt.Sprint(i)}})
		}
		if err := sqsqueue.New(c, url).EnqueueBatch(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got := drain(t, url, len(evs))
		seen := map[string]bool{}
		for _, r := range got {
			e, err := order.DecodeMessage(r.body)
			if err != nil || r.attrs["connection"] != "acme" || r.attrs["source_event_id"] != e.SourceEventID || e.Intent != order.IntentImport {
				t.Errorf("message %s %v (%v): want an import event with its attributes", r.body, r.attrs, err)
			}
			seen[e.SourceEventID] = true
		}
		if len(seen) != len(evs) {
			t.Errorf("%d distinct events received, want %d", len(seen), len(evs))
		}
	})
	t.Run("jobs, as JSON", func(t *testing.T) {
		url := st.Ref("SyncDLQ") // any queue of the stack
		at := time.Date(2026, 12, 1, 10, 20, 0, 0, time.UTC)
		jobs := []refresh.Job{{Connection: "acme", At: at}, {Connection: "beta", At: at}}
		if err := sqsqueue.New(c, url).SendJobs(ctx, jobs); err != nil {
			t.Fatal(err)
		}
		var got []refresh.Job
		for _, r := range drain(t, url, 2) {
			var j refresh.Job
			if err := json.Unmarshal([]byte(r.body), &j); err != nil || r.attrs["connection"] != j.Connection {
				t.Errorf("message %s %v (%v): want a job with its connection attribute", r.body, r.attrs, err)
			}
			got = append(got, j)
		}
		slices.SortFunc(got, func(a, b refresh.Job) int { return strings.Compare(a.Connection, b.Connection) })
		if len(got) != 2 || got[0] != jobs[0] || !got[1].At.Equal(at) || got[1].Connection != "beta" {
			t.Errorf("jobs = %+v, want %+v", got, jobs)
		}
	})
	t.Run("a missing queue: every job reported", func(t *testing.T) {
		jobs := make([]refresh.Job, 15)
		for i := range jobs {
			jobs[i] = refresh.Job{Connection: fmt.Sprint("c", i)}
		}
		err := sqsqueue.New(c, st.Ref("SyncQueue")+"-missing").SendJobs(ctx, jobs)
		var be *sqsqueue.BatchError
		if !errors.As(err, &be) || len(be.Failures) != 15 {
			t.Errorf("SendJobs = %v, want all 15 reported", err)
		}
	})
}
