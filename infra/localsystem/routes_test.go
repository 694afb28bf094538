package localsystem_test

import (
	"slices"
	"testing"

	"github.com/ordersync/ordersync/shared/merchantapi"
)

// TestTemplateRoutes holds template.yaml's ApiFunction to the routes the
// handler serves, each with any method (the handler answers 405 itself).
// (It lived in merchantapi's tests, which no longer start the emulators.)
func TestTemplateRoutes(t *testing.T) {
	st := sys.Stack
	fns, err := st.Functions()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		if f.LogicalID != "ApiFunction" {
			continue
		}
		var got []string
		for _, r := range f.Routes {
			if r.Method != "ANY" {
				t.Errorf("route %s: method %s, want ANY", r.Path, r.Method)
			}
			got = append(got, r.Path)
		}
		want := merchantapi.Routes()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("template routes %v, want %v", got, want)
		}
		if f.Env["SYNC_QUEUE_URL"] != st.Ref("SyncQueue") || f.Env["TABLE_NAME"] != st.Ref("Table") || f.Env["SECRETS_PREFIX"] == "" {
			t.Errorf("env = %v, want SYNC_QUEUE_URL, TABLE_NAME and SECRETS_PREFIX", f.Env)
		}
		return
	}
	t.Fatal("template.yaml has no ApiFunction")
}
