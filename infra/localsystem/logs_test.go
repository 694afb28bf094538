package localsystem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/infra/ordersync/operator"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/emf"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/webhook"
	"github.com/ordersync/ordersync/shared/woocommerce"
)

// lineBuffer holds the system's log lines; safe for concurrent writes.
type lineBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns every line written so far.
func (l *lineBuffer) lines() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Split(bytes.TrimSpace(bytes.Clone(l.b.Bytes())), []byte("\n"))
}

// logs are every function's log lines (TestMain).
var logs lineBuffer

// A customer, as webhooks, marketplace orders and the merchant's fix carry
// one: none of it may reach a log line.
const (
	piiFirst  = "Zephyrine"
	piiLast   = "Quatremains"
	piiStreet = "17 rue des Epinettes Nord"
	piiEmail  = "zephyrine.quatremains@example.org"
	piiPhone  = "+33 6 71 82 93 04"
	// piiDigits is the phone as a platform may normalise it.
	piiDigits = "671829304"
)

var piiValues = []string{piiFirst, piiLast, piiStreet, piiEmail, piiPhone, piiDigits, "Epinettes", "quatremains@"}

// withCustomer is a Shopify order body with the customer everywhere
// Shopify puts one: the order's email and phone, the customer, the
// shipping and billing addresses.
func withCustomer(t *testing.T, body []byte) []byte {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	addr := map[string]any{"first_name": piiFirst, "last_name": piiLast, "name": piiFirst + " " + piiLast, "address1": piiStreet,
		"city": "Lyon", "zip": "69001", "country_code": "FR", "phone": piiPhone}
	o["email"], o["contact_email"], o["phone"] = piiEmail, piiEmail, piiPhone
	o["customer"] = map[string]any{"id": 1, "first_name": piiFirst, "last_name": piiLast, "email": piiEmail, "phone": piiPhone}
	o["shipping_address"], o["billing_address"] = addr, addr
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sample reads a platform's golden webhook body from its package's
// testdata, its customer replaced by ours.
func sample(t *testing.T, pkg, name string, replace ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", pkg, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(replace...).Replace(string(b)))
}

// seedCustomerOrder puts an order awaiting acceptance, shipped to our
// customer, in the sandbox.
func seedCustomerOrder(mp *backmarkettest.Server, id int64, skus ...string) {
	o := backmarkettest.AwaitingAcceptance(id, skus...)
	o.ShippingAddress = &backmarkettest.Address{FirstName: piiFirst, LastName: piiLast, Street: piiStreet,
		PostalCode: "69001", City: "Lyon", Country: "FR", PhoneNumber: piiPhone}
	o.DateModification = time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)
	mp.Seed(o)
}

