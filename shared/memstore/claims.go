package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

// claim is a two-phase claim item. Times are kept as the table keeps them:
// claimedAt in Unix milliseconds, expiresAt in Unix seconds (its TTL
// attribute). An item confirmed without a claim has no claimedAt; a dedup
// key confirmed without a claim has no expiresAt either, and never expires.
type claim struct {
	done                   bool
	claimedAt, expiresAt   int64
	hasClaimed, hasExpires bool
	// token names a call's claim (ClaimEffects): unique in the store.
	token int64
	ledger
}

// ledger is what a dedup item keeps of its accepted event, as
// dynamostore's attributes do: the event, when it was last queued (Unix
// milliseconds), the sweeps' attempts, and whether it is unsynced (in the
// table, on the sparse index gsi2).
type ledger struct {
	event    []byte
	trimmed  bool
	conn     string
	queuedAt int64
	attempts int
	unsynced bool
	applied  bool // the sync reached a final outcome, maybe before Confirm
}

// claimState is the outcome of a claim.
type claimState int

const (
	claimTaken claimState = iota // this caller holds a fresh claim
	claimDone                    // confirmed before
	claimBusy                    // another caller holds a fresh, unconfirmed claim
)

// take claims pk for the caller unless it is confirmed, or claimed less
// than lease ago and not confirmed; an expired item is taken whatever its
// state. It is dynamostore's conditional put, under the lock.
func (s *Store) take(pk string, lease, ttl time.Duration) (claimState, error) {
	return s.takeOrRecover(pk, lease, ttl, 0)
}

// takeOrRecover is take that also takes over a dedup item still unsynced
// and last queued before unsyncedBefore (Unix milliseconds; 0 for never),
// as dynamostore's claimOrRecover.
func (s *Store) takeOrRecover(pk string, lease, ttl time.Duration, unsyncedBefore int64) (claimState, error) {
	if err := checkKey(pk, "CLAIM"); err != nil {
		return 0, err
	}
	now := s.now()
	defer s.lock()()
	return s.takeLocked(pk, now, lease, ttl, unsyncedBefore), nil
}

// takeLocked is takeOrRecover under the lock, for a checked key.
func (s *Store) takeLocked(pk string, now time.Time, lease, ttl time.Duration, unsyncedBefore int64) claimState {
	c, ok := s.t.claims[pk]
	stale := !c.done && c.hasClaimed && c.claimedAt < now.Add(-lease).UnixMilli()
	expired := c.hasExpires && c.expiresAt < now.Unix()
	lost := unsyncedBefore > 0 && c.unsynced && c.queuedAt < unsyncedBefore
	if !ok || stale || expired || lost {
		s.t.claims[pk] = claim{claimedAt: now.UnixMilli(), expiresAt: now.Add(ttl).Unix(), hasClaimed: true, hasExpires: true}
		return claimTaken
	}
	if c.done {
		return claimDone
	}
	return claimBusy
}

// confirm marks pk done, claimed or not. With keepTTL its expiry stays as
// claimed; otherwise it expires ttl from now.
func (s *Store) confirm(pk string, keepTTL bool, ttl time.Duration) error {
	if err := checkKey(pk, "CLAIM"); err != nil {
		return err
	}
	now := s.now()
	defer s.lock()()
	c := s.t.claims[pk]
	c.done = true
	if !keepTTL {
		c.expiresAt, c.hasExpires = now.Add(ttl).Unix(), true
	}
	s.t.claims[pk] = c
	return nil
}

// release drops pk unless it is confirmed.
func (s *Store) release(pk string) error {
	if err := checkKey(pk, "CLAIM"); err != nil {
		return err
	}
	defer s.lock()()
	if c, ok := s.t.claims[pk]; ok && !c.done {
		delete(s.t.claims, pk)
	}
	return nil
}

// ClaimEffects claims marketplace calls of one order, each as its own
// claim: EffectClaimed (with the claim's token) if the caller may make it,
// EffectDone if it was confirmed (for 30 days), EffectBusy if another
// caller claimed it less than lease ago. All are claimed under one lock,
// as dynamostore's one write.
func (s *Store) ClaimEffects(_ context.Context, scope string, keys []string, lease time.Duration) ([]syncer.Claim, error) {
	if err := checkEffects(scope, keys...); err != nil {
		return nil, err
	}
	out := make([]syncer.Claim, len(keys))
	seen := map[string]syncer.Claim{}
	now := s.now()
	defer s.lock()()
	for i, key := range keys {
		c, ok := seen[key]
		if !ok {
			pk := "EFFECT#" + key
			c.State = [...]syncer.EffectClaim{syncer.EffectClaimed, syncer.EffectDone, syncer.EffectBusy}[s.takeLocked(pk, now, lease, effectTTL, 0)]
			if c.State == syncer.EffectClaimed {
				c.Token = s.newToken(pk)
			}
			seen[key] = c
		}
		out[i] = c
	}
	return out, nil
}

