package soak

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/localstack"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sqsqueue"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/testkit/memqueue"
)

// store is what the soak needs of ordersync's storage: the sync's, the
// webhook's, and the check's.
type store interface {
	syncer.Store
	PutConnection(ctx context.Context, c order.Connection) error
}

// queue is the sync queue as the webhook, the sync and the check use it.
type queue interface {
	Enqueue(ctx context.Context, e order.Event) error
	RetryIn(ctx context.Context, receipt string, d time.Duration) error
	Resend(ctx context.Context, body string, d time.Duration) error
}

// timing is the system's policy in the soak: the template's proportions,
// scaled down. The claim lease outlasts an invocation, as the template's
// 2 minutes outlast the sync function's 60 s, so a call cut by the end of
// its invocation is never made again by another worker while it may land;
// the visibility timeout is at least the invocation's timeout, as AWS
// requires.
type timing struct {
	visibility, invocation, lease, bookkeeping time.Duration
}

var (
	memoryTiming   = timing{visibility: 3 * time.Second, invocation: 2500 * time.Millisecond, lease: 3 * time.Second, bookkeeping: 300 * time.Millisecond}
	emulatorTiming = timing{visibility: 10 * time.Second, invocation: 8 * time.Second, lease: 10 * time.Second, bookkeeping: 2 * time.Second}
)

// backend is where the soak's state lives: in memory, or in the emulators.
type backend struct {
	timing timing
	store  store
	dedup  ingest.Deduper
	queue  queue
	// run polls the sync queue as the event source mapping does, until
	// ctx ends.
	run func(ctx context.Context, h memqueue.Handler, cancel func() (time.Duration, bool))
	// pending is how many messages the sync queue holds, in flight or not.
	pending func(ctx context.Context) (int, error)
	// deadLetters returns the DLQ's messages, each with its source queue
	// ("" for one sent straight to the DLQ).
	deadLetters func(ctx context.Context) ([]memqueue.Message, error)
	// redrive moves every message of the DLQ back to its source queue, as
	// the console's default redrive (a message move task) does: each as a
	// new message, its attributes kept. It returns how many it moved.
	redrive func(ctx context.Context) (int, error)
	close   func()
}

// memoryBackend keeps everything in memory: memstore and memqueue.
func memoryBackend(faults func(op string) error) *backend {
	st := memstore.New()
	// No faults on the DLQ: nothing sends to it (failures reach it by the
	// redrive policy, which SQS carries out itself).
	dlq := memqueue.New("SyncDLQ", memqueue.Options{})
	q := memqueue.New("SyncQueue", memqueue.Options{Visibility: memoryTiming.visibility, MaxReceiveCount: 3, DLQ: dlq, Faults: faults})
	return &backend{
		timing: memoryTiming,
		store:  st, dedup: st.Deduper(time.Minute), queue: q,
		run: func(ctx context.Context, h memqueue.Handler, cancel func() (time.Duration, bool)) {
			memqueue.Mapping{Queue: q, Handler: h, BatchSize: 10, Concurrency: 5, Timeout: memoryTiming.invocation, Cancel: cancel}.Run(ctx)
		},
		pending:     func(context.Context) (int, error) { _, _, n := q.Counts(); return n, nil },
		deadLetters: func(context.Context) ([]memqueue.Message, error) { return dlq.Messages(), nil },
		redrive:     func(ctx context.Context) (int, error) { return moveAll(ctx, dlq, q) },
		close:       func() {},
	}
}

// moveAll moves every message of dlq to q as a message move task does:
// each a new message (a new id, its receive count at 0), its attributes
// kept. A send the queue's faults refuse is tried again: a move task
// does not lose messages.
func moveAll(ctx context.Context, dlq, q *memqueue.Queue) (int, error) {
	n := 0
	for {
		msgs, err := dlq.Receive(10)
		if err != nil || len(msgs) == 0 {
			return n, err
		}
		for _, m := range msgs {
			attrs := map[string]string{}
			for k, v := range m.MessageAttributes {
				attrs[k] = aws.ToString(v.StringValue)
			}
			for err := q.Send(ctx, m.Body, attrs); err != nil; err = q.Send(ctx, m.Body, attrs) {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
			}
			if err := dlq.Delete(m.ReceiptHandle); err != nil {
				return n, err
			}
			n++
		}
	}
}

