package dynamostore_test

import (
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localstack/stacktest"
	"github.com/ordersync/ordersync/shared/dynamostore"
	"github.com/ordersync/ordersync/shared/notify"
	"github.com/ordersync/ordersync/shared/testkit/storetest"
)

// TestDigests runs the digest items on DynamoDB Local: counts per
// connection and hour, which hours are due, and a claim that holds for its
// lease and never after the digest is sent. (shared/notify tests the
// digest end to end, with concurrent workers and sweeps.)
func TestDigests(t *testing.T) {
	ctx := t.Context()
	st := stacktest.New(t, nil)
	clock := &storetest.Clock{}
	h14 := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	clock.Set(h14.Add(80 * time.Minute))
	d := dynamostore.New(stacktest.Clients().DynamoDB, st.Ref("Table")).WithClock(clock.Now).Digests()

	count := func(conn string, hour time.Time) int {
		t.Helper()
		n, err := d.Count(ctx, conn, hour)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := 1; i <= 3; i++ {
		if got := count("acme", h14); got != i {
			t.Errorf("count %d = %d, want %d", i, got, i)
		}
	}
	if got := count("acme", h14.Add(time.Hour)); got != 1 {
		t.Errorf("a new hour counts from %d, want 1", got)
	}
	if got := count("other", h14); got != 1 {
		t.Errorf("another connection counts from %d, want 1", got)
	}
	_ = count("acme", h14.Add(-2*time.Hour))
	for n, name := range map[int]string{3: "#3", 2: "#2"} {
		if err := d.Hold(ctx, "acme", h14, n, notify.DigestEntry{OrderName: name, Code: "sku_not_found"}); err != nil {
			t.Fatal(err)
		}
	}

	due := func() []notify.DueDigest {
		t.Helper()
		got, err := d.Due(ctx, h14.Add(-24*time.Hour), h14.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// Only hours that hold failures are due: acme's 14:00 (not its 12:00
	// nor its 15:00, the current hour), and other's once it holds one.
	if got := due(); len(got) != 1 || got[0] != (notify.DueDigest{Connection: "acme", Hour: h14}) {
		t.Errorf("due = %v, want acme at 14:00", got)
	}
	if err := d.Hold(ctx, "other", h14, 1, notify.DigestEntry{OrderName: "#9"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Hold(ctx, "acme", h14.Add(time.Hour), 1, notify.DigestEntry{OrderName: "#9"}); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 2 || got[0].Connection != "acme" || got[1].Connection != "other" {
		t.Errorf("due = %v, want acme and other at 14:00", got)
	}

	held, err := d.Held(ctx, "acme", h14)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 2 || held[0].OrderName != "#2" || held[1].OrderName != "#3" {
		t.Errorf("held = %+v, want #2 then #3", held)
	}

	claim := func() bool {
		t.Helper()
		ok, err := d.Claim(ctx, "acme", h14, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim() {
		t.Fatal("first claim refused")
	}
	if claim() {
		t.Error("a second claim within the lease was granted")
	}
	if got := due(); len(got) != 1 || got[0].Connection != "other" {
		t.Errorf("due = %v, want other alone: acme's is claimed", got)
	}
	clock.Advance(11 * time.Minute)
	if got := due(); len(got) != 2 {
		t.Errorf("a digest whose claim expired is not due: %v", got)
	}
	if !claim() {
		t.Error("a claim past the lease was refused")
	}
	if err := d.MarkSent(ctx, "acme", h14); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if claim() {
		t.Error("a sent digest was claimed again")
	}
	if got := due(); len(got) != 1 || got[0].Connection != "other" {
		t.Errorf("due = %v, want other alone: acme's was sent", got)
	}
	if ok, err := d.Claim(ctx, "nobody", h14, time.Minute); err != nil || ok {
		t.Errorf("Claim of an hour with no count = %v, %v; want false", ok, err)
	}
}
