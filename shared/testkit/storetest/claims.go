package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/ingest/ingesttest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
)

// claimStep is one step of a claim's life: move the clock, then claim,
// confirm or release.
type claimStep struct {
	name    string
	advance time.Duration
	do      string // "claim", "confirm" or "release"
	want    int    // the claim's result (syncer.EffectClaim or ingest.ClaimResult)
}

func (s *suite) effects(t *testing.T) {
	const lease = time.Minute
	lifecycles := []struct {
		name  string
		steps []claimStep
	}{
		{"claimed, busy while leased, taken over after the lease", []claimStep{
			{"first", 0, "claim", int(syncer.EffectClaimed)},
			{"while held", 0, "claim", int(syncer.EffectBusy)},
			{"a lease later, to the millisecond", lease, "claim", int(syncer.EffectBusy)},
			{"just after the lease", time.Millisecond, "claim", int(syncer.EffectClaimed)},
			{"the new holder's lease", 0, "claim", int(syncer.EffectBusy)},
		}},
		{"release lets another claim", []claimStep{
			{"first", 0, "claim", int(syncer.EffectClaimed)},
			{"release", 0, "release", 0},
			{"after release", 0, "claim", int(syncer.EffectClaimed)},
			{"release twice", 0, "release", 0},
			{"release again", 0, "release", 0},
			{"after the second release", 0, "claim", int(syncer.EffectClaimed)},
		}},
		{"done after confirm, whatever follows", []claimStep{
			{"first", 0, "claim", int(syncer.EffectClaimed)},
			{"confirm", 0, "confirm", 0},
			{"confirmed", 0, "claim", int(syncer.EffectDone)},
			{"confirm again (idempotent)", 0, "confirm", 0},
			{"long after the lease", time.Hour, "claim", int(syncer.EffectDone)},
			{"release", 0, "release", 0},
			{"release never undoes a confirmed effect", 0, "claim", int(syncer.EffectDone)},
			{"four weeks later", 28 * 24 * time.Hour, "claim", int(syncer.EffectDone)},
		}},
		{"a confirm after the claim was taken over still counts", []claimStep{
			{"first worker", 0, "claim", int(syncer.EffectClaimed)},
			{"second worker, after the lease", 2 * lease, "claim", int(syncer.EffectClaimed)},
			{"the first worker's call went through", 0, "confirm", 0},
			{"done", 0, "claim", int(syncer.EffectDone)},
		}},
		{"a confirm without a claim records the effect", []claimStep{
			{"confirm", 0, "confirm", 0},
			{"done", 0, "claim", int(syncer.EffectDone)},
		}},
	}
	for _, lc := range lifecycles {
		t.Run(lc.name, func(t *testing.T) {
			h := s.fresh(t)
			ctx := t.Context()
			var token int64 // the last claim's
			for _, st := range lc.steps {
				h.Clock.Advance(st.advance)
				var err error
				switch st.do {
				case "claim":
					var got syncer.Claim
					if got, err = claimOne(ctx, h.Store, "acme#m1#ship#f1", lease); err == nil && got.State != syncer.EffectClaim(st.want) {
						t.Errorf("%s: ClaimEffects = %v, want %v", st.name, got.State, syncer.EffectClaim(st.want))
					}
					if got.State == syncer.EffectClaimed {
						token = got.Token
					}
				case "confirm":
					err = h.Store.ConfirmEffects(ctx, scopeOf("acme#m1#ship#f1"), "acme#m1#ship#f1")
				case "release":
					err = h.Store.ReleaseEffects(ctx, scopeOf("acme#m1#ship#f1"), map[string]int64{"acme#m1#ship#f1": token})
				}
				if err != nil {
					t.Fatalf("%s: %s: %v", st.name, st.do, err)
				}
			}
		})
	}

	t.Run("concurrent claims: exactly one is claimed", func(t *testing.T) {
		h := s.fresh(t)
		const n = 8
		got := race(n, func(int) syncer.EffectClaim {
			c, err := claimOne(t.Context(), h.Store, "acme#m1#accept", lease)
			if err != nil {
				t.Error(err)
				return -1
			}
			return c.State
		})
		count := map[syncer.EffectClaim]int{}
		for _, c := range got {
			count[c]++
		}
		if count[syncer.EffectClaimed] != 1 || count[syncer.EffectBusy] != n-1 {
			t.Errorf("claims = %v, want 1 claimed and %d busy", got, n-1)
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		tokens := map[string]int64{}
		for _, k := range []string{"acme#m1#ship#f1", "acme#m1#ship#f2", "other#m1#ship#f1"} {
			got, err := claimOne(ctx, h.Store, k, lease)
			if err != nil || got.State != syncer.EffectClaimed {
				t.Errorf("ClaimEffects(%s) = %v, %v; want claimed", k, got, err)
			}
			tokens[k] = got.Token
		}
		if err := h.Store.ConfirmEffects(ctx, "acme#m1", "acme#m1#ship#f1"); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.ReleaseEffects(ctx, "acme#m1", map[string]int64{"acme#m1#ship#f2": tokens["acme#m1#ship#f2"]}); err != nil {
			t.Fatal(err)
		}
		if got, err := claimOne(ctx, h.Store, "other#m1#ship#f1", lease); err != nil || got.State != syncer.EffectBusy {
			t.Errorf("ClaimEffects(other#m1#ship#f1) = %v, %v; want busy, untouched by the others", got, err)
		}
	})

	// Effects, webhook deliveries and notices are named by keys their
	// callers build alike: they must not meet.
	t.Run("effects, deliveries and notices do not share keys", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		if err := h.Store.ConfirmEffects(ctx, "acme#k", "acme#k"); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Deduper(10*time.Second).Claim(ctx, "acme#k", time.Hour); err != nil || got != ingest.Claimed {
			t.Errorf("Deduper.Claim = %v, %v; want claimed", got, err)
		}
		if first, err := h.Store.MarkNotified(ctx, "acme#k", time.Hour); err != nil || !first {
			t.Errorf("MarkNotified = %v, %v; want true", first, err)
		}
		if got, err := claimOne(ctx, h.Store, "acme#k", lease); err != nil || got.State != syncer.EffectDone {
			t.Errorf("ClaimEffects = %v, %v; want done, as confirmed", got, err)
		}
	})
}

