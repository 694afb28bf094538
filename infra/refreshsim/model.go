// Package refreshsim simulates one hourly refresh of many connections as
// it is deployed: the dispatcher (refresh.Dispatch) puts one job per
// connection on the refresh queue, and RefreshConcurrency Lambda workers
// each run the real (*refresh.Refresher).Refresh of one connection at a
// time. It answers the question the fan-out was made for: how long does a
// run take, and how many AWS calls does it make per connection?
//
// Nothing sleeps. Each job runs the real refresh code over memstore (with
// an in-memory marketplace and store behind the syncer interfaces) through
// counting adapters, which add a modelled latency (Model) per call to the
// job's virtual clock and count the call by its AWS operation. The
// workers' schedule is then laid out over those virtual durations: each
// job goes to the first worker free, in queue order (greedy list
// scheduling), and the run's wall time is the makespan. The old design,
// one invocation looping over every connection, is the sum of the same
// job times, so both stand side by side in one run.
//
// The marketplace and store are in-process fakes of syncer.Marketplace
// and syncer.Storefront, not the HTTP fakes (backmarkettest,
// shopifytest) the refresh's own tests use: a million orders through
// loopback HTTP and JSON would cost minutes of real CPU and measure this
// machine, not the design. What is modelled instead is their page size
// and latency. The store side is real code: memstore, with dynamostore's
// semantics, and the calls dynamostore would make for each method.
//
// To keep memory flat, each job gets its own memstore, seeded with that
// one connection's orders before its Refresh and dropped after it; only a
// job's duration, call counts and report counts are kept.
package refreshsim

import (
	"fmt"
	"time"
)

// Model is the latencies and sizes a simulation assumes. Every figure is
// printed with the results (Model.String).
type Model struct {
	// DynamoDB is the latency of one DynamoDB call of any kind (GetItem,
	// PutItem, UpdateItem, Query page, BatchGetItem of up to 100 keys).
	DynamoDB time.Duration
	// SQS is the latency of one SendMessageBatch (up to 10 messages).
	SQS time.Duration
	// SSM is the latency of one GetParameter (a connection's credential;
	// each connection has its own, so the per-cold-start cache of
	// shared/secrets does not help across connections).
	SSM time.Duration
	// MarketplacePage and StorePage are the latency of one listing page of
	// the marketplace's and the store's API, of PageSize orders.
	MarketplacePage time.Duration
	StorePage       time.Duration
	PageSize        int
	// QueryPageItems is how many items one DynamoDB Query page returns
	// (1 MB of items of about 2 KB); ConnectionsPerPage the same for the
	// dispatcher's listing of connection items (about 1 KB each).
	QueryPageItems     int
	ConnectionsPerPage int
	// ColdStart is added before the first job of each worker.
	ColdStart time.Duration
	// Handoff is the event source mapping's delay between a worker's jobs
	// (receive, invoke, delete), off the function's clock.
	Handoff time.Duration
	// ScaleUpPerMinute is how fast the SQS event source mapping adds
	// concurrent invocations (AWS documents up to 300 a minute): worker k
	// starts k×60 s/ScaleUpPerMinute after the first.
	ScaleUpPerMinute int
	// OldTimeout is the old design's one invocation's timeout.
	OldTimeout time.Duration
}

// DefaultModel is the model the benchmark states.
var DefaultModel = Model{
	DynamoDB:           4 * time.Millisecond,
	SQS:                10 * time.Millisecond,
	SSM:                10 * time.Millisecond,
	MarketplacePage:    250 * time.Millisecond,
	StorePage:          250 * time.Millisecond,
	PageSize:           50,
	QueryPageItems:     500,
	ConnectionsPerPage: 1000,
	ColdStart:          300 * time.Millisecond,
	Handoff:            10 * time.Millisecond,
	ScaleUpPerMinute:   300,
	OldTimeout:         300 * time.Second,
}

// String states the model, one figure per line.
func (m Model) String() string {
	return fmt.Sprintf(`modelled latencies and sizes:
  DynamoDB call (GetItem, PutItem, UpdateItem, Query page of %d, BatchGetItem per 100 keys)  %v
  SQS SendMessageBatch (per 10 messages)                 %v
  SSM GetParameter (a connection's credential)           %v
  marketplace listing page of %d orders                  %v
  store listing page of %d orders                        %v
  dispatcher's Connections query page                    %d connections
  Lambda cold start (first job of each worker)           %v
  event source mapping hand-off between a worker's jobs  %v
  event source mapping scale-up                          %d workers a minute
  old design: one invocation, timeout                    %v`,
		m.QueryPageItems, m.DynamoDB, m.SQS, m.SSM, m.PageSize, m.MarketplacePage, m.PageSize, m.StorePage,
		m.ConnectionsPerPage, m.ColdStart, m.Handoff, m.ScaleUpPerMinute, m.OldTimeout)
}

// Kind is one kind of call a refresh makes.
type Kind int

// The kinds of calls counted. The first ones are AWS calls; the last two
// are the platforms' APIs.
const (
	GetItem Kind = iota
	PutItem
	UpdateItem
	Query
	BatchGetItem
	SendMessageBatch
	GetParameter
	MarketplacePage
	StorePage
	numKinds
)

var kindNames = [numKinds]string{
	GetItem: "dynamodb GetItem", PutItem: "dynamodb PutItem", UpdateItem: "dynamodb UpdateItem",
	Query: "dynamodb Query page", BatchGetItem: "dynamodb BatchGetItem", SendMessageBatch: "sqs SendMessageBatch",
	GetParameter: "ssm GetParameter", MarketplacePage: "marketplace page", StorePage: "store page",
}

func (k Kind) String() string { return kindNames[k] }

// AWS reports whether k is an AWS call (not a platform's API).
func (k Kind) AWS() bool { return k < MarketplacePage }

// Calls counts calls by kind.
type Calls [numKinds]int

// AWS is the number of AWS calls.
func (c Calls) AWS() int {
	n := 0
	for k, v := range c {
		if Kind(k).AWS() {
			n += v
		}
	}
	return n
}

// add adds d's counts to c.
func (c *Calls) add(d Calls) {
	for k := range c {
		c[k] += d[k]
	}
}

// Meter is one job's virtual clock and call counts. A job runs on one
// goroutine (Refresh makes its calls one after another), so it needs no
// lock.
type Meter struct {
	model   Model
	Elapsed time.Duration
	Calls   Calls
}

// call counts n calls of kind k and adds their latency to the clock.
func (m *Meter) call(k Kind, n int) {
	if n <= 0 {
		return
	}
	m.Calls[k] += n
	m.Elapsed += time.Duration(n) * m.latency(k)
}

func (m *Meter) latency(k Kind) time.Duration {
	switch k {
	case SendMessageBatch:
		return m.model.SQS
	case GetParameter:
		return m.model.SSM
	case MarketplacePage:
		return m.model.MarketplacePage
	case StorePage:
		return m.model.StorePage
	default:
		return m.model.DynamoDB
	}
}

// pages is how many pages of size per listing n items takes: at least
// one (an empty listing is still a call).
func pages(n, per int) int {
	return max(1, (n+per-1)/per)
}

// batches is how many calls of up to per items n items take: none for none.
func batches(n, per int) int {
	return (n + per - 1) / per
}
