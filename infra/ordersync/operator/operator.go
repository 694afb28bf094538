// Package operator is the core of the operator's CLI (infra/ordersync): it
// reads the sync's dead-letter queue grouped by connection and error code,
// redrives only the messages that match a filter at a bounded rate, shows
// an order and queues re-syncs. It talks to SQS and DynamoDB through the
// SDK, so it runs the same on AWS and on `make run`'s emulators.
package operator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncbatch"
)

// SQS is the part of the SQS client the operator uses; *sqs.Client
// satisfies it.
type SQS interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Store is the part of the store the operator reads; *dynamostore.Store
// satisfies it.
type Store interface {
	Connection(ctx context.Context, id string) (order.Connection, error)
	LoadOrder(ctx context.Context, conn, marketplaceOrderID string) (order.State, error)
}

// Queue puts an event on the sync queue; *sqsqueue.Queue satisfies it.
type Queue interface {
	Enqueue(ctx context.Context, e order.Event) error
}

// Config names the stack's queues.
type Config struct {
	SyncQueueURL, DLQURL string
	// Hold is how long a message read from the DLQ stays hidden while the
	// operator works (default 2 minutes); read-only commands release each
	// message as soon as they have read the whole queue.
	Hold time.Duration
}

// Operator carries out the CLI's commands.
type Operator struct {
	cfg   Config
	sqs   SQS
	store Store
	queue Queue
	// Progress receives a progress line on bulk work; nil is silent.
	Progress io.Writer
	// Sleep waits between two redriven messages (time.Sleep by default).
	Sleep func(time.Duration)
}

// New returns an Operator.
func New(cfg Config, s SQS, store Store, queue Queue) *Operator {
	if cfg.Hold <= 0 {
		cfg.Hold = 2 * time.Minute
	}
	return &Operator{cfg: cfg, sqs: s, store: store, queue: queue, Sleep: time.Sleep}
}

// DeadLetter is one message of the DLQ and why it is there. The reason
// comes from the message's attributes when the sender put it there, else
// from the order's stored state (a message the queue's redrive policy
// moved carries only the attributes it was first sent with).
type DeadLetter struct {
	MessageID          string `json:"message_id"`
	Connection         string `json:"connection"`
	MarketplaceOrderID string `json:"marketplace_order_id,omitempty"`
	StoreOrderID       string `json:"store_order_id,omitempty"`
	Code               string `json:"error_code"`
	// Resolved: the order synced since (its failure of Code is resolved),
	// so a redrive of this message is harmless, and needless.
	Resolved bool      `json:"resolved,omitempty"`
	FailedAt time.Time `json:"failed_at"`
	SentAt   time.Time `json:"sent_at"`
	Receives int       `json:"receives"`

	body, receipt string
	attrs         map[string]sqstypes.MessageAttributeValue
}

// The connection or code the CLI gives a message whose reason is not a
// catalogue code: Unknown for an order not stored (or a body naming none),
// Unreadable for a body that is not an event, NotFailing for an order
// that synced since with no failure on record.
const (
	Unknown    = "unknown"
	Unreadable = "unreadable"
	NotFailing = "not_failing"
)

// Group counts the DLQ's messages of one connection and error code.
type Group struct {
	Connection string `json:"connection"`
	Code       string `json:"error_code"`
	Count      int    `json:"count"`
	// Resolved counts those whose order synced since.
	Resolved int       `json:"resolved"`
	Oldest   time.Time `json:"oldest"`
	Newest   time.Time `json:"newest"`
}

// Filter picks DLQ messages; zero fields match all.
type Filter struct {
	Connection, Code string
	// MarketplaceOrderID picks one order's messages.
	MarketplaceOrderID string
	// Since and Until bound when the message failed (Until excluded).
	Since, Until time.Time
}

