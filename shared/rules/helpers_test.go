package rules

import (
	"testing"

	"github.com/ordersync/ordersync/shared/syncerr"
)

// checkErr fails t unless err has code and carries every detail in details
// (wantCode "" means err must be nil).
func checkErr(t *testing.T, err error, wantCode syncerr.Code, details map[string]string) {
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
