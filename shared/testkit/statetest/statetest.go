// Package statetest checks a platform's state map against what every state
// map promises (see rules.UnknownState): a lifecycle status and no error,
// or StatusUnknown and an invalid_data error naming the field at fault.
// Each vendor package's tests use it on its own tables.
package statetest

import (
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// CheckErr fails t unless err has wantCode and carries every detail in
// details (wantCode "" means err must be nil).
func CheckErr(t testing.TB, err error, wantCode syncerr.Code, details map[string]string) {
	t.Helper()
	if wantCode == "" {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	e, ok := syncerr.As(err)
	if !ok {
		t.Fatalf("err = %v, want a *syncerr.Error with code %s", err, wantCode)
	}
	if e.Code != wantCode {
		t.Fatalf("code = %s, want %s (err %v)", e.Code, wantCode, err)
	}
	for k, want := range details {
		if got := e.Details[k]; got != want {
			t.Errorf("detail %q = %q, want %q (err %v)", k, got, want, err)
		}
	}
}

// Mapped fails t unless s and err are what a state map may return: a
// lifecycle status and no error, or StatusUnknown and invalid_data. Fuzz
// targets call it on whatever their input maps to.
func Mapped(t testing.TB, s order.Status, err error) {
	t.Helper()
	switch {
	case err == nil && !rules.Known(s):
		t.Fatalf("status %q with no error", s)
	case err != nil && s != order.StatusUnknown:
		t.Fatalf("status %q with error %v", s, err)
	case err != nil && syncerr.CodeOf(err) != syncerr.InvalidData:
		t.Fatalf("code = %s, want invalid_data", syncerr.CodeOf(err))
	}
}

// InLifecycle guards a state table against a typo: it fails t for every
// entry whose status is not a lifecycle status.
func InLifecycle[K comparable](t testing.TB, table map[K]order.Status) {
	t.Helper()
	for k, s := range table {
		if !rules.Known(s) {
			t.Errorf("%v maps to %q, not a lifecycle status", k, s)
		}
	}
}
