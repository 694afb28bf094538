// Package syncer applies one order event: it brings the marketplace order
// to the state the merchant's store says it should have, or records exactly
// why not, and says what should become of the event (done, tried again
// after a delay, or dead-lettered with its reason). It owns the retry
// policy; the adapters it uses only classify errors, and it knows nothing
// of the queue the event came from (shared/syncbatch drives it from SQS).
package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/ordersync/ordersync/shared/emf"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Config is the sync's policy. Zero fields take the defaults.
type Config struct {
	// MaxAttempts is the retry budget: the sync queue's maxReceiveCount.
	MaxAttempts int
	// RetryBase: try n+1 comes n × RetryBase after try n (1.5 s), unless
	// the marketplace sent Retry-After. RetryCap bounds either.
	RetryBase, RetryCap time.Duration
	// EffectLease is how long a claimed marketplace call blocks others
	// before it counts as abandoned.
	EffectLease time.Duration
	// Bookkeeping is the time kept for recording how an event ended (its
	// outcome, the error list, the email) once the work is over.
	Bookkeeping time.Duration
	// NotifyTTL is how long one email covers the same order and problem.
	NotifyTTL time.Duration
	Now       func() time.Time
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	def(&c.RetryBase, 1500*time.Millisecond)
	def(&c.RetryCap, 15*time.Minute)
	def(&c.EffectLease, 2*time.Minute)
	def(&c.Bookkeeping, 5*time.Second)
	// Longer than the DLQ keeps a message (14 days), so a late redrive
	// of the same problem does not email twice.
	def(&c.NotifyTTL, 15*24*time.Hour)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Marketplaces builds the marketplace client of a connection. Unknown
// platforms fail with platform_unsupported.
type Marketplaces interface {
	Marketplace(ctx context.Context, conn order.Connection) (Marketplace, error)
}

// Storefronts builds the merchant store client of a connection.
type Storefronts interface {
	Storefront(ctx context.Context, conn order.Connection) (Storefront, error)
}

// Notice is one failure to tell a merchant about.
type Notice struct {
	Connection  order.Connection
	State       order.State
	Explanation syncerr.Explanation
	Marketplace string
	Attempts    int
}

// Notifier tells a merchant about a failure.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Syncer applies events. It is safe for concurrent use.
type Syncer struct {
	cfg    Config
	store  Store
	mps    Marketplaces
	stores Storefronts
	notify Notifier
	log    *slog.Logger
	// ledger, when set, is told of every final outcome (see WithLedger).
	ledger    Ledger
	ledgerKey func(order.Event) string
	// aliases, when set, translates SKUs (see WithAliases).
	aliases Aliases
}

// New returns a Syncer.
func New(cfg Config, store Store, mps Marketplaces, notify Notifier, log *slog.Logger) *Syncer {
	return &Syncer{cfg: cfg.withDefaults(), store: store, mps: mps, notify: notify, log: log}
}

// WithStorefronts lets the sync read orders from the merchant's store: for
// events that only name an order (Event.Fetch), and, best effort, before
// it tries again an order whose last sync failed, so a fix made in the
// store (a tracking number filled in) applies even when the store's own
// webhook about it was lost. Without it, fetch events fail with
// platform_unsupported.
func (p *Syncer) WithStorefronts(s Storefronts) *Syncer {
	p.stores = s
	return p
}

// Config returns the policy in force, defaults filled in.
func (p *Syncer) Config() Config { return p.cfg }

// Delivery is one try of one event.
type Delivery struct {
	Event order.Event
	// Attempt counts the tries of this event, this one included (1 on
	// the first); Config.MaxAttempts is the last automatic one.
	Attempt int
}

// Verdict is what should become of a delivered event.
type Verdict int

// Verdicts.
const (
	// Done: the event was applied, ignored, or superseded by a newer one.
	Done Verdict = iota
	// Retry: try the event again after Outcome.After.
	Retry
	// DeadLetter: the event failed for good, for Outcome.Failure's
	// reason, which is recorded on the order, in the merchant's error
	// list and emailed. Keep the event where it can be re-sent from; if
	// that fails, try it again after Outcome.After instead.
	DeadLetter
	// Interrupted: ordersync's own storage failed before anything was
	// decided (Outcome.Err). Try again after the queue's own delay: an
	// outage lasts.
	Interrupted
	// Resend: the event's work is undone and its automatic tries are
	// spent, for a reason that will pass (another worker holds a call it
	// needs): send it again as a new event after Outcome.After, and
	// forget this delivery. Never acknowledge it as it is.
	Resend
)

// Outcome is how a delivery ended.
type Outcome struct {
	Verdict Verdict
	After   time.Duration
	Failure Failure
	Err     error
	// RedrivenFor, when set, is the error code the delivered event was
	// dead-lettered for: the delivery is a redrive of it (from the
	// console, a message move task or the operator's CLI). It is known by
	// the order, whose timeline records the event failed for good, on the
	// delivery's first receive: a redriven message is a new one, its
	// receive count starting over, and nothing else of it survives the
	// console's redrive.
	RedrivenFor string
}

// Failure is the reason an event was dead-lettered, as an operator filters
// on it.
type Failure struct {
	Code          syncerr.Code
	Connection    string
	OrderKey      string // connection/marketplace order id, or connection/store:id
	FirstFailedAt time.Time
	Attempts      int
}

// Sync applies one delivered event. A panic fails only this event.
//
// The work gets ctx's deadline less Config.Bookkeeping, so a slow
// marketplace call is cut while there is still time to record how the
// event ended; that bookkeeping runs on its own short context.
func (p *Syncer) Sync(ctx context.Context, d Delivery) (out Outcome) {
	j := p.job(d)
	// Deferred first, so it runs last: after a panic's outcome is set.
	defer func() { p.settle(ctx, d.Event, out) }()
	work := ctx
	if dl, ok := ctx.Deadline(); ok {
		var stop context.CancelFunc
		work, stop = context.WithDeadline(ctx, dl.Add(-p.cfg.Bookkeeping))
		defer stop()
	}
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("panic while syncing", "connection", d.Event.Connection, "source_event", d.Event.SourceEventID,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			bctx, cancel := p.bookkeeping(ctx)
			defer cancel()
			out = j.notDone(bctx, syncerr.E(syncerr.InternalError))
		}
	}()
	defer func() {
		if len(j.made) > 0 {
			bctx, cancel := p.bookkeeping(ctx)
			defer cancel()
			j.confirmCalls(bctx)
		}
	}()
	out = j.run(work, func() (context.Context, context.CancelFunc) { return p.bookkeeping(ctx) })
	out.RedrivenFor = j.redrivenFor
	return out
}

