package backmarkettest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
)

type updateKey struct{}

func withUpdate(ctx context.Context, u *Update) context.Context {
	return context.WithValue(ctx, updateKey{}, u)
}

func updateFrom(ctx context.Context) *Update {
	u, _ := ctx.Value(updateKey{}).(*Update)
	return u
}

// readUpdate reads an update POST's body, so that it can be recorded even
// when a fault or the auth check answers instead of the handler. It
// returns nil for an unreadable body.
func readUpdate(r *http.Request) *Update {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil
	}
	var u Update
	if err := json.Unmarshal(b, &u); err != nil {
		return nil
	}
	return &u
}

// statusWriter remembers the status answered, for the call log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return 499 // the client went away before an answer (a Delay fault)
	}
	return w.status
}
