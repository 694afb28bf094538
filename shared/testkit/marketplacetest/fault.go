package marketplacetest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is a failure a marketplace fake answers with instead of doing its
// work. Its JSON form (the fakes' HTTP control API) spells Delay as
// "delay_ms", in milliseconds:
//
//	{"status":429,"retry_after":"5","count":1,"delay_ms":0,"methods":"POST"}
type Fault struct {
	// Status is the HTTP status to answer: 429 (rate limited), 503
	// (unavailable), 400 (a refusal in the platform's own error shape), or
	// any other. Zero answers normally, after Delay.
	Status int
	// RetryAfter is the Retry-After header sent with the fault, as written
	// on the wire: seconds ("5") or an HTTP date. Empty sends none.
	RetryAfter string
	// Count is how many requests the fault applies to; zero means every
	// matching request until the fault is cleared.
	Count int
	// Delay holds each faulted answer back this long, or until the client
	// gives up, whichever comes first.
	Delay time.Duration
	// Methods, when set, limits the fault to these HTTP methods (comma or
	// space separated, e.g. "POST" or "PUT,POST"); other requests pass.
	Methods string
}

type faultJSON struct {
	Status     int             `json:"status,omitempty"`
	RetryAfter json.RawMessage `json:"retry_after,omitempty"`
	Count      int             `json:"count,omitempty"`
	DelayMS    int64           `json:"delay_ms,omitempty"`
	Methods    string          `json:"methods,omitempty"`
}

// MarshalJSON writes f in the control API's form.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Status: f.Status, Count: f.Count, DelayMS: f.Delay.Milliseconds(), Methods: f.Methods}
	if f.RetryAfter != "" {
		j.RetryAfter, _ = json.Marshal(f.RetryAfter) // a string always marshals
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the control API's form; retry_after may be a string
// or a number of seconds.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{Status: j.Status, Count: j.Count, Delay: time.Duration(j.DelayMS) * time.Millisecond, Methods: j.Methods}
	if len(j.RetryAfter) > 0 {
		var s string
		if err := json.Unmarshal(j.RetryAfter, &s); err != nil {
			var n json.Number
			if err := json.Unmarshal(j.RetryAfter, &n); err != nil {
				return err
			}
			s = n.String()
		}
		f.RetryAfter = s
	}
	return nil
}

func (f Fault) matches(method string) bool {
	if strings.TrimSpace(f.Methods) == "" {
		return true
	}
	for _, m := range strings.FieldsFunc(f.Methods, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}

// Switch is the fault switch a marketplace fake embeds. Its zero value is
// ready to use; it is safe for concurrent use.
type Switch struct {
	mu    sync.Mutex
	fault Fault
	left  int // requests the fault still applies to; -1 for all
	set   bool
}

// SetFault replaces the current fault with f.
func (s *Switch) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.set = f, true
	s.left = f.Count
	if f.Count <= 0 {
		s.left = -1
	}
}

// ClearFaults removes the current fault.
func (s *Switch) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.set, s.left = Fault{}, false, 0
}

// Fault returns the current fault and whether one is set and not used up.
func (s *Switch) Fault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault, s.set && s.left != 0
}

// Take returns the fault that applies to a request with this method,
// consuming one of its count, and whether there is one.
func (s *Switch) Take(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.set || s.left == 0 || !s.fault.matches(method) {
		return Fault{}, false
	}
	if s.left > 0 {
		s.left--
	}
	return s.fault, true
}

// Apply takes the fault for r, if any, and acts on it: it waits out the
// delay (returning true, with nothing written, if the client gave up
// meanwhile), then, for a fault with a status, sets Retry-After when the
// fault has one, calls write to answer in the platform's own words and
// returns true. It returns false when the request should be served
// normally.
func (s *Switch) Apply(w http.ResponseWriter, r *http.Request, write func(w http.ResponseWriter, f Fault)) bool {
	f, ok := s.Take(r.Method)
	if !ok {
		return false
	}
	if f.Delay > 0 && !Wait(r.Context(), f.Delay) {
		return true // the client is gone; nothing to answer
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	write(w, f)
	return true
}

// Wait blocks for d or until ctx is done, and reports whether the whole
// delay passed.
func Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Limiter is a fixed-window request limiter a fake uses to answer 429 the
// way a real marketplace does when called too often. The zero value (or a
// Limit of zero) never limits. It is safe for concurrent use.
type Limiter struct {
	// Limit is how many requests one window allows.
	Limit int
	// Window is the window's length (10s when zero).
	Window time.Duration

	mu    sync.Mutex
	start time.Time
	n     int
}

// Allow counts a request made at now and reports whether it is within the
// limit; when it is not, it returns the Retry-After value to send (whole
// seconds until the window ends, at least 1).
func (l *Limiter) Allow(now time.Time) (bool, string) {
	if l == nil || l.Limit <= 0 {
		return true, ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	win := l.Window
	if win <= 0 {
		win = 10 * time.Second
	}
	if l.start.IsZero() || now.Sub(l.start) >= win {
		l.start, l.n = now, 0
	}
	l.n++
	if l.n <= l.Limit {
		return true, ""
	}
	left := l.start.Add(win).Sub(now)
	secs := int64((left + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return false, strconv.FormatInt(secs, 10)
}

// StatusWriter remembers the status a fake answered, for its call log.
type StatusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first status written.
func (w *StatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Code is the status answered, or 499 when the client went away before
// an answer (a Delay fault).
func (w *StatusWriter) Code() int {
	if w.status == 0 {
		return 499
	}
	return w.status
}
