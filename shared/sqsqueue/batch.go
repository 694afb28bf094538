package sqsqueue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

var (
	_ refresh.Queue = (*Queue)(nil)
	_ refresh.Jobs  = (*Queue)(nil)
)

// Message is one message of a batch: a body and its string attributes
// (empty values are left out, as Send does).
type Message struct {
	Body  string
	Attrs map[string]string
}

// SQS's limits on one SendMessageBatch call: ten entries, and 256 KiB of
// bodies and attributes in all (the same as one message; see
// order.MaxMessageBytes).
const (
	maxBatchEntries = 10
	maxBatchBytes   = order.MaxMessageBytes
)

// batchTries is how many times SendBatch sends an entry SQS failed on its
// side (SenderFault false: throttled, an internal error) before it reports
// it. The SDK retries a failed call; it does not retry the failed entries
// of a call that succeeded, and they are the usual way a batch fails.
const batchTries = 3

// batchRetryWait is the wait before try n+1 of the failed entries: n times this.
const batchRetryWait = 100 * time.Millisecond

// Failure is one message of a batch that was not sent.
type Failure struct {
	Index int    // its index in the batch given to SendBatch
	Code  string // SQS's error code for the entry, when it answered one
	Err   error
}

// BatchError is the error of a SendBatch that did not send every message.
// Its Unwrap gives the failures' errors, so errors.Is sees through it.
type BatchError struct {
	Total    int
	Failures []Failure // by index
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sqsqueue: send batch: %d of %d messages not sent:", len(e.Failures), e.Total)
	for i, f := range e.Failures {
		if i == 10 {
			fmt.Fprintf(&b, " and %d more", len(e.Failures)-i)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " #%d (%v)", f.Index, f.Err)
	}
	return b.String()
}

func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// size is what SQS counts of a message: its body, and each attribute's
// name, type and value.
func (m Message) size() int {
	n := len(m.Body)
	for k, v := range m.Attrs {
		if v != "" {
			n += len(k) + len("String") + len(v)
		}
	}
	return n
}

// SendBatch sends msgs with SendMessageBatch: ten a call at most, and no
// more than SQS takes in one call. Entries SQS fails on its side are sent
// again, up to three tries in all. It returns nil once every message is
// sent, and otherwise a *BatchError naming each message not sent; the
// others were sent. A message too large for SQS is not sent; a call that
// fails as a whole (the queue is missing, the SDK's own retries ran out)
// ends the batch, and its messages and the rest are reported unsent.
func (q *Queue) SendBatch(ctx context.Context, msgs []Message) error {
	be := &BatchError{Total: len(msgs)}
	var chunk []int
	chunkBytes := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := q.sendChunk(ctx, msgs, chunk, be)
		chunk, chunkBytes = chunk[:0], 0
		return err
	}
	for i, m := range msgs {
		n := m.size()
		if n > maxBatchBytes {
			be.Failures = append(be.Failures, Failure{Index: i, Code: "MessageTooLong",
				Err: fmt.Errorf("a message of %d bytes, over SQS's %d", n, maxBatchBytes)})
			continue
		}
		if len(chunk) == maxBatchEntries || chunkBytes+n > maxBatchBytes {
			if err := flush(); err != nil {
				for j := i; j < len(msgs); j++ {
					be.Failures = append(be.Failures, Failure{Index: j, Err: fmt.Errorf("not tried: %w", err)})
				}
				return be.sorted()
			}
		}
		chunk = append(chunk, i)
		chunkBytes += n
	}
	if err := flush(); err != nil {
		return be.sorted()
	}
	if len(be.Failures) == 0 {
		return nil
	}
	return be.sorted()
}

func (e *BatchError) sorted() error {
	slices.SortFunc(e.Failures, func(a, b Failure) int { return cmp.Compare(a.Index, b.Index) })
	return e
}

// sendChunk sends the messages of msgs at indexes idx in one call, and the
// entries SQS failed on its side again. It records what it could not send
// in be, and returns the error of a call that failed as a whole.
func (q *Queue) sendChunk(ctx context.Context, msgs []Message, idx []int, be *BatchError) error {
	pending := append([]int(nil), idx...)
	for try := 1; ; try++ {
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url)}
		for _, i := range pending {
			in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
				MessageBody: aws.String(msgs[i].Body), MessageAttributes: attributes(msgs[i].Attrs)})
		}
		out, err := q.api.SendMessageBatch(ctx, in)
		if err != nil {
			err = fmt.Errorf("send message batch: %w", err)
			for _, i := range pending {
				be.Failures = append(be.Failures, Failure{Index: i, Err: err})
			}
			return err
		}
		var again []int
		for _, f := range out.Failed {
			i, err := strconv.Atoi(aws.ToString(f.Id))
			if err != nil {
				continue // not an id we sent
			}
			if !f.SenderFault && try < batchTries {
				again = append(again, i)
				continue
			}
			be.Failures = append(be.Failures, Failure{Index: i, Code: aws.ToString(f.Code),
				Err: fmt.Errorf("%s: %s (try %d)", aws.ToString(f.Code), aws.ToString(f.Message), try)})
		}
		if len(again) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			for _, i := range again {
				be.Failures = append(be.Failures, Failure{Index: i, Err: ctx.Err()})
			}
			return nil
		case <-time.After(time.Duration(try) * batchRetryWait):
		}
		pending = again
	}
}

func attributes(attrs map[string]string) map[string]types.MessageAttributeValue {
	out := map[string]types.MessageAttributeValue{}
	for k, v := range attrs {
		if v != "" {
			out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	return out
}

// EnqueueBatch sends order events as Enqueue sends each (the body
// order.EncodeMessage writes, the connection and event id as attributes),
// in SendMessageBatch calls. On an error, a *BatchError, the events it does
// not name were queued; an event too large for a message is named with an
// error wrapping order.ErrEventTooLarge, and the others are still sent.
func (q *Queue) EnqueueBatch(ctx context.Context, events []order.Event) error {
	msgs := make([]Message, 0, len(events))
	at := make([]int, 0, len(events)) // msgs[k] is events[at[k]]
	var tooLarge []Failure
	for i, e := range events {
		body, err := order.EncodeMessage(e)
		if err != nil {
			tooLarge = append(tooLarge, Failure{Index: i, Err: fmt.Errorf("event %s: %w", e.SourceEventID, err)})
			continue
		}
		msgs = append(msgs, Message{Body: body, Attrs: map[string]string{"connection": e.Connection, "source_event_id": e.SourceEventID}})
		at = append(at, i)
	}
	err := q.SendBatch(ctx, msgs)
	if err == nil && len(tooLarge) == 0 {
		return nil
	}
	be := &BatchError{Total: len(events), Failures: tooLarge}
	var sent *BatchError
	if errors.As(err, &sent) {
		for _, f := range sent.Failures {
			f.Index = at[f.Index]
			be.Failures = append(be.Failures, f)
		}
	}
	return be.sorted()
}

// SendJobs sends refresh jobs, each as its JSON (refresh.Job is the
// refresh queue's message body) with its connection as an attribute, in
// SendMessageBatch calls. It returns nil only once every job is queued;
// otherwise a *BatchError naming the jobs not queued by index.
func (q *Queue) SendJobs(ctx context.Context, jobs []refresh.Job) error {
	msgs := make([]Message, len(jobs))
	for i, j := range jobs {
		b, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("sqsqueue: job %s: %w", j.Connection, err)
		}
		msgs[i] = Message{Body: string(b), Attrs: map[string]string{"connection": j.Connection}}
	}
	return q.SendBatch(ctx, msgs)
}
