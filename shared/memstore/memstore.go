// Package memstore keeps ordersync's state in memory, with the semantics of
// shared/dynamostore: the same conditional writes, leases, expiries (read
// from an injectable clock, in the same whole seconds and milliseconds as
// the table's attributes) and key limits. Use-case tests run on it instead
// of DynamoDB Local; shared/testkit/storetest holds both to one suite.
//
// Values go in and come out through JSON, as the table's items go through
// the same json tags: a caller never shares memory with the store, and a
// round trip loses what an item would (monotonic clock readings, for one).
package memstore

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncer"
)

var (
	_ syncer.Store       = (*Store)(nil)
	_ refresh.Store      = (*Store)(nil)
	_ refresh.Reports    = (*Store)(nil)
	_ merchantapi.Store  = (*Store)(nil)
	_ ingest.Connections = (*Store)(nil)
	_ ingest.Deduper     = (*Deduper)(nil)
)

// DynamoDB's limits on key attributes, in bytes: a longer key is refused
// (a ValidationException there, an error here), never taken for missing.
const (
	maxPartitionKey = 2048
	maxSortKey      = 1024
)

// effectTTL is how long a confirmed marketplace call is remembered, as in
// dynamostore.
const effectTTL = 30 * 24 * time.Hour

// Store is ordersync's state in memory. It is safe for concurrent use.
type Store struct {
	t   *tables
	now func() time.Time
	// retention is how long a closed order's items are kept (retention.go).
	retention time.Duration
}

// tables are the store's items, keyed as dynamostore keys them (so that
// the same ids meet the same limits and the same collisions).
type tables struct {
	mu          sync.Mutex
	conns       map[string][]byte      // pk -> connection
	checkpoints map[string][]byte      // pk/sk -> checkpoint
	links       map[string]string      // pk -> marketplace order id
	orders      map[string]orderItem   // pk -> state
	errors      map[string]errorItems  // gsi1pk -> errors
	claims      map[string]claim       // EFFECT#/DEDUP# pk -> claim
	tokens      int64                  // the last claim token given (ClaimEffects)
	notified    map[string]int64       // pk -> expires_at (Unix seconds)
	reports     map[string]reportItems // pk -> reports
	// Re-sync jobs (jobs.go).
	jobs      map[string][]byte   // conn/id -> job
	jobOrders map[string][]string // conn/id -> the job's orders

	aliases map[string]aliasSet // connection -> its SKU aliases (aliases.go)

	linkExpiry map[string]int64 // link pk -> its expires_at (retention.go)
}

// orderItem is an order's state item. unsettled and syncAt are its place
// on the sparse index gsi3 (gsi3pk UNSETTLED#<conn>, gsi3sk the sync
// time), which it is on only while the state is unsettled.
type orderItem struct {
	version   int64
	body      []byte
	conn      string
	unsettled bool
	syncAt    string
	// The merchant's listing (jobs.go): the state's sync state, error
	// code, merchantapi.OrderKey and store order name, as gsi6 and gsi5
	// key it.
	listState order.SyncState
	listCode  string
	listKey   string
	name      string
	// expiresAt is the TTL of a closed order (retention.go), 0 while open.
	expiresAt int64
}

// New returns an empty Store that reads the time from time.Now.
func New() *Store {
	return &Store{now: time.Now, retention: order.DefaultRetention, t: &tables{
		conns:       map[string][]byte{},
		checkpoints: map[string][]byte{},
		links:       map[string]string{},
		orders:      map[string]orderItem{},
		errors:      map[string]errorItems{},
		claims:      map[string]claim{},
		notified:    map[string]int64{},
		reports:     map[string]reportItems{},
		jobs:        map[string][]byte{},
		jobOrders:   map[string][]string{},

		aliases: map[string]aliasSet{},

		linkExpiry: map[string]int64{},
	}}
}

// WithClock returns a view of s that reads the time from now (for tests of
// expiry and leases). Both see the same items, as dynamostore's do.
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

func (s *Store) lock() func() {
	s.t.mu.Lock()
	return s.t.mu.Unlock
}

// checkKey refuses what DynamoDB refuses: an empty key attribute or one
// over its size limit.
func checkKey(pk, sk string) error {
	if pk == "" || sk == "" || len(pk) > maxPartitionKey || len(sk) > maxSortKey {
		return fmt.Errorf("memstore: key %.40q/%.40q: a key attribute must be 1 to %d (partition) or %d (sort) bytes", pk, sk, maxPartitionKey, maxSortKey)
	}
	return nil
}

func encode(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("memstore: encode %s: %w", what, err)
	}
	return b, nil
}

func decode(what string, b []byte, out any) error {
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("memstore: decode %s: %w", what, err)
	}
	return nil
}

// sortableLayout is the table's sortable times (in sort keys): RFC 3339 in
// UTC with a fixed-width fraction, so that strings sort as times do.
const sortableLayout = "2006-01-02T15:04:05.000000000Z07:00"

func sortable(t time.Time) string { return t.UTC().Format(sortableLayout) }
