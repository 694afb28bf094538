package soak

import (
	"context"
	"testing"
)

// TestShortSoak is the short run `make test` includes: 2,000 events under
// the default faults, the DLQ redriven to its source once they drained. `make soak` runs the long one.
func TestShortSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak: skipped with -short")
	}
	rep, err := Run(context.Background(), Config{Events: 2000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.String())
	if !rep.OK() {
		t.Errorf("promises broken:\n%s", rep)
	}
	if rep.Applied == 0 || rep.FailedWithReason == 0 {
		t.Errorf("applied %d, failed with a reason %d: the soak's scripts should give both", rep.Applied, rep.FailedWithReason)
	}
	// Failures sat in the DLQ until redriven, and their redrive is counted.
	if rep.Redriven == 0 || rep.RedrivenCounted == 0 {
		t.Errorf("redriven %d, counted %d: want the DLQ's failures redriven and counted", rep.Redriven, rep.RedrivenCounted)
	}
	if len(rep.Faults) < 8 {
		t.Errorf("only %d kinds of fault were injected: %v", len(rep.Faults), rep.Faults)
	}
}
