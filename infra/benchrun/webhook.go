package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/shared/app"
	"github.com/ordersync/ordersync/shared/ingest"
	"github.com/ordersync/ordersync/shared/ingest/ingesttest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/sqsqueue"
)

// shopifySample is Shopify's REST Order reference example (see
// testdata/README.md): the webhook section's orders are built from it.
//
//go:embed testdata/shopify_order_2026-07.json
var shopifySample []byte

const webhookSecret = "shpss_bench"

// webhookSection measures the webhook handler wired as webhookapp wires it
// (see newWebhookRun), beside the floor any handler of the same body pays:
// HMAC-SHA256, base64 and a JSON decode of the fields ordersync reads.
func webhookSection(ctx context.Context, env Env) ([]Row, error) {
	rounds := 15
	if env.Quick {
		rounds = 3
	}
	var rows []Row
	for _, size := range []int{1 << 10, 5 << 10, 50 << 10} {
		body, err := shopifyOrderOfSize(size)
		if err != nil {
			return nil, err
		}
		handle, err := newWebhookRun(body)
		if err != nil {
			return nil, err
		}
		// Signed once, as the handler's request is: the floor pays one
		// HMAC a call, as the handler does.
		signature := shopify.SignWebhook(body, webhookSecret)
		floor := func() error { return webhookFloor(body, signature) }
		h, f, err := interleaved(ctx, rounds, handle, floor)
		if err != nil {
			return nil, fmt.Errorf("%d KB: %w", size>>10, err)
		}
		rows = append(rows, Row{Section: "webhook", Name: fmt.Sprintf("handler, Shopify order %d KB", size>>10),
			Value: h.Seconds() * 1e6, Unit: "µs/op", Goal: 1.5,
			Note: fmt.Sprintf("body %d B; median of %d interleaved rounds; floor = HMAC-SHA256 + base64 + json.Unmarshal into the fields read", len(body), rounds)}.
			Compared("HMAC+base64+JSON floor", f.Seconds()*1e6))
	}
	return rows, nil
}

// newWebhookRun returns one delivery of body through a handler wired as
// shared/app/webhookapp wires the webhook function, each call a new event
// id (a new delivery): its config (MaxBodyBytes at MAX_BODY_BYTES's
// default, the rest zero), no deduper, the SQS adapter itself (its
// message attributes and SendMessageInput built as for SQS; only the
// client is a fake that counts what it is sent), and app's logger (JSON
// lines, redacted) writing to nowhere, so each line is formatted as on
// Lambda. Only the connection and secret lookups are in memory, as
// production's caches answer them.
func newWebhookRun(body []byte) (func() error, error) {
	conns := ingesttest.NewConnections(order.Connection{ID: "c-shop",
		Store: order.Endpoint{Platform: order.Shopify}, WebhookSecretRefs: []string{"shop/current"}})
	secrets := ingesttest.NewSecrets(map[string]string{"shop/current": webhookSecret})
	sent := &sqsSends{}
	q := sqsqueue.New(sent, "https://sqs.eu-west-1.amazonaws.com/123456789012/ordersync-sync")
	cfg := ingest.Config{MaxBodyBytes: 1 << 20}
	h := ingest.New(cfg, conns, secrets, nil, q, app.NewLogger(io.Discard, slog.LevelInfo))
	req := events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /webhooks/{source}/{connection}",
		RawPath:  "/webhooks/shopify/c-shop",
		Headers: map[string]string{
			"content-type":           "application/json",
			"x-shopify-topic":        shopify.TopicOrdersUpdated,
			"x-shopify-hmac-sha256":  shopify.SignWebhook(body, webhookSecret),
			"x-shopify-shop-domain":  "bench.myshopify.com",
			"x-shopify-api-version":  "2026-07",
			"x-shopify-triggered-at": time.Now().UTC().Format(time.RFC3339Nano),
		},
		PathParameters: map[string]string{"source": "shopify", "connection": "c-shop"},
		Body:           string(body),
	}
	req.RequestContext.HTTP.Method = http.MethodPost
	req.RequestContext.HTTP.Path = req.RawPath
	n := 0
	return func() error {
		n++
		id := "evt-" + strconv.Itoa(n)
		req.Headers["x-shopify-event-id"], req.Headers["x-shopify-webhook-id"] = id, id
		resp, err := h.Handle(context.Background(), req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("handler answered %d %s", resp.StatusCode, resp.Body)
		}
		if sent.n != n || sent.attrs != 2*n {
			return fmt.Errorf("%d events queued, with %d attributes, after %d deliveries", sent.n, sent.attrs, n)
		}
		return nil
	}, nil
}

// sqsSends is the SQS client under the webhook's sqsqueue.Queue: it
// counts the messages it is sent, with their attributes, and sends none.
type sqsSends struct{ n, attrs int }

func (s *sqsSends) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, errors.New("bench sqs: empty message body")
	}
	s.n++
	s.attrs += len(in.MessageAttributes)
	return &sqs.SendMessageOutput{}, nil
}

