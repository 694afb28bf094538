package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

// dice is a seeded source of chance, safe for concurrent use, so one seed
// reproduces the same faults (the interleaving still varies run to run).
type dice struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newDice(seed int64) *dice { return &dice{r: rand.New(rand.NewPCG(uint64(seed), 0x50a4))} }

// roll reports true with probability p.
func (d *dice) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.Float64() < p
}

func (d *dice) intn(n int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.IntN(n)
}

// Faults counts what the chaos injected, by kind.
type Faults struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *Faults) add(kind string) {
	f.mu.Lock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[kind]++
	f.mu.Unlock()
}

// Counts returns a copy of the counts.
func (f *Faults) Counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.n))
	for k, v := range f.n {
		out[k] = v
	}
	return out
}

// Rates are the chances of each fault, per request or per call.
type Rates struct {
	RateLimited, RateLimitedNoRetryAfter, Unavailable, Slow float64
	TimeoutBeforeApply, TimeoutAfterApply                   float64
	ReadLag                                                 time.Duration
	StoreThrottle, QueueSend, QueueVisibility, MailFailure  float64
	WorkerKilled                                            float64
}

// DefaultRates are the soak's faults: each a few percent.
var DefaultRates = Rates{
	RateLimited: 0.02, RateLimitedNoRetryAfter: 0.01, Unavailable: 0.02, Slow: 0.02,
	TimeoutBeforeApply: 0.01, TimeoutAfterApply: 0.01, ReadLag: 30 * time.Millisecond,
	StoreThrottle: 0.003, QueueSend: 0.01, QueueVisibility: 0.01, MailFailure: 0.05,
	WorkerKilled: 0.01,
}

// marketplaceChaos stands in front of a marketplace fake and answers some
// requests with the failures real marketplaces give: 429 with and without
// Retry-After, 503, slow answers, answers lost before or after the change
// was applied (the client times out), and reads that lag writes.
type marketplaceChaos struct {
	next    http.Handler
	dice    *dice
	rates   Rates
	faults  *Faults
	timeout time.Duration // the client's: a lost answer is held past it

	mu        sync.Mutex
	snapshots map[string][]byte    // the last GET body per path, before the last write
	wroteAt   map[string]time.Time // per order path
}

func (c *marketplaceChaos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	write := r.Method != http.MethodGet
	switch {
	case c.dice.roll(c.rates.RateLimited):
		c.faults.add("marketplace 429 with Retry-After")
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":"rate_limited"}`, http.StatusTooManyRequests)
		return
	case c.dice.roll(c.rates.RateLimitedNoRetryAfter):
		c.faults.add("marketplace 429 without Retry-After")
		http.Error(w, `{"error":"rate_limited"}`, http.StatusTooManyRequests)
		return
	case c.dice.roll(c.rates.Unavailable):
		c.faults.add("marketplace 503")
		http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		return
	case write && c.dice.roll(c.rates.TimeoutBeforeApply):
		c.faults.add("marketplace timeout before applying")
		c.hold(r.Context())
		http.Error(w, "gateway timeout", http.StatusGatewayTimeout)
		return
	case write && c.dice.roll(c.rates.TimeoutAfterApply):
		c.faults.add("marketplace timeout after applying")
		rec := httptest.NewRecorder()
		c.serve(rec, r, write)
		c.hold(r.Context())
		copyResponse(w, rec)
		return
	case c.dice.roll(c.rates.Slow):
		c.faults.add("marketplace slow answer")
		select {
		case <-r.Context().Done():
		case <-time.After(c.timeout / 2):
		}
	}
	c.serve(w, r, write)
}

// hold keeps the answer back past the client's timeout.
func (c *marketplaceChaos) hold(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(c.timeout + 50*time.Millisecond):
	}
}

// serve forwards to the fake, serving a read from before the last write
// when it comes within ReadLag of it.
func (c *marketplaceChaos) serve(w http.ResponseWriter, r *http.Request, write bool) {
	key := r.URL.Path
	if !write && c.rates.ReadLag > 0 {
		c.mu.Lock()
		snap, at := c.snapshots[key], c.wroteAt[key]
		c.mu.Unlock()
		if snap != nil && time.Since(at) < c.rates.ReadLag {
			c.faults.add("marketplace read lagging a write")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(snap)
			return
		}
	}
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	if c.rates.ReadLag > 0 {
		c.mu.Lock()
		if c.snapshots == nil {
			c.snapshots, c.wroteAt = map[string][]byte{}, map[string]time.Time{}
		}
		switch {
		case !write && rec.Code == http.StatusOK:
			if time.Since(c.wroteAt[key]) >= c.rates.ReadLag {
				c.snapshots[key] = bytes.Clone(rec.Body.Bytes())
			}
		case write && rec.Code < 300:
			c.wroteAt[key] = time.Now()
		}
		c.mu.Unlock()
	}
	copyResponse(w, rec)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// errThrottled is what the chaotic store answers, as DynamoDB answers a
// ProvisionedThroughputExceededException the SDK gave up retrying.
var errThrottled = errors.New("soak: storage throttled")

// chaosStore fails a few calls of the sync's store before making them.
type chaosStore struct {
	syncer.Store
	dice   *dice
	p      float64
	faults *Faults
}

func (s chaosStore) fail() error {
	if s.dice.roll(s.p) {
		s.faults.add("store throttled")
		return errThrottled
	}
	return nil
}

func (s chaosStore) Connection(ctx context.Context, id string) (order.Connection, error) {
	if err := s.fail(); err != nil {
		return order.Connection{}, err
	}
	return s.Store.Connection(ctx, id)
}

func (s chaosStore) LoadOrder(ctx context.Context, conn, id string) (order.State, error) {
	if err := s.fail(); err != nil {
		return order.State{}, err
	}
	return s.Store.LoadOrder(ctx, conn, id)
}

func (s chaosStore) SaveOrder(ctx context.Context, st order.State) (order.State, error) {
	if err := s.fail(); err != nil {
		return st, err
	}
	return s.Store.SaveOrder(ctx, st)
}

func (s chaosStore) ClaimEffects(ctx context.Context, scope string, keys []string, lease time.Duration) ([]syncer.Claim, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.ClaimEffects(ctx, scope, keys, lease)
}

func (s chaosStore) RecordError(ctx context.Context, r order.ErrorRecord) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.RecordError(ctx, r)
}

func (s chaosStore) MarkNotified(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := s.fail(); err != nil {
		return false, err
	}
	return s.Store.MarkNotified(ctx, key, ttl)
}

// mailbox is the SES stand-in: it keeps what was sent and refuses some.
type mailbox struct {
	dice   *dice
	p      float64
	faults *Faults
	sent   atomic.Int64
	bad    atomic.Int64 // emails whose headers held a line break
}

func (m *mailbox) Send(_ context.Context, to, subject, text, html string) error {
	if m.dice.roll(m.p) {
		m.faults.add("SES refused an email")
		return fmt.Errorf("soak: SES throttled")
	}
	if strings.ContainsAny(to+subject, "\r\n") {
		m.bad.Add(1)
	}
	m.sent.Add(1)
	return nil
}
