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

// SSMAPI is the part of SSM Parameters reads with (*SSM is it).
type SSMAPI interface {
	// GetParameter returns the named parameter's value, decrypted when
	// decrypt is set, or an error that isNotFound recognises for a name
	// SSM lacks. It is idempotent.
	GetParameter(ctx context.Context, name string, decrypt bool) (string, error)
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
	v, err := p.api.GetParameter(ctx, p.prefix+name, true)
	if isNotFound(err) {
		return "", fmt.Errorf("secrets: %q: %w", name, order.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("secrets: %q: %w", name, err) // SSM's error names the parameter, never its value
	}
	p.mu.Lock()
	p.cache[name] = cached{value: v, at: now}
	p.mu.Unlock()
	return v, nil
}

// WriterAPI is the part of SSM Parameters' writes use (*SSM is it).
type WriterAPI interface {
	// PutParameter stores value as the SecureString called name,
	// replacing any value it had. Its error never holds the value. It is
	// idempotent.
	PutParameter(ctx context.Context, name, value string) error
}

// PutParameter stores value as the SecureString prefix+name, replacing any
// value it had (Overwrite), and caches it: this function reads the new
// value at once, others within their TTL. It is idempotent. The api given
// to NewParameters must also be a WriterAPI (*SSM is). The value
// never enters an error.
func (p *Parameters) PutParameter(ctx context.Context, name, value string) error {
	w, ok := p.api.(WriterAPI)
	if !ok {
		return fmt.Errorf("secrets: %q: the SSM client given cannot write", name)
	}
	if err := w.PutParameter(ctx, p.prefix+name, value); err != nil {
		return fmt.Errorf("secrets: put %q: %w", name, err) // SSM's error names the parameter, never its value
	}
	p.mu.Lock()
	p.cache[name] = cached{value: value, at: p.now()}
	p.mu.Unlock()
	return nil
}

// File is a writable JSON file of name → value, for running locally (make
// run, the end-to-end tests): every function of the local system shares
// it, so a secret one writes is read by the others at once. It is safe for
// concurrent use within a process; writes replace the file atomically.
type File struct {
	path string
	mu   sync.Mutex
}

// NewFile returns the secrets of the file at path, which need not exist
// yet (it then holds none).
func NewFile(path string) *File { return &File{path: path} }

func (f *File) read() (Static, error) {
	s, err := LoadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return Static{}, nil
	}
	return s, err
}

// Secret returns the named secret, or a wrapped order.ErrNotFound. It
// reads the file on every call.
func (f *File) Secret(ctx context.Context, name string) (string, error) {
	f.mu.Lock()
	s, err := f.read()
	f.mu.Unlock()
	if err != nil {
		return "", err
	}
	return s.Secret(ctx, name)
}

// PutParameter sets the named secret, as Parameters.PutParameter does in
// SSM.
func (f *File) PutParameter(_ context.Context, name, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.read()
	if err != nil {
		return err
	}
	if s == nil {
		s = Static{}
	}
	s[name] = value
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("secrets: write %s: %w", f.path, err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("secrets: write %s: %w", f.path, err)
	}
	return nil
}