// bookkeeping is the context for recording how a delivery ended: its own
// budget, from when the work is over, so a slow answer cannot spend it.
func (p *Syncer) bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Bookkeeping)
}

// Untried ends a delivery that could not be tried (no time left, say):
// it is tried again, and on its last try it is failed with err, so that
// it reaches the DLQ with its reason rather than through SQS's redrive
// with none.
func (p *Syncer) Untried(ctx context.Context, d Delivery, err error) Outcome {
	bctx, cancel := p.bookkeeping(ctx)
	defer cancel()
	out := p.job(d).notDone(bctx, err)
	p.settle(ctx, d.Event, out)
	return out
}

// Fail ends a delivery as failed for good with err, without trying it (an
// unreadable message, say).
func (p *Syncer) Fail(ctx context.Context, d Delivery, err error) Outcome {
	bctx, cancel := p.bookkeeping(ctx)
	defer cancel()
	out := p.job(d).fail(bctx, err)
	p.settle(ctx, d.Event, out)
	return out
}

// RetryDelay is the retry policy: the marketplace's Retry-After when err
// carries one, else attempt × RetryBase; at most RetryCap.
func (p *Syncer) RetryDelay(attempt int, err error) time.Duration {
	d := syncerr.RetryAfterOf(err)
	if d <= 0 {
		d = time.Duration(max(attempt, 1)) * p.cfg.RetryBase
	}
	return min(d, p.cfg.RetryCap)
}

func (p *Syncer) job(d Delivery) *job {
	return &job{p: p, event: d.Event, attempts: max(d.Attempt, 1), started: p.cfg.Now()}
}

// job is the handling of one delivery.
type job struct {
	p        *Syncer
	event    order.Event
	attempts int
	conn     order.Connection
	state    order.State
	want     rules.Want
	// basis names what the sync planned on (the store's side of the
	// state); an outcome is not written over a state with another basis.
	basis string

	// Timeline (see timeline.go): when the delivery began, the entries
	// noted for the next write of the state, whether a write carried the
	// received entry, and the delay a retried entry names.
	started time.Time
	pending []order.TimelineEntry
	// facts are the details of the failure fail records, for its timeline
	// entry.
	facts    map[string]string
	received bool
	// unsaved are the events applied to state and not written yet
	// (applyLater); changed says the event changed the order.
	unsaved []order.Event
	changed bool
	// unsavedRefunds are the timeline entries of the store refunds the
	// unsaved events bring.
	unsavedRefunds []order.TimelineEntry
	// made are the claim keys of the calls made and not yet named by a
	// write of the order (State.Calls).
	made []string
	// claims are the claims claimAll took for the plan's calls, until
	// each call takes its own; failed, the keys of calls that certainly
	// failed, whose claims releaseUnused gives back.
	claims  map[string]heldClaim
	failed  map[string]int64 // key → token
	retryIn time.Duration
	// loaded: the order's state was read; redrivenFor, then, the code
	// the event was dead-lettered for when this delivery redrives it.
	loaded      bool
	redrivenFor string
	// extra are changes every outcome write of the state carries (the
	// store changes explained, the marketplace refunds recorded: see
	// partial.go).
	extra []func(*order.State)
	// refusedCancel is a line cancel the marketplace answered
	// cancel_unsupported to, refusedRefund a line refund it answered
	// refund_unsupported to (partial.go); refusedLines, the refund's lines.
	refusedCancel, refusedRefund error
	refusedLines                 []order.Line
	// notedRefunds are the marketplace refunds this job noted
	// (noteMarketplaceRefunds).
	notedRefunds []string
	// The connection's SKU aliases, both ways, once read (aliases.go).
	aliasesRead            bool
	toMarketplace, toStore map[string]string
}

