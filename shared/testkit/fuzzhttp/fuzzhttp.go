// Package fuzzhttp lets a connector's fuzz targets drive its real client
// methods with fuzzed answers: a loopback server that answers every request
// as the current fuzz input says, and the checks an error from any
// connector must pass whatever it was answered.
package fuzzhttp

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Answer is one HTTP answer. A zero Status is 200.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Server is a loopback HTTP server whose answers the fuzz target sets per
// input. Build it once per target, before f.Fuzz: the connection stays
// open across inputs.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL string
	hs  *httptest.Server

	mu     sync.Mutex
	answer func(r *http.Request) Answer
	calls  int
}

// New starts a server that answers 200 with no body until Answer is
// called; it is closed when tb's test ends.
func New(tb testing.TB) *Server {
	s := &Server{}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL
	tb.Cleanup(s.hs.Close)
	return s
}

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// Answer makes the server answer every request with what fn returns, and
// resets the call count.
func (s *Server) Answer(fn func(r *http.Request) Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer, s.calls = fn, 0
}

// Calls is how many requests the server answered since Answer.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fn := s.answer
	s.calls++
	s.mu.Unlock()
	a := Answer{}
	if fn != nil {
		a = fn(r)
	}
	for k, vs := range a.Header {
		for _, v := range vs {
			if fieldValue(v) {
				w.Header().Add(k, v)
			}
		}
	}
	w.WriteHeader(Status(a.Status))
	_, _ = w.Write(a.Body)
}

// fieldValue reports whether v can be sent as a header value. Others are
// left out: an answer whose header a client cannot read tests the
// transport, not the connector.
func fieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// Status maps a fuzzed number onto a final HTTP status, 200 to 599: 200
// when n is outside that range (1xx answers are not final, and net/http
// refuses codes above 999).
func Status(n int) int {
	if n < 200 || n > 599 {
		return http.StatusOK
	}
	return n
}

// Classified fails t unless err is what every connector promises of a
// failure: a *syncerr.Error whose code is in the catalogue, whose
// RetryAfter is zero or a delay a marketplace may ask for (at most
// httpclient.MaxRetryAfter), and whose text shows none of secrets. It
// returns the error.
func Classified(t testing.TB, err error, secrets ...string) *syncerr.Error {
	t.Helper()
	e, ok := syncerr.As(err)
	if !ok {
		t.Fatalf("error %v (%T) is not classified", err, err)
	}
	if !slices.Contains(syncerr.Codes(), e.Code) {
		t.Fatalf("code %q is not in the catalogue (err %v)", e.Code, err)
	}
	if e.RetryAfter < 0 || e.RetryAfter > httpclient.MaxRetryAfter {
		t.Fatalf("RetryAfter = %v, want 0 to %v (err %v)", e.RetryAfter, httpclient.MaxRetryAfter, err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q shows a credential", err)
		}
	}
	return e
}
