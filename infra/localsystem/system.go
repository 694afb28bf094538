// Package localsystem is ordersync running on one machine: the emulators,
// template.yaml's table and queues, the template's functions behind a local
// HTTP API, SQS pollers and schedules, and a sandbox marketplace. `make run`
// and the end-to-end tests both start it.
package localsystem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/localstack"
	"github.com/ordersync/ordersync/shared/amazon/amazontest"
	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/app/apiapp"
	"github.com/ordersync/ordersync/shared/app/dispatchapp"
	"github.com/ordersync/ordersync/shared/app/jobsapp"
	"github.com/ordersync/ordersync/shared/app/refreshapp"
	"github.com/ordersync/ordersync/shared/app/syncapp"
	"github.com/ordersync/ordersync/shared/app/webhookapp"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/console"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/shopify/shopifytest"
)

// Options say where the system runs.
type Options struct {
	// Dir is the local data folder (DynamoDB's files, SQS's queues and
	// messages, secrets), kept across restarts. Empty keeps everything in
	// memory and in a temporary folder.
	Dir string
	// APIAddr and SandboxAddr are the listen addresses of the HTTP API
	// (webhooks, merchant API) and the sandbox marketplace ("127.0.0.1:0"
	// picks a free port).
	APIAddr, SandboxAddr string
	// StoreAddr is the listen address of the sandbox store (the Shopify
	// fake the demo connections' store is); see sandbox.go.
	StoreAddr string
	// AWS are the emulators' ports (zero: free ports).
	AWS localaws.Options
	// Params override template parameters (e.g. RetryBaseMillis).
	Params map[string]string
	// Log receives the functions' logs; nil discards them.
	Log *slog.Logger
	// DynamoDB, when set, gives a function (by logical id) more DynamoDB
	// client options: the end-to-end tests record each function's calls
	// with templatecheck.Recorder, to check them against its IAM.
	DynamoDB func(function string) []func(*dynamodb.Options)
	// SQS, likewise, gives a function more SQS client options.
	SQS func(function string) []func(*sqs.Options)
	// SESEndpoint, when set, gives the endpoint a function's SES client
	// sends to, from the emulator's.
	SESEndpoint func(function, emulator string) string
	// Poller are more options for the SQS client the event source
	// pollers receive and delete with (infra/awscount counts its calls).
	Poller []func(*sqs.Options)
}

// System is the running stack.
type System struct {
	APIURL     string
	SandboxURL string
	AWS        localaws.Endpoints
	Stack      *localstack.Stack
	Sandbox    *backmarkettest.Server
	Store      *dynamostore.Store
	Secrets    map[string]string
	Clients    localaws.Clients

	// The sandbox store and the import demo's marketplace account: see
	// sandbox.go.
	StoreURL      string
	SandboxStore  *shopifytest.Server
	ImportSandbox *backmarkettest.Server
	// AmazonSandbox is the Amazon demo's marketplace, served under
	// SandboxURL+AmazonAccountPath.
	AmazonSandbox *amazontest.Server

	log         *slog.Logger
	emu         *localaws.Stack
	runner      *localstack.Runner
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	servers     []*http.Server
	tmpDir      string
	ddbOpts     func(function string) []func(*dynamodb.Options)
	sqsOpts     func(function string) []func(*sqs.Options)
	sesEndpoint func(function, emulator string) string
	params      map[string]string
	// env holds the variables Start set, as they were before (see
	// restart.go).
	env map[string]*string
}

// systems counts the systems this process started in memory.
var systems atomic.Int64

// stackPrefix starts the names of a system's table and queues: the one
// the ordersync CLI knows for a system kept in dir, and one of its own
// for each system in memory. Systems a test binary starts one after the
// other share its emulators; on shared queues, the long poll a stopped
// system's poller had in flight could take the next system's first
// message, and hide it for the queue's visibility timeout (6 minutes).
func stackPrefix(dir string) string {
	if dir != "" {
		return "ordersync-local-"
	}
	return fmt.Sprintf("ordersync-local-%d-%d-", os.Getpid(), systems.Add(1))
}

