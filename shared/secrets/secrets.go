// Package secrets resolves the names of credentials and webhook secrets that
// connections reference. On AWS they are SSM Parameter Store SecureStrings
// under a path prefix; locally they sit in a JSON file under the git-ignored
// data folder. Values are cached per cold start and never logged.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ordersync/ordersync/shared/order"
)

// Static is a fixed set of secrets (a local file's, or a test's).
type Static map[string]string

// Secret returns the named secret, or a wrapped order.ErrNotFound.
func (s Static) Secret(_ context.Context, name string) (string, error) {
	v, ok := s[name]
	if !ok {
		return "", fmt.Errorf("secrets: %q: %w", name, order.ErrNotFound)
	}
	return v, nil
}

// LoadFile reads a JSON object of name → value.
func LoadFile(path string) (Static, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	var s Static
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("secrets: %s: %w", path, err)
	}
	return s, nil
}

// SSMAPI is the part of the SSM client Parameters uses.
type SSMAPI interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Parameters reads SecureString parameters named prefix+name, decrypted,
// and caches each for TTL (5 minutes by default): a warm function does not
// ask SSM on every call, and a credential the merchant replaced (after an
// auth_expired) is picked up within minutes, without a cold start.
type Parameters struct {
	// TTL is how long a value is used before it is read again.
	TTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	api    SSMAPI
	prefix string
	mu     sync.Mutex
	cache  map[string]cached
}

type cached struct {
	value string
	at    time.Time
}

// NewParameters returns a resolver over SSM Parameter Store.
func NewParameters(api SSMAPI, prefix string) *Parameters {
	return &Parameters{TTL: 5 * time.Minute, api: api, prefix: prefix, cache: map[string]cached{}}
}

func (p *Parameters) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Secret returns the named secret, or a wrapped order.ErrNotFound.
func (p *Parameters) Secret(ctx context.Context, name string) (string, error) {
	now := p.now()
	p.mu.Lock()
	c, ok := p.cache[name]
	p.mu.Unlock()
	if ok && now.Sub(c.at) < p.TTL {
		return c.value, nil
	}
	out, err := p.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(p.prefix + name), WithDecryption: aws.Bool(true)})
	var nf *types.ParameterNotFound
	if errors.As(err, &nf) {
		return "", fmt.Errorf("secrets: %q: %w", name, order.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("secrets: %q: %w", name, err) // the SDK's error names the parameter, never its value
	}
	if out.Parameter == nil {
		return "", fmt.Errorf("secrets: %q: SSM answered without a parameter", name)
	}
	v := aws.ToString(out.Parameter.Value)
	p.mu.Lock()
	p.cache[name] = cached{value: v, at: now}
	p.mu.Unlock()
	return v, nil
}