// scopeOf is the scope the sync gives an effect key of these tests: its
// connection and order, the key's first two fields.
func scopeOf(key string) string {
	f := strings.SplitN(key, "#", 3)
	return strings.Join(f[:min(2, len(f))], "#")
}

// claimOne claims one call, as the import does.
func claimOne(ctx context.Context, st Store, key string, lease time.Duration) (syncer.Claim, error) {
	got, err := st.ClaimEffects(ctx, scopeOf(key), []string{key}, lease)
	if err != nil {
		return syncer.Claim{}, err
	}
	if len(got) != 1 {
		return syncer.Claim{}, fmt.Errorf("ClaimEffects answered %d claims for 1 key", len(got))
	}
	if (got[0].State == syncer.EffectClaimed) != (got[0].Token != 0) {
		return syncer.Claim{}, fmt.Errorf("ClaimEffects answered %+v: a claim taken has a token, and only it", got[0])
	}
	return got[0], nil
}

// effectsTogether: the calls of one order claimed in one ClaimEffects
// each get their own answer, as one by one: a plan's accept and shipment
// are claimed together.
func (s *suite) effectsTogether(t *testing.T) {
	const lease, scope = time.Minute, "acme#m7"
	a, b, c := "acme#m7#accept#1", "acme#m7#ship#2", "acme#m7#ship#3"
	claim := func(t *testing.T, h Harness, want []syncer.EffectClaim, keys ...string) map[string]int64 {
		t.Helper()
		got, err := h.Store.ClaimEffects(t.Context(), scope, keys, lease)
		states, tokens := make([]syncer.EffectClaim, len(got)), map[string]int64{}
		for i, c := range got {
			states[i] = c.State
			if c.State == syncer.EffectClaimed {
				tokens[keys[i]] = c.Token
			}
		}
		if err != nil || !slices.Equal(states, want) {
			t.Errorf("ClaimEffects(%v) = %v, %v; want %v", keys, states, err, want)
		}
		return tokens
	}
	claimed, done, busy := syncer.EffectClaimed, syncer.EffectDone, syncer.EffectBusy
	t.Run("each call answered as its own", func(t *testing.T) {
		h := s.fresh(t)
		if err := h.Store.ConfirmEffects(t.Context(), scope, a); err != nil {
			t.Fatal(err)
		}
		claim(t, h, []syncer.EffectClaim{claimed}, b)
		claim(t, h, []syncer.EffectClaim{done, busy, claimed}, a, b, c)
		claim(t, h, []syncer.EffectClaim{done, busy, busy}, a, b, c)
	})
	t.Run("a key named twice is claimed once", func(t *testing.T) {
		h := s.fresh(t)
		claim(t, h, []syncer.EffectClaim{claimed, claimed}, a, a)
		claim(t, h, []syncer.EffectClaim{busy}, a)
	})
	t.Run("each claim's lease and memory are its own", func(t *testing.T) {
		h := s.fresh(t)
		claim(t, h, []syncer.EffectClaim{claimed}, a)
		h.Clock.Advance(40 * time.Second)
		claim(t, h, []syncer.EffectClaim{claimed}, b)
		h.Clock.Advance(21 * time.Second) // a's lease is out, b's is not
		claim(t, h, []syncer.EffectClaim{claimed, busy}, a, b)
		if err := h.Store.ConfirmEffects(t.Context(), scope, a); err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(20 * 24 * time.Hour)
		if err := h.Store.ConfirmEffects(t.Context(), scope, b); err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(11 * 24 * time.Hour) // a confirmed 31 days ago, b 11
		claim(t, h, []syncer.EffectClaim{claimed, done}, a, b)
	})
	t.Run("release drops the pending claims, never a confirmed one", func(t *testing.T) {
		h := s.fresh(t)
		tokens := claim(t, h, []syncer.EffectClaim{claimed, claimed}, a, b)
		if err := h.Store.ConfirmEffects(t.Context(), scope, a); err != nil {
			t.Fatal(err)
		}
		tokens[c] = 12345 // never claimed
		if err := h.Store.ReleaseEffects(t.Context(), scope, tokens); err != nil {
			t.Fatal(err)
		}
		claim(t, h, []syncer.EffectClaim{done, claimed, claimed}, a, b, c)
		if err := h.Store.ConfirmEffects(t.Context(), scope, b, c); err != nil {
			t.Fatal(err)
		}
		claim(t, h, []syncer.EffectClaim{done, done, done}, a, b, c)
	})
	t.Run("concurrent claims of the same calls: one worker gets them", func(t *testing.T) {
		h := s.fresh(t)
		const n = 8
		got := race(n, func(int) string {
			c, err := h.Store.ClaimEffects(t.Context(), scope, []string{a, b}, lease)
			if err != nil || len(c) != 2 {
				t.Error(err)
				return "error"
			}
			return fmt.Sprint([]syncer.EffectClaim{c[0].State, c[1].State})
		})
		count := map[string]int{}
		for _, c := range got {
			count[c]++
		}
		if count[fmt.Sprint([]syncer.EffectClaim{claimed, claimed})] != 1 || count[fmt.Sprint([]syncer.EffectClaim{busy, busy})] != n-1 {
			t.Errorf("claims = %v, want one worker with both and %d with neither", got, n-1)
		}
	})
}

