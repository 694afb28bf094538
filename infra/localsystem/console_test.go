package localsystem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncbatch"
)

// TestConsoleInABrowser drives the merchant console in headless Chromium
// against the local system, on a connection of its own made as the demo's
// is: the merchant signs in, sees the failed order
// (shipping_data_missing) in Errors with its remedy, opens the fix from
// there, fills in the tracking and re-sends, and sees it synced and the
// error resolved; an order whose name holds markup shows it as text and
// runs nothing; the Orders tab lists the failed orders; the task centre
// runs a bulk re-sync with a progress bar. A screenshot of each tab is
// written (artifacts).
func TestConsoleInABrowser(t *testing.T) {
	b := newBrowser(t)
	shots := artifacts(t)
	// A connection of its own, made as the demo's is (a Shopify store on
	// the sandbox marketplace): its errors, error emails and jobs are the
	// test's alone.
	shop := newConsoleShop(t, "console-shop")
	t.Cleanup(func() { dropDeadLetters(t, shop.id) })
	waitFailed := func(o localsystem.DemoOrder) order.State {
		t.Helper()
		return waitState(t, shop.id, fmt.Sprint(o.MarketplaceID), "failed", func(st order.State) bool { return st.Sync.Result == order.SyncFailed })
	}

	// The demo's failed order: shipped without its tracking number.
	o := newOrder(t)
	id := fmt.Sprint(o.MarketplaceID)
	shop.post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	// An order whose store name is markup, failing the same way.
	evil := newOrder(t)
	evil.Name = `#<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`
	shop.post(t, localsystem.FulfilledOrder(evil, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	if st := waitFailed(o); st.Sync.ErrorCode != "shipping_data_missing" {
		t.Fatalf("sync = %+v, want failed with shipping_data_missing", st.Sync)
	}
	// Another failure, so that the failed orders fill two pages of one.
	other := newOrder(t)
	shop.post(t, localsystem.FulfilledOrder(other, localsystem.Tracking{Carrier: "Colissimo"}, time.Now()))
	// An order whose store SKU (markup, too) is another on the marketplace.
	skuID := nextID.Add(1)
	storeSKU, marketSKU := fmt.Sprintf("MUG <b>%d", skuID), fmt.Sprintf("BM-MUG-%d", skuID)
	sys.SeedMarketplaceOrder(localsystem.DemoOrder{MarketplaceID: skuID, SKUs: []string{marketSKU}})
	skuOrder := localsystem.DemoOrder{MarketplaceID: skuID, StoreID: 450789000 + skuID, Name: fmt.Sprintf("#%d", skuID), SKUs: []string{storeSKU}}
	shop.post(t, localsystem.FulfilledOrder(skuOrder, localsystem.Tracking{Number: "6A12345678901", Carrier: "Colissimo"}, time.Now()))
	waitFailed(evil)
	waitFailed(other)
	if st := waitFailed(skuOrder); st.Sync.ErrorCode != "sku_not_found" {
		t.Fatalf("sync = %+v, want sku_not_found", st.Sync)
	}

	// /console redirects to the page; sign in.
	b.open(sys.APIURL + "/console")
	// Whatever the page does from here, its own policy must allow it.
	b.run(nil, `window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI))`)
	b.typeIn("#conn", shop.id)
	b.typeIn("#key", shop.key)
	b.click("#signin-form button[type=submit]")
	row := fmt.Sprintf(`#errors-list li[data-order="%s"][data-code="shipping_data_missing"]`, id)
	b.find(row)
	b.screenshot(shots, "errors")

	t.Run("the key stays in the session", func(t *testing.T) {
		var got struct {
			URL, Stored string
			Local       int
		}
		b.run(&got, `return {URL: location.href, Stored: sessionStorage.getItem("ordersync.console") || "", Local: localStorage.length}`)
		key := shop.key
		if strings.Contains(got.URL, key) || !strings.HasSuffix(got.URL, "/console/index.html") {
			t.Errorf("URL = %q, want /console/index.html without the key", got.URL)
		}
		if !strings.Contains(got.Stored, key) || got.Local != 0 {
			t.Errorf("sessionStorage %q, localStorage %d items; want the key in the session only", got.Stored, got.Local)
		}
	})
	t.Run("the error in the catalogue's words", func(t *testing.T) {
		text := b.text(row)
		for _, want := range []string{"Shipping data missing", "Cause:", "What to do:", "Order " + o.Name, "shipping_data_missing"} {
			if !strings.Contains(text, want) {
				t.Errorf("error entry %q lacks %q", text, want)
			}
		}
		if got := b.text(row + " button.action"); got != "Fill in and re-send" {
			t.Errorf("action = %q, want Fill in and re-send", got)
		}
	})
	t.Run("markup in an order's name is text", func(t *testing.T) {
		evilRow := fmt.Sprintf(`#errors-list li[data-order="%d"]`, evil.MarketplaceID)
		if got := b.text(evilRow + " .order-link"); got != "Order "+evil.Name {
			t.Errorf("order shown as %q, want %q", got, "Order "+evil.Name)
		}
		var got struct {
			Pwned   any
			Scripts int
			Images  int
		}
		b.run(&got, `return {Pwned: window.__pwned === undefined ? null : window.__pwned,
			Scripts: document.querySelectorAll("body script").length, Images: document.querySelectorAll("img").length}`)
		if got.Pwned != nil || got.Scripts != 0 || got.Images != 0 {
			t.Errorf("window.__pwned = %v, %d scripts and %d images in the body; want none", got.Pwned, got.Scripts, got.Images)
		}
	})

	// The fix: from the error's action to the order pane's form.
	b.click(row + " button.action")
	b.waitFor("the order pane", `return !document.getElementById("panel-order").hidden && document.getElementById("order-h").textContent === arguments[0]`, "Order "+o.Name)
	if text := b.text("#order-facts"); !strings.Contains(text, "shipping_data_missing") || !strings.Contains(text, id) {
		t.Errorf("order facts %q lack the failure or the marketplace order", text)
	}
	if text := b.text("#order-timeline"); !strings.Contains(text, "failed") {
		t.Errorf("timeline %q has no failed entry", text)
	}
	b.screenshot(shots, "order")
	b.typeIn("#fix-number", "6A11122233344")
	b.typeIn("#fix-carrier", "Colissimo")
	b.click("#fix-tracking button[type=submit]")
	b.waitFor("the fix saved", `return document.getElementById("order-msg").textContent.startsWith("Saved.")`)
	st := waitState(t, shop.id, id, "synced", func(st order.State) bool { return st.Sync.Result == order.SyncSynced })
	if st.MarketplaceStatus != order.StatusShipped {
		t.Errorf("marketplace status = %q, want shipped", st.MarketplaceStatus)
	}
	b.waitFor("the pane to show the order synced", `return document.getElementById("order-msg").textContent.includes("Last sync: synced")`)
	b.click("#order-back")
	b.find(row + ".resolved")
	if text := b.text(row); !strings.Contains(text, "Resolved") || !strings.Contains(text, "merchant/fix") {
		t.Errorf("resolved error shows %q, want Resolved (merchant/fix)", text)
	}

	// The alias: from the error's action, the store SKU filled in.
	t.Run("alias from the error", func(t *testing.T) {
		skuRow := fmt.Sprintf(`#errors-list li[data-order="%d"][data-code="sku_not_found"]`, skuID)
		if got := b.text(skuRow + " button.action"); got != "Add a SKU alias" {
			t.Errorf("action = %q, want Add a SKU alias", got)
		}
		b.click(skuRow + " button.action")
		b.waitFor("the alias form", `return !document.getElementById("panel-order").hidden && document.getElementById("alias-store").value === arguments[0]`, storeSKU)
		b.typeIn("#alias-market", marketSKU)
		b.click("#alias-form button[type=submit]")
		b.waitFor("the alias saved", `return document.getElementById("order-msg").textContent.startsWith("Alias saved; 1 order(s) queued")`)
		waitState(t, shop.id, fmt.Sprint(skuID), "synced", func(st order.State) bool { return st.Sync.Result == order.SyncSynced })
		b.waitFor("the pane to show the alias", `const t = document.getElementById("alias-body").textContent; return t.includes(arguments[0]) && t.includes(arguments[1])`, storeSKU, marketSKU)
		b.click("#order-back")
		b.find(skuRow + ".resolved")
	})

	// Orders by state: the failed one with markup is there, as text.
	b.click("#tab-orders")
	b.run(nil, `document.getElementById("orders-state").value = "failed"`)
	b.click("#orders-form button[type=submit]")
	evilOrder := fmt.Sprintf(`#orders-body tr[data-order="%d"]`, evil.MarketplaceID)
	if got := b.text(evilOrder + " .order-link"); got != evil.Name {
		t.Errorf("orders row shows %q, want %q", got, evil.Name)
	}
	b.screenshot(shots, "orders")
	t.Run("paging by the cursor", func(t *testing.T) {
		b.typeIn("#orders-limit", "1")
		b.click("#orders-form button[type=submit]")
		b.waitFor("page 1 of one order", `return document.getElementById("orders-caption").textContent.endsWith("page 1") && document.querySelectorAll("#orders-body tr").length === 1`)
		seen := map[string]bool{}
		for page := 1; ; page++ {
			var id string
			b.run(&id, `return document.querySelector("#orders-body tr").dataset.order`)
			if seen[id] {
				t.Fatalf("page %d shows order %s again", page, id)
			}
			seen[id] = true
			var more bool
			b.run(&more, `return !document.getElementById("orders-next").hidden`)
			if !more || page == 50 {
				break
			}
			b.click("#orders-next")
			b.waitFor(fmt.Sprintf("page %d", page+1), `return document.getElementById("orders-caption").textContent.endsWith("page " + arguments[0])`, fmt.Sprint(page+1))
			var rows int
			if b.run(&rows, `return document.querySelectorAll("#orders-body tr").length`); rows == 0 {
				break // a full last page is followed by an empty one
			}
		}
		for _, want := range []int64{evil.MarketplaceID, other.MarketplaceID} {
			if !seen[fmt.Sprint(want)] {
				t.Errorf("paging one by one never showed order %d (saw %v)", want, seen)
			}
		}
	})

	// The task centre: re-sync the failed orders; the job's results show.
	b.click("#tab-jobs")
	b.run(nil, `document.getElementById("job-state").value = "failed"; document.getElementById("job-code").value = "shipping_data_missing"`)
	b.click("#job-form button[type=submit]")
	b.waitFor("the job's results", `const j = document.querySelector("#jobs-list li[data-job]");
		return j !== null && j.querySelector("progress") !== null && j.textContent.includes(arguments[0])`, fmt.Sprint(evil.MarketplaceID))
	b.screenshot(shots, "jobs")

	// The health banner: a connection the merchant paused says so, since
	// when and what to do, and resumes from the banner.
	const paused = "console-paused"
	pausedShop := newConsoleShop(t, paused)
	if status, body := callJSON(t, http.MethodPost, "/connections/"+paused+"/pause", pausedShop.key, nil); status != http.StatusOK {
		t.Fatalf("pause = %d %s, want 200", status, body)
	}
	b.click("#signout")
	b.typeIn("#conn", paused)
	b.typeIn("#key", pausedShop.key)
	b.click("#signin-form button[type=submit]")
	b.waitFor("the paused banner", `return !document.getElementById("health").hidden`)
	banner := b.text("#health")
	for _, want := range []string{"Syncing is paused", "You paused this connection", "Paused since", "Resume"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner %q lacks %q", banner, want)
		}
	}
	b.screenshot(shots, "health")
	b.click("#health-resume")
	b.waitFor("the banner gone once resumed", `return document.getElementById("health").hidden`)

	var violations []string
	b.run(&violations, `return window.__csp`)
	if len(violations) != 0 {
		t.Errorf("the page broke its own Content-Security-Policy: %v", violations)
	}
	var pwned any
	b.run(&pwned, `return window.__pwned === undefined ? null : window.__pwned`)
	if pwned != nil {
		t.Errorf("window.__pwned = %v after every tab; a value from an order ran as script", pwned)
	}
}

// consoleShop is a connection made through the merchant API for the
// console's tests: a Shopify store on the sandbox marketplace.
type consoleShop struct {
	id, domain, key, secret string
}

func newConsoleShop(t *testing.T, id string) consoleShop {
	t.Helper()
	domain := id + ".myshopify.com"
	status, body := callJSON(t, http.MethodPost, "/connections", sys.Secrets[localsystem.ProvisioningKeyRef], map[string]any{
		"id": id, "merchant_name": "Console Shop", "merchant_email": "ops@" + id + ".test",
		"store":       map[string]string{"platform": "shopify", "base_url": "https://" + domain, "account": domain},
		"marketplace": map[string]string{"platform": "backmarket", "base_url": sys.SandboxURL},
		"credentials": map[string]string{"backmarket": sys.Secrets[localsystem.SandboxTokenRef]},
	})
	var created connAnswer
	if err := json.Unmarshal(body, &created); status != http.StatusCreated || err != nil {
		t.Fatalf("POST /connections = %d %s, want 201", status, body)
	}
	return consoleShop{id: id, domain: domain, key: created.APIKey, secret: created.WebhookSecret}
}

// post delivers body as the shop's signed orders/fulfilled webhook.
func (c consoleShop) post(t *testing.T, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, sys.APIURL+"/webhooks/shopify/"+c.id, bytes.NewReader(body))
	evt := fmt.Sprintf("evt-%d", time.Now().UnixNano())
	for k, v := range map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": "orders/fulfilled",
		"X-Shopify-Shop-Domain": c.domain, "X-Shopify-API-Version": "2026-07", "X-Shopify-Webhook-Id": evt,
		"X-Shopify-Event-Id": evt, "X-Shopify-Triggered-At": time.Now().UTC().Format(time.RFC3339Nano),
		"X-Shopify-Hmac-Sha256": localsystem.SignShopify(c.secret, body)} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook to %s: %s, want 202", c.id, resp.Status)
	}
}

// dropDeadLetters deletes conn's messages from the sync DLQ, as an
// operator would once their causes are fixed, so that the tests reading
// the DLQ after this one find theirs among its first messages. Others'
// messages are held while it looks and then made visible again.
func dropDeadLetters(t *testing.T, conn string) {
	t.Helper()
	ctx := context.Background()
	dlq := aws.String(sys.Stack.Ref("SyncDLQ"))
	var others []*string
	defer func() {
		for _, h := range others {
			_, _ = sys.Clients.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: dlq, ReceiptHandle: h, VisibilityTimeout: 0})
		}
	}()
	for range 20 {
		out, err := sys.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq,
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 30})
		if err != nil {
			t.Errorf("DLQ: %v", err)
			return
		}
		if len(out.Messages) == 0 {
			return
		}
		for _, m := range out.Messages {
			if aws.ToString(m.MessageAttributes[syncbatch.AttrConnection].StringValue) != conn {
				others = append(others, m.ReceiptHandle)
				continue
			}
			if _, err := sys.Clients.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: dlq, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Errorf("DLQ: %v", err)
			}
		}
	}
}
