// Package pace paces the sync's and the refresh's calls to each
// marketplace account by the marketplace's own rate limit: a token bucket
// per connection, kept by each Lambda instance, sized from the limit the
// connector documents (backmarket.RateLimit, mirakl.RateLimit), and paused
// until the time a marketplace names when it answers 429 with Retry-After.
//
// Why a token bucket and not SQS FIFO message groups keyed by connection
// (one group per connection would also keep one account's orders from
// running side by side):
//   - A group runs one message at a time, in order. One order failing
//     would hold every later order of its connection until its retries are
//     spent (Lambda retries "the affected messages before [it] receives
//     additional messages from the same group",
//     https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html),
//     and ordersync's retries wait (attempt × 1.5 s, or Retry-After).
//   - One message at a time per connection is a pace of one order per
//     marketplace round trip, whatever the marketplace allows: 10 orders of
//     one connection would take 10 round trips again, the 4.8× this package
//     exists to remove. A group does not pace by the limit either: it
//     never lets two calls overlap, and never holds back a quick sequence.
//   - Lambda's concurrency on a FIFO source is at most the number of
//     active message groups (same page), so a few busy connections cap the
//     whole sync's throughput.
//   - A FIFO queue allows 300 transactions per second per API action
//     without high-throughput mode ("Troubleshoot FIFO throttling issues",
//     https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/troubleshooting-fifo-throttling-issues.html),
//     its dead-letter queue must be FIFO too ("a FIFO queue can only use a
//     FIFO DLQ", sqs-configure-dead-letter-queue.html of the same guide),
//     and every send needs a deduplication ID that hides a second send of
//     the same ID for 5 minutes (FIFO-key-terms.html). And the sync's
//     delayed Resend of a message cannot be: "When you set FifoQueue, you
//     can't set DelaySeconds per message" (SendMessage's DelaySeconds, SQS
//     API reference). Moving the queue is a migration of its own, for a
//     pace no better than one call at a time.
//
// The price of a bucket per instance: instances do not share it, so a
// connection whose orders land on k instances at once can be called k
// times its pace. The 429 that follows pauses each instance's bucket for
// the marketplace's Retry-After, and the order is retried after that delay
// (syncer's RetryDelay), so the excess is bounded and short-lived; see
// template.yaml's MaximumConcurrency for the sizing.
package pace

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Limit is a rate limit as a platform documents it: at most Requests
// calls in any Per. The zero Limit is no limit.
type Limit struct {
	Requests int
	Per      time.Duration
}

// bucket returns the token bucket that keeps one caller within l: burst
// tokens at first, refilled at rate per second. Half the limit is the
// burst and half the refill over Per, so no window of length Per sees more
// than l.Requests calls (burst + rate × Per), whether it is a sliding or
// a fixed window the platform counts in.
func (l Limit) bucket() (burst, rate float64) {
	half := float64(l.Requests) / 2
	return max(half, 1), half / l.Per.Seconds()
}

func (l Limit) none() bool { return l.Requests <= 0 || l.Per <= 0 }

// Clock is the time the buckets read, and wait on.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time                         { return time.Now() }
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ErrTooLong is in the chain of Wait's error when the next call may start
// only after the context's deadline: better to say so at once, and be
// retried later, than to hold the invocation until it times out.
var ErrTooLong = errors.New("pace: the next call is allowed only after the deadline")

// WaitError is Wait's error when it gave up: After is how long the caller
// would have had to wait from then on.
type WaitError struct {
	After time.Duration
	Err   error // ErrTooLong, or the context's error
}

func (e *WaitError) Error() string { return "pace: waiting for the rate limit: " + e.Err.Error() }
func (e *WaitError) Unwrap() error { return e.Err }

// Buckets are the token buckets of one Lambda instance, one per key (a
// connection). They are safe for concurrent use.
type Buckets struct {
	clock Clock
	mu    sync.Mutex
	m     map[string]*bucket
}

// maxBuckets bounds the memory of a long-lived instance; past it, the
// buckets start over (full), as on a cold start.
const maxBuckets = 10000

// NewBuckets returns empty buckets on clock (SystemClock when nil).
func NewBuckets(clock Clock) *Buckets {
	if clock == nil {
		clock = SystemClock{}
	}
	return &Buckets{clock: clock, m: map[string]*bucket{}}
}

type bucket struct {
	limit  Limit
	burst  float64
	rate   float64   // tokens a second
	tokens float64   // as of at
	at     time.Time // when tokens was counted
	paused time.Time // no call before this
}

// get returns key's bucket for limit, full when new or when the limit
// changed. The caller holds b.mu.
func (b *Buckets) get(key string, l Limit, now time.Time) *bucket {
	k := b.m[key]
	if k == nil || k.limit != l {
		if len(b.m) >= maxBuckets {
			b.m = map[string]*bucket{}
		}
		k = &bucket{limit: l, at: now}
		k.burst, k.rate = l.bucket()
		k.tokens = k.burst
		b.m[key] = k
	}
	return k
}

// take takes a token of k at now, or says how long until one is there.
func (k *bucket) take(now time.Time) (wait time.Duration) {
	if now.Before(k.paused) {
		return k.paused.Sub(now)
	}
	if now.After(k.at) {
		k.tokens = min(k.burst, k.tokens+now.Sub(k.at).Seconds()*k.rate)
		k.at = now
	}
	if k.tokens >= 1 {
		k.tokens--
		return 0
	}
	wait = time.Duration((1 - k.tokens) / k.rate * float64(time.Second))
	return max(wait, time.Nanosecond)
}

// Wait takes a token of key's bucket for limit, waiting for one as long
// as it takes. It fails, with a *WaitError, when ctx is done first, or at
// once (ErrTooLong) when the token would come after ctx's deadline. A
// zero limit never waits.
func (b *Buckets) Wait(ctx context.Context, key string, l Limit) error {
	if l.none() {
		return nil
	}
	for {
		b.mu.Lock()
		now := b.clock.Now()
		wait := b.get(key, l, now).take(now)
		b.mu.Unlock()
		if wait == 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
			return &WaitError{After: wait, Err: ErrTooLong}
		}
		select {
		case <-ctx.Done():
			return &WaitError{After: wait, Err: ctx.Err()}
		case <-b.clock.After(wait):
			// Another caller may have taken it, or a 429 paused the
			// bucket meanwhile: take again.
		}
	}
}

// Pause holds key's bucket until until (a marketplace's Retry-After):
// the marketplace said this account is out of calls. At until, one call
// may go, and the rest at the bucket's pace. An until not after now (a 429
// without Retry-After) empties the bucket: the next call waits for a
// token. A pause never shortens one already set.
func (b *Buckets) Pause(key string, l Limit, until time.Time) {
	if l.none() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	k := b.get(key, l, now)
	if !until.After(now) {
		if !now.Before(k.paused) {
			k.tokens, k.at = 0, now
		}
		return
	}
	if until.After(k.paused) {
		k.paused = until
	}
	k.tokens, k.at = 1, k.paused
}
