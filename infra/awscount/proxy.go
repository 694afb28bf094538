// Package awscount counts what ordersync asks of AWS: an HTTP proxy put in
// front of an emulator (DynamoDB Local, local-aws-sqs, aws-ses-v2-local)
// through a client's BaseEndpoint. It counts every request by operation
// (X-Amz-Target, or an SQS query Action, or SES's path), asks DynamoDB for
// the capacity each request consumed (it sets ReturnConsumedCapacity to
// INDEXES: the total, GSI writes included, with the split per index), and
// sums what the responses say. The numbers are what the emulators answered,
// not computed from our code, but for two things DynamoDB bills and the
// emulator does not report: a refused conditional write, and a read that
// found less than the least a read costs (see leastRead).
package awscount

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Op is what one operation cost.
type Op struct {
	// Calls counts the requests.
	Calls int `json:"calls"`
	// WRU and RRU are the write and read request units the responses
	// reported (DynamoDB only), GSI writes included; a read's RRU are at
	// least what DynamoDB bills for one that returned nothing.
	WRU float64 `json:"wru,omitempty"`
	RRU float64 `json:"rru,omitempty"`
	// GSIWRU is the part of WRU spent on global secondary indexes.
	GSIWRU float64 `json:"gsi_wru,omitempty"`
	// ConditionFailed counts the writes refused by their condition. A
	// refused write's response carries no ConsumedCapacity, but DynamoDB
	// bills it: each is counted in WRU as 1, the least a write costs.
	ConditionFailed int `json:"condition_failed,omitempty"`
}

// Counts are the operations seen, by name ("dynamodb:PutItem",
// "sqs:SendMessage", "sesv2:SendEmail"). An SQS ReceiveMessage that
// returned no message is named "sqs:ReceiveMessage(empty)": polling costs
// by the second, not by the event.
type Counts map[string]Op

// Total sums every operation whose name starts with prefix ("" for all,
// "dynamodb:" for DynamoDB's).
func (c Counts) Total(prefix string) Op {
	var t Op
	for name, o := range c {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		t.Calls += o.Calls
		t.WRU += o.WRU
		t.RRU += o.RRU
		t.GSIWRU += o.GSIWRU
		t.ConditionFailed += o.ConditionFailed
	}
	return t
}

// notPerEvent are the calls that are not an event's: empty receives (a
// poller's, billed by the second), and the local poller's lookup of its
// queue's ARN, which Lambda's event source mapping does not make.
var notPerEvent = []string{"sqs:ReceiveMessage(empty)", "sqs:GetQueueAttributes"}

// Billed returns the number of requests an event is billed for among
// those whose name starts with prefix: every call except notPerEvent's.
func (c Counts) Billed(prefix string) int {
	n := c.Total(prefix).Calls
	for _, name := range notPerEvent {
		if strings.HasPrefix(name, prefix) {
			n -= c[name].Calls
		}
	}
	return n
}

// Minus returns c less an earlier snapshot of the same counter.
func (c Counts) Minus(before Counts) Counts {
	out := Counts{}
	for name, o := range c {
		b := before[name]
		d := Op{Calls: o.Calls - b.Calls, WRU: o.WRU - b.WRU, RRU: o.RRU - b.RRU, GSIWRU: o.GSIWRU - b.GSIWRU,
			ConditionFailed: o.ConditionFailed - b.ConditionFailed}
		if d != (Op{}) {
			out[name] = d
		}
	}
	return out
}

