// The refresh worker on the SQS emulator (local-aws-sqs), for what is
// about SQS itself: jobs sent by the dispatcher's SendJobs, the retry's
// visibility timeout set on a real message, the worker's own dead-letter
// with attributes on the last receive, and SQS's redrive keeping a job
// the DLQ refused. How each job ends is tested in memory
// (shared/refreshbatch). This directory holds tests only: it is its own
// package so that only these start the emulators.
package sqsbatchtest_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localstack"
	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/refreshbatch"
	"github.com/ordersync/ordersync/shared/sqsqueue"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

type refresher func(ctx context.Context, job refresh.Job) (refresh.Report, error)

func (f refresher) Refresh(ctx context.Context, job refresh.Job) (refresh.Report, error) {
	return f(ctx, job)
}

type env struct {
	t          *testing.T
	sqs        *sqs.Client
	queue, dlq string
	calls      atomic.Int32
}

func newEnv(t *testing.T) *env {
	st := stacktest.New(t, nil)
	return &env{t: t, sqs: stacktest.Clients().SQS, queue: st.Ref("RefreshQueue"), dlq: st.Ref("RefreshDLQ")}
}

// poller is the refresh queue's event source mapping, as the local stack
// runs it, invoking a worker whose refresh always fails as down does and
// that dead-letters to dlqURL.
func (e *env) poller(dlqURL string) *localstack.Poller {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	down := refresher(func(context.Context, refresh.Job) (refresh.Report, error) {
		e.calls.Add(1)
		return refresh.Report{}, syncerr.E(syncerr.RateLimited)
	})
	h := refreshbatch.New(refreshbatch.Config{RetryBase: time.Second}, down, sqsqueue.New(e.sqs, e.queue), sqsqueue.New(e.sqs, dlqURL), log)
	return &localstack.Poller{SQS: e.sqs, Source: localstack.QueueSource{QueueURL: e.queue, BatchSize: 1, ReportBatchFailures: true},
		Timeout: time.Minute, Handler: h.Handle, Log: log}
}

// poll polls until it has received n jobs (waiting out their retries).
func (e *env) poll(p *localstack.Poller, n int) {
	e.t.Helper()
	got := 0
	for deadline := time.Now().Add(20 * time.Second); got < n; {
		if time.Now().After(deadline) {
			e.t.Fatalf("received %d jobs, want %d", got, n)
		}
		k, err := p.PollOnce(context.Background(), time.Second)
		if err != nil {
			e.t.Fatal(err)
		}
		got += k
	}
}

func (e *env) dlqMessages() []sqstypes.Message {
	e.t.Helper()
	out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.dlq), MaxNumberOfMessages: 10,
		WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Messages
}

func (e *env) counts(url string) (visible, inFlight string) {
	e.t.Helper()
	out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"]
}

// TestAFailingJobIsTriedThenDeadLetteredWithItsReason: a job from
// SendJobs fails each time; the worker times its retries on the real
// message (1 s, then 2 s), and on the queue's third receive sends it to the
// DLQ with its reason and has it deleted.
func TestAFailingJobIsTriedThenDeadLetteredWithItsReason(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2026, 12, 1, 10, 20, 0, 0, time.UTC)
	if err := sqsqueue.New(e.sqs, e.queue).SendJobs(context.Background(), []refresh.Job{{Connection: "acme", At: at}}); err != nil {
		t.Fatal(err)
	}
	p := e.poller(e.dlq)
	e.poll(p, 1)
	// The retry's wait is on the message: it is not visible at once.
	if n, err := p.PollOnce(context.Background(), 0); err != nil || n != 0 {
		t.Errorf("right after a failed try: received %d (%v), want the job hidden for its retry wait", n, err)
	}
	e.poll(p, 2)
	if got := e.calls.Load(); got != 3 {
		t.Errorf("%d tries, want 3", got)
	}
	msgs := e.dlqMessages()
	if len(msgs) != 1 {
		t.Fatalf("%d jobs in the DLQ, want 1", len(msgs))
	}
	attr := func(k string) string { return aws.ToString(msgs[0].MessageAttributes[k].StringValue) }
	if attr("connection") != "acme" || attr("error_code") != "rate_limited" || attr("reason") != "rate_limited" ||
		attr("attempts") != "3" || attr("first_failed_at") == "" || attr("scheduled_at") != "2026-12-01T10:20:00Z" {
		t.Errorf("DLQ attributes %v", msgs[0].MessageAttributes)
	}
	if job, err := refreshbatch.DecodeJob(aws.ToString(msgs[0].Body)); err != nil || job.Connection != "acme" || !job.At.Equal(at) {
		t.Errorf("DLQ body %s (%v): want the job as sent", aws.ToString(msgs[0].Body), err)
	}
	if v, f := e.counts(e.queue); v != "0" || f != "0" {
		t.Errorf("refresh queue holds %s visible, %s in flight; want it empty", v, f)
	}
}

// TestSQSRedriveKeepsAJobTheDLQRefused: when the worker cannot send to
// its DLQ, the job stays on the queue, and SQS's redrive policy moves it
// to the refresh DLQ after its last receive: a failed connection is never
// dropped.
func TestSQSRedriveKeepsAJobTheDLQRefused(t *testing.T) {
	e := newEnv(t)
	if err := sqsqueue.New(e.sqs, e.queue).SendJobs(context.Background(), []refresh.Job{{Connection: "acme", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	p := e.poller(e.dlq + "-missing")
	e.poll(p, 3)
	// The fourth receive finds it past maxReceiveCount: SQS moves it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := p.PollOnce(context.Background(), time.Second); err != nil {
			t.Fatal(err)
		}
		if msgs := e.dlqMessages(); len(msgs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job never reached the refresh DLQ")
		}
	}
	if got := e.calls.Load(); got != 3 {
		t.Errorf("%d tries, want 3 (no fourth)", got)
	}
}