func (s *sqsSends) SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return nil, errors.New("bench sqs: the webhook sends one message at a time")
}

func (s *sqsSends) ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	return nil, errors.New("bench sqs: the webhook changes no visibility")
}

// floorOrder is the fields of a Shopify order ordersync reads, in plain
// types: what any handler of the webhook must decode.
type floorOrder struct {
	ID                json.Number `json:"id"`
	Name              string      `json:"name"`
	CreatedAt         string      `json:"created_at"`
	UpdatedAt         string      `json:"updated_at"`
	CancelledAt       *string     `json:"cancelled_at"`
	CancelReason      *string     `json:"cancel_reason"`
	FinancialStatus   *string     `json:"financial_status"`
	FulfillmentStatus *string     `json:"fulfillment_status"`
	Test              bool        `json:"test"`
	NoteAttributes    []struct {
		Name, Value *string
	} `json:"note_attributes"`
	SourceName       *string `json:"source_name"`
	SourceIdentifier *string `json:"source_identifier"`
	LineItems        []struct {
		ID       json.Number `json:"id"`
		SKU      *string     `json:"sku"`
		Quantity int         `json:"quantity"`
		Name     string      `json:"name"`
		Title    string      `json:"title"`
	} `json:"line_items"`
	ShippingAddress *struct {
		Name, Company, Address1, Address2, City, Zip, Province, Phone *string
		// Named: encoding/json matches no untagged FirstName to "first_name".
		FirstName    *string `json:"first_name"`
		LastName     *string `json:"last_name"`
		ProvinceCode *string `json:"province_code"`
		CountryCode  *string `json:"country_code"`
	} `json:"shipping_address"`
	Fulfillments []json.RawMessage `json:"fulfillments"`
	Refunds      []json.RawMessage `json:"refunds"`
}

// webhookFloor is the work no webhook handler can skip: the body's
// HMAC-SHA256, compared with the header's base64, and its JSON decoded.
func webhookFloor(body []byte, signature string) error {
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write(body)
	want, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || !hmac.Equal(m.Sum(nil), want) {
		return errors.New("floor: signature mismatch")
	}
	var o floorOrder
	return json.Unmarshal(body, &o)
}

// interleaved times a and b in alternating rounds of about 20 ms each (so
// both see the same machine load), and returns the median time per call of
// each.
func interleaved(ctx context.Context, rounds int, a, b func() error) (time.Duration, time.Duration, error) {
	// Calibrate: enough calls of the slower that a round takes ~20 ms.
	n := 1
	for {
		start := time.Now()
		for range n {
			if err := a(); err != nil {
				return 0, 0, err
			}
		}
		if time.Since(start) > 20*time.Millisecond || n >= 1<<20 {
			break
		}
		n *= 2
	}
	var as, bs []time.Duration
	for range rounds {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		for _, f := range []struct {
			run func() error
			out *[]time.Duration
		}{{a, &as}, {b, &bs}} {
			start := time.Now()
			for range n {
				if err := f.run(); err != nil {
					return 0, 0, err
				}
			}
			*f.out = append(*f.out, time.Since(start)/time.Duration(n))
		}
	}
	return median(as), median(bs), nil
}

// shopifyOrderOfSize builds a compact Shopify order body of at least n
// bytes from the sample: its main order-level fields and shipping address,
// whole line items (about 1.3 KB each, as the REST reference shows them)
// while they fit, then trimmed ones (about 150 B). It is the shape
// shared/ingest's benchmark uses.
func shopifyOrderOfSize(n int) ([]byte, error) {
	var full map[string]any
	if err := json.Unmarshal(shopifySample, &full); err != nil {
		return nil, err
	}
	o := map[string]any{}
	for _, k := range []string{"id", "name", "email", "created_at", "updated_at", "cancelled_at", "cancel_reason",
		"currency", "financial_status", "fulfillment_status", "test", "total_price", "note_attributes", "shipping_address"} {
		o[k] = full[k]
	}
	item := full["line_items"].([]any)[0].(map[string]any)
	small := map[string]any{}
	for _, k := range []string{"id", "sku", "quantity", "name", "title", "price", "variant_id", "product_id"} {
		small[k] = item[k]
	}
	size := func(lines []any) []byte {
		o["line_items"] = lines
		body, _ := json.Marshal(o) // plain JSON values: cannot fail
		return body
	}
	clone := func(m map[string]any, i int) map[string]any {
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		c["id"] = 466157049 + i
		c["sku"] = "SKU-" + strconv.Itoa(i)
		return c
	}
	lines := []any{small}
	for i := 1; len(size(append(lines, clone(item, i)))) <= n; i++ {
		lines = append(lines, clone(item, i))
	}
	for i := len(lines); ; i++ {
		if body := size(lines); len(body) >= n {
			return body, nil
		}
		lines = append(lines, clone(small, i))
	}
}
