package notify_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localaws"
	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/notify"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/sesmail"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/storetest"
)

// TestMain starts DynamoDB Local and aws-ses-v2-local for the tests of
// this package that use them; the others need neither.
func TestMain(m *testing.M) { stacktest.Main(m) }

var seq struct {
	sync.Mutex
	n int
}

// rig is a Notifier sending through aws-ses-v2-local and counting in a
// fresh table of DynamoDB Local, for one connection whose merchant
// address no other test uses.
type rig struct {
	nf    *notify.Notifier
	clock *storetest.Clock
	conn  order.Connection
	store *dynamostore.Store
}

func newRig(t *testing.T, after int) rig {
	t.Helper()
	seq.Lock()
	seq.n++
	id := fmt.Sprintf("c%d-%d", time.Now().UnixNano()%1e9, seq.n)
	seq.Unlock()
	st := stacktest.New(t, nil)
	clock := &storetest.Clock{}
	clock.Set(time.Date(2026, 12, 2, 14, 5, 0, 0, time.UTC))
	store := dynamostore.New(stacktest.Clients().DynamoDB, st.Ref("Table")).WithClock(clock.Now)
	mail := sesmail.New(stacktest.Clients().SES, "ordersync@example.com")
	nf := notify.New(mail).WithAPIBaseURL("https://api.test").WithClock(clock.Now).WithDigest(store.Digests(), after)
	conn := order.Connection{ID: id, MerchantName: "Acme", MerchantEmail: id + "@merchant.test",
		Marketplace: order.Endpoint{Platform: order.BackMarket}}
	if err := store.PutConnection(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	return rig{nf: nf, clock: clock, conn: conn, store: store}
}

func (r rig) notice(i int, code syncerr.Code) syncer.Notice {
	name := fmt.Sprintf("#%d", 1000+i)
	return syncer.Notice{Connection: r.conn, Marketplace: "Back Market", Attempts: 1,
		State:       order.State{Connection: r.conn.ID, Ref: order.Ref{StoreOrderName: name, MarketplaceOrderID: fmt.Sprint(7000 + i)}},
		Explanation: syncerr.Explain(syncerr.E(code, "order", name, "marketplace", "Back Market", "missing", "tracking number"))}
}

// mails returns what aws-ses-v2-local holds for the rig's merchant.
func (r rig) mails(t *testing.T) []localaws.Mail {
	t.Helper()
	all, err := stacktest.Endpoints().Mails(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []localaws.Mail
	for _, m := range all {
		for _, to := range m.Destination.To {
			if to == r.conn.MerchantEmail {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestBothPartsArrive: an error email reaches SES with its text and its
// HTML part, the HTML escaped.
func TestBothPartsArrive(t *testing.T) {
	r := newRig(t, 10)
	n := r.notice(1, syncerr.ShippingDataMissing)
	n.State.Ref.StoreOrderName = `#1001<script>"x"</script>`
	if err := r.nf.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	got := r.mails(t)
	if len(got) != 1 {
		t.Fatalf("%d emails, want 1", len(got))
	}
	m := got[0]
	if want := `[ordersync] Shipping data missing – order #1001<script>"x"</script>`; m.Subject != want {
		t.Errorf("subject = %q, want %q", m.Subject, want)
	}
	if !strings.Contains(m.Body.Text, "POST https://api.test/connections/"+r.conn.ID+"/orders/7001/fix") {
		t.Errorf("text part lacks the action:\n%s", m.Body.Text)
	}
	if !strings.Contains(m.Body.HTML, "#1001&lt;script&gt;&#34;x&#34;&lt;/script&gt;") || strings.Contains(m.Body.HTML, "<script>") {
		t.Errorf("html part does not escape the order name:\n%s", m.Body.HTML)
	}
}

// TestAFloodBecomesADigest: with a threshold of 3, the first 3 failures
// of the hour are emailed one by one and the next ones wait for the hour's
// digest, which the sweep after the hour sends once, listing them all. A
// paused connection is always told at once and counts for nothing.
func TestAFloodBecomesADigest(t *testing.T) {
	ctx := t.Context()
	r := newRig(t, 3)
	for i := 1; i <= 7; i++ {
		if err := r.nf.Notify(ctx, r.notice(i, syncerr.ShippingDataMissing)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.nf.Notify(ctx, r.notice(99, syncerr.AuthExpired)); err != nil {
		t.Fatal(err)
	}
	if got := len(r.mails(t)); got != 4 {
		t.Fatalf("%d emails during the hour, want 3 orders and the pause", got)
	}
	// Within the hour, nothing is due: the hour is still filling.
	if sent, err := r.nf.SendDigests(ctx, r.store); err != nil || sent != 0 {
		t.Fatalf("SendDigests within the hour = %d, %v; want 0", sent, err)
	}
	r.clock.Set(time.Date(2026, 12, 2, 15, 20, 0, 0, time.UTC)) // the refresh, at :20
	if err := r.nf.Notify(ctx, r.notice(8, syncerr.ShippingDataMissing)); err != nil {
		t.Fatal(err) // a new hour: emailed one by one again
	}
	if sent, err := r.nf.SendDigests(ctx, r.store); err != nil || sent != 1 {
		t.Fatalf("SendDigests = %d, %v; want 1 digest", sent, err)
	}
	if sent, err := r.nf.SendDigests(ctx, r.store); err != nil || sent != 0 {
		t.Fatalf("SendDigests again = %d, %v; want none: the digest went", sent, err)
	}
	mails := r.mails(t)
	if len(mails) != 6 {
		t.Fatalf("%d emails, want 3 + pause + 1 of the new hour + 1 digest", len(mails))
	}
	var digest *localaws.Mail
	for i, m := range mails {
		if strings.Contains(m.Subject, "more orders failed") {
			if digest != nil {
				t.Fatalf("two digests: %q and %q", digest.Subject, m.Subject)
			}
			digest = &mails[i]
		}
	}
	if digest == nil {
		t.Fatalf("no digest among %d emails", len(mails))
	}
	if want := "[ordersync] 4 more orders failed on Back Market (2026-12-02 14:00 UTC)"; digest.Subject != want {
		t.Errorf("digest subject = %q, want %q", digest.Subject, want)
	}
	for i := 4; i <= 7; i++ {
		line := fmt.Sprintf("POST https://api.test/connections/%s/orders/%d/fix", r.conn.ID, 7000+i)
		for part, body := range map[string]string{"text": digest.Body.Text, "html": digest.Body.HTML} {
			if !strings.Contains(body, fmt.Sprintf("#%d", 1000+i)) || !strings.Contains(body, line) || !strings.Contains(body, "shipping_data_missing") {
				t.Errorf("digest's %s part lacks order #%d or its fix %q:\n%s", part, 1000+i, line, body)
			}
		}
	}
	for _, i := range []int{1, 3, 8, 99} {
		if strings.Contains(digest.Body.Text, fmt.Sprintf("#%d ", 1000+i)) {
			t.Errorf("digest lists order #%d, which had its own email:\n%s", 1000+i, digest.Body.Text)
		}
	}
	if !strings.Contains(digest.Body.Text, "GET https://api.test/connections/"+r.conn.ID+"/errors") {
		t.Errorf("digest lacks the errors list:\n%s", digest.Body.Text)
	}
}

// TestConcurrentFailuresAndSweepsSendEachEmailOnce: failures counted by
// concurrent workers each get their own number, so exactly the threshold
// is emailed one by one; concurrent sweeps send the hour's digest once.
func TestConcurrentFailuresAndSweepsSendEachEmailOnce(t *testing.T) {
	ctx := t.Context()
	r := newRig(t, 5)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 1; i <= 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.nf.Notify(ctx, r.notice(i, syncerr.InvalidTransition))
		}()
	}
	wg.Wait()
	if got := len(r.mails(t)); got != 5 {
		t.Fatalf("%d emails, want the threshold, 5", got)
	}
	r.clock.Set(time.Date(2026, 12, 2, 15, 20, 0, 0, time.UTC))
	var sent sync.Map
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := r.nf.SendDigests(ctx, r.store)
			sent.Store(i, n)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	sent.Range(func(_, v any) bool { total += v.(int); return true })
	if total != 1 {
		t.Errorf("%d digests sent by 4 concurrent sweeps, want 1", total)
	}
	mails := r.mails(t)
	if len(mails) != 6 {
		t.Fatalf("%d emails, want 5 + 1 digest", len(mails))
	}
	for _, m := range mails {
		if strings.Contains(m.Subject, "more orders failed") && strings.Count(m.Body.Text, "\n- Order ") != 15 {
			t.Errorf("digest lists %d orders, want 15:\n%s", strings.Count(m.Body.Text, "\n- Order "), m.Body.Text)
		}
	}
}

// A digest whose connection was deleted is dropped (marked sent), not
// tried every hour.
func TestTheDigestOfADeletedConnectionIsDropped(t *testing.T) {
	ctx := t.Context()
	r := newRig(t, 1)
	for i := 1; i <= 2; i++ {
		if err := r.nf.Notify(ctx, r.notice(i, syncerr.InvalidTransition)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.store.DeleteConnection(ctx, r.conn.ID); err != nil {
		t.Fatal(err)
	}
	r.clock.Set(time.Date(2026, 12, 2, 15, 20, 0, 0, time.UTC))
	for try := 1; try <= 2; try++ {
		if sent, err := r.nf.SendDigests(ctx, r.store); err != nil || sent != 0 {
			t.Errorf("sweep %d = %d, %v; want 0 sent, no error", try, sent, err)
		}
	}
	if got := len(r.mails(t)); got != 1 {
		t.Errorf("%d emails, want the first failure's alone", got)
	}
	due, err := r.store.Digests().Due(ctx, r.clock.Now().Add(-24*time.Hour), r.clock.Now())
	if err != nil || len(due) != 0 {
		t.Errorf("due = %v, %v; want none", due, err)
	}
}