// String lists the operations, sorted, one "name×calls" each with units.
func (c Counts) String() string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(c)) {
		o := c[name]
		s := fmt.Sprintf("%s×%d", name, o.Calls)
		if o.WRU != 0 {
			s += fmt.Sprintf(" %gWRU", o.WRU)
		}
		if o.GSIWRU != 0 {
			s += fmt.Sprintf(" (gsi %g)", o.GSIWRU)
		}
		if o.RRU != 0 {
			s += fmt.Sprintf(" %gRRU", o.RRU)
		}
		if o.ConditionFailed != 0 {
			s += fmt.Sprintf(" %d refused", o.ConditionFailed)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// Counter holds the counts of one or more proxies. It is safe for
// concurrent use.
type Counter struct {
	mu     sync.Mutex
	counts Counts
}

// NewCounter returns an empty counter.
func NewCounter() *Counter { return &Counter{counts: Counts{}} }

// Snapshot returns a copy of the counts so far.
func (c *Counter) Snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

func (c *Counter) add(name string, o Op) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.counts[name]
	t.Calls += o.Calls
	t.WRU += o.WRU
	t.RRU += o.RRU
	t.GSIWRU += o.GSIWRU
	t.ConditionFailed += o.ConditionFailed
	c.counts[name] = t
}

// Proxy is one counting proxy in front of one emulator.
type Proxy struct {
	URL string
	srv *http.Server
}

// Start listens on a free loopback port and forwards every request to
// target (an emulator's endpoint), counting into c.
func Start(target string, c *Counter) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("awscount: target %q: %w", target, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awscount: %w", err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host
		},
		ModifyResponse: func(resp *http.Response) error { return count(c, resp) },
		// A long poll cut by its client's end is no news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p := &Proxy{URL: "http://" + l.Addr().String()}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := prepare(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

// opHeader carries the operation's name from prepare to count, on the
// forwarded request (the emulators ignore it), and leastHeader a read's
// leastRead.
const (
	opHeader    = "X-Awscount-Op"
	leastHeader = "X-Awscount-Least-RRU"
)

// capacityOps are the DynamoDB operations that accept ReturnConsumedCapacity.
var capacityOps = map[string]bool{
	"GetItem": true, "PutItem": true, "UpdateItem": true, "DeleteItem": true, "Query": true, "Scan": true,
	"BatchGetItem": true, "BatchWriteItem": true, "TransactWriteItems": true, "TransactGetItems": true,
}

// readOps spend read units; the other capacity ops spend write units.
var readOps = map[string]bool{"GetItem": true, "Query": true, "Scan": true, "BatchGetItem": true, "TransactGetItems": true}

// prepare names the request's operation and, for DynamoDB, asks for the
// capacity it consumes. The signature no longer matches the body: the
// emulators do not check it.
func prepare(r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return err
	}
	name := ""
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "DynamoDB_"):
		_, op, _ := strings.Cut(target, ".")
		name = "dynamodb:" + op
		if capacityOps[op] {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				return fmt.Errorf("awscount: %s body: %w", op, err)
			}
			m["ReturnConsumedCapacity"] = json.RawMessage(`"INDEXES"`)
			if body, err = json.Marshal(m); err != nil {
				return err
			}
		}
		if readOps[op] {
			least, err := leastRead(op, body)
			if err != nil {
				return fmt.Errorf("awscount: %s body: %w", op, err)
			}
			r.Header.Set(leastHeader, strconv.FormatFloat(least, 'g', -1, 64))
		}
	case strings.HasPrefix(target, "AmazonSQS."):
		name = "sqs:" + strings.TrimPrefix(target, "AmazonSQS.")
	case strings.Contains(r.Header.Get("Content-Type"), "x-www-form-urlencoded"):
		v, _ := url.ParseQuery(string(body))
		name = "sqs:" + v.Get("Action")
	case strings.HasPrefix(r.URL.Path, "/v2/email/outbound-emails"):
		name = "sesv2:SendEmail"
	default:
		name = "other:" + r.Method + " " + r.URL.Path
	}
	r.Header.Set(opHeader, name)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// capacity is DynamoDB's ConsumedCapacity.
type capacity struct {
	CapacityUnits          float64
	ReadCapacityUnits      float64
	WriteCapacityUnits     float64
	GlobalSecondaryIndexes map[string]struct{ CapacityUnits float64 }
}

