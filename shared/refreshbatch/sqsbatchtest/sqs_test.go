// The refresh worker on the SQS emulator (local-aws-sqs), for what is
// about SQS itself: jobs sent by the dispatcher's SendJobs, the retry's
// visibility timeout set on a real message, a job failed for good left to
// the queue's redrive policy (released at once until SQS moves it to the
// DLQ, noting its source), and the console's default redrive bringing it
// back. How each job ends is tested in memory
// (shared/refreshbatch). This directory holds tests only: it is its own
// package so that only these start the emulators.
package sqsbatchtest_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
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
	reports    reports
}

// reports records the reports the worker stores.
type reports struct {
	mu    sync.Mutex
	saved []refresh.Report
}

func (r *reports) SaveReport(_ context.Context, rep refresh.Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saved = append(r.saved, rep)
	return nil
}

func (r *reports) all() []refresh.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]refresh.Report(nil), r.saved...)
}

func newEnv(t *testing.T) *env {
	st := stacktest.New(t, nil)
	return &env{t: t, sqs: stacktest.Clients().SQS, queue: st.Ref("RefreshQueue"), dlq: st.Ref("RefreshDLQ")}
}

// poller is the refresh queue's event source mapping, as the local stack
// runs it, invoking a worker whose refresh always fails with err.
func (e *env) poller(err error) *localstack.Poller {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	down := refresher(func(context.Context, refresh.Job) (refresh.Report, error) {
		e.calls.Add(1)
		return refresh.Report{}, err
	})
	h := refreshbatch.New(refreshbatch.Config{RetryBase: time.Second}, down, sqsqueue.New(e.sqs, e.queue), &e.reports, log)
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

// untilMoved polls until the redrive policy has moved the job to the DLQ.
func (e *env) untilMoved(p *localstack.Poller) {
	e.t.Helper()
	// The deadline only stops a test that would otherwise hang.
	for deadline := time.Now().Add(30 * time.Second); e.depth(e.dlq) == 0; {
		if time.Now().After(deadline) {
			e.t.Fatal("the job never reached the refresh DLQ")
		}
		if _, err := p.PollOnce(context.Background(), time.Second); err != nil {
			e.t.Fatal(err)
		}
	}
}

// depth is the queue's ApproximateNumberOfMessages (visible messages).
func (e *env) depth(url string) int {
	e.t.Helper()
	v, _ := e.counts(url)
	n, _ := strconv.Atoi(v)
	return n
}

func (e *env) arn(url string) string {
	e.t.Helper()
	out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
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

// TestAFailingJobIsTriedThenRedrivenToItsSource: a job from SendJobs
// fails each time; the worker times its retries on the real message (1 s,
// then 2 s), and on the queue's third receive stores its reason on the
// connection's report and releases it, never deleted, so the redrive
// policy moves it to the DLQ on the next receive, noting its source. The
// console's default redrive (a move task with no destination) brings it
// back to the refresh queue as a new job, which runs again.
func TestAFailingJobIsTriedThenRedrivenToItsSource(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	at := time.Date(2026, 12, 1, 10, 20, 0, 0, time.UTC)
	if err := sqsqueue.New(e.sqs, e.queue).SendJobs(ctx, []refresh.Job{{Connection: "acme", At: at}}); err != nil {
		t.Fatal(err)
	}
	p := e.poller(syncerr.E(syncerr.RateLimited))
	e.poll(p, 1)
	// The retry's wait is on the message: it is not visible at once.
	if n, err := p.PollOnce(ctx, 0); err != nil || n != 0 {
		t.Errorf("right after a failed try: received %d (%v), want the job hidden for its retry wait", n, err)
	}
	e.poll(p, 2)
	if got := e.calls.Load(); got != 3 {
		t.Errorf("%d tries, want 3", got)
	}
	reps := e.reports.all()
	if len(reps) != 1 || reps[0].Failed == nil {
		t.Fatalf("reports %+v, want the job's failure", reps)
	}
	if r, f := reps[0], reps[0].Failed; r.Connection != "acme" || !r.At.Equal(at) || f.Code != "rate_limited" || f.Detail != "rate_limited" ||
		f.Title != syncerr.ExplainRefresh(syncerr.E(syncerr.RateLimited)).Title ||
		f.Attempts != 3 || f.FirstFailedAt.IsZero() {
		t.Errorf("report %+v, failure %+v", r, *f)
	}
	e.untilMoved(p)
	if got := e.calls.Load(); got != 3 {
		t.Errorf("%d tries by the time it reached the DLQ, want 3 (no fourth)", got)
	}
	if v, f := e.counts(e.queue); v != "0" || f != "0" {
		t.Errorf("refresh queue holds %s visible, %s in flight; want it empty", v, f)
	}

	// The console's default: no destination, back to the source queue.
	if _, err := e.sqs.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(e.arn(e.dlq))}); err != nil {
		t.Fatalf("StartMessageMoveTask with no destination: %v", err)
	}
	e.poll(p, 1)
	if got := e.calls.Load(); got != 4 {
		t.Errorf("%d tries, want the redriven job run again (4)", got)
	}
	if got := e.depth(e.dlq); got != 0 {
		t.Errorf("DLQ depth %d after the redrive, want 0", got)
	}
}

// TestAPermanentFailureReachesTheDLQWithoutRunningAgain: failed for good
// on its first receive, the job is released at once; the same worker
// receives it again and releases it without running it, until SQS moves
// it (after maxReceiveCount receives, in moments, not retry waits).
func TestAPermanentFailureReachesTheDLQWithoutRunningAgain(t *testing.T) {
	e := newEnv(t)
	if err := sqsqueue.New(e.sqs, e.queue).SendJobs(context.Background(), []refresh.Job{{Connection: "acme", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	p := e.poller(syncerr.E(syncerr.PlatformUnsupported, "platform", "amazon"))
	start := time.Now()
	e.untilMoved(p)
	if got := e.calls.Load(); got != 1 {
		t.Errorf("%d runs, want 1", got)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("reached the DLQ after %s: want it released at once, not after retry waits", took)
	}
	if reps := e.reports.all(); len(reps) != 1 || reps[0].Failed == nil || reps[0].Failed.Code != "platform_unsupported" || reps[0].Failed.Attempts != 1 {
		t.Errorf("reports %+v, want one with the failure", reps)
	}
}
