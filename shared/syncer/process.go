package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Config is the sync's policy. Zero fields take the defaults.
type Config struct {
	// MaxReceiveCount is the retry budget: the queue's maxReceiveCount.
	MaxReceiveCount int
	// RetryBase: try n+1 comes n × RetryBase after try n (1.5 s), unless
	// the marketplace sent Retry-After. RetryCap bounds either.
	RetryBase, RetryCap time.Duration
	// EffectLease is how long a claimed marketplace call blocks others
	// before it counts as abandoned.
	EffectLease time.Duration
	// Concurrency bounds how many orders of one batch sync at once, and
	// PerConnection how many of them belong to one connection, so a batch
	// never calls one marketplace account faster than a worker at a time
	// per slot (marketplaces rate-limit per account).
	Concurrency, PerConnection int
	// DeadlineMargin: no new message starts with less time than this left.
	DeadlineMargin time.Duration
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
	if c.MaxReceiveCount <= 0 {
		c.MaxReceiveCount = 3
	}
	def(&c.RetryBase, 1500*time.Millisecond)
	def(&c.RetryCap, 15*time.Minute)
	def(&c.EffectLease, 2*time.Minute)
	def(&c.DeadlineMargin, 5*time.Second)
	// Longer than the DLQ keeps a message (14 days), so a late redrive
	// of the same problem does not email twice.
	def(&c.NotifyTTL, 15*24*time.Hour)
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.PerConnection <= 0 {
		c.PerConnection = 2
	}
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

// Queue is the sync queue, as seen while handling one of its messages.
type Queue interface {
	// RetryIn makes the received message visible again after d.
	RetryIn(ctx context.Context, receiptHandle string, d time.Duration) error
}

// DeadLetters is the failure store (the sync queue's DLQ).
type DeadLetters interface {
	Send(ctx context.Context, body string, attrs map[string]string) error
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

// Processor handles batches of the sync queue.
type Processor struct {
	cfg    Config
	store  Store
	mps    Marketplaces
	stores Storefronts
	queue  Queue
	dlq    DeadLetters
	notify Notifier
	log    *slog.Logger
}

// New returns a Processor.
func New(cfg Config, store Store, mps Marketplaces, queue Queue, dlq DeadLetters, notify Notifier, log *slog.Logger) *Processor {
	return &Processor{cfg: cfg.withDefaults(), store: store, mps: mps, queue: queue, dlq: dlq, notify: notify, log: log}
}

// WithStorefronts lets the sync read orders from the merchant's store: for
// events that only name an order (Event.Fetch), and, best effort, before
// it tries again an order whose last sync failed, so a fix made in the
// store (a tracking number filled in) applies even when the store's own
// webhook about it was lost. Without it, fetch events fail with
// platform_unsupported.
func (p *Processor) WithStorefronts(s Storefronts) *Processor {
	p.stores = s
	return p
}

// Handle processes one SQS batch. Messages for the same order run in their
// order; different orders run concurrently, at most Concurrency at once and
// PerConnection per connection. It reports the messages to try again as
// batch item failures; every other message ended applied or in the DLQ
// with its reason. It returns an error, failing the whole batch, only when
// it could not work at all: every message failed on ordersync's own
// storage (DynamoDB unreachable, say).
func (p *Processor) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	groups := map[groupKey][]events.SQSMessage{}
	var keys []groupKey
	for _, m := range ev.Records {
		k := keyOf(m.Body)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], m)
	}
	var (
		mu       sync.Mutex
		failed   []events.SQSBatchItemFailure
		infraErr error
		infraN   int
		wg       sync.WaitGroup
		sem      = make(chan struct{}, p.cfg.Concurrency)
		perConn  = map[string]chan struct{}{}
	)
	for _, k := range keys {
		if perConn[k.connection] == nil {
			perConn[k.connection] = make(chan struct{}, p.cfg.PerConnection)
		}
	}
	for _, k := range keys {
		wg.Add(1)
		// The connection's slot first: an order waiting on a busy
		// connection must not hold a slot another connection could use.
		go func(msgs []events.SQSMessage, conn chan struct{}) {
			conn <- struct{}{}
			sem <- struct{}{}
			defer func() { <-sem; <-conn; wg.Done() }()
			for _, m := range msgs {
				r := p.handleOne(ctx, m)
				if r.done {
					continue
				}
				mu.Lock()
				failed = append(failed, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				if r.infra != nil {
					infraN++
					infraErr = r.infra
				}
				mu.Unlock()
			}
		}(groups[k], perConn[k.connection])
	}
	wg.Wait()
	if n := len(ev.Records); n > 0 && infraN == n {
		return events.SQSEventResponse{}, fmt.Errorf("sync: no message of the batch could be handled: %w", infraErr)
	}
	return events.SQSEventResponse{BatchItemFailures: failed}, nil
}