// Start brings the system up. Stop ends it.
func Start(ctx context.Context, o Options) (*System, error) {
	s := &System{log: o.Log, ddbOpts: o.DynamoDB, sqsOpts: o.SQS, sesEndpoint: o.SESEndpoint, params: o.Params}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := s.start(ctx, o); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *System) start(ctx context.Context, o Options) error {
	dir := o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ordersync-local-")
		if err != nil {
			return err
		}
		s.tmpDir, dir = tmp, tmp
	} else {
		o.AWS.DataDir = dir
	}
	emu, err := localaws.Start(ctx, o.AWS)
	if err != nil {
		return err
	}
	s.emu, s.AWS = emu, emu.Endpoints
	// The functions read their AWS config from the environment, as on
	// Lambda (shared/app's envConfig); these variables point it at the
	// emulators.
	for _, kv := range emu.Env() {
		k, v, _ := strings.Cut(kv, "=")
		s.keepEnv(k)
		os.Setenv(k, v)
	}
	if s.Clients, err = emu.Clients(ctx); err != nil {
		return err
	}
	root, err := localaws.ModuleRoot()
	if err != nil {
		return err
	}
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	if s.Stack, err = localstack.Provision(ctx, tmpl, stackPrefix(o.Dir), localstack.Clients{DynamoDB: s.Clients.DynamoDB, SQS: s.Clients.SQS}, o.Params); err != nil {
		return err
	}
	s.Store = dynamostore.New(s.Clients.DynamoDB, s.Stack.Ref("Table"))

	// Secrets live in a file under the data folder, made once.
	secretsFile := filepath.Join(dir, "secrets.json")
	if s.Secrets, err = loadOrCreateSecrets(secretsFile); err != nil {
		return err
	}

	// The sandbox marketplace: the Back Market fake, with fault switches.
	s.Sandbox = backmarkettest.New(backmarkettest.Options{Token: s.Secrets[SandboxTokenRef]})
	// It keeps its orders in the data folder, beside DynamoDB's record of
	// the calls made to them: see sandbox.go.
	if err := s.persistSandboxes(dir); err != nil {
		return err
	}
	if s.SandboxURL, err = s.serve(o.SandboxAddr, s.sandboxMarketplaces()); err != nil {
		return fmt.Errorf("sandbox marketplace: %w", err)
	}
	if err := s.pointAmazonCredential(secretsFile); err != nil {
		return err
	}
	if err := s.startSandboxStore(o.StoreAddr, dir); err != nil {
		return err
	}

	// The HTTP API's address is taken first: the functions are told it
	// (API_BASE_URL), as the template tells them the deployed API's.
	api, err := s.listen(o.APIAddr)
	if err != nil {
		return fmt.Errorf("HTTP API: %w", err)
	}
	s.APIURL = "http://" + api.Addr().String()
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	poller := s.Clients.SQS
	if len(o.Poller) > 0 {
		poller = sqs.New(poller.Options(), o.Poller...)
	}
	if s.runner, err = localstack.Run(runCtx, s.Stack, s.functions(secretsFile), localstack.RunOptions{SQS: poller, Log: s.log}); err != nil {
		api.Close()
		return err
	}
	s.serveOn(api, s.runner)
	return nil
}

