package httpapi

import (
	"context"
	"errors"

	"github.com/ordersync/ordersync/shared/order"
)

// Secrets resolves the names of the secrets callers authenticate with
// (webhook signing secrets, merchant API keys).
type Secrets interface {
	// Secret returns the secret called name, or an error wrapping
	// order.ErrNotFound when there is none.
	Secret(ctx context.Context, name string) (string, error)
}

// ResolveSecrets returns the values of the secrets refs name that exist,
// in order, leaving out empty ones. A ref whose secret is not found is
// skipped (a rotation left it behind) and passed to skipped, which may be
// nil; any other error is returned.
func ResolveSecrets(ctx context.Context, s Secrets, refs []string, skipped func(ref string)) ([]string, error) {
	out := make([]string, 0, len(refs))
	for _, ref := range refs {
		v, err := s.Secret(ctx, ref)
		switch {
		case errors.Is(err, order.ErrNotFound):
			if skipped != nil {
				skipped(ref)
			}
		case err != nil:
			return nil, err
		case v != "":
			out = append(out, v)
		}
	}
	return out, nil
}
