package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// binaries measures each function's arm64 binary and its cold start
// beside a hello-world (testdata/hello: aws-lambda-go, the SDK's default
// config, DynamoDB, SQS and SES v2 clients) built the same way.
//
// The cold start is the time from exec to the function's first GET of
// /2018-06-01/runtime/invocation/next on a fake Lambda Runtime API: the
// Go runtime, every package's init and the function's main up to
// lambda.Start. This machine is not arm64, so it runs the same code built
// for the host. The runs are interleaved, function by function, so a busy
// moment of the machine falls on all of them alike; the median is shown.
// Package init is the sum of GODEBUG=inittrace=1's clock times.
var binaries = Section{Name: "binaries", Run: runBinaries}

// lambdaFunctions are the Makefile's FUNCTIONS.
var lambdaFunctions = []string{"webhook", "sync", "refresh", "refreshdispatch", "api", "jobs", "console"}

const hello = "hello-world"

// helloSSM is the hello-world with an SSM client as well: not a goal, the
// floor of a function that reads secrets through the SDK's SSM client
// (its package init alone is most of the 1.5× a cold start may take).
const helloSSM = "hello-world+ssm"

// lambdaBuild is the Makefile's LAMBDA_BUILD but for GOARCH.
func lambdaBuild(ctx context.Context, goarch, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s for %s: %w\n%s", pkg, goarch, err, b)
	}
	return nil
}

func runBinaries(ctx context.Context, env Env) ([]Row, error) {
	names := append([]string{hello, helloSSM}, lambdaFunctions...)
	pkgOf := func(name string) string {
		switch name {
		case hello:
			return "./infra/benchrun/testdata/hello"
		case helloSSM:
			return "./infra/benchrun/testdata/hellossm"
		}
		return "./functions/" + name
	}
	size := map[string]float64{}
	hostBin := map[string]string{}
	for _, name := range names {
		arm := filepath.Join(env.Dir, "arm64", name, "bootstrap")
		if err := lambdaBuild(ctx, "arm64", arm, pkgOf(name)); err != nil {
			return nil, err
		}
		st, err := os.Stat(arm)
		if err != nil {
			return nil, err
		}
		size[name] = float64(st.Size()) / 1e6
		hostBin[name] = filepath.Join(env.Dir, runtime.GOARCH, name, "bootstrap")
		if err := lambdaBuild(ctx, runtime.GOARCH, hostBin[name], pkgOf(name)); err != nil {
			return nil, err
		}
	}

	api, err := newFakeRuntimeAPI()
	if err != nil {
		return nil, err
	}
	defer api.close()
	reps := 41
	if env.Quick {
		reps = 11
	}
	starts := map[string][]float64{}
	inits := map[string][]float64{}
	for i := range reps {
		for _, name := range names {
			d, err := api.coldStart(ctx, hostBin[name], "")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			starts[name] = append(starts[name], d.Seconds()*1000)
			if i%4 == 0 { // inittrace's own printing slows the start: apart
				ms, err := api.initTime(ctx, hostBin[name])
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				inits[name] = append(inits[name], ms)
			}
		}
	}

	var rows []Row
	add := func(r Row, base float64) {
		r.Section = "binaries"
		if r.Name != "" && !strings.HasSuffix(r.Name, hello) {
			r = r.Compared(hello, base)
		}
		rows = append(rows, r)
	}
	note := fmt.Sprintf("median of %d, host %s build", reps, runtime.GOARCH)
	for _, name := range names {
		add(Row{Name: "arm64 binary " + name, Value: size[name], Unit: "MB", Goal: 1.3}, size[hello])
	}
	for _, name := range names {
		add(Row{Name: "cold start " + name, Value: median(starts[name]), Unit: "ms", Goal: 1.5, Note: note}, median(starts[hello]))
	}
	for _, name := range names {
		add(Row{Name: "package init " + name, Value: median(inits[name]), Unit: "ms", Note: "GODEBUG=inittrace=1, sum of clock"}, median(inits[hello]))
	}
	for i := range rows {
		if strings.HasSuffix(rows[i].Name, hello) || strings.HasSuffix(rows[i].Name, helloSSM) {
			rows[i].Goal = 0
		}
	}
	return rows, nil
}

// median is the middle of v, or the mean of its two middle values.
func median[T float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fakeRuntimeAPI is the Lambda Runtime API's first call, and nothing
// more: it tells when a function asks for its first invocation, then
// holds the request until the function is killed.
type fakeRuntimeAPI struct {
	srv   *http.Server
	addr  string
	next  chan time.Time
	close func()
}

func newFakeRuntimeAPI() (*fakeRuntimeAPI, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeRuntimeAPI{addr: l.Addr().String(), next: make(chan time.Time, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case f.next <- time.Now():
		default:
		}
		<-r.Context().Done()
	})
	f.srv = &http.Server{Handler: mux}
	go f.srv.Serve(l)
	f.close = func() { f.srv.Close() }
	return f, nil
}

// functionEnv is what every function needs for its init to succeed. Init
// makes no AWS call (the SDK resolves credentials and endpoints on the
// first request), so the values need not reach anything; the shared AWS
// config files are pointed away so that this machine's do not count.
func (f *fakeRuntimeAPI) functionEnv(extra string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + f.addr,
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true",
		"TABLE_NAME=ordersync", "SECRETS_PREFIX=/ordersync/",
		"SYNC_QUEUE_URL=http://127.0.0.1:9/sync", "JOB_QUEUE_URL=http://127.0.0.1:9/jobs",
		"REFRESH_QUEUE_URL=http://127.0.0.1:9/refresh",
		"SENDER_ADDRESS=ordersync@example.com", "API_BASE_URL=https://api.example.com",
	}
	if extra != "" {
		env = append(env, extra)
	}
	return env
}

// coldStart runs bin until its first /next and returns how long that took.
func (f *fakeRuntimeAPI) coldStart(ctx context.Context, bin, extraEnv string) (time.Duration, error) {
	d, _, err := f.run(ctx, bin, extraEnv)
	return d, err
}

func (f *fakeRuntimeAPI) run(ctx context.Context, bin, extraEnv string) (time.Duration, string, error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = f.functionEnv(extraEnv)
	var stderr strings.Builder
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	select { // a late call from the previous run
	case <-f.next:
	default:
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case at := <-f.next:
		_ = cmd.Process.Kill()
		<-exited
		return at.Sub(start), stderr.String(), nil
	case err := <-exited:
		return 0, "", fmt.Errorf("exited before asking for an invocation (%v): %s", err, stderr.String())
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return 0, "", fmt.Errorf("no call to /next in 10s: %s", stderr.String())
	}
}

var inittraceLine = regexp.MustCompile(`(?m)^init \S+ @\S+ ms, ([0-9.]+) ms clock`)

// initTime runs bin with GODEBUG=inittrace=1 and sums its packages' init
// clock times.
func (f *fakeRuntimeAPI) initTime(ctx context.Context, bin string) (float64, error) {
	_, out, err := f.run(ctx, bin, "GODEBUG=inittrace=1")
	if err != nil {
		return 0, err
	}
	var ms float64
	for _, m := range inittraceLine.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		ms += v
	}
	return ms, nil
}