// newToken gives pk's fresh claim a token of its own. The caller holds
// the lock.
func (s *Store) newToken(pk string) int64 {
	s.t.tokens++
	c := s.t.claims[pk]
	c.token = s.t.tokens
	s.t.claims[pk] = c
	return c.token
}

// RenewEffect takes the call's claim again from now if token still names
// it.
func (s *Store) RenewEffect(_ context.Context, scope, key string, token int64) (syncer.Claim, bool, error) {
	if err := checkEffects(scope, key); err != nil {
		return syncer.Claim{}, false, err
	}
	now := s.now()
	defer s.lock()()
	pk := "EFFECT#" + key
	c, ok := s.t.claims[pk]
	switch {
	case ok && !c.done && c.token == token:
		c.claimedAt = now.UnixMilli()
		s.t.claims[pk] = c
		return syncer.Claim{State: syncer.EffectClaimed, Token: s.newToken(pk)}, true, nil
	case ok && c.done:
		return syncer.Claim{State: syncer.EffectDone}, false, nil
	}
	return syncer.Claim{State: syncer.EffectBusy}, false, nil
}

// ConfirmEffects records calls as made, whoever holds their claims. It is
// idempotent.
func (s *Store) ConfirmEffects(_ context.Context, _ string, keys ...string) error {
	for _, key := range keys {
		if err := s.confirm("EFFECT#"+key, false, effectTTL); err != nil {
			return err
		}
	}
	return nil
}

// ReleaseEffects drops the claims their tokens name, each only while it
// is still that claim: never another caller's, never a confirmed one.
func (s *Store) ReleaseEffects(_ context.Context, scope string, claims map[string]int64) error {
	for key := range claims {
		if err := checkEffects(scope, key); err != nil {
			return err
		}
	}
	defer s.lock()()
	for key, token := range claims {
		pk := "EFFECT#" + key
		if c, ok := s.t.claims[pk]; ok && !c.done && c.token == token {
			delete(s.t.claims, pk)
		}
	}
	return nil
}

func checkEffects(scope string, keys ...string) error {
	if err := checkKey("EFFECTS#"+scope, "EFFECTS"); err != nil {
		return err
	}
	for _, key := range keys {
		if err := checkKey("EFFECT#"+key, "CLAIM"); err != nil {
			return err
		}
	}
	return nil
}

// Deduper remembers webhook deliveries, as dynamostore's does.
type Deduper struct {
	store *Store
	// inFlight is how long an unconfirmed claim holds.
	inFlight time.Duration
	// recoverAfter, when set, is how long an accepted event may stay
	// unsynced before a redelivery of it is claimed again.
	recoverAfter time.Duration
}

// Deduper returns the store's webhook deduper, with the given in-flight
// window.
func (s *Store) Deduper(inFlight time.Duration) *Deduper {
	return &Deduper{store: s, inFlight: inFlight}
}

// RecoverAfter returns a copy of d whose Claim answers Claimed, not
// Duplicate, for a key whose event was queued more than after ago and is
// still unsynced, as dynamostore's does.
func (d *Deduper) RecoverAfter(after time.Duration) *Deduper {
	c := *d
	c.recoverAfter = after
	return &c
}

// Claim marks key as being delivered for ttl.
func (d *Deduper) Claim(_ context.Context, key string, ttl time.Duration) (ingest.ClaimResult, error) {
	var before int64
	if d.recoverAfter > 0 {
		before = d.store.now().Add(-d.recoverAfter).UnixMilli()
	}
	st, err := d.store.takeOrRecover("DEDUP#"+key, d.inFlight, ttl, before)
	return [...]ingest.ClaimResult{ingest.Claimed, ingest.Duplicate, ingest.InFlight}[st], err
}

