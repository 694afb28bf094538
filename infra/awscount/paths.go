package awscount

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
)

// Path names one way an event goes through the system.
type Path string

// The paths Measure drives.
const (
	// Happy: an orders/fulfilled webhook of an order awaiting acceptance
	// on the marketplace; the sync accepts and ships it on its first try.
	Happy Path = "happy"
	// Retried: the same, but the marketplace answers the first call 503
	// once; the second try syncs it.
	Retried Path = "retried"
	// Failed: the marketplace does not know the order (order_not_found,
	// permanent): recorded, emailed, and moved to the DLQ.
	Failed Path = "failed"
	// Known: a later webhook of an order already synced (a store's
	// orders/updated after its fulfilment, the commonest event of an
	// order's life): the sync finds it shipped and has nothing to call.
	Known Path = "known"
	// Imported: the orders/fulfilled webhook of an order ordersync
	// imported into the store (the import demo's: its state and link
	// written, the order accepted, by the import); the sync ships it.
	// The import itself, the refresh's event, is not counted. In
	// production every marketplace order in the store came this way, so
	// this is a new order's usual fulfilment; Happy's order, named by the
	// store but never seen by ordersync, is the exception.
	Imported Path = "imported"
)

// Import: a new order on the import demo's marketplace account, imported
// by the refresh's event: the sync creates the store order, links it,
// records its state and accepts it. The refresh's own calls (its listing
// and checkpoints, an hour's for the connection whatever its orders) are
// not counted; its SendMessage of the event is, as Event.Webhook.
const Import Path = "import"

// Paths lists the paths in the order Measure drives them: Import first,
// before any order is left unsettled for the refresh it fires to retry.
var Paths = []Path{Import, Happy, Retried, Failed, Known, Imported}

// Event is what one event of a path cost, by function.
type Event struct {
	// Webhook are the webhook function's calls, all made before it
	// answers. Sync are the sync function's and its event source's
	// (receive, delete).
	Webhook, Sync Counts
	// Answer is the webhook's HTTP status.
	Answer int
}

// All is Webhook and Sync together.
func (e Event) All() Counts {
	out := Counts{}
	for _, c := range []Counts{e.Webhook, e.Sync} {
		for name, o := range c {
			t := out[name]
			t.Calls += o.Calls
			t.WRU += o.WRU
			t.RRU += o.RRU
			t.GSIWRU += o.GSIWRU
			t.ConditionFailed += o.ConditionFailed
			out[name] = t
		}
	}
	return out
}

// System is the local stack (infra/localsystem) with the webhook and sync
// functions' AWS clients, and the event source pollers', sent through
// counting proxies.
type System struct {
	*localsystem.System
	webhook, sync *Counter

	mu      sync.Mutex
	proxies []*Proxy
	next    int
}