// notDone ends a delivery that was not really tried (a panic, no time
// left, ordersync's own storage failing): it comes back for another try,
// and on its last one it is failed with err.
func (j *job) notDone(ctx context.Context, err error) Outcome {
	if !j.last() {
		return j.retry(j.retryDelay(err))
	}
	if j.conn.ID == "" {
		if c, cerr := j.p.store.Connection(ctx, j.event.Connection); cerr == nil {
			j.conn = c
		}
	}
	if j.state.Ref.MarketplaceOrderID == "" && j.event.Order.MarketplaceOrderID != "" {
		if st, serr := j.p.store.LoadOrder(ctx, j.event.Connection, j.event.Order.MarketplaceOrderID); serr == nil {
			j.state = st
		}
	}
	return j.fail(ctx, detail(err, j.stateOr().Ref, j.conn))
}

func (j *job) run(ctx context.Context, bookkeeping func() (context.Context, context.CancelFunc)) Outcome {
	log := j.p.log.With("connection", j.event.Connection, "store_order", j.event.Order.StoreOrderID,
		"source_event", j.event.SourceEventID, "attempt", j.attempts)
	err := j.sync(ctx)
	if err == nil {
		log.Info("synced", append([]any{"marketplace_order", j.state.Ref.MarketplaceOrderID, "status", j.state.MarketplaceStatus},
			j.p.metric(nil, emf.Count("synced", 1))...)...)
		return Outcome{Verdict: Done}
	}
	bctx, cancel := bookkeeping()
	defer cancel()
	var infra *infraError
	if errors.As(err, &infra) {
		// Our own storage failed: nothing was decided, try again later
		// (after the queue's visibility timeout, not at once: an outage
		// lasts), or record it on the last try.
		log.Error("sync interrupted", "err", err)
		if !j.last() {
			return Outcome{Verdict: Interrupted, Err: err}
		}
		return j.notDone(bctx, syncerr.E(syncerr.InternalError).Wrap(err))
	}
	code := syncerr.CodeOf(err)
	kind := syncerr.KindOf(err)
	log = log.With("marketplace_order", j.state.Ref.MarketplaceOrderID, "code", code, "kind", kind)
	if errors.Is(err, errInProgress) {
		// This event's own calls are not made yet (the holder may have
		// planned on an older word): it must come back, after the
		// holder's lease at the latest, even past its last try. Its
		// change is written now, so that the holder's outcome is
		// superseded by it and the holder plans again on it.
		if _, ferr := j.flush(bctx); ferr != nil {
			log.Error("sync interrupted", "err", ferr)
			if !j.last() {
				return Outcome{Verdict: Interrupted, Err: ferr}
			}
		}
		if j.last() {
			log.Info("another worker is making a call this event needs; sending it again for later")
			return Outcome{Verdict: Resend, After: j.p.cfg.EffectLease}
		}
		log.Info("another worker is making a call this event needs; retrying later")
		return j.retry(j.p.cfg.EffectLease)
	}
	if kind == syncerr.Transient && !j.last() {
		delay := j.retryDelay(err)
		log.Warn("sync failed; retrying", append([]any{"retry_in", delay.String(), "err", err},
			j.p.metric([]emf.Dimension{{Name: "error_code", Value: string(code)}}, emf.Count("retried", 1))...)...)
		j.retryIn = roundDelay(delay)
		if superseded, _ := j.saveOutcome(bctx, order.SyncOutcome{Result: order.SyncPending, ErrorCode: string(code), Attempts: j.attempts}); superseded {
			log.Info("a newer change to the order supersedes this event")
			return Outcome{Verdict: Done}
		}
		return j.retry(delay)
	}
	log.Warn("sync failed", append([]any{"err", err},
		j.p.metric([]emf.Dimension{{Name: "error_code", Value: string(code)}}, emf.Count("failed", 1))...)...)
	return j.fail(bctx, err)
}

func (j *job) stateOr() order.State {
	s := j.state
	if s.Connection == "" {
		s.Connection = j.event.Connection
	}
	if s.Ref.StoreOrderID == "" {
		s.Ref.StoreOrderID, s.Ref.StoreOrderName = j.event.Order.StoreOrderID, j.event.Order.StoreOrderName
	}
	return s
}

func (j *job) retryDelay(err error) time.Duration { return j.p.RetryDelay(j.attempts, err) }

func (j *job) retry(d time.Duration) Outcome { return Outcome{Verdict: Retry, After: d} }

// last reports whether this is the event's last automatic try.
func (j *job) last() bool { return j.attempts >= j.p.cfg.MaxAttempts }

// metric returns the attributes that make a log line of the sync an EMF
// document (shared/emf; the README lists the metrics).
func (p *Syncer) metric(dims []emf.Dimension, ms ...emf.Metric) []any {
	return emf.Of(p.cfg.Now(), "sync", dims, ms...)
}