// emulatorBackend runs on DynamoDB Local and local-aws-sqs, provisioned
// from template.yaml, with the sync queue's visibility timeout scaled down
// like the soak's other times.
func emulatorBackend(ctx context.Context, faults func(op string) error) (*backend, error) {
	emu, err := localaws.Start(ctx, localaws.Options{})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*backend, error) { emu.Stop(); return nil, err }
	clients, err := emu.Clients(ctx)
	if err != nil {
		return fail(err)
	}
	root, err := localaws.ModuleRoot()
	if err != nil {
		return fail(err)
	}
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return fail(err)
	}
	st, err := localstack.Provision(ctx, tmpl, fmt.Sprintf("soak%d-", time.Now().UnixNano()%1e6),
		localstack.Clients{DynamoDB: clients.DynamoDB, SQS: clients.SQS}, nil)
	if err != nil {
		return fail(err)
	}
	qURL, dlqURL := st.Ref("SyncQueue"), st.Ref("SyncDLQ")
	if _, err := clients.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(qURL),
		Attributes: map[string]string{"VisibilityTimeout": strconv.Itoa(int(emulatorTiming.visibility / time.Second))}}); err != nil {
		return fail(err)
	}
	ds := dynamostore.New(clients.DynamoDB, st.Ref("Table"))
	q := faultyQueue{Queue: sqsqueue.New(clients.SQS, qURL), faults: faults}
	return &backend{
		timing: emulatorTiming,
		store:  ds, dedup: ds.Deduper(time.Minute), queue: q,
		run: func(ctx context.Context, h memqueue.Handler, cancel func() (time.Duration, bool)) {
			memqueue.Mapping{Queue: sqsSource{c: clients.SQS, url: qURL}, Handler: h, BatchSize: 10, Concurrency: 5,
				Timeout: emulatorTiming.invocation, Cancel: cancel}.Run(ctx)
		},
		pending: func(ctx context.Context) (int, error) {
			out, err := clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qURL),
				AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}})
			if err != nil {
				return 0, err
			}
			// local-aws-sqs counts in-flight messages in
			// ApproximateNumberOfMessages too: take the largest.
			n := 0
			for _, v := range out.Attributes {
				c, _ := strconv.Atoi(v)
				n = max(n, c)
			}
			return n, nil
		},
		deadLetters: func(ctx context.Context) ([]memqueue.Message, error) { return drain(ctx, clients.SQS, dlqURL) },
		redrive:     func(ctx context.Context) (int, error) { return moveTask(ctx, clients.SQS, dlqURL) },
		close:       emu.Stop,
	}, nil
}

// faultyQueue fails some sends and visibility changes, as SQS does when it
// throttles.
type faultyQueue struct {
	*sqsqueue.Queue
	faults func(op string) error
}

func (q faultyQueue) Enqueue(ctx context.Context, e order.Event) error {
	if err := q.faults("send"); err != nil {
		return err
	}
	return q.Queue.Enqueue(ctx, e)
}

func (q faultyQueue) Resend(ctx context.Context, body string, d time.Duration) error {
	if err := q.faults("send"); err != nil {
		return err
	}
	return q.Queue.Resend(ctx, body, d)
}

func (q faultyQueue) RetryIn(ctx context.Context, receipt string, d time.Duration) error {
	if err := q.faults("visibility"); err != nil {
		return err
	}
	return q.Queue.RetryIn(ctx, receipt, d)
}

// sqsSource is a real queue as the event source mapping polls it.
type sqsSource struct {
	c   *sqs.Client
	url string
}

func (q sqsSource) Receive(max int) ([]events.SQSMessage, error) {
	out, err := q.c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.url),
		MaxNumberOfMessages: int32(max), WaitTimeSeconds: 1,
		AttributeNames:              []sqstypes.QueueAttributeName{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil {
		return nil, err
	}
	recs := make([]events.SQSMessage, len(out.Messages))
	for i, m := range out.Messages {
		recs[i] = events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes}
	}
	return recs, nil
}

func (q sqsSource) Delete(receipt string) error {
	_, err := q.c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receipt)})
	return err
}

// moveTask redrives the DLQ at url to its messages' source queues (no
// destination, the console's default) and waits for the task to end.
func moveTask(ctx context.Context, c *sqs.Client, url string) (int, error) {
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return 0, err
	}
	arn := a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if _, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(arn)}); err != nil {
		return 0, err
	}
	for {
		out, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(arn), MaxResults: aws.Int32(1)})
		if err != nil {
			return 0, err
		}
		if len(out.Results) == 1 {
			switch r := out.Results[0]; aws.ToString(r.Status) {
			case "COMPLETED":
				return int(r.ApproximateNumberOfMessagesMoved), nil
			case "FAILED", "CANCELLED":
				return int(r.ApproximateNumberOfMessagesMoved), fmt.Errorf("move task %s: %s", aws.ToString(r.Status), aws.ToString(r.FailureReason))
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// drain receives every message of a queue (keeping them hidden while it
// reads) and returns them, each with the source queue SQS recorded.
func drain(ctx context.Context, c *sqs.Client, url string) ([]memqueue.Message, error) {
	var out []memqueue.Message
	for {
		res, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			VisibilityTimeout: 600, MessageAttributeNames: []string{"All"},
			AttributeNames:              []sqstypes.QueueAttributeName{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			return out, err
		}
		if len(res.Messages) == 0 {
			return out, nil
		}
		for _, m := range res.Messages {
			a := map[string]string{}
			for k, v := range m.MessageAttributes {
				a[k] = aws.ToString(v.StringValue)
			}
			// The queue's name, as memqueue names a message's source.
			src := m.Attributes[string(sqstypes.MessageSystemAttributeNameDeadLetterQueueSourceArn)]
			if i := strings.LastIndexByte(src, ':'); i >= 0 {
				src = src[i+1:]
			}
			out = append(out, memqueue.Message{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: a, Source: src})
		}
	}
}