// StartSystem starts the local stack behind counting proxies. Params
// override template parameters; ConnectionCacheSeconds is the template's
// default unless they set it (localsystem's is 0). Stop ends it.
func StartSystem(ctx context.Context, params map[string]string) (*System, error) {
	params = maps.Clone(params)
	if params == nil {
		params = map[string]string{}
	}
	if _, ok := params["ConnectionCacheSeconds"]; !ok {
		params["ConnectionCacheSeconds"] = "10"
	}
	// Order ids of their own: systems started one after the other may
	// share the emulators (and the table) of a test binary.
	s := &System{webhook: NewCounter(), sync: NewCounter(), next: int(time.Now().UnixMilli()%1e9) * 100}
	counter := func(function string) *Counter {
		switch function {
		case "WebhookFunction":
			return s.webhook
		case "SyncFunction":
			return s.sync
		}
		return nil
	}
	var failed error
	// Each client's endpoint is the emulator's when its options run: the
	// proxy is started in front of it then.
	via := func(c *Counter, endpoint *string) {
		p, err := Start(aws.ToString(endpoint), c)
		if err != nil {
			failed = err
			return
		}
		s.mu.Lock()
		s.proxies = append(s.proxies, p)
		s.mu.Unlock()
		*endpoint = p.URL
	}
	sys, err := localsystem.Start(ctx, localsystem.Options{
		Params: params,
		DynamoDB: func(function string) []func(*dynamodb.Options) {
			if c := counter(function); c != nil {
				return []func(*dynamodb.Options){func(o *dynamodb.Options) {
					o.BaseEndpoint = aws.String(aws.ToString(o.BaseEndpoint))
					via(c, o.BaseEndpoint)
				}}
			}
			return nil
		},
		SQS: func(function string) []func(*sqs.Options) {
			if c := counter(function); c != nil {
				return []func(*sqs.Options){func(o *sqs.Options) {
					o.BaseEndpoint = aws.String(aws.ToString(o.BaseEndpoint))
					via(c, o.BaseEndpoint)
				}}
			}
			return nil
		},
		SESEndpoint: func(function, emulator string) string {
			if c := counter(function); c != nil {
				via(c, &emulator)
			}
			return emulator
		},
		Poller: []func(*sqs.Options){func(o *sqs.Options) {
			o.BaseEndpoint = aws.String(aws.ToString(o.BaseEndpoint))
			via(s.sync, o.BaseEndpoint)
		}},
	})
	if err == nil && failed != nil {
		sys.Stop()
		err = failed
	}
	if err != nil {
		s.closeProxies()
		return nil, err
	}
	s.System = sys
	if err := sys.SeedDemo(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop ends the stack and the proxies.
func (s *System) Stop() {
	s.System.Stop()
	s.closeProxies()
}

func (s *System) closeProxies() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.proxies {
		_ = p.Close()
	}
}

// Deliver sends one event of path p (a new order each time) and returns
// what it cost once the system is quiet again.
func (s *System) Deliver(ctx context.Context, p Path) (Event, error) {
	ev, _, err := s.DeliverCopies(ctx, p, 1)
	return ev, err
}

// DeliverCopies sends copies concurrent deliveries of one event of path p
// (the same event id, as a platform retrying at once does), and returns
// what they cost together once the system is quiet again, and the
// marketplace order's id. Every copy must be answered 2xx.
func (s *System) DeliverCopies(ctx context.Context, p Path, copies int) (Event, string, error) {
	s.mu.Lock()
	s.next++
	i := s.next
	s.mu.Unlock()
	id := int64(i)
	o := localsystem.DemoOrder{MarketplaceID: id, StoreID: 450789000 + id, Name: fmt.Sprintf("#C%d", id), SKUs: []string{"IPH12-64-BLK"}}
	mkID := strconv.FormatInt(id, 10)
	var after int64 // the order's version before the event
	conn := localsystem.DemoConnection
	if p == Import {
		ev, err := s.deliverImport(ctx, id)
		return ev, mkID, err
	}
	switch p {
	case Happy:
		s.SeedMarketplaceOrder(o)
	case Retried:
		s.SeedMarketplaceOrder(o)
		s.Sandbox.SetFault(backmarkettest.Fault{Status: http.StatusServiceUnavailable, Count: 1, Methods: "POST"})
		defer s.Sandbox.ClearFaults()
	case Failed:
		// Not seeded: the marketplace answers 404.
	case Known:
		s.SeedMarketplaceOrder(o)
		body := localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo", Number: "6A" + mkID}, time.Now().UTC().Add(-time.Minute))
		if st, resp, err := s.PostShopify(ctx, shopify.TopicOrdersFulfilled, fmt.Sprintf("evt-known-%d-%d", time.Now().UnixNano(), i), body); err != nil || st/100 != 2 {
			return Event{}, "", fmt.Errorf("awscount: known: its first event answered %d %s (%v)", st, resp, err)
		}
		if err := s.settle(ctx, conn, mkID, order.SyncSynced, 0); err != nil {
			return Event{}, "", fmt.Errorf("awscount: known: its first event: %w", err)
		}
		// The order reads synced already: settle waits for the write of
		// this event.
		st, err := s.Store.LoadOrder(ctx, localsystem.DemoConnection, mkID)
		if err != nil {
			return Event{}, "", fmt.Errorf("awscount: known: %w", err)
		}
		after = st.Version
	case Imported:
		conn = localsystem.DemoImportConnection
		st, err := s.imported(ctx, id)
		if err != nil {
			return Event{}, "", fmt.Errorf("awscount: imported: %w", err)
		}
		storeID, err := strconv.ParseInt(st.Ref.StoreOrderID, 10, 64)
		if err != nil {
			return Event{}, "", fmt.Errorf("awscount: imported: store order id %q: %w", st.Ref.StoreOrderID, err)
		}
		// The store's webhook names the order as the store does ("#1001"):
		// the first event to name it, so its save writes the name's
		// listing entry (gsi5).
		made, ok := s.SandboxStore.Order(st.Ref.StoreOrderID)
		if !ok || made.Name == "" {
			return Event{}, "", fmt.Errorf("awscount: imported: the sandbox store has no order %s with a name", st.Ref.StoreOrderID)
		}
		o.StoreID, o.Name, o.SKUs, after = storeID, made.Name, []string{importSKU}, st.Version
	default:
		return Event{}, "", fmt.Errorf("awscount: unknown path %q", p)
	}
	w0, s0 := s.webhook.Snapshot(), s.sync.Snapshot()
	body := localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo", Number: "6A" + mkID}, time.Now().UTC())
	eventID := fmt.Sprintf("evt-count-%d-%d", time.Now().UnixNano(), i)
	errs := make(chan error, copies)
	status := 0
	var wg sync.WaitGroup
	for range copies {
		wg.Go(func() {
			st, resp, err := s.PostShopifyTo(ctx, conn, shopify.TopicOrdersFulfilled, eventID, body)
			switch {
			case err != nil:
				errs <- err
			case st/100 != 2:
				errs <- fmt.Errorf("awscount: %s event answered %d %s", p, st, resp)
			}
			s.mu.Lock()
			status = st
			s.mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return Event{}, "", err
	}
	w1 := s.webhook.Snapshot()
	want := order.SyncSynced
	if p == Failed {
		want = order.SyncFailed
	}
	if err := s.settle(ctx, conn, mkID, want, after); err != nil {
		return Event{}, "", fmt.Errorf("awscount: %s event: %w", p, err)
	}
	return Event{Webhook: w1.Minus(w0), Sync: s.sync.Snapshot().Minus(s0), Answer: status}, mkID, nil
}

// settle waits until the order's state, past version after, reads want,
// the sync queue holds no message (a failed event's is received again
// until its redrive policy moves it to the DLQ: that is its path's cost,
// not the next path's), and the sync's calls (empty receives aside) have
// stopped for a second.
func (s *System) settle(ctx context.Context, conn, mkID string, want order.SyncResult, after int64) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := s.Store.LoadOrder(ctx, conn, mkID)
		if err == nil && st.Sync.Result == want && st.Version > after {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("order %s never reached %s (state %+v, err %v)", mkID, want, st.Sync, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		n, err := s.queued(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the sync queue never emptied (%d messages)", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	last, quietSince := s.sync.Snapshot().Billed(""), time.Now()
	for time.Since(quietSince) < time.Second {
		if time.Now().After(deadline) {
			return fmt.Errorf("the sync never went quiet")
		}
		time.Sleep(50 * time.Millisecond)
		if n := s.sync.Snapshot().Billed(""); n != last {
			last, quietSince = n, time.Now()
		}
	}
	return ctx.Err()
}

// queued is how many messages the sync queue holds, visible, in flight or
// delayed, as the stack's own (uncounted) client reads it.
func (s *System) queued(ctx context.Context) (int, error) {
	out, err := s.Clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.Stack.Ref("SyncQueue")),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		return 0, fmt.Errorf("awscount: the sync queue's attributes: %w", err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n, nil
}

// importSKU is a product of the sandbox store the import demo's orders
// are made of.
const importSKU = "PIXEL7-128"

// deliverImport is the Import path: what the sync's import of order id
// cost, with the refresh's one SendMessage of its event as Webhook. The
// pollers' SQS calls are one counter, and the refresh's run polls the
// refresh queue too (a message a connection); so the event's SQS calls
// are set as one receive and one delete, as for any event, and
// DynamoDB's and SES's are as counted.
func (s *System) deliverImport(ctx context.Context, id int64) (Event, error) {
	s0 := s.sync.Snapshot()
	if _, err := s.imported(ctx, id); err != nil {
		return Event{}, fmt.Errorf("awscount: import: %w", err)
	}
	sync := Counts{"sqs:ReceiveMessage": {Calls: 1}, "sqs:DeleteMessageBatch": {Calls: 1}}
	for name, o := range s.sync.Snapshot().Minus(s0) {
		if !strings.HasPrefix(name, "sqs:") {
			sync[name] = o
		}
	}
	return Event{Webhook: Counts{"sqs:SendMessage": {Calls: 1}}, Sync: sync}, nil
}

// imported makes order id awaiting acceptance on the import demo's
// marketplace account, fires the hourly refresh (which imports it: the
// store order, its link, its state, its acceptance), and returns its state
// once that has settled.
func (s *System) imported(ctx context.Context, id int64) (order.State, error) {
	mkID := strconv.FormatInt(id, 10)
	s.ImportSandbox.Seed(backmarkettest.AwaitingAcceptance(id, importSKU))
	resp, err := http.Post(s.APIURL+"/_local/schedules/Hourly", "application/json", nil)
	if err != nil {
		return order.State{}, fmt.Errorf("firing the refresh: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return order.State{}, fmt.Errorf("firing the refresh: %s", resp.Status)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := s.Store.LoadOrder(ctx, localsystem.DemoImportConnection, mkID)
		if err == nil && st.Ref.StoreOrderID != "" && st.Sync.Result == order.SyncSynced && st.MarketplaceStatus == order.StatusAccepted {
			break
		}
		if time.Now().After(deadline) {
			return order.State{}, fmt.Errorf("order %s was never imported and accepted (state %+v, err %v)", mkID, st.Sync, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.settle(ctx, localsystem.DemoImportConnection, mkID, order.SyncSynced, 0); err != nil {
		return order.State{}, err
	}
	return s.Store.LoadOrder(ctx, localsystem.DemoImportConnection, mkID)
}
