package pace

import (
	"errors"
	"net/http"

	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Client returns a copy of hc whose every request first takes a token of
// key's bucket (a connection's), sized by l, and whose 429 answers pause
// the bucket until their Retry-After (or, without one, empty it). Pacing
// the requests, not the connector's methods, counts each of them: a Back
// Market shipment is one call per order line, a listing one per page.
//
// A request that could start only after its context's deadline is not
// sent: it fails with a rate_limited *syncerr.Error whose RetryAfter is
// the wait, which httpclient.Do passes on as it is, for the syncer to
// retry the order then; one whose context ends while it waits fails with
// the context's error. A zero l returns hc itself.
func (b *Buckets) Client(hc *http.Client, key string, l Limit) *http.Client {
	if l.none() {
		return hc
	}
	c := *hc
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &transport{next: next, b: b, key: key, limit: l}
	return &c
}

type transport struct {
	next  http.RoundTripper
	b     *Buckets
	key   string
	limit Limit
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.b.Wait(r.Context(), t.key, t.limit); err != nil {
		if r.Body != nil {
			r.Body.Close() // a RoundTripper closes the body, even on error
		}
		var we *WaitError
		if errors.As(err, &we) && errors.Is(err, ErrTooLong) {
			return nil, syncerr.E(syncerr.RateLimited).After(we.After).Wrap(err)
		}
		return nil, err // the context's: a transport failure like any other
	}
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		now := t.b.clock.Now()
		d, _ := httpclient.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		t.b.Pause(t.key, t.limit, now.Add(d))
	}
	return resp, err
}