// postWebhook posts a signed webhook to the local API.
func postWebhook(t *testing.T, source, conn string, headers map[string]string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, sys.APIURL+"/webhooks/"+source+"/"+conn, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLogsCarryIDsAndNoPersonalData pushes a customer's name, street,
// email and phone through every path (each store platform's webhook, the
// sync's success, retry and failure, its email, the merchant API with a
// fix carrying an address, the refresh and the import), then reads every
// log line the functions wrote: each is JSON, none holds any of them, the
// lines about orders carry their connection and order ids, and the
// metrics are there as CloudWatch reads them.
func TestLogsCarryIDsAndNoPersonalData(t *testing.T) {
	ctx := context.Background()
	provisioning := sys.Secrets[localsystem.ProvisioningKeyRef]
	token := sys.Secrets[localsystem.SandboxTokenRef]

	// Shopify, on the demo connection: a shipment that syncs, one the
	// marketplace rate-limits once (retried), one without its tracking
	// (failed, emailed), fixed through the merchant API with an address.
	shipped, limited, untracked := newOrder(t), newOrder(t), newOrder(t)
	for _, o := range []localsystem.DemoOrder{shipped, limited, untracked} {
		o := o
		seedCustomerOrder(sys.Sandbox, o.MarketplaceID, o.SKUs...)
	}
	post(t, withCustomer(t, localsystem.FulfilledOrder(shipped, localsystem.Tracking{Number: "6A10000000001", Carrier: "Colissimo"}, time.Now())))
	if st := waitSync(t, shipped, order.SyncSynced); st.ShippingAddress == nil || !strings.Contains(st.ShippingAddress.Name, piiLast) {
		t.Fatalf("shipping address %+v: want our customer's, or this test proves nothing", st.ShippingAddress)
	}
	sys.Sandbox.SetFault(backmarkettest.Fault{Status: 429, RetryAfter: "1", Count: 1, Methods: "POST"})
	post(t, withCustomer(t, localsystem.FulfilledOrder(limited, localsystem.Tracking{Number: "6A10000000002", Carrier: "Colissimo"}, time.Now())))
	waitSync(t, limited, order.SyncSynced)
	sys.Sandbox.ClearFaults()
	post(t, withCustomer(t, localsystem.FulfilledOrder(untracked, localsystem.Tracking{Carrier: "Colissimo"}, time.Now())))
	waitSync(t, untracked, order.SyncFailed)
	id := fmt.Sprint(untracked.MarketplaceID)
	for _, c := range []struct {
		method, path string
		body         string
	}{
		{http.MethodGet, "/errors?limit=100", ""},
		{http.MethodGet, "/orders/" + id, ""},
		{http.MethodGet, "/orders/" + id + "/timeline", ""},
		{http.MethodGet, "/orders?state=failed", ""},
		// A refused fix: its address is bad, and the refusal must not quote it.
		{http.MethodPost, "/orders/" + id + "/fix", `{"shipping_address": {"name": "` + piiFirst + ` ` + piiLast + `", "line1": "` + piiStreet + `", "phone": "` + piiPhone + `"}}`},
		{http.MethodPost, "/orders/" + id + "/fix", `{"tracking": {"number": "6A10000000003", "carrier": "Colissimo"},
			"shipping_address": {"name": "` + piiFirst + ` ` + piiLast + `", "line1": "` + piiStreet + `", "city": "Lyon", "postal_code": "69001", "country": "FR", "phone": "` + piiPhone + `"}}`},
	} {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		if status, answer, err := sys.CallAPI(ctx, c.method, c.path, body); err != nil || status >= 500 {
			t.Fatalf("%s %s = %d %s, %v", c.method, c.path, status, answer, err)
		}
	}
	waitSync(t, untracked, order.SyncSynced)
	// The operator redrives its DLQ message (as SQS's move does: body and
	// attributes as they were); the sync counts it.
	redriveOne(t, untracked, "shipping_data_missing")

	// WooCommerce, BigCommerce and a Standard Webhooks source, each on a
	// connection made through the merchant API, each posting its golden
	// sample with our customer in it.
	for _, p := range []struct {
		platform string
		post     func(conn, secret string) int
	}{
		{"woocommerce", func(conn, secret string) int {
			body := sample(t, "woocommerce", "woocommerce_order_727_imported_derived.json", "John", piiFirst, "Doe", piiLast,
				"969 Market", piiStreet, "john.doe@example.com", piiEmail, "(555) 555-5555", piiPhone)
			return postWebhook(t, "woocommerce", conn, map[string]string{"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Resource": "order",
				"X-WC-Webhook-Event": "updated", "X-WC-Webhook-Signature": woocommerce.SignWebhook(body, secret), "X-WC-Webhook-ID": "7",
				"X-WC-Webhook-Delivery-ID": "d41d8cd98f00b204e9800998ecf8427e", "X-WC-Webhook-Source": "https://example.com/"}, body)
		}},
		{"bigcommerce", func(conn, secret string) int {
			body := sample(t, "bigcommerce", "bigcommerce_webhook_store_order_statusUpdated.json")
			return postStandard(t, "bigcommerce", conn, secret, body)
		}},
		{"standard", func(conn, secret string) int {
			body := sample(t, "webhook", "standard_order_shipped.json", "Bob", piiFirst, "Norman", piiLast, "Chestnut Street 92", piiStreet)
			return postStandard(t, "standard", conn, secret, body)
		}},
	} {
		conn := "e2e-pii-" + p.platform
		status, answer := callJSON(t, http.MethodPost, "/connections", provisioning, map[string]any{
			"id": conn, "merchant_name": "PII test", "merchant_email": "pii@merchant.test",
			"store":       map[string]string{"platform": p.platform, "base_url": "https://" + conn + ".example", "account": conn},
			"marketplace": map[string]string{"platform": "backmarket", "base_url": sys.SandboxURL},
			"credentials": map[string]string{"backmarket": token},
		})
		var created connAnswer
		if status != http.StatusCreated || json.Unmarshal(answer, &created) != nil {
			t.Fatalf("POST /connections (%s) = %d %s, want 201", p.platform, status, answer)
		}
		t.Cleanup(func() { _ = sys.Store.DeleteConnection(ctx, conn) })
		if got := p.post(conn, created.WebhookSecret); got != http.StatusAccepted {
			t.Errorf("%s webhook = %d, want 202", p.platform, got)
		}
		// And one whose signature is wrong: rejected, counted by reason.
		if got := p.post(conn, "whsec_"+strings.Repeat("00", 24)); got != http.StatusUnauthorized {
			t.Errorf("%s webhook with a bad signature = %d, want 401", p.platform, got)
		}
	}

	// The import and the refresh: a new marketplace order shipped to our
	// customer, imported into a WooCommerce store by the hourly refresh.
	store := wooStore(t)
	mp := backmarkettest.New(backmarkettest.Options{Token: token})
	mpSrv := httptest.NewServer(mp)
	t.Cleanup(mpSrv.Close)
	conn := "e2e-pii-import"
	if err := sys.Store.PutConnection(ctx, order.Connection{ID: conn, MerchantName: "PII import", MerchantEmail: "import@merchant.test", ImportOrders: true,
		Store: store.endpoint, Marketplace: order.Endpoint{Platform: order.BackMarket, BaseURL: mpSrv.URL, CredentialRef: localsystem.SandboxTokenRef}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Store.DeleteConnection(ctx, conn) })
	seedCustomerOrder(mp, 9701, "SKU-A")
	before := time.Now()
	fireRefresh(t)
	waitState(t, conn, "9701", "imported", func(st order.State) bool { return st.Ref.StoreOrderID != "" && st.Sync.Result == order.SyncSynced })
	waitReport(t, conn, before)
	waitReport(t, localsystem.DemoConnection, before)

	// Every line, as CloudWatch Logs receives it.
	if f := os.Getenv("ORDERSYNC_LOG_DUMP"); f != "" {
		_ = os.WriteFile(f, bytes.Join(logs.lines(), []byte("\n")), 0o600)
	}
	metrics := map[string]map[string]bool{} // metric -> its dimension sets
	withIDs := 0
	for i, line := range logs.lines() {
		var l map[string]any
		if err := json.Unmarshal(line, &l); err != nil {
			t.Errorf("line %d is not JSON: %s", i, line)
			continue
		}
		for _, v := range piiValues {
			if bytes.Contains(bytes.ToLower(line), bytes.ToLower([]byte(v))) {
				t.Errorf("line %d holds %q: %s", i, v, line)
			}
		}
		if l["connection"] != nil && (l["marketplace_order"] != nil || l["store_order"] != nil || l["store_order_id"] != nil) {
			withIDs++
		}
		ms, err := emf.Read(line)
		if err != nil {
			t.Errorf("line %d: %v: %s", i, err, line)
		}
		for name, m := range ms {
			if metrics[name] == nil {
				metrics[name] = map[string]bool{}
			}
			for _, d := range m.Dimensions {
				metrics[name][d] = true
			}
		}
	}
	if withIDs == 0 {
		t.Error("no line names a connection and an order")
	}
	for _, want := range []struct{ metric, dims string }{
		{"synced", "service=sync"},
		{"retried", "service=sync,error_code=rate_limited"},
		{"failed", "service=sync,error_code=shipping_data_missing"},
		{"redriven", "service=sync"},
		{"webhook_accepted", "service=webhook"},
		{"webhook_rejected", "service=webhook,reason=signature_invalid"},
		{"api_answered", "service=api"},
		{"api_refused", "service=api,error_code=invalid_fix"},
		{"jobs_refreshed", "service=refresh"},
		{"imports", "service=refresh"},
		{"behind", "service=refresh"},
	} {
		if !metrics[want.metric][want.dims] {
			t.Errorf("no metric %s under %s; metrics: %v", want.metric, want.dims, metrics)
		}
	}
}

// postStandard posts a Standard Webhooks delivery (BigCommerce's, and a
// generic source's) signed with secret.
func postStandard(t *testing.T, source, conn, secret string, body []byte) int {
	t.Helper()
	id, ts := "msg-"+strconv.FormatInt(time.Now().UnixNano(), 10), time.Now().Unix()
	return postWebhook(t, source, conn, map[string]string{"webhook-id": id, "webhook-timestamp": strconv.FormatInt(ts, 10),
		"webhook-signature": webhook.SignStandard(id, ts, body, secret)}, body)
}

// redriveOne moves o's message out of the sync DLQ into the sync queue
// with the operator's CLI (ordersync dlq redrive -order), and waits for
// the sync to have received it.
func redriveOne(t *testing.T, o localsystem.DemoOrder, code string) {
	t.Helper()
	if !inDLQ(t, o, code) {
		t.Fatalf("no DLQ message for order %d with error code %s", o.MarketplaceID, code)
	}
	res, err := cli().Redrive(context.Background(), operator.Filter{Connection: localsystem.DemoConnection, Code: code,
		MarketplaceOrderID: fmt.Sprint(o.MarketplaceID)}, 0, false)
	if err != nil || res.Redriven != 1 {
		t.Fatalf("redrive = %+v, %v; want the order's message redriven", res, err)
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, line := range logs.lines() {
			if bytes.Contains(line, []byte(`"msg":"redriven message received"`)) && bytes.Contains(line, []byte(`"dead_lettered_for":"`+code+`"`)) {
				return
			}
		}
	}
	t.Fatal("the sync never received the redriven message")
}