// functions builds each function of the template with app, as its Lambda
// main does, from the environment the template gives it, by logical id.
func (s *System) functions(secretsFile string) map[string]localstack.NewHandler {
	options := func(f localstack.Function) app.Options {
		// Local secrets are read from the file on every call (no cache):
		// a new credential is checked at once.
		extra := map[string]string{"SECRETS_FILE": secretsFile, "RECHECK_AFTER_SECONDS": "0", "API_BASE_URL": s.APIURL}
		// Likewise connections, unless a parameter asks for the cache
		// (infra/awscount measures with the template's default).
		if _, ok := s.params["ConnectionCacheSeconds"]; !ok {
			extra["CONNECTION_CACHE_SECONDS"] = "0"
		}
		ddb := []func(*dynamodb.Options){localaws.DynamoDBLocalFix}
		if s.ddbOpts != nil {
			ddb = append(ddb, s.ddbOpts(f.LogicalID)...)
		}
		var sq []func(*sqs.Options)
		if s.sqsOpts != nil {
			sq = s.sqsOpts(f.LogicalID)
		}
		var ses string
		if s.sesEndpoint != nil {
			ses = s.sesEndpoint(f.LogicalID, s.AWS.SES)
		}
		return app.Options{Getenv: envOf(f.Env, extra), Log: s.log.With("function", f.LogicalID), DynamoDB: ddb, SQS: sq, SESEndpoint: ses}
	}
	return map[string]localstack.NewHandler{
		"WebhookFunction": func(ctx context.Context, f localstack.Function) (localstack.Handler, error) {
			h, err := webhookapp.New(ctx, options(f))
			return localstack.Handler{HTTP: h}, err
		},
		"ApiFunction": func(ctx context.Context, f localstack.Function) (localstack.Handler, error) {
			h, err := apiapp.New(ctx, options(f))
			return localstack.Handler{HTTP: h}, err
		},
		"SyncFunction": func(ctx context.Context, f localstack.Function) (localstack.Handler, error) {
			h, err := syncapp.New(ctx, options(f))
			return localstack.Handler{SQS: h}, err
		},
		"RefreshDispatchFunction": func(ctx context.Context, f localstack.Function) (localstack.Handler, error) {
			h, err := dispatchapp.New(ctx, options(f))
			return localstack.Handler{Schedule: h}, err
		},
		"RefreshFunction": func(ctx context.Context, f localstack.Function) (localstack.Handler, error) {
			h, err := refreshapp.New(ctx, options(f))
			return localstack.Handler{SQS: h}, err
		},
		"JobFunction": func(ctx context.Context, f localstack.Function) (localstack.Handler, error) {
			h, err := jobsapp.New(ctx, options(f))
			return localstack.Handler{SQS: h}, err
		},
		// The merchant console: static files, no environment.
		"ConsoleFunction": func(ctx context.Context, f localstack.Function) (localstack.Handler, error) {
			h, err := console.New()
			if err != nil {
				return localstack.Handler{}, err
			}
			return localstack.Handler{HTTP: h.Handle}, nil
		},
	}
}

// Stop ends everything Start started.
func (s *System) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	for _, srv := range s.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
	s.wg.Wait()
	if s.runner != nil {
		s.runner.Wait()
	}
	if s.emu != nil {
		s.emu.Stop()
	}
	s.restoreEnv()
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
}

func (s *System) serve(addr string, h http.Handler) (string, error) {
	l, err := s.listen(addr)
	if err != nil {
		return "", err
	}
	s.serveOn(l, h)
	return "http://" + l.Addr().String(), nil
}

// listen listens on addr, a free local port when empty.
func (s *System) listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}

// serveOn serves h on l until Stop.
func (s *System) serveOn(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", "addr", l.Addr().String(), "err", err)
		}
	}()
}

func envOf(vars, extra map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		return vars[k]
	}
}

// loadOrCreateSecrets reads the local secrets file, adding (and saving)
// any demo secret it lacks, so a data folder made by an older version
// gains the secrets added since.
func loadOrCreateSecrets(path string) (map[string]string, error) {
	m := map[string]string{}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("localsystem: %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	added := false
	for ref, gen := range map[string]func() string{
		WebhookSecretRef: func() string { return "shpss_" + randomHex(16) },
		SandboxTokenRef:  func() string { return randomHex(20) },
		DemoAPIKeyRef:    func() string { return randomHex(32) },
		// The merchant API's connection routes.
		ProvisioningKeyRef: func() string { return "osp_" + randomHex(24) },
		// WooCommerce's key pair: one secret, split at the colon.
		WooCommerceKeysRef: func() string { return "ck_" + randomHex(20) + ":cs_" + randomHex(20) },
		// The sandbox store's Admin API access token.
		StoreTokenRef: func() string { return "shpat_" + randomHex(16) },
		// The Amazon demo's LWA app and refresh token.
		AmazonCredentialRef: newAmazonCredential,
	} {
		if m[ref] == "" {
			m[ref], added = gen(), true
		}
	}
	if !added {
		return m, nil
	}
	return m, saveSecrets(path, m)
}

// saveSecrets writes the local secrets file.
func saveSecrets(path string, m map[string]string) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