// Match reports whether d passes f.
func (f Filter) Match(d DeadLetter) bool {
	return (f.Connection == "" || f.Connection == d.Connection) &&
		(f.Code == "" || f.Code == d.Code) &&
		(f.MarketplaceOrderID == "" || f.MarketplaceOrderID == d.MarketplaceOrderID) &&
		(f.Since.IsZero() || !d.FailedAt.Before(f.Since)) &&
		(f.Until.IsZero() || d.FailedAt.Before(f.Until))
}

// List reads every message of the DLQ, holding each hidden while it reads
// the rest, then makes them all visible again: nothing is moved or
// deleted. It returns them grouped, largest group first, and each.
func (o *Operator) List(ctx context.Context) ([]Group, []DeadLetter, error) {
	all, err := o.readAll(ctx)
	o.release(ctx, all)
	if err != nil {
		return nil, nil, err
	}
	return Groups(all), all, nil
}

// Groups groups dead letters by connection and code, largest group first.
func Groups(all []DeadLetter) []Group {
	idx := map[[2]string]int{}
	var gs []Group
	for _, d := range all {
		k := [2]string{d.Connection, d.Code}
		i, ok := idx[k]
		if !ok {
			i, idx[k] = len(gs), len(gs)
			gs = append(gs, Group{Connection: d.Connection, Code: d.Code, Oldest: d.FailedAt, Newest: d.FailedAt})
		}
		g := &gs[i]
		g.Count++
		if d.Resolved {
			g.Resolved++
		}
		if d.FailedAt.Before(g.Oldest) {
			g.Oldest = d.FailedAt
		}
		if d.FailedAt.After(g.Newest) {
			g.Newest = d.FailedAt
		}
	}
	slices.SortStableFunc(gs, func(a, b Group) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Connection, b.Connection), cmp.Compare(a.Code, b.Code))
	})
	return gs
}

// RedriveResult counts what a redrive did.
type RedriveResult struct {
	Matched   int  `json:"matched"`
	Redriven  int  `json:"redriven"`
	LeftInDLQ int  `json:"left_in_dlq"`
	DryRun    bool `json:"dry_run"`
}

// Redrive moves the DLQ's messages that f matches back to the sync queue,
// at most rate a second (0: no bound), and leaves the others in the DLQ,
// visible again once it is done. Each is sent first, with its body and
// attributes, and deleted from the DLQ only once sent: a message is never
// lost, and one whose delete failed is only synced twice, which the sync
// makes harmless. With dryRun it only counts.
func (o *Operator) Redrive(ctx context.Context, f Filter, rate float64, dryRun bool) (RedriveResult, error) {
	all, err := o.readAll(ctx)
	if err != nil {
		o.release(ctx, all)
		return RedriveResult{}, err
	}
	res := RedriveResult{DryRun: dryRun}
	var keep, moving []DeadLetter
	for _, d := range all {
		if f.Match(d) {
			moving = append(moving, d)
		} else {
			keep = append(keep, d)
		}
	}
	res.Matched, res.LeftInDLQ = len(moving), len(keep)
	if dryRun {
		o.release(ctx, all)
		return res, nil
	}
	o.release(ctx, keep)
	var gap time.Duration
	if rate > 0 {
		gap = time.Duration(float64(time.Second) / rate)
	}
	// The matched stay hidden for the whole run, so none is received (and
	// synced) before its turn; one not moved comes back after that.
	o.hold(ctx, moving, o.cfg.Hold+time.Duration(len(moving))*gap)
	for i, d := range moving {
		if i > 0 && gap > 0 {
			o.Sleep(gap)
		}
		if err := o.move(ctx, d); err != nil {
			o.release(ctx, moving[i:])
			res.LeftInDLQ += len(moving) - i
			return res, err
		}
		res.Redriven++
		o.progress("redrive", res.Redriven, len(moving))
	}
	return res, nil
}