// groupKey names the order a message is about, so one order's messages
// are handled one after the other, and its connection.
type groupKey struct{ connection, order string }

func keyOf(body string) groupKey {
	var e struct {
		Connection string    `json:"connection"`
		Order      order.Ref `json:"order"`
	}
	if json.Unmarshal([]byte(body), &e) != nil {
		return groupKey{"", "unreadable:" + body}
	}
	if e.Order.MarketplaceOrderID != "" {
		return groupKey{e.Connection, "m#" + e.Order.MarketplaceOrderID}
	}
	return groupKey{e.Connection, "s#" + e.Order.StoreOrderID}
}

// result is how the handling of one message ended.
type result struct {
	done  bool  // applied or dead-lettered: delete it from the queue
	infra error // not done because ordersync's own storage failed
}

// handleOne processes one message. A panic fails only this message.
//
// The work gets the invocation's deadline less DeadlineMargin, so a slow
// marketplace call is cut while there is still time to record how the
// message ended; that bookkeeping runs on its own short context.
func (p *Processor) handleOne(ctx context.Context, m events.SQSMessage) (r result) {
	attempts, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	j := &job{p: p, msg: m, attempts: max(attempts, 1)}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.DeadlineMargin)
	defer cancel()
	if err := json.Unmarshal([]byte(m.Body), &j.event); err != nil || j.event.Connection == "" {
		p.log.Error("unreadable sync message", "message_id", m.MessageId)
		j.event = order.Event{}
		return result{done: j.fail(bctx, syncerr.E(syncerr.InvalidData, "field", "sync message"))}
	}
	work := ctx
	if dl, ok := ctx.Deadline(); ok {
		if time.Until(dl) < p.cfg.DeadlineMargin {
			p.log.Warn("not started: the invocation is about to time out", "message_id", m.MessageId)
			return j.notDone(bctx, syncerr.E(syncerr.MarketplaceUnavailable, "reason", "out of time"))
		}
		var stop context.CancelFunc
		work, stop = context.WithDeadline(ctx, dl.Add(-p.cfg.DeadlineMargin))
		defer stop()
	}
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("panic while syncing", "message_id", m.MessageId, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			r = j.notDone(bctx, syncerr.E(syncerr.InternalError))
		}
	}()
	return j.run(work, bctx)
}

