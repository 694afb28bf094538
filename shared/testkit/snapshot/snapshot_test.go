package snapshot_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ordersync/ordersync/shared/testkit/snapshot"
)

func TestWriteThenRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox", "state.json")
	var got map[string]int
	if ok, err := snapshot.Read(path, &got); ok || err != nil {
		t.Fatalf("Read before any Write = %v, %v; want false, nil", ok, err)
	}
	if err := snapshot.Write(path, map[string]int{"next": 5001}); err != nil {
		t.Fatal(err)
	}
	if ok, err := snapshot.Read(path, &got); !ok || err != nil || got["next"] != 5001 {
		t.Fatalf("Read = %v, %v, %v; want the written state", got, ok, err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left behind: %v", err)
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Read(path, &got); err == nil {
		t.Error("Read of a corrupt file: want an error")
	}
}
