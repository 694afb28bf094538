package syncbatch_test

import (
	"log/slog"
	"time"

	"github.com/ordersync/ordersync/shared/syncbatch"
	"github.com/ordersync/ordersync/shared/syncer"
)

// config is the policy of the whole sync, as the sync function sets it:
// the syncer's and the batch handler's.
type config struct {
	MaxReceiveCount            int
	RetryBase, RetryCap        time.Duration
	EffectLease, Bookkeeping   time.Duration
	Concurrency, PerConnection int
}

// processor is the sync as the Lambda runs it: the syncer behind the
// batch handler.
type processor struct {
	*syncbatch.Handler
	sync  *syncer.Syncer
	cfg   config
	queue syncbatch.Queue
	dlq   syncbatch.DeadLetters
	log   *slog.Logger
}

func newProcessor(cfg config, store syncer.Store, mps syncer.Marketplaces, q syncbatch.Queue, dlq syncbatch.DeadLetters, n syncer.Notifier, log *slog.Logger) *processor {
	s := syncer.New(syncer.Config{MaxAttempts: cfg.MaxReceiveCount, RetryBase: cfg.RetryBase, RetryCap: cfg.RetryCap, EffectLease: cfg.EffectLease, Bookkeeping: cfg.Bookkeeping}, store, mps, n, log)
	p := &processor{sync: s}
	p.Handler = syncbatch.New(syncbatch.Config{Concurrency: cfg.Concurrency, PerConnection: cfg.PerConnection}, s, q, dlq, log)
	return p
}

// WithStorefronts lets the syncer read orders from the store.
func (p *processor) WithStorefronts(s syncer.Storefronts) *processor {
	p.sync.WithStorefronts(s)
	return p
}
