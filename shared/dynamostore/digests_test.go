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

	due := func(after int) []time.Time {
		t.Helper()
		hours, err := d.Due(ctx, "acme", h14.Add(-24*time.Hour), h14.Add(time.Hour), after)
		if err != nil {
			t.Fatal(err)
		}
		return hours
	}
	tests := []struct {
		name  string
		after int
		want  []time.Time
	}{
		{"past the threshold, before the current hour", 0, []time.Time{h14.Add(-2 * time.Hour), h14}},
		{"only the hour past 2", 2, []time.Time{h14}},
		{"none past 3", 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := due(tt.after)
			if len(got) != len(tt.want) {
				t.Fatalf("due = %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("due[%d] = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
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
	if got := due(2); len(got) != 0 {
		t.Errorf("a claimed digest is due: %v", got)
	}
	clock.Advance(11 * time.Minute)
	if got := due(2); len(got) != 1 {
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
	if got := due(2); len(got) != 0 {
		t.Errorf("a sent digest is due: %v", got)
	}
	if ok, err := d.Claim(ctx, "nobody", h14, time.Minute); err != nil || ok {
		t.Errorf("Claim of an hour with no count = %v, %v; want false", ok, err)
	}
}
