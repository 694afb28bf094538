package pace

import (
	"testing"
	"time"
)

// TestABucketKeepsEveryWindowWithinTheLimit takes tokens as fast as the
// bucket gives them, for many windows, and counts the calls in every
// window of length Per that starts at a call.
func TestABucketKeepsEveryWindowWithinTheLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     Limit
		wantBurst int // calls let through at once
	}{
		{"Back Market, 200 per 10 s", Limit{200, 10 * time.Second}, 100},
		{"2 per second", Limit{2, time.Second}, 1},
		{"1 per second: a burst of one", Limit{1, time.Second}, 1},
		{"7 per 3 s", Limit{7, 3 * time.Second}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			k := &bucket{limit: tc.limit, at: t0}
			k.burst, k.rate = tc.limit.bucket()
			k.tokens = k.burst
			now, end := t0, t0.Add(20*tc.limit.Per)
			var calls []time.Time
			for now.Before(end) {
				if w := k.take(now); w > 0 {
					now = now.Add(w)
					continue
				}
				calls = append(calls, now)
			}
			burst := 0
			for _, c := range calls {
				if c.Equal(t0) {
					burst++
				}
			}
			if burst != tc.wantBurst {
				t.Errorf("%d calls at once, want %d", burst, tc.wantBurst)
			}
			for i, c := range calls {
				n := 0
				for _, d := range calls[i:] {
					if d.Sub(c) < tc.limit.Per {
						n++
					}
				}
				if n > tc.limit.Requests {
					t.Fatalf("%d calls in the %v from %v, want at most %d", n, tc.limit.Per, c.Sub(t0), tc.limit.Requests)
				}
			}
			// Over the 20 windows, the pace is half the limit, the burst
			// on top of it: not slower either.
			if got, want := len(calls), tc.wantBurst+20*tc.limit.Requests/2; got < want-1 || got > want+1 {
				t.Errorf("%d calls in 20 windows, want %d±1", got, want)
			}
		})
	}
}
