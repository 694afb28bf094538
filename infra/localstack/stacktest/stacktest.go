// Package stacktest gives integration tests the local emulators and a fresh
// copy of template.yaml's resources per test.
package stacktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/localstack"
)

var (
	endpoints localaws.Endpoints
	clients   localaws.Clients
	started   atomic.Bool
	seq       atomic.Int64
)

// Main starts the emulators (or reuses running ones named by the
// ORDERSYNC_LOCAL_* variables), runs the tests and stops them. Call it from
// TestMain. A test binary that cannot start them fails: integration tests
// never skip silently.
func Main(m *testing.M) {
	ctx := context.Background()
	st, err := localaws.Start(ctx, localaws.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "stacktest:", err)
		os.Exit(1)
	}
	endpoints = st.Endpoints
	clients, err = st.Clients(ctx)
	if err != nil {
		st.Stop()
		fmt.Fprintln(os.Stderr, "stacktest:", err)
		os.Exit(1)
	}
	// Code that builds its own clients (config.LoadDefaultConfig, or the
	// functions' shared/app) finds the emulators through the standard
	// variables.
	for _, kv := range st.Env() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	started.Store(true)
	code := m.Run()
	st.Stop()
	os.Exit(code)
}

// Endpoints returns the emulators' URLs.
func Endpoints() localaws.Endpoints { mustStarted(); return endpoints }

// Clients returns SDK clients for the emulators.
func Clients() localaws.Clients { mustStarted(); return clients }

// New provisions template.yaml's table and queues under a name prefix of
// their own, so tests never see each other's data.
func New(t testing.TB, params map[string]string) *localstack.Stack {
	t.Helper()
	mustStarted()
	tmpl, err := localstack.LoadTemplate(filepath.Join(root(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("t%d-%d-", time.Now().UnixNano()%1e9, seq.Add(1))
	st, err := localstack.Provision(context.Background(), tmpl, prefix, localstack.Clients{DynamoDB: clients.DynamoDB, SQS: clients.SQS}, params)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustStarted() {
	if !started.Load() {
		panic("stacktest: call stacktest.Main from TestMain first")
	}
}

func root(t testing.TB) string {
	d, err := localaws.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
