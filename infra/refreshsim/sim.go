package refreshsim

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/memstore"
	"github.com/ordersync/ordersync/shared/refresh"
)

// Config is one simulation.
type Config struct {
	Connections int
	Mix         Mix   // zero: DefaultMix
	Model       Model // zero: DefaultModel
	// Concurrencies are the worker counts to lay the jobs out for (each
	// job runs once; only the schedule differs). The first is the one the
	// template sets.
	Concurrencies []int
	// Parallel is how many jobs run at once on this machine (real
	// goroutines; it changes nothing in the results). Zero: GOMAXPROCS.
	Parallel int
}

// At is the run's scheduled time: fixed, so a run is deterministic.
var At = time.Date(2026, 12, 2, 10, 20, 0, 0, time.UTC)

// Job is what one refresh job cost and found.
type Job struct {
	Connection string
	Duration   time.Duration // on the virtual clock
	Calls      Calls
	Queued     int // sync events queued
	Report     Counts
	Err        error
}

// Counts are a drift report's counts.
type Counts struct {
	InSync, Behind, ChangedByHand, Recovered, Imports, Retried, StillFailing int
}

func countsOf(r refresh.Report) Counts {
	return Counts{InSync: r.InSync.Count, Behind: r.Behind.Count, ChangedByHand: r.ChangedByHand.Count,
		Recovered: r.Recovered.Count, Imports: r.Imports.Count, Retried: r.Retried.Count, StillFailing: r.StillFailing.Count}
}

// Schedule is the run laid out for one number of workers.
type Schedule struct {
	Workers int
	// Wall is the makespan: from the dispatcher's start to the last job's end.
	Wall time.Duration
	// Busy is the workers' share of Wall spent on jobs.
	Busy float64
}

// Result is one simulation's measurements.
type Result struct {
	Config     Config
	Jobs       []Job // in queue order
	Dispatcher Calls
	// DispatchTime is the dispatcher's own time (cold start included); its
	// jobs become visible one SendMessageBatch at a time before that.
	DispatchTime time.Duration
	Schedules    []Schedule
	// Sequential is the old design: one invocation refreshing every
	// connection in turn (its cold start, the listing of connections, then
	// every job's time). Reached is how many it finishes within the old
	// timeout.
	Sequential time.Duration
	Reached    int
	Failed     int
}

// Run runs the simulation: the real dispatcher, then the real refresh of
// every connection, each over its own metered memstore.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Mix == (Mix{}) {
		cfg.Mix = DefaultMix
	}
	if cfg.Model == (Model{}) {
		cfg.Model = DefaultModel
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = runtime.GOMAXPROCS(0)
	}
	if len(cfg.Concurrencies) == 0 {
		return Result{}, fmt.Errorf("refreshsim: no concurrency to schedule for")
	}
	res := Result{Config: cfg}
	clock := func() time.Time { return At }

	// The dispatcher: list the connections, queue one job each.
	conns := memstore.New().WithClock(clock)
	for i := range cfg.Connections {
		if err := conns.PutConnection(ctx, seedConnection(i, cfg.Mix, At).conn); err != nil {
			return res, err
		}
	}
	dm := &Meter{model: cfg.Model}
	jobs := &meteredJobs{m: dm}
	n, err := refresh.Dispatch(ctx, &meteredConnections{c: conns, m: dm}, jobs, At)
	if err != nil {
		return res, err
	}
	if n != cfg.Connections {
		return res, fmt.Errorf("refreshsim: dispatched %d jobs for %d connections", n, cfg.Connections)
	}
	res.Dispatcher, res.DispatchTime = dm.Calls, cfg.Model.ColdStart+dm.Elapsed
	conns = nil

	// The workers' jobs, on this machine's cores.
	res.Jobs = make([]Job, len(jobs.jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range cfg.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res.Jobs[i] = runJob(ctx, cfg, jobs.jobs[i])
			}
		}()
	}
	for i := range jobs.jobs {
		next <- i
	}
	close(next)
	wg.Wait()

	for _, j := range res.Jobs {
		if j.Err != nil {
			res.Failed++
		}
	}
	listing := time.Duration(dm.Calls[Query]) * cfg.Model.DynamoDB
	res.Sequential, res.Reached = cfg.Model.ColdStart+listing, 0
	for _, j := range res.Jobs {
		res.Sequential += j.Duration
		if res.Sequential <= cfg.Model.OldTimeout {
			res.Reached++
		}
	}
	for _, w := range cfg.Concurrencies {
		res.Schedules = append(res.Schedules, schedule(cfg.Model, listing, res.Jobs, w))
	}
	return res, nil
}