// notDone ends a message that was not really tried (a panic, no time
// left, ordersync's own storage failing): it comes back for another try,
// and on its last one it is failed with err, so that it reaches the DLQ
// with its reason rather than through SQS's redrive with none.
func (j *job) notDone(ctx context.Context, err error) result {
	if !j.last() {
		j.retryIn(ctx, j.retryDelay(err))
		return result{}
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
	return result{done: j.fail(ctx, detail(err, j.stateOr().Ref, j.conn))}
}

// job is the handling of one message.
type job struct {
	p        *Processor
	msg      events.SQSMessage
	event    order.Event
	attempts int
	conn     order.Connection
	state    order.State
	want     rules.Want
	// basis names what the sync planned on (the store's side of the
	// state); an outcome is not written over a state with another basis.
	basis string
}

func (j *job) run(ctx, bctx context.Context) result {
	log := j.p.log.With("connection", j.event.Connection, "store_order", j.event.Order.StoreOrderID,
		"source_event", j.event.SourceEventID, "attempt", j.attempts)
	err := j.sync(ctx)
	if err == nil {
		log.Info("synced", "marketplace_order", j.state.Ref.MarketplaceOrderID, "status", j.state.MarketplaceStatus)
		return result{done: true}
	}
	var infra *infraError
	if errors.As(err, &infra) {
		// Our own storage failed: nothing was decided, try again later
		// (after the queue's visibility timeout, not at once: an outage
		// lasts), or record it on the last try.
		log.Error("sync interrupted", "err", err)
		if !j.last() {
			return result{infra: err}
		}
		return j.notDone(bctx, syncerr.E(syncerr.InternalError).Wrap(err))
	}
	code := syncerr.CodeOf(err)
	kind := syncerr.KindOf(err)
	log = log.With("marketplace_order", j.state.Ref.MarketplaceOrderID, "code", code, "kind", kind)
	if errors.Is(err, errInProgress) {
		if j.last() {
			// The worker holding the call owns its outcome, and its own
			// message comes back if it stops: this duplicate can go.
			log.Info("another worker is making this call; leaving it the outcome")
			return result{done: true}
		}
		log.Info("another worker is making this call; retrying later")
		return result{done: j.retryIn(bctx, j.p.cfg.EffectLease)}
	}
	if kind == syncerr.Transient && !j.last() {
		delay := j.retryDelay(err)
		log.Warn("sync failed; retrying", "retry_in", delay.String(), "err", err)
		if superseded, _ := j.saveOutcome(bctx, order.SyncOutcome{Result: order.SyncPending, ErrorCode: string(code), Attempts: j.attempts}); superseded {
			log.Info("a newer change to the order supersedes this event")
			return result{done: true}
		}
		return result{done: j.retryIn(bctx, delay)}
	}
	log.Warn("sync failed", "err", err)
	return result{done: j.fail(bctx, err)}
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

// retryDelay is the retry policy: the marketplace's Retry-After when err
// carries one, else attempt × RetryBase; at most RetryCap.
func (j *job) retryDelay(err error) time.Duration {
	d := syncerr.RetryAfterOf(err)
	if d <= 0 {
		d = time.Duration(j.attempts) * j.p.cfg.RetryBase
	}
	return min(d, j.p.cfg.RetryCap)
}

func (j *job) retryIn(ctx context.Context, d time.Duration) bool {
	if err := j.p.queue.RetryIn(ctx, j.msg.ReceiptHandle, d); err != nil {
		// The message still comes back, after the queue's visibility timeout.
		j.p.log.Error("could not time the retry", "message_id", j.msg.MessageId, "err", err)
	}
	return false
}

// errInProgress marks errBusy through detail's copies.
var errInProgress = errors.New("sync: the same call is in progress elsewhere")

// errBusy: another worker holds the claim on the same marketplace call.
var errBusy = syncerr.E(syncerr.MarketplaceUnavailable, "reason", "in progress elsewhere").Wrap(errInProgress)

// infraError marks a failure of ordersync's own storage.
type infraError struct{ err error }

func (e *infraError) Error() string { return e.err.Error() }
func (e *infraError) Unwrap() error { return e.err }

func infra(err error) error {
	if err == nil {
		return nil
	}
	return &infraError{err}
}

// sync applies the event and brings the marketplace to the resulting state.
func (j *job) sync(ctx context.Context) error {
	p, e := j.p, j.event
	conn, err := p.store.Connection(ctx, e.Connection)
	if errors.Is(err, order.ErrNotFound) {
		return syncerr.E(syncerr.InvalidData, "field", "connection "+e.Connection)
	}
	if err != nil {
		return infra(err)
	}
	j.conn = conn
	switch e.Intent {
	case order.IntentImport:
		return j.importOrder(ctx)
	case order.IntentUpdate:
		// A change to an order never imported (a re-sync after a failed
		// import, say) is an import, where the connection imports.
		if conn.ImportOrders && e.Order.StoreOrderID == "" && e.Order.MarketplaceOrderID != "" {
			st, err := p.store.LoadOrder(ctx, conn.ID, e.Order.MarketplaceOrderID)
			if errors.Is(err, order.ErrNotFound) || (err == nil && st.Ref.StoreOrderID == "") {
				return j.importOrder(ctx)
			}
		}
	default:
		return syncerr.E(syncerr.InvalidData, "field", "intent "+string(e.Intent))
	}
	mkID := e.Order.MarketplaceOrderID
	if mkID == "" && e.Order.StoreOrderID != "" {
		mkID, err = p.store.FindOrder(ctx, conn.ID, e.Order.StoreOrderID)
		if err != nil && !errors.Is(err, order.ErrNotFound) {
			return infra(err)
		}
	}
	if mkID == "" {
		// A store order no marketplace order is linked to: one the
		// merchant sold in its own shop. Nothing to sync.
		p.log.Debug("not a marketplace order; ignored", "connection", conn.ID, "store_order", e.Order.StoreOrderID)
		return nil
	}
	stored, err := j.load(ctx, mkID)
	if err != nil {
		return err
	}
	if e.Order.StoreOrderID != "" && e.Order.MarketplaceOrderID != "" {
		// The event names both orders (Shopify's note attribute, which a
		// buyer can set too): never let a store order take over a
		// marketplace order linked to another.
		if st := stored.Ref.StoreOrderID; st != "" && st != e.Order.StoreOrderID {
			p.log.Warn("event ignored: its store order names a marketplace order linked to another store order",
				"connection", conn.ID, "store_order", e.Order.StoreOrderID, "marketplace_order", mkID)
			return nil
		}
	}
	if e.Order.StoreOrderID != "" {
		if err := p.store.LinkOrder(ctx, conn.ID, e.Order.StoreOrderID, mkID); err != nil {
			return infra(err)
		}
	}
	events := []order.Event{e}
	if e.Fetch {
		fresh, err := j.fromStore(ctx, e.Order.StoreOrderID)
		if err != nil {
			j.state = order.State{Connection: conn.ID, Ref: order.Ref{MarketplaceOrderID: mkID, StoreOrderID: e.Order.StoreOrderID, StoreOrderName: e.Order.StoreOrderName}}
			return detail(err, j.state.Ref, conn)
		}
		events = []order.Event{fresh}
	} else if fresh, ok := j.refetch(ctx, stored); ok {
		events = append(events, fresh)
	}
	if err := j.applyEvent(ctx, stored, events...); err != nil {
		return err
	}
	if conn.Paused {
		return pausedError(conn, j.state.Ref)
	}
	mp, err := p.mps.Marketplace(ctx, conn)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	remote, err := mp.Order(ctx, mkID)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	return j.reach(ctx, mp, remote, wantOf(j.state))
}

// reach makes the calls that bring the marketplace order remote to want,
// and records the order synced.
func (j *job) reach(ctx context.Context, mp Marketplace, remote order.MarketplaceOrder, want rules.Want) error {
	conn := j.conn
	j.want = want
	steps, err := rules.Plan(conn.Marketplace.Platform, mp.Capabilities(), remote, want)
	if err != nil {
		return detail(err, j.state.Ref, conn)
	}
	for _, s := range steps {
		if err := j.call(ctx, mp, remote, s); err != nil {
			return detail(err, j.state.Ref, conn)
		}
	}
	after := remote.Status
	if len(steps) > 0 {
		if fresh, err := mp.Order(ctx, remote.ID); err == nil {
			after = fresh.Status
			remote = fresh
			// Every call said yes; check the order shows it before
			// calling it synced (a call may have been cut half-way).
			if rest, err := rules.Plan(conn.Marketplace.Platform, mp.Capabilities(), fresh, want); err == nil && len(rest) > 0 {
				return detail(syncerr.E(syncerr.MarketplaceUnavailable, "reason", "not every change shows on the marketplace yet"), j.state.Ref, conn)
			}
		}
	}
	prev := j.state.Sync
	superseded, err := j.saveOutcome(ctx, order.SyncOutcome{Result: order.SyncSynced, Attempts: j.attempts}, func(s *order.State) {
		s.MarketplaceStatus, s.MarketplaceState = after, remote.State
	})
	if err != nil {
		return infra(err)
	}
	if !superseded && prev.ErrorCode != "" {
		keys := []string{notifyKey(j.state, prev.ErrorCode)}
		if syncerr.Lookup(syncerr.Code(prev.ErrorCode)).Kind == syncerr.Auth {
			// An order held by a pause synced: the connection works, so a
			// later expiry is news again.
			keys = append(keys, ConnectionNoticeKey(conn.ID, prev.ErrorCode))
		}
		_ = j.p.store.ClearNotified(ctx, keys...)
	}
	return nil
}

// pausedError is the error of a sync on a paused connection: the code
// that paused it, for the side that refused.
func pausedError(conn order.Connection, ref order.Ref) error {
	if conn.PausedCode == string(syncerr.StoreDisconnected) {
		return syncerr.E(syncerr.StoreDisconnected, "store", conn.Store.Platform.DisplayName(), "order", orderName(ref))
	}
	return syncerr.E(syncerr.AuthExpired, "marketplace", conn.Marketplace.Platform.DisplayName(), "order", orderName(ref))
}

// fromStore reads a store order as an event of this job's connection.
func (j *job) fromStore(ctx context.Context, storeOrderID string) (order.Event, error) {
	if j.p.stores == nil || storeOrderID == "" {
		return order.Event{}, syncerr.E(syncerr.PlatformUnsupported, "platform", string(j.conn.Store.Platform))
	}
	sf, err := j.p.stores.Storefront(ctx, j.conn)
	if err != nil {
		return order.Event{}, err
	}
	e, err := sf.Order(ctx, storeOrderID)
	if err != nil {
		return order.Event{}, err
	}
	e.Connection, e.SourceEventID, e.Fetch = j.conn.ID, j.event.SourceEventID, false
	if e.Order.StoreOrderID == "" {
		e.Order.StoreOrderID = storeOrderID
	}
	return e, nil
}

// refetch reads the store order again, best effort, when the order's last
// sync failed: what the merchant fixed since is in the store.
func (j *job) refetch(ctx context.Context, st order.State) (order.Event, bool) {
	if j.p.stores == nil || (st.Sync.Result != order.SyncFailed && st.Sync.Result != order.SyncHeld) {
		return order.Event{}, false
	}
	id := firstNonEmpty(j.event.Order.StoreOrderID, st.Ref.StoreOrderID)
	e, err := j.fromStore(ctx, id)
	if err != nil {
		j.p.log.Info("could not read the order from the store; using what ordersync holds", "store_order", id, "err", err)
		return order.Event{}, false
	}
	return e, true
}

// load reads the stored order, or the empty state of a new one.
func (j *job) load(ctx context.Context, mkID string) (order.State, error) {
	st, err := j.p.store.LoadOrder(ctx, j.conn.ID, mkID)
	if errors.Is(err, order.ErrNotFound) {
		return order.State{Connection: j.conn.ID, Ref: order.Ref{MarketplaceOrderID: mkID}}, nil
	}
	if err != nil {
		return order.State{}, infra(err)
	}
	return st, nil
}

// applyEvent merges the events into st, the order as last read, and saves
// it, reading it again after a lost race.
func (j *job) applyEvent(ctx context.Context, st order.State, events ...order.Event) error {
	mkID := st.Ref.MarketplaceOrderID
	for i := range 5 {
		if i > 0 {
			var err error
			if st, err = j.load(ctx, mkID); err != nil {
				return err
			}
		}
		next, changed := st, false
		for _, e := range events {
			var c bool
			next, c = rules.Apply(next, e)
			changed = changed || c
		}
		next.Ref.MarketplaceOrderID = mkID
		if next.Ref.StoreOrderID == "" {
			next.Ref.StoreOrderID, next.Ref.StoreOrderName = j.event.Order.StoreOrderID, j.event.Order.StoreOrderName
		}
		if !changed && st.Version > 0 {
			j.state = st
			j.basis = basis(st)
			return nil
		}
		saved, err := j.p.store.SaveOrder(ctx, next)
		if errors.Is(err, order.ErrConflict) {
			continue
		}
		if err != nil {
			return infra(err)
		}
		j.state = saved
		j.basis = basis(saved)
		return nil
	}
	return infra(fmt.Errorf("sync: order %s: too many concurrent writers", mkID))
}

// saveOutcome records how the sync ended. It reports superseded, and
// writes nothing, when another worker changed what this one planned on
// (the store's side of the order) since: that worker's outcome is the one
// that holds. err is a storage failure.
func (j *job) saveOutcome(ctx context.Context, out order.SyncOutcome, also ...func(*order.State)) (superseded bool, err error) {
	if j.state.Ref.MarketplaceOrderID == "" {
		return false, nil // no order to record it on; the DLQ and error list still have it
	}
	out.At = j.p.cfg.Now().UTC()
	for range 5 {
		st := j.state
		if out.Result != order.SyncSynced {
			out.FirstFailedAt = st.Sync.FirstFailedAt
			if out.FirstFailedAt.IsZero() || st.Sync.Result == order.SyncSynced {
				out.FirstFailedAt = out.At
			}
		}
		st.Sync = out
		for _, f := range also {
			f(&st)
		}
		saved, err := j.p.store.SaveOrder(ctx, st)
		if err == nil {
			j.state = saved
			return false, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			j.p.log.Error("could not record the sync outcome", "err", err)
			return false, err
		}
		fresh, err := j.p.store.LoadOrder(ctx, st.Connection, st.Ref.MarketplaceOrderID)
		if err != nil {
			j.p.log.Error("could not record the sync outcome", "err", err)
			return false, err
		}
		if j.basis != "" && basis(fresh) != j.basis {
			return true, nil
		}
		j.state = fresh
	}
	return false, fmt.Errorf("sync: order %s: too many concurrent writers", j.state.Ref.MarketplaceOrderID)
}

// basis is a digest of the store's side of an order: what a sync plans on.
func basis(s order.State) string {
	b, _ := json.Marshal(struct {
		Status       order.Status
		At           time.Time
		Parcels      []order.Parcel
		Cancel       string
		Lines        []order.Line
		Address      *order.Address
		StoreOrderID string
	}{s.StoreStatus, s.StoreUpdatedAt, s.Parcels, s.CancelReason, s.Lines, s.ShippingAddress, s.Ref.StoreOrderID})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// call makes one marketplace call at most once per business identity.
func (j *job) call(ctx context.Context, mp Marketplace, remote order.MarketplaceOrder, s rules.Step) error {
	key := effectKey(j.conn.ID, remote.ID, s)
	claim, err := j.p.store.ClaimEffect(ctx, key, j.p.cfg.EffectLease)
	if err != nil {
		return infra(err)
	}
	switch claim {
	case EffectDone:
		return nil
	case EffectBusy:
		return errBusy
	}
	switch s.Action {
	case rules.ActionAccept:
		err = mp.Accept(ctx, remote)
	case rules.ActionShip:
		err = mp.Ship(ctx, remote, s.Parcel)
	case rules.ActionCancel:
		err = mp.Cancel(ctx, remote, j.state.CancelReason)
	default:
		err = fmt.Errorf("sync: unknown step %q", s.Action)
	}
	if err == nil {
		if cerr := j.p.store.ConfirmEffect(ctx, key); cerr != nil {
			j.p.log.Error("call made but not confirmed; the next try reads the marketplace first", "err", cerr)
		}
		return nil
	}
	if outcomeUnknown(err) {
		// The call may have landed: look before anyone calls again.
		switch landed, lerr := j.landed(ctx, mp, remote.ID, key, s.Action, s.Parcel.ID); {
		case lerr != nil:
			// Cannot tell. Keep the claim: no one calls again before the
			// lease runs out, and every try reads the order first.
			j.p.log.Warn("call outcome unknown and the order could not be read", "err", lerr)
			return err
		case landed:
			j.p.log.Info("call timed out but the marketplace shows it made", "action", string(s.Action))
			if cerr := j.p.store.ConfirmEffect(ctx, key); cerr != nil {
				j.p.log.Error("could not confirm the call", "err", cerr)
			}
			return nil
		}
		j.p.log.Warn("call timed out and did not land; it will be made again", "action", string(s.Action))
	}
	if rerr := j.p.store.ReleaseEffect(ctx, key); rerr != nil {
		j.p.log.Error("could not release a failed call's claim", "err", rerr)
	}
	return err
}

// landed reads the marketplace order again and reports whether the call
// named by key is no longer needed: the order already shows its effect.
func (j *job) landed(ctx context.Context, mp Marketplace, id, key string, action rules.Action, parcel string) (bool, error) {
	fresh, err := mp.Order(ctx, id)
	if err != nil {
		return false, err
	}
	steps, err := rules.Plan(j.conn.Marketplace.Platform, mp.Capabilities(), fresh, j.want)
	if err != nil {
		return false, err
	}
	for _, s := range steps {
		// The same call, or what is left of it (Back Market ships line by
		// line: a cut call leaves a smaller step for the same parcel).
		if effectKey(j.conn.ID, fresh.ID, s) == key || (s.Action == action && s.Parcel.ID == parcel) {
			return false, nil
		}
	}
	return true, nil
}

// outcomeUnknown reports whether a failed call may still have been applied:
// a timeout or a broken connection, rather than an answer.
func outcomeUnknown(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// effectKey names a marketplace call by what it does to which order, never
// by message: a redelivered, redriven or replayed event maps to the same key.
func effectKey(conn, orderID string, s rules.Step) string {
	h := sha256.New()
	b, _ := json.Marshal(struct {
		C, O string
		S    rules.Step
	}{conn, orderID, s})
	h.Write(b)
	return conn + "#" + orderID + "#" + string(s.Action) + "#" + hex.EncodeToString(h.Sum(nil)[:12])
}

// detail adds the order and marketplace to a classified error, for the
// merchant's words.
func detail(err error, ref order.Ref, conn order.Connection) error {
	e, ok := syncerr.As(err)
	if !ok {
		e = syncerr.E(syncerr.MarketplaceUnavailable).Wrap(err)
	}
	c := *e
	c.Details = map[string]string{"order": orderName(ref), "marketplace": conn.Marketplace.Platform.DisplayName(), "platform": string(conn.Marketplace.Platform)}
	for k, v := range e.Details {
		c.Details[k] = v
	}
	return &c
}

func orderName(r order.Ref) string {
	switch {
	case r.StoreOrderName != "":
		return r.StoreOrderName
	case r.StoreOrderID != "":
		return r.StoreOrderID
	}
	return r.MarketplaceOrderID
}

func notifyKey(s order.State, code string) string {
	return s.Connection + "#" + s.Ref.MarketplaceOrderID + s.Ref.StoreOrderID + "#" + code
}
