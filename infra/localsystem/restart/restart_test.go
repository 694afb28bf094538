// Package restart_test starts ordersync's local system twice on one data
// folder, as `make run` is started again on .local/. It is a package of
// its own: in infra/localsystem's test binary, a second System would reuse
// the emulators of the one its TestMain starts (localaws.Start reuses the
// emulators the process's variables name), not start its own on the data
// folder.
package restart_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

// startOn starts a system on the data folder dir as `make run` does on
// .local/: the demo connection and the README's order seeded. It returns
// the system and the README's curl as the banner prints it.
func startOn(t *testing.T, dir, apiAddr string) (*localsystem.System, string) {
	t.Helper()
	ctx := context.Background()
	s, err := localsystem.Start(ctx, localsystem.Options{Dir: dir, APIAddr: apiAddr})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SeedDemo(ctx); err != nil {
		s.Stop()
		t.Fatal(err)
	}
	s.SeedReadmeOrder()
	curl, err := s.ReadmeCurl(dir)
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	return s, curl
}

// paste runs the printed curl as a user pasting it into a shell does, and
// returns the status it answered.
func paste(t *testing.T, curl string) int {
	t.Helper()
	out, err := exec.Command("bash", "-c", curl+" -s -o /dev/null -w '%{http_code}'").Output()
	if err != nil {
		t.Fatalf("the printed curl: %v", err)
	}
	var status int
	fmt.Sscan(strings.TrimSpace(string(out)), &status)
	return status
}

// TestMakeRunWorksTheSecondTime: stopped and started again on the same
// data folder, the README's order still syncs: a new delivery for sandbox
// order 9001 ends synced instead of failing on a sandbox that forgot what
// the first run did to it. The printed curl is the same on both starts,
// and pasted again as printed it is a duplicate, answered 200.
func TestMakeRunWorksTheSecondTime(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: the printed curl cannot be pasted")
	}
	dir := t.TempDir()
	id := fmt.Sprint(localsystem.ReadmeOrder.MarketplaceID)
	// One API address for both starts, as make run's 127.0.0.1:3000.
	apiAddr := fixedPort(t)

	s, firstCurl := startOn(t, dir, apiAddr)
	sent := time.Now()
	if got := paste(t, firstCurl); got != 202 {
		s.Stop()
		t.Fatalf("first paste = %d, want 202", got)
	}
	st := waitDone(t, s, id, sent)
	again := paste(t, firstCurl)
	s.Stop()
	if st.Sync.Result != order.SyncSynced {
		t.Fatalf("run 1: order %s ended %q (%s: %s), want synced", id, st.Sync.Result, st.Sync.ErrorCode, st.Sync.Message)
	}
	// Issue 14: the webhook keeps no dedup record; a redelivery is queued
	// and answered 202, and the sync finds its calls made.
	if again != 202 {
		t.Errorf("run 1: the curl pasted again = %d, want 202 (queued again; the sync deduplicates)", again)
	}

	s, curl := startOn(t, dir, apiAddr)
	defer s.Stop()
	if curl != firstCurl {
		t.Errorf("the second start prints another curl:\n%s\nwant the first one's:\n%s", curl, firstCurl)
	}
	if got := paste(t, curl); got != 202 {
		t.Errorf("run 2: the curl pasted again = %d, want 202 (queued again across the restart)", got)
	}
	// A new delivery for the order (the store changed it since), as the
	// issue's user sent with a fresh event id: it must sync, not fail.
	sent = time.Now()
	body := localsystem.FulfilledOrder(localsystem.ReadmeOrder, localsystem.ReadmeTracking, sent)
	status, resp, err := s.PostShopify(context.Background(), "orders/fulfilled", localsystem.ReadmeEventID+"-again", body)
	if err != nil || status != 202 {
		t.Fatalf("run 2: webhook = %d %s, %v; want 202", status, resp, err)
	}
	st = waitDone(t, s, id, sent)
	if st.Sync.Result != order.SyncSynced {
		t.Fatalf("run 2: order %s ended %q (%s: %s), want synced", id, st.Sync.Result, st.Sync.ErrorCode, st.Sync.Message)
	}
	if bm, _ := s.Sandbox.Order(id); bm.State != backmarkettest.OrderShipped {
		t.Errorf("run 2: sandbox order state = %d, want %d (shipped)", bm.State, backmarkettest.OrderShipped)
	}
}

// waitDone polls an order of the demo connection on s until a sync that
// ended after since ended synced or failed.
func waitDone(t *testing.T, s *localsystem.System, id string, since time.Time) order.State {
	t.Helper()
	var st order.State
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var err error
		st, err = s.Store.LoadOrder(context.Background(), localsystem.DemoConnection, id)
		if err == nil && st.Sync.At.After(since) && (st.Sync.Result == order.SyncSynced || st.Sync.Result == order.SyncFailed) {
			return st
		}
	}
	t.Fatalf("order %s: no final outcome; last state %+v", id, st)
	return st
}

// fixedPort returns a free 127.0.0.1 address whose port is below the
// kernel's ephemeral range, as make run's 3000 is. A port the kernel gave
// a listener on :0 is an ephemeral one: once that listener is closed, any
// outgoing connection on the machine (the emulators' clients, other test
// packages) may take it as its local port, and the second start's bind
// failed with "address already in use" (CI, stop 22).
func fixedPort(t *testing.T) string {
	t.Helper()
	low := ephemeralLow()
	for range 100 {
		port := 10000 + rand.IntN(low-10000)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatalf("no free port in 10000-%d", low-1)
	return ""
}

// ephemeralLow is the first port of Linux's ephemeral range, or 32768
// (Linux's default, below macOS's 49152) where it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 10001 {
		return 32768
	}
	return n
}

// TestFixedPortIsNotEphemeral: the API port both starts share is one no
// outgoing connection is given between them.
func TestFixedPortIsNotEphemeral(t *testing.T) {
	for range 20 {
		_, p, _ := net.SplitHostPort(fixedPort(t))
		if n, _ := strconv.Atoi(p); n >= ephemeralLow() {
			t.Fatalf("port %d is in the ephemeral range (from %d)", n, ephemeralLow())
		}
	}
}