// runJob refreshes one connection: its own memstore, seeded with its
// orders, metered; the real Refresher over it.
func runJob(ctx context.Context, cfg Config, job refresh.Job) Job {
	out := Job{Connection: job.Connection}
	i, err := strconv.Atoi(strings.TrimPrefix(job.Connection, "conn-"))
	if err != nil {
		out.Err = fmt.Errorf("refreshsim: job for %q: %w", job.Connection, err)
		return out
	}
	seed := seedConnection(i, cfg.Mix, At)
	mem := memstore.New().WithClock(func() time.Time { return At })
	if err := mem.PutConnection(ctx, seed.conn); err != nil {
		out.Err = err
		return out
	}
	for _, st := range seed.states {
		if _, err := mem.SaveOrder(ctx, st); err != nil {
			out.Err = err
			return out
		}
	}
	m := &Meter{model: cfg.Model}
	q := &meteredQueue{m: m}
	r := refresh.New(&meteredStore{s: mem, m: m}, &meteredMarketplaces{mp: &seed.mp, m: m, read: map[string]bool{}},
		q, slog.New(slog.DiscardHandler)).
		WithStorefronts(&meteredStorefronts{sf: &seed.store, m: m, read: map[string]bool{}}).
		WithLedger(&meteredLedger{l: mem.Deduper(time.Minute), m: m}, refresh.SweepConfig{})
	rep, err := r.Refresh(ctx, job)
	out.Duration, out.Calls, out.Queued, out.Report, out.Err = m.Elapsed, m.Calls, q.queued, countsOf(rep), err
	return out
}

// schedule lays the jobs out over workers: each job, in queue order, goes
// to the worker free first, once the dispatcher has queued it. Worker k
// exists from k×60 s/ScaleUpPerMinute after the first job is visible; its
// first job pays a cold start, each later one the hand-off.
func schedule(m Model, listing time.Duration, jobs []Job, workers int) Schedule {
	visible := func(j int) time.Duration {
		return m.ColdStart + listing + time.Duration(j/10+1)*m.SQS
	}
	ramp := time.Minute / time.Duration(max(1, m.ScaleUpPerMinute))
	h := make(freeHeap, workers)
	for k := range h {
		h[k] = worker{id: k, free: visible(0) + time.Duration(k)*ramp}
	}
	heap.Init(&h)
	var wall, busy time.Duration
	for j, job := range jobs {
		w := heap.Pop(&h).(worker)
		start := max(w.free, visible(j))
		if w.warm {
			start += m.Handoff
		} else {
			start += m.ColdStart
		}
		w.free, w.warm = start+job.Duration, true
		busy += job.Duration
		wall = max(wall, w.free)
		heap.Push(&h, w)
	}
	s := Schedule{Workers: workers, Wall: wall}
	if wall > 0 {
		s.Busy = float64(busy) / float64(wall*time.Duration(workers))
	}
	return s
}

type worker struct {
	id   int
	free time.Duration
	warm bool
}

// freeHeap orders workers by when they are free, then by id (so the
// schedule is deterministic).
type freeHeap []worker

func (h freeHeap) Len() int { return len(h) }
func (h freeHeap) Less(i, j int) bool {
	return h[i].free < h[j].free || h[i].free == h[j].free && h[i].id < h[j].id
}
func (h freeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *freeHeap) Push(x any)   { *h = append(*h, x.(worker)) }
func (h *freeHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}

// Percentile is the job time at or below which p of the jobs fall.
func (r Result) Percentile(p float64) time.Duration {
	ds := make([]time.Duration, len(r.Jobs))
	for i, j := range r.Jobs {
		ds[i] = j.Duration
	}
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}