// count reads the response of a prepared request and adds it to c.
func count(c *Counter, resp *http.Response) error {
	name := resp.Request.Header.Get(opHeader)
	if name == "" {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	plain := body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return err
		}
		if plain, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	o := Op{Calls: 1}
	switch {
	case strings.HasPrefix(name, "dynamodb:"):
		op := strings.TrimPrefix(name, "dynamodb:")
		if !capacityOps[op] {
			break
		}
		if resp.StatusCode >= 300 {
			var e struct {
				Type string `json:"__type"`
			}
			_ = json.Unmarshal(plain, &e)
			if strings.HasSuffix(e.Type, "ConditionalCheckFailedException") && !readOps[op] {
				o.ConditionFailed, o.WRU = 1, 1
			}
			break
		}
		var out struct {
			ConsumedCapacity json.RawMessage
		}
		if err := json.Unmarshal(plain, &out); err != nil {
			return fmt.Errorf("awscount: %s response: %w", op, err)
		}
		var caps []capacity
		if len(out.ConsumedCapacity) > 0 && out.ConsumedCapacity[0] == '[' {
			err = json.Unmarshal(out.ConsumedCapacity, &caps)
		} else if len(out.ConsumedCapacity) > 0 {
			var one capacity
			err = json.Unmarshal(out.ConsumedCapacity, &one)
			caps = []capacity{one}
		}
		if err != nil {
			return fmt.Errorf("awscount: %s consumed capacity: %w", op, err)
		}
		for _, cc := range caps {
			var gsi float64
			for _, g := range cc.GlobalSecondaryIndexes {
				gsi += g.CapacityUnits
			}
			if readOps[op] {
				o.RRU += cc.CapacityUnits
			} else {
				o.WRU += cc.CapacityUnits
				o.GSIWRU += gsi
			}
		}
		if readOps[op] {
			least, err := leastBilled(op, resp.Request.Header.Get(leastHeader), plain)
			if err != nil {
				return fmt.Errorf("awscount: %s: %w", op, err)
			}
			o.RRU = max(o.RRU, least)
		}
	case name == "sqs:ReceiveMessage":
		var out struct {
			Messages []json.RawMessage
		}
		_ = json.Unmarshal(plain, &out)
		if len(out.Messages) == 0 && !bytes.Contains(plain, []byte("<Message>")) {
			name = "sqs:ReceiveMessage(empty)"
		}
	}
	c.add(name, o)
	return nil
}

// readRequest is what leastRead needs of a read's request: its
// consistency, and a batch's or transaction's keys.
type readRequest struct {
	ConsistentRead bool
	RequestItems   map[string]struct {
		Keys           []json.RawMessage
		ConsistentRead bool
	}
	TransactItems []json.RawMessage
}

// leastRead returns the read units DynamoDB bills a read request (body)
// at the least, whatever it finds: 1 for a strongly consistent read, 0.5
// for an eventually consistent one, 2 for a transactional one, per item
// named (GetItem, BatchGetItem, TransactGetItems) or per request (Query,
// Scan). DynamoDB Local reports 0 for a Query or BatchGetItem that found
// nothing, but DynamoDB bills it: "If you perform a read operation on an
// item that doesn't exist, DynamoDB will still consume read throughput
// [...]. For Query/Scan operations, you'll still be charged additional
// read throughput based on read consistency and the number of partitions
// searched to serve the request, even if no data exists."
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html,
// Capacity unit consumption for read operations). A Scan's partitions are
// not known here: it is counted as one.
func leastRead(op string, body []byte) (float64, error) {
	var r readRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, err
	}
	unit := func(consistent bool) float64 {
		if consistent {
			return 1
		}
		return 0.5
	}
	switch op {
	case "BatchGetItem":
		var least float64
		for _, t := range r.RequestItems {
			least += float64(len(t.Keys)) * unit(t.ConsistentRead)
		}
		return least, nil
	case "TransactGetItems":
		return 2 * float64(len(r.TransactItems)), nil
	}
	return unit(r.ConsistentRead), nil
}

// leastBilled returns the least of a read's response (plain) whose
// request's leastRead is least: a BatchGetItem's unprocessed keys were
// not read, and are not billed.
func leastBilled(op, least string, plain []byte) (float64, error) {
	n, err := strconv.ParseFloat(least, 64)
	if err != nil || op != "BatchGetItem" {
		return n, err
	}
	var out struct {
		UnprocessedKeys json.RawMessage
	}
	if err := json.Unmarshal(plain, &out); err != nil || len(out.UnprocessedKeys) == 0 || string(out.UnprocessedKeys) == "null" {
		return n, err
	}
	unread, err := leastRead(op, []byte(`{"RequestItems":`+string(out.UnprocessedKeys)+`}`))
	return max(n-unread, 0), err
}
