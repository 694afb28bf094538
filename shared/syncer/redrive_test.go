package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/syncer"
)

// TestARedriveIsKnownByTheOrdersRecord: a queue's redrive keeps nothing
// of why a message was dead-lettered (the console's redrive sends it as a
// new message, its receive count starting over), so the sync knows a
// redrive by the order: its timeline records the event failed for good.
// The same event on a first receive is a redrive of it; on a later
// receive, the same message again; another event, not a redrive.
func TestARedriveIsKnownByTheOrdersRecord(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := e.syncer(syncer.Config{})
	mk, store := e.order()
	ev := shipped(mk, store, "", time.Now())
	if out := s.Sync(ctx, syncer.Delivery{Event: ev, Attempt: 1}); out.Verdict != syncer.DeadLetter || out.RedrivenFor != "" {
		t.Fatalf("first delivery: %+v, want dead-lettered, not a redrive", out)
	}
	for _, tc := range []struct {
		name    string
		attempt int
		eventID string
		want    string
	}{
		{"the same message received again", 2, ev.SourceEventID, ""},
		{"the event redriven: a new message", 1, ev.SourceEventID, "shipping_data_missing"},
		{"another event of the order", 1, "evt-other", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ev
			d.SourceEventID = tc.eventID
			if out := s.Sync(ctx, syncer.Delivery{Event: d, Attempt: tc.attempt}); out.RedrivenFor != tc.want {
				t.Errorf("RedrivenFor = %q, want %q (outcome %+v)", out.RedrivenFor, tc.want, out)
			}
		})
	}
}
