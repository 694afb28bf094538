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