// move sends d to the sync queue, then deletes it from the DLQ. The
// message keeps its attributes, and carries the code it was dead-lettered
// for (syncbatch.AttrErrorCode), which the sync logs and counts as a
// redrive.
func (o *Operator) move(ctx context.Context, d DeadLetter) error {
	attrs := maps.Clone(d.attrs)
	if attrs == nil {
		attrs = map[string]sqstypes.MessageAttributeValue{}
	}
	if d.Code != Unknown && d.Code != Unreadable && d.Code != NotFailing {
		attrs[syncbatch.AttrErrorCode] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(d.Code)}
	}
	if _, err := o.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(o.cfg.SyncQueueURL),
		MessageBody: aws.String(d.body), MessageAttributes: attrs}); err != nil {
		return fmt.Errorf("operator: send %s to the sync queue: %w", d.MessageID, err)
	}
	if _, err := o.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(o.cfg.DLQURL), ReceiptHandle: aws.String(d.receipt)}); err != nil {
		return fmt.Errorf("operator: %s is on the sync queue but still in the DLQ: %w", d.MessageID, err)
	}
	return nil
}

// readAll receives every message of the DLQ, each held hidden for Hold,
// until a receive answers none.
func (o *Operator) readAll(ctx context.Context) ([]DeadLetter, error) {
	total := o.depth(ctx)
	seen := map[string]bool{}
	var all []DeadLetter
	for {
		out, err := o.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(o.cfg.DLQURL), MaxNumberOfMessages: 10,
			VisibilityTimeout: int32(o.cfg.Hold / time.Second), WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"},
			AttributeNames:              []sqstypes.QueueAttributeName{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			return all, fmt.Errorf("operator: read the DLQ: %w", err)
		}
		if len(out.Messages) == 0 {
			return all, nil
		}
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue // held past Hold and received again
			}
			seen[id] = true
			d, err := o.explain(ctx, m)
			if err != nil {
				return all, err
			}
			all = append(all, d)
		}
		o.progress("read", len(all), max(total, len(all)))
	}
}

// explain reads why message m is in the DLQ.
func (o *Operator) explain(ctx context.Context, m sqstypes.Message) (DeadLetter, error) {
	attr := func(k string) string {
		if v, ok := m.MessageAttributes[k]; ok {
			return aws.ToString(v.StringValue)
		}
		return ""
	}
	d := DeadLetter{MessageID: aws.ToString(m.MessageId), body: aws.ToString(m.Body), receipt: aws.ToString(m.ReceiptHandle), attrs: m.MessageAttributes,
		Connection: Unknown}
	if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
		d.SentAt = time.UnixMilli(ms).UTC()
	}
	d.Receives, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	d.FailedAt, _ = time.Parse(time.RFC3339, attr("first_failed_at"))
	ev, err := order.DecodeMessage(d.body)
	if err == nil && ev.Connection != "" {
		d.Connection, d.MarketplaceOrderID, d.StoreOrderID = ev.Connection, ev.Order.MarketplaceOrderID, ev.Order.StoreOrderID
	} else if c := attr("connection"); c != "" {
		d.Connection = c
	}
	// The order's state first: it is the newest word (a message redriven
	// before carries the code of its earlier failure); the message's own
	// error_code attribute when the order is not stored.
	if d.MarketplaceOrderID != "" {
		st, err := o.store.LoadOrder(ctx, d.Connection, d.MarketplaceOrderID)
		switch {
		case errors.Is(err, order.ErrNotFound):
		case err != nil:
			return d, fmt.Errorf("operator: order %s/%s: %w", d.Connection, d.MarketplaceOrderID, err)
		case st.Sync.Result == order.SyncFailed || st.Sync.Result == order.SyncHeld:
			d.Code = st.Sync.ErrorCode
			d.FailedAt = cmp.Or(st.Sync.FirstFailedAt, st.Sync.At).UTC()
		case st.Resolved != nil:
			d.Code, d.Resolved = st.Resolved.Code, true
		default:
			d.Resolved = true
		}
	}
	if d.Code == "" {
		d.Code = attr(syncbatch.AttrErrorCode)
	}
	switch {
	case d.Code == "" && err != nil:
		d.Code = Unreadable
	case d.Code == "" && d.Resolved:
		d.Code = NotFailing
	}
	d.Code = cmp.Or(d.Code, Unknown)
	if d.FailedAt.IsZero() {
		d.FailedAt = d.SentAt
	}
	return d, nil
}

