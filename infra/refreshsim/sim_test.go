package refreshsim_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ordersync/ordersync/infra/refreshsim"
)

// fallbackConcurrency is RefreshConcurrency's default where template.yaml
// does not have the parameter yet (r10-infra adds it).
const fallbackConcurrency = 50

// templateConcurrency is the concurrency the template sets, and where it
// came from.
func templateConcurrency(tb testing.TB) (int, string) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	if n, ok := refreshsim.TemplateConcurrency(b); ok {
		return n, "template.yaml's RefreshConcurrency default"
	}
	return fallbackConcurrency, "template.yaml has no RefreshConcurrency yet: the fan-out's documented default"
}

func TestTemplateConcurrency(t *testing.T) {
	tmpl := []byte("Parameters:\n  Other:\n    Type: Number\n    Default: 7\n  RefreshConcurrency:\n    Type: Number\n    Default: 50\n    MinValue: 2\n")
	if n, ok := refreshsim.TemplateConcurrency(tmpl); !ok || n != 50 {
		t.Errorf("TemplateConcurrency = %d, %v; want 50, true", n, ok)
	}
	if n, ok := refreshsim.TemplateConcurrency([]byte("Parameters:\n  Other:\n    Default: 7\n")); ok {
		t.Errorf("TemplateConcurrency = %d, true for a template without the parameter", n)
	}
}

// TestTwoHundredConnections runs the simulation small and checks what it
// must get right whatever the latencies: every connection refreshed, each
// report finding the seeded mix, the calls per connection within their
// bound, and the fan-out beating the loop.
func TestTwoHundredConnections(t *testing.T) {
	const conns = 200
	mix := refreshsim.DefaultMix
	res, err := refreshsim.Run(context.Background(), refreshsim.Config{Connections: conns, Concurrencies: []int{50, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != conns || res.Failed != 0 {
		t.Fatalf("%d jobs, %d failed (%v); want %d, none failed", len(res.Jobs), res.Failed, res.FirstError(), conns)
	}
	seen := map[string]bool{}
	for _, j := range res.Jobs {
		if seen[j.Connection] {
			t.Errorf("connection %s refreshed twice", j.Connection)
		}
		seen[j.Connection] = true
		want := refreshsim.Counts{InSync: mix.InSync, Behind: mix.Behind, ChangedByHand: mix.ChangedByHand,
			Recovered: mix.LostStoreChange, Retried: mix.Failed}
		if j.Report != want {
			t.Fatalf("%s: report %+v, want %+v (the seeded mix)", j.Connection, j.Report, want)
		}
		if wantQueued := mix.Behind + mix.LostStoreChange + mix.Failed; j.Queued != wantQueued {
			t.Errorf("%s: %d sync events queued, want %d", j.Connection, j.Queued, wantQueued)
		}
	}

	// Per connection: the connection, two checkpoints (reads and writes),
	// the report, one write per changed state, one BatchGetItem per 100
	// orders, a handful of Query pages, one SQS batch per 10 events, a
	// credential per side, and listing pages per 50 orders a side.
	orders := mix.Orders()
	changed := mix.ChangedByHand + mix.Failed
	for _, c := range []struct {
		kind     refreshsim.Kind
		min, max float64
	}{
		{refreshsim.GetItem, 3, 3},
		{refreshsim.PutItem, 3, 3 + float64(changed)},
		{refreshsim.UpdateItem, 0, 0},
		{refreshsim.Query, 3, 3},
		{refreshsim.BatchGetItem, 1, float64(2 + orders/100)},
		{refreshsim.SendMessageBatch, 1, 1},
		{refreshsim.GetParameter, 2, 2},
		{refreshsim.MarketplacePage, float64((orders + 49) / 50), float64((orders + 49) / 50)},
		{refreshsim.StorePage, float64((orders + 49) / 50), float64((orders + 49) / 50)},
	} {
		if got := res.Mean(c.kind); got < c.min || got > c.max {
			t.Errorf("%s per connection = %.2f, want %v to %v", c.kind, got, c.min, c.max)
		}
	}
	if got, want := res.Dispatcher[refreshsim.SendMessageBatch], conns/10; got != want {
		t.Errorf("dispatcher SendMessageBatch = %d, want %d (ten jobs a call)", got, want)
	}

	// Fifty workers finish before two, and both before the loop.
	wide, narrow := res.Schedules[0], res.Schedules[1]
	if !(wide.Wall < narrow.Wall && narrow.Wall < res.Sequential) {
		t.Errorf("wall times: %v at 50 workers, %v at 2, %v in one loop; want each shorter than the next", wide.Wall, narrow.Wall, res.Sequential)
	}
	if fits := res.Sequential <= refreshsim.DefaultModel.OldTimeout; fits != (res.Reached == conns) {
		t.Errorf("the loop took %v and reached %d of %d connections within its %v timeout", res.Sequential, res.Reached, conns, refreshsim.DefaultModel.OldTimeout)
	}
}

// BenchmarkRefresh10kConnections is the benchmark: 10,000
// connections x 100 orders at the template's concurrency (and a few
// others, for comparison), against the old single invocation. The wall
// times are virtual (see the package doc); ns/op is this machine's real
// time for the whole simulation. REFRESHSIM_CONNECTIONS sets another size;
// -short runs 1,000.
func BenchmarkRefresh10kConnections(b *testing.B) {
	conns := 10_000
	if testing.Short() {
		conns = 1_000
	}
	if s := os.Getenv("REFRESHSIM_CONNECTIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("REFRESHSIM_CONNECTIONS=%q: want a positive number", s)
		}
		conns = n
	}
	workers, from := templateConcurrency(b)
	cfg := refreshsim.Config{Connections: conns, Concurrencies: []int{workers, 10, 100, 200}}
	var res refreshsim.Result
	for b.Loop() {
		var err error
		if res, err = refreshsim.Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	if res.Failed != 0 {
		b.Fatalf("%d jobs failed: %v", res.Failed, res.FirstError())
	}
	// The table on stdout: b.Log's output is cut at ten lines without -v.
	fmt.Printf("concurrency %d: %s\n%s\n", workers, from, res)
	wall := res.Schedules[0].Wall
	b.ReportMetric(wall.Seconds(), "virtual-wall-s")
	b.ReportMetric(res.Sequential.Seconds(), "old-loop-s")
	b.ReportMetric(float64(res.Sequential)/float64(wall), "old/new")
	b.ReportMetric(res.Percentile(0.99).Seconds(), "p99-job-s")
	b.ReportMetric(float64(res.Total().AWS())/float64(len(res.Jobs)), "aws-calls/conn")
	b.ReportMetric(float64(workers), "workers")
}
