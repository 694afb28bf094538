// Package sqsqueue puts order events on the sync queue (one at a time, or
// in batches), refresh jobs on the refresh queue and failures on the
// dead-letter queues, and changes a message's visibility to time a retry.
package sqsqueue

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// API is the part of the SQS client the queue uses; *sqs.Client satisfies it.
type API interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Queue is one SQS queue.
type Queue struct {
	api API
	url string
}

var _ ingest.EncodedQueue = (*Queue)(nil)
var _ merchantapi.Queue = (*Queue)(nil)

// New returns the queue at url.
func New(api API, url string) *Queue { return &Queue{api: api, url: url} }

// Enqueue sends one order event, as order.EncodeMessage writes it. The
// message carries the connection and the event id as attributes, so an
// operator can filter without parsing. An event too large for a message
// returns an error wrapping order.ErrEventTooLarge, and nothing is sent.
func (q *Queue) Enqueue(ctx context.Context, e order.Event) error {
	body, err := order.EncodeMessage(e)
	if err != nil {
		return fmt.Errorf("sqsqueue: %w", err)
	}
	return q.EnqueueEncoded(ctx, e, body)
}

// EnqueueEncoded sends one order event already encoded: body is
// order.EncodeMessage(e) (the webhook encodes each event once, to refuse
// one too large). The message is Enqueue's.
func (q *Queue) EnqueueEncoded(ctx context.Context, e order.Event, body string) error {
	return q.Send(ctx, body, map[string]string{"connection": e.Connection, "source_event_id": e.SourceEventID})
}

// Send sends a body with string message attributes (empty values are left
// out: SQS refuses them).
func (q *Queue) Send(ctx context.Context, body string, attrs map[string]string) error {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body), MessageAttributes: attributes(attrs)}
	if _, err := q.api.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("sqsqueue: send: %w", err)
	}
	return nil
}

// maxDelay is SQS's limit on a message's delay.
const maxDelay = 15 * time.Minute

// Resend sends body again as a new message, delivered after d (rounded up
// to whole seconds, at most 15 minutes): its receive count starts over.
func (q *Queue) Resend(ctx context.Context, body string, d time.Duration) error {
	secs := int32(min((d+time.Second-1)/time.Second, maxDelay/time.Second))
	if _, err := q.api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body), DelaySeconds: secs}); err != nil {
		return fmt.Errorf("sqsqueue: resend: %w", err)
	}
	return nil
}

// maxVisibility is SQS's limit on a message's visibility timeout.
const maxVisibility = 12 * time.Hour

// RetryIn makes a received message visible again after d (rounded up to
// whole seconds, as SQS counts them).
func (q *Queue) RetryIn(ctx context.Context, receiptHandle string, d time.Duration) error {
	secs := int32(min((d+time.Second-1)/time.Second, maxVisibility/time.Second))
	_, err := q.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receiptHandle), VisibilityTimeout: secs})
	if err != nil {
		return fmt.Errorf("sqsqueue: change visibility to %ss: %w", strconv.Itoa(int(secs)), err)
	}
	return nil
}