// effectTokens: a renewal or a release names the claim it is for by its
// token, and touches no other: not the claim another worker took over
// after the lease, not a confirmed call.
func (s *suite) effectTokens(t *testing.T) {
	const lease, scope, key = time.Minute, "acme#m8", "acme#m8#ship#1"
	ctx := t.Context()
	t.Run("an old claim's token renews and releases nothing", func(t *testing.T) {
		h := s.fresh(t)
		first, err := claimOne(ctx, h.Store, key, lease)
		if err != nil || first.State != syncer.EffectClaimed {
			t.Fatalf("first claim = %+v, %v", first, err)
		}
		h.Clock.Advance(2 * lease)
		second, err := claimOne(ctx, h.Store, key, lease)
		if err != nil || second.State != syncer.EffectClaimed || second.Token == first.Token {
			t.Fatalf("claim after the lease = %+v, %v; want claimed, a token of its own", second, err)
		}
		if got, ok, err := h.Store.RenewEffect(ctx, scope, key, first.Token); err != nil || ok || got.State != syncer.EffectBusy {
			t.Errorf("RenewEffect(the old token) = %+v, %v, %v; want not renewed, busy (the other's)", got, ok, err)
		}
		if err := h.Store.ReleaseEffects(ctx, scope, map[string]int64{key: first.Token}); err != nil {
			t.Fatal(err)
		}
		if got, err := claimOne(ctx, h.Store, key, lease); err != nil || got.State != syncer.EffectBusy {
			t.Errorf("claim after a release with the old token = %+v, %v; want busy: the second claim holds", got, err)
		}
		h.Clock.Advance(lease * 3 / 4)
		renewed, ok, err := h.Store.RenewEffect(ctx, scope, key, second.Token)
		if err != nil || !ok || renewed.State != syncer.EffectClaimed || renewed.Token == second.Token {
			t.Fatalf("RenewEffect(its own token) = %+v, %v, %v; want renewed with a new token", renewed, ok, err)
		}
		h.Clock.Advance(lease / 2) // within the renewed lease, past the second claim's
		if got, err := claimOne(ctx, h.Store, key, lease); err != nil || got.State != syncer.EffectBusy {
			t.Errorf("claim within the renewed lease = %+v, %v; want busy", got, err)
		}
		if err := h.Store.ReleaseEffects(ctx, scope, map[string]int64{key: renewed.Token}); err != nil {
			t.Fatal(err)
		}
		if got, err := claimOne(ctx, h.Store, key, lease); err != nil || got.State != syncer.EffectClaimed {
			t.Errorf("claim after its holder released it = %+v, %v; want claimed", got, err)
		}
	})
	t.Run("a confirmed call is renewed by no token", func(t *testing.T) {
		h := s.fresh(t)
		c, err := claimOne(ctx, h.Store, key, lease)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Store.ConfirmEffects(ctx, scope, key); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := h.Store.RenewEffect(ctx, scope, key, c.Token); err != nil || ok || got.State != syncer.EffectDone {
			t.Errorf("RenewEffect of a confirmed call = %+v, %v, %v; want not renewed, done", got, ok, err)
		}
	})
}

