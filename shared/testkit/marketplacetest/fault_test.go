package marketplacetest

import (
	"testing"
	"time"
)

func TestSwitch(t *testing.T) {
	var s Switch
	if _, ok := s.Take("GET"); ok {
		t.Fatal("zero Switch has a fault")
	}
	s.SetFault(Fault{Status: 503, Count: 2, Methods: "put, POST"})
	var got []bool
	for _, m := range []string{"GET", "POST", "PUT", "POST"} {
		_, ok := s.Take(m)
		got = append(got, ok)
	}
	if want := []bool{false, true, true, false}; !equal(got, want) {
		t.Errorf("faulted = %v; want %v (GET passes, two writes faulted, then used up)", got, want)
	}
	s.SetFault(Fault{Status: 429})
	for range 3 {
		if _, ok := s.Take("GET"); !ok {
			t.Fatal("a fault with Count 0 stopped applying")
		}
	}
	s.ClearFaults()
	if _, ok := s.Take("GET"); ok {
		t.Error("fault still applies after ClearFaults")
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Limiter{Limit: 2, Window: 10 * time.Second}
	steps := []struct {
		at    time.Duration
		ok    bool
		after string
	}{
		{0, true, ""}, {time.Second, true, ""}, {2500 * time.Millisecond, false, "8"}, {10 * time.Second, true, ""},
	}
	for _, s := range steps {
		ok, after := l.Allow(now.Add(s.at))
		if ok != s.ok || after != s.after {
			t.Errorf("Allow at %v = %v, %q; want %v, %q", s.at, ok, after, s.ok, s.after)
		}
	}
	var off *Limiter
	if ok, _ := off.Allow(now); !ok {
		t.Error("a nil Limiter limits")
	}
}
