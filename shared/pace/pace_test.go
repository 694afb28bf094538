package pace_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/pace"
	"github.com/ordersync/ordersync/shared/pace/pacetest"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// t0 is far ahead of the wall clock, so that contexts with deadlines on
// the fake clock are not done in real time.
var t0 = time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)

// waits runs fn, which should wait on clock for exactly want: it checks
// that fn is still waiting a nanosecond before, and done at want.
func waits(t *testing.T, clock *pacetest.Clock, want time.Duration, fn func() error) {
	t.Helper()
	if want == 0 {
		if err := fn(); err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		if n, _ := clock.Waiting(); n != 0 {
			t.Fatalf("%d waits pending, want none", n)
		}
		return
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	var waited time.Duration
	for waited < want {
		clock.BlockUntil(1)
		_, next := clock.Waiting()
		if waited+next > want {
			t.Fatalf("waits %v, want %v", waited+next, want)
		}
		clock.Advance(next)
		waited += next
	}
	if err := <-done; err != nil {
		t.Fatalf("err = %v, want none", err)
	}
	if n, _ := clock.Waiting(); n != 0 {
		t.Errorf("%d waits pending after %v, want none", n, want)
	}
}

func TestWait(t *testing.T) {
	// 4 a second: a burst of 2, then one every 500 ms.
	limit := pace.Limit{Requests: 4, Per: time.Second}
	for _, tc := range []struct {
		name     string
		limit    Limit
		taken    int           // calls made just before, on "conn-a"
		pause    time.Duration // a 429's Retry-After on "conn-a"; -1 a 429 without one
		key      string        // the connection that waits ("conn-a")
		deadline time.Duration // the context's, from now (none)
		wantWait time.Duration
		wantErr  error
		wantAft  time.Duration
	}{
		{name: "a full bucket lets its burst through at once", limit: limit, taken: 1},
		{name: "past the burst, the next waits for the refill", limit: limit, taken: 2, wantWait: 500 * time.Millisecond},
		{name: "a 429's Retry-After holds the connection until then", limit: limit, pause: 3 * time.Second, wantWait: 3 * time.Second},
		{name: "a 429 without Retry-After empties the bucket", limit: limit, pause: -1, wantWait: 500 * time.Millisecond},
		{name: "another connection is not held", limit: limit, taken: 2, pause: 3 * time.Second, key: "conn-b"},
		{name: "a token after the deadline fails at once", limit: limit, taken: 2, deadline: 100 * time.Millisecond,
			wantErr: pace.ErrTooLong, wantAft: 500 * time.Millisecond},
		{name: "a token before the deadline is waited for", limit: limit, taken: 2, deadline: 600 * time.Millisecond, wantWait: 500 * time.Millisecond},
		{name: "no limit never waits", limit: Limit{}, taken: 100, pause: 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := pacetest.NewClock(t0)
			b := pace.NewBuckets(clock)
			ctx := context.Background()
			for range tc.taken {
				if err := b.Wait(ctx, "conn-a", tc.limit); err != nil {
					t.Fatal(err)
				}
			}
			switch {
			case tc.pause > 0:
				b.Pause("conn-a", tc.limit, clock.Now().Add(tc.pause))
			case tc.pause < 0:
				b.Pause("conn-a", tc.limit, time.Time{})
			}
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, clock.Now().Add(tc.deadline))
				defer cancel()
			}
			key := tc.key
			if key == "" {
				key = "conn-a"
			}
			if tc.wantErr != nil {
				err := b.Wait(ctx, key, tc.limit)
				var we *pace.WaitError
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &we) || we.After != tc.wantAft {
					t.Fatalf("err = %v, want %v after %v", err, tc.wantErr, tc.wantAft)
				}
				return
			}
			waits(t, clock, tc.wantWait, func() error { return b.Wait(ctx, key, tc.limit) })
		})
	}
}

type Limit = pace.Limit

func TestAPausedBucketLetsOneCallGoThenPaces(t *testing.T) {
	clock := pacetest.NewClock(t0)
	b := pace.NewBuckets(clock)
	l := pace.Limit{Requests: 4, Per: time.Second}
	ctx := context.Background()
	b.Pause("c", l, t0.Add(2*time.Second))
	wait := func() error { return b.Wait(ctx, "c", l) }
	waits(t, clock, 2*time.Second, wait)
	waits(t, clock, 500*time.Millisecond, wait)
	// A shorter pause never shortens the one set.
	b.Pause("c", l, clock.Now().Add(3*time.Second))
	b.Pause("c", l, clock.Now().Add(time.Second))
	waits(t, clock, 3*time.Second, wait)
}

func TestWaitEndsWithItsContext(t *testing.T) {
	clock := pacetest.NewClock(t0)
	b := pace.NewBuckets(clock)
	l := pace.Limit{Requests: 2, Per: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.Wait(ctx, "c", l); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Wait(ctx, "c", l) }()
	clock.BlockUntil(1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestClientPacesEveryRequestAndHonoursRetryAfter goes through a real
// HTTP server: a 429 with Retry-After holds that connection's next
// request, not another connection's.
func TestClientPacesEveryRequestAndHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	clock := pacetest.NewClock(t0)
	b := pace.NewBuckets(clock)
	l := pace.Limit{Requests: 100, Per: 10 * time.Second}
	a, other := b.Client(srv.Client(), "conn-a", l), b.Client(srv.Client(), "conn-b", l)
	get := func(c *http.Client) func() error {
		return func() error {
			resp, err := c.Get(srv.URL)
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		}
	}
	waits(t, clock, 0, get(a)) // answered 429, Retry-After: 2
	waits(t, clock, 0, get(other))
	waits(t, clock, 2*time.Second, get(a))
	if got := calls.Load(); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
}

func TestClientFailsAsRateLimitedPastTheDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	clock := pacetest.NewClock(t0)
	b := pace.NewBuckets(clock)
	// 2 a second: a burst of one, then one a second.
	c := b.Client(srv.Client(), "conn", pace.Limit{Requests: 2, Per: time.Second})
	ctx, cancel := context.WithDeadline(context.Background(), t0.Add(300*time.Millisecond))
	defer cancel()
	for i, want := range []time.Duration{0, time.Second} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, nil)
		resp, err := httpclient.Do(c, req)
		if want == 0 {
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			resp.Body.Close()
			continue
		}
		e, ok := syncerr.As(err)
		if !ok || e.Code != syncerr.RateLimited || e.RetryAfter != want {
			t.Fatalf("request %d: err = %v, want rate_limited after %v", i, err, want)
		}
	}
}