func (s *suite) dedup(t *testing.T) {
	const inFlight, ttl = 10 * time.Second, 24 * time.Hour
	lifecycles := []struct {
		name  string
		steps []claimStep
	}{
		{"a delivery's life", []claimStep{
			{"first delivery", 0, "claim", int(ingest.Claimed)},
			{"concurrent redelivery", 0, "claim", int(ingest.InFlight)},
			{"release", 0, "release", 0},
			{"retry after a failed enqueue", 0, "claim", int(ingest.Claimed)},
			{"at the end of the in-flight window, to the millisecond", inFlight, "claim", int(ingest.InFlight)},
			{"a delivery that died unconfirmed is taken over", time.Millisecond, "claim", int(ingest.Claimed)},
			{"confirm", 0, "confirm", 0},
			{"after confirm", 0, "claim", int(ingest.Duplicate)},
			{"release", 0, "release", 0},
			{"release never drops a confirmed key", 0, "claim", int(ingest.Duplicate)},
			{"a TTL after the claim, to the second", ttl - time.Millisecond, "claim", int(ingest.Duplicate)},
			{"after the TTL the key is new again", time.Second, "claim", int(ingest.Claimed)},
		}},
		// The TTL runs from the claim: a confirm does not extend it.
		{"confirm keeps the claim's TTL", []claimStep{
			{"claim", 0, "claim", int(ingest.Claimed)},
			{"confirm a while later", 5 * time.Second, "confirm", 0},
			{"a TTL after the claim", ttl - 5*time.Second, "claim", int(ingest.Duplicate)},
			{"a second later", time.Second, "claim", int(ingest.Claimed)},
		}},
	}
	for _, lc := range lifecycles {
		t.Run(lc.name, func(t *testing.T) {
			h := s.fresh(t)
			ctx := t.Context()
			d := h.Deduper(inFlight)
			for _, st := range lc.steps {
				h.Clock.Advance(st.advance)
				var err error
				switch st.do {
				case "claim":
					var got ingest.ClaimResult
					if got, err = d.Claim(ctx, "acme#evt-1", ttl); err == nil && got != ingest.ClaimResult(st.want) {
						t.Errorf("%s: Claim = %v, want %v", st.name, got, ingest.ClaimResult(st.want))
					}
				case "confirm":
					err = d.Confirm(ctx, "acme#evt-1", order.Event{Connection: "acme", SourceEventID: "evt-1"})
				case "release":
					err = d.Release(ctx, "acme#evt-1")
				}
				if err != nil {
					t.Fatalf("%s: %s: %v", st.name, st.do, err)
				}
			}
		})
	}

	t.Run("concurrent deliveries: exactly one is claimed", func(t *testing.T) {
		h := s.fresh(t)
		d := h.Deduper(inFlight)
		const n = 8
		got := race(n, func(int) ingest.ClaimResult {
			c, err := d.Claim(t.Context(), "acme#evt-2", ttl)
			if err != nil {
				t.Error(err)
				return -1
			}
			return c
		})
		count := map[ingest.ClaimResult]int{}
		for _, c := range got {
			count[c]++
		}
		if count[ingest.Claimed] != 1 || count[ingest.InFlight] != n-1 {
			t.Errorf("claims = %v, want 1 claimed and %d in flight", got, n-1)
		}
	})

	// The suite every ingest.Deduper passes, the in-memory fake included.
	t.Run("ingest conformance", func(t *testing.T) {
		ingesttest.TestDeduper(t, func(t *testing.T) ingest.Deduper { return s.fresh(t).Deduper(inFlight) })
	})
}