// Confirm records that key's event was queued and keeps it in the ledger,
// unsynced, unless the sync has marked it applied already. Its TTL stays
// as claimed.
func (d *Deduper) Confirm(_ context.Context, key string, e order.Event) error {
	pk := "DEDUP#" + key
	if err := checkKey(pk, "CLAIM"); err != nil {
		return err
	}
	body, trimmed, err := ledgerEvent(e)
	if err != nil {
		return err
	}
	now := d.store.now()
	defer d.store.lock()()
	c := d.store.t.claims[pk]
	c.done = true
	if !c.applied {
		c.ledger = ledger{event: body, trimmed: trimmed, conn: e.Connection, queuedAt: now.UnixMilli(),
			attempts: c.attempts, unsynced: true}
	}
	d.store.t.claims[pk] = c
	return nil
}

// Release drops an unconfirmed claim.
func (d *Deduper) Release(_ context.Context, key string) error {
	return d.store.release("DEDUP#" + key)
}

// errorItems are one connection's failures, by item key (order and time).
type errorItems map[string]errorItem

type errorItem struct {
	key       string
	at        time.Time // without a monotonic reading, as an item holds it
	expiresAt int64     // Unix seconds
	body      []byte
}

// RecordError adds a failure to the connection's error list, where it
// stays order.ErrorRetention. Recording a failure of the same order at the
// same time again replaces it, and so does a later failure of a run of
// failures listed already with its code (r.Since).
func (s *Store) RecordError(_ context.Context, r order.ErrorRecord) error {
	// As dynamostore's: one entry per failure, or per run of failures
	// and code (r.Since), the last failure's.
	pk, sk := orderPK(r.Connection, r.MarketplaceOrderID), "ERR#"+sortable(r.At)
	if !r.Since.IsZero() {
		sk = "ERR#" + r.Code + "#" + sortable(r.Since)
	}
	if err := checkKey(pk, sk); err != nil {
		return err
	}
	b, err := encode("error", r)
	if err != nil {
		return err
	}
	defer s.lock()()
	items := s.t.errors["ERRORS#"+r.Connection]
	if items == nil {
		items = errorItems{}
		s.t.errors["ERRORS#"+r.Connection] = items
	}
	items[pk+"/"+sk] = errorItem{key: pk + "/" + sk, at: r.At.Round(0), expiresAt: r.At.Add(order.ErrorRetention).Unix(), body: b}
	return nil
}

// RecentErrors lists a connection's failures at or after since, newest
// first, at most limit of them (none for a limit below 1). Failures past
// their retention are left out.
func (s *Store) RecentErrors(_ context.Context, conn string, since time.Time, limit int) ([]order.ErrorRecord, error) {
	if limit < 1 {
		return nil, nil
	}
	now, since := s.now().Unix(), since.Round(0)
	defer s.lock()()
	var hits []errorItem
	for _, it := range s.t.errors["ERRORS#"+conn] {
		if !it.at.Before(since) && it.expiresAt > now {
			hits = append(hits, it)
		}
	}
	// Newest first; the index leaves ties in no particular order, this in
	// the order of their item keys, backwards.
	slices.SortFunc(hits, func(a, b errorItem) int {
		return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.key, a.key))
	})
	out := make([]order.ErrorRecord, 0, min(limit, len(hits)))
	for _, it := range hits[:min(limit, len(hits))] {
		var r order.ErrorRecord
		if err := decode("error", it.body, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// MarkNotified records that the merchant was told about key, for ttl, and
// reports whether this is the first time since the last mark expired or was
// cleared.
func (s *Store) MarkNotified(_ context.Context, key string, ttl time.Duration) (bool, error) {
	pk := "NOTIFIED#" + key
	if err := checkKey(pk, "NOTIFIED"); err != nil {
		return false, err
	}
	now := s.now()
	defer s.lock()()
	if exp, ok := s.t.notified[pk]; ok && !(exp < now.Unix()) {
		return false, nil
	}
	s.t.notified[pk] = now.Add(ttl).Unix()
	return true, nil
}

// ClearNotified forgets notification marks; unknown keys are no error.
func (s *Store) ClearNotified(_ context.Context, keys ...string) error {
	for _, k := range keys {
		if err := checkKey("NOTIFIED#"+k, "NOTIFIED"); err != nil {
			return err
		}
	}
	defer s.lock()()
	for _, k := range keys {
		delete(s.t.notified, "NOTIFIED#"+k)
	}
	return nil
}