// release makes messages held by this operator visible again at once.
func (o *Operator) release(ctx context.Context, ds []DeadLetter) {
	ctx = context.WithoutCancel(ctx)
	for _, d := range ds {
		// A message not released comes back after Hold anyway.
		_, _ = o.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(o.cfg.DLQURL), ReceiptHandle: aws.String(d.receipt)})
	}
}

// maxHold is SQS's limit on a visibility timeout.
const maxHold = 12 * time.Hour

// hold keeps messages held by this operator hidden for d more.
func (o *Operator) hold(ctx context.Context, ds []DeadLetter, d time.Duration) {
	secs := int32(min(d, maxHold) / time.Second)
	for _, m := range ds {
		// Not held longer, it may come back early: then it is synced
		// before its turn, and its delete here fails with no harm done.
		_, _ = o.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(o.cfg.DLQURL),
			ReceiptHandle: aws.String(m.receipt), VisibilityTimeout: secs})
	}
}

// depth is the DLQ's approximate number of visible messages (0 unknown).
func (o *Operator) depth(ctx context.Context) int {
	out, err := o.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(o.cfg.DLQURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	return n
}

// progress writes one progress line, rewritten in place.
func (o *Operator) progress(what string, done, total int) {
	if o.Progress == nil {
		return
	}
	const width = 30
	filled := width
	if total > 0 {
		filled = min(width, done*width/total)
	}
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < filled {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(o.Progress, "\r%-8s [%s] %d/%d", what, bar, done, total)
	if done >= total {
		fmt.Fprintln(o.Progress)
	}
}

// Order returns the stored state of an order, its timeline included.
func (o *Operator) Order(ctx context.Context, conn, marketplaceOrderID string) (order.State, error) {
	st, err := o.store.LoadOrder(ctx, conn, marketplaceOrderID)
	if err != nil {
		return st, fmt.Errorf("operator: order %s/%s: %w", conn, marketplaceOrderID, err)
	}
	return st, nil
}

// ResyncResult lists what a re-sync queued.
type ResyncResult struct {
	Queued   []string `json:"queued"`
	NotFound []string `json:"not_found"`
}

// Resync queues a re-sync of each stored order of ids, as the merchant
// API's re-sync does; it reads them all before it queues any.
func (o *Operator) Resync(ctx context.Context, connID string, ids []string) (ResyncResult, error) {
	conn, err := o.store.Connection(ctx, connID)
	if err != nil {
		return ResyncResult{}, fmt.Errorf("operator: connection %s: %w", connID, err)
	}
	res := ResyncResult{Queued: []string{}, NotFound: []string{}}
	var evs []order.Event
	for _, id := range ids {
		st, err := o.store.LoadOrder(ctx, connID, id)
		switch {
		case errors.Is(err, order.ErrNotFound):
			res.NotFound = append(res.NotFound, id)
			continue
		case err != nil:
			return ResyncResult{}, fmt.Errorf("operator: order %s/%s: %w", connID, id, err)
		}
		evs = append(evs, merchantapi.ResyncEvent(conn, id, st))
	}
	for i, e := range evs {
		if err := o.queue.Enqueue(ctx, e); err != nil {
			return res, fmt.Errorf("operator: queue a re-sync of %s: %w", e.Order.MarketplaceOrderID, err)
		}
		res.Queued = append(res.Queued, e.Order.MarketplaceOrderID)
		o.progress("resync", i+1, len(evs))
	}
	return res, nil
}