func (s *suite) notified(t *testing.T) {
	const key = "acme#m1#sku_not_found"
	steps := []struct {
		name    string
		advance time.Duration
		clear   []string // ClearNotified these instead of marking
		want    bool
	}{
		{"first mark", 0, nil, true},
		{"second mark for the same failure", 0, nil, false},
		{"cleared", 0, []string{key}, false},
		{"after ClearNotified a new failure is told again", 0, nil, true},
		{"clearing unknown keys with it", 0, []string{"nobody#1", key, "nobody#2"}, false},
		{"told again", 0, nil, true},
		{"at the TTL", time.Hour, nil, false},
		{"a second after the TTL", time.Second, nil, true},
		{"marked again for a new TTL", 30 * time.Minute, nil, false},
		{"clearing nothing", 0, []string{}, false},
		{"still marked", 0, nil, false},
	}
	t.Run("marked once until cleared or expired", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		for _, st := range steps {
			h.Clock.Advance(st.advance)
			if st.clear != nil {
				if err := h.Store.ClearNotified(ctx, st.clear...); err != nil {
					t.Fatalf("%s: ClearNotified: %v", st.name, err)
				}
				continue
			}
			if got, err := h.Store.MarkNotified(ctx, key, time.Hour); err != nil || got != st.want {
				t.Errorf("%s: MarkNotified = %v, %v; want %v", st.name, got, err, st.want)
			}
		}
	})
	t.Run("keys are independent", func(t *testing.T) {
		h := s.fresh(t)
		ctx := t.Context()
		for _, k := range []string{"acme#m1#a", "acme#m1#b", "other#m1#a"} {
			if got, err := h.Store.MarkNotified(ctx, k, time.Hour); err != nil || !got {
				t.Errorf("MarkNotified(%s) = %v, %v; want true", k, got, err)
			}
		}
		if err := h.Store.ClearNotified(ctx, "acme#m1#a", "acme#m1#b"); err != nil {
			t.Fatal(err)
		}
		if got, err := h.Store.MarkNotified(ctx, "other#m1#a", time.Hour); err != nil || got {
			t.Errorf("MarkNotified(other#m1#a) = %v, %v; want false, untouched by the clear", got, err)
		}
	})
}
