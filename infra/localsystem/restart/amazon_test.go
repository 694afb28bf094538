package restart_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/order"
)

// TestTheAmazonDemoWorksTheSecondTime: started again on the same data
// folder, on another sandbox port, the Amazon demo still imports (its
// credential's token endpoint follows the sandbox; its app and refresh
// token are kept), and the Amazon sandbox remembers the order the first run
// imported, which the second run imports no second time.
func TestTheAmazonDemoWorksTheSecondTime(t *testing.T) {
	dir := t.TempDir()
	s, _ := startOn(t, dir, "")
	first := s.AmazonSandbox.Create("PIXEL7-128").AmazonOrderID
	st := waitImported(t, s, first)
	s.Stop()

	s, _ = startOn(t, dir, "")
	defer s.Stop()
	if _, ok := s.AmazonSandbox.Order(first); !ok {
		t.Fatalf("Amazon sandbox forgot order %s after the restart", first)
	}
	second := s.AmazonSandbox.Create("GALAXY-S21").AmazonOrderID
	if second == first {
		t.Fatalf("the second run's order took the first's id, %s", first)
	}
	waitImported(t, s, second)
	var linked []string
	for _, o := range s.SandboxStore.Orders() {
		if o.SourceIdentifier == first {
			linked = append(linked, o.ID)
		}
	}
	if len(linked) != 1 || linked[0] != st.Ref.StoreOrderID {
		t.Errorf("store orders for %s = %v, want only the first run's, %s", first, linked, st.Ref.StoreOrderID)
	}
}

// waitImported runs the hourly refresh on s and waits for Amazon order mk
// to be imported into the sandbox store.
func waitImported(t *testing.T, s *localsystem.System, mk string) order.State {
	t.Helper()
	resp, err := http.Post(s.APIURL+"/_local/schedules/Hourly", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var st order.State
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		st, err = s.Store.LoadOrder(context.Background(), localsystem.DemoAmazonConnection, mk)
		if err == nil && st.Ref.StoreOrderID != "" && st.Sync.Result == order.SyncSynced {
			return st
		}
	}
	t.Fatalf("Amazon order %s: never imported; last state %+v", mk, st)
	return st
}