// Total is every job's calls.
func (r Result) Total() Calls {
	var c Calls
	for _, j := range r.Jobs {
		c.add(j.Calls)
	}
	return c
}

// String is the results as a table, with the model they assume.
func (r Result) String() string {
	var b strings.Builder
	cfg := r.Config
	n := len(r.Jobs)
	fmt.Fprintf(&b, "refresh simulation: %d connections x %d orders (%+v), run at %s; %d jobs failed\n",
		cfg.Connections, cfg.Mix.Orders(), cfg.Mix, At.Format(time.RFC3339), r.Failed)
	fmt.Fprintf(&b, "%s\n", cfg.Model)
	fmt.Fprintf(&b, "job time (one connection): p50 %v  p99 %v  max %v\n",
		r.Percentile(0.50), r.Percentile(0.99), r.Percentile(1))
	fmt.Fprintf(&b, "dispatcher: %v (cold start included); %d Query pages, %d SendMessageBatch\n",
		r.DispatchTime, r.Dispatcher[Query], r.Dispatcher[SendMessageBatch])
	fmt.Fprintf(&b, "\n%-28s %12s %10s %10s\n", "design", "wall time", "minutes", "vs old")
	for _, s := range r.Schedules {
		fmt.Fprintf(&b, "%-28s %12v %10.1f %9.1fx  (workers busy %.0f%%)\n",
			fmt.Sprintf("fan-out, %d workers", s.Workers), s.Wall.Round(time.Millisecond), s.Wall.Minutes(),
			float64(r.Sequential)/float64(s.Wall), 100*s.Busy)
	}
	fmt.Fprintf(&b, "%-28s %12v %10.1f %10s  (within its %v timeout: %d of %d connections)\n",
		"old: one invocation", r.Sequential.Round(time.Millisecond), r.Sequential.Minutes(), "1.0x", cfg.Model.OldTimeout, r.Reached, n)
	tot := r.Total()
	fmt.Fprintf(&b, "\n%-24s %14s %12s\n", "calls", "per connection", "per run")
	for k := range numKinds {
		fmt.Fprintf(&b, "%-24s %14.2f %12d\n", k, float64(tot[k])/float64(max(1, n)), tot[k]+r.Dispatcher[k])
	}
	fmt.Fprintf(&b, "%-24s %14.2f %12d  (dispatcher's included in the run's)\n", "AWS calls",
		float64(tot.AWS())/float64(max(1, n)), tot.AWS()+r.Dispatcher.AWS())
	fmt.Fprintf(&b, "not counted: the event source mapping's own SQS calls (Lambda's pollers receive and delete each job),\n"+
		"CloudWatch Logs, and retries (no call fails in this simulation)\n")
	return b.String()
}

var concurrencyDefault = regexp.MustCompile(`(?m)^  RefreshConcurrency:\n(?:    .*\n)*?    Default: (\d+)`)

// TemplateConcurrency is the RefreshConcurrency parameter's default in a
// template.yaml; false if it has none.
func TemplateConcurrency(template []byte) (int, bool) {
	m := concurrencyDefault.FindSubmatch(template)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(m[1]))
	return n, err == nil
}

// Mean is the jobs' calls of kind k per connection.
func (r Result) Mean(k Kind) float64 {
	return float64(r.Total()[k]) / float64(max(1, len(r.Jobs)))
}

// Sum is every job's report counts added up.
func (r Result) Sum() Counts {
	var c Counts
	for _, j := range r.Jobs {
		x := j.Report
		c.InSync += x.InSync
		c.Behind += x.Behind
		c.ChangedByHand += x.ChangedByHand
		c.Recovered += x.Recovered
		c.Imports += x.Imports
		c.Retried += x.Retried
		c.StillFailing += x.StillFailing
	}
	return c
}

// FirstError is the first failed job's error; nil if none failed.
func (r Result) FirstError() error {
	for _, j := range r.Jobs {
		if j.Err != nil {
			return fmt.Errorf("%s: %w", j.Connection, j.Err)
		}
	}
	return nil
}
