package localsystem_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A W3C WebDriver client, just what the console's browser tests use, over
// net/http and encoding/json: chromedriver drives Debian's headless
// Chromium.

// elementKey is the W3C name of an element reference in JSON.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

type browser struct {
	t       *testing.T
	base    string // the session's URL
	timeout time.Duration
}

// newBrowser starts chromedriver and a headless Chromium session, both
// ended at the test's cleanup. Without them it skips (the Makefile's
// deps-browser installs them); on CI it fails instead.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	chromium, err1 := exec.LookPath("chromium")
	driver, err2 := exec.LookPath("chromedriver")
	if err1 != nil || err2 != nil {
		msg := "the console's browser tests need Debian's chromium and chromium-driver (make deps-browser installs them): not found in PATH"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(driver, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromedriver: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(root + "/status")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver never answered: %s", logs.String())
		}
	}
	b := &browser{t: t, base: root, timeout: 20 * time.Second}
	var session struct {
		SessionID string `json:"sessionId"`
	}
	b.do(http.MethodPost, "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{"binary": chromium, "args": []string{
			"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
			"--no-first-run", "--disable-extensions", "--user-data-dir=" + t.TempDir(),
		}},
	}}}, &session)
	b.base = root + "/session/" + session.SessionID
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, b.base, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	return b
}

// do sends one WebDriver command and decodes its "value" into out.
func (b *browser) do(method, path string, body, out any) {
	b.t.Helper()
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.base+path, r)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || resp.StatusCode != http.StatusOK {
		b.t.Fatalf("webdriver %s %s = %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(env.Value, out); err != nil {
			b.t.Fatalf("webdriver %s %s: %s: %v", method, path, env.Value, err)
		}
	}
}

func (b *browser) open(url string) {
	b.t.Helper()
	b.do(http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

// run runs script (a function body; arguments as arguments[i]) in the page
// and decodes what it returns into out.
func (b *browser) run(out any, script string, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	b.do(http.MethodPost, "/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// find returns the reference of the element css selects, waiting for it.
func (b *browser) find(css string) string {
	b.t.Helper()
	b.waitFor("element "+css, "return document.querySelector(arguments[0]) !== null", css)
	var el map[string]string
	b.do(http.MethodPost, "/element", map[string]string{"using": "css selector", "value": css}, &el)
	if el[elementKey] == "" {
		b.t.Fatalf("webdriver: no element reference for %s: %v", css, el)
	}
	return el[elementKey]
}

func (b *browser) click(css string) {
	b.t.Helper()
	b.do(http.MethodPost, "/element/"+b.find(css)+"/click", map[string]any{}, nil)
}

func (b *browser) typeIn(css, text string) {
	b.t.Helper()
	id := b.find(css)
	b.do(http.MethodPost, "/element/"+id+"/clear", map[string]any{}, nil)
	b.do(http.MethodPost, "/element/"+id+"/value", map[string]string{"text": text}, nil)
}

// text is the rendered text of the element css selects.
func (b *browser) text(css string) string {
	b.t.Helper()
	var s string
	b.do(http.MethodGet, "/element/"+b.find(css)+"/text", nil, &s)
	return s
}

// waitFor polls script until it returns true (an outcome awaited, not a
// duration asserted) and fails the test with what after b.timeout.
func (b *browser) waitFor(what, script string, args ...any) {
	b.t.Helper()
	deadline := time.Now().Add(b.timeout)
	for {
		var ok bool
		b.run(&ok, script, args...)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var body string
			b.run(&body, "return document.body.innerText")
			b.t.Fatalf("waited for %s; the page says:\n%s", what, body)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// screenshot writes the page as dir/name.png.
func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	var s string
	b.do(http.MethodGet, "/screenshot", nil, &s)
	png, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// artifacts is the folder the test's screenshots go to: $ORDERSYNC_ARTIFACTS/<test>
// when set (CI keeps it), else a folder under the system's temporary one,
// kept after the test and named in its log.
func artifacts(t *testing.T) string {
	t.Helper()
	root := os.Getenv("ORDERSYNC_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "ordersync-artifacts")
	}
	dir := filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}
