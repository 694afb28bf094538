package localsystem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/infra/localsystem"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
)

// TestBulkResyncJob is the merchant's path after an outage that left
// several orders failed: the merchant lists them by state, finds one by
// its store order name, re-syncs them all with one job by filter, and the
// job's results show them synced. The job runs through the template's
// JobFunction, off the API's request.
func TestBulkResyncJob(t *testing.T) {
	start := time.Now().UTC().Add(-time.Second)
	sys.Sandbox.SetFault(backmarkettest.Fault{Status: 503, Methods: "POST"})
	t.Cleanup(sys.Sandbox.ClearFaults)
	orders := []localsystem.DemoOrder{newOrder(t), newOrder(t), newOrder(t)}
	var ids []string
	for _, o := range orders {
		post(t, localsystem.FulfilledOrder(o, localsystem.Tracking{Number: "6A1234567890" + fmt.Sprint(o.MarketplaceID%10), Carrier: "Colissimo"}, time.Now()))
		ids = append(ids, fmt.Sprint(o.MarketplaceID))
	}
	for _, o := range orders {
		if st := waitSync(t, o, order.SyncFailed); st.Sync.ErrorCode != "marketplace_unavailable" {
			t.Fatalf("order %s: sync = %+v, want failed with marketplace_unavailable", o.Name, st.Sync)
		}
	}
	sys.Sandbox.ClearFaults() // the marketplace is back

	// Listed as requires_sync: transient failures whose tries ran out.
	since := url.QueryEscape(start.Format(time.RFC3339Nano))
	var listed struct {
		Orders []struct {
			Order order.Ref `json:"order"`
			State string    `json:"state"`
		} `json:"orders"`
	}
	call(t, http.MethodGet, "/orders?state=requires_sync&code=marketplace_unavailable&since="+since, nil, http.StatusOK, &listed)
	var got []string
	for _, o := range listed.Orders {
		got = append(got, o.Order.MarketplaceOrderID)
	}
	for _, id := range ids {
		if !slices.Contains(got, id) {
			t.Errorf("requires_sync lists %v, want %s among them", got, id)
		}
	}
	call(t, http.MethodGet, "/orders?store_order_name="+url.QueryEscape(orders[1].Name), nil, http.StatusOK, &listed)
	if len(listed.Orders) != 1 || listed.Orders[0].Order.MarketplaceOrderID != ids[1] {
		t.Errorf("find by name %s = %+v, want order %s", orders[1].Name, listed.Orders, ids[1])
	}

	var created struct {
		Job struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"job"`
	}
	body := fmt.Appendf(nil, `{"filter": {"state": "requires_sync", "code": "marketplace_unavailable", "since": %q}}`, start.Format(time.RFC3339Nano))
	call(t, http.MethodPost, "/jobs", body, http.StatusAccepted, &created)
	if created.Job.ID == "" || created.Job.Status != "accepted" {
		t.Fatalf("job = %+v, want an accepted job", created.Job)
	}

	type result struct {
		ID     string `json:"marketplace_order_id"`
		Result string `json:"result"`
		Code   string `json:"code"`
	}
	var shown struct {
		Job struct {
			Status  string   `json:"status"`
			Queued  int      `json:"queued"`
			Results []result `json:"results"`
		} `json:"job"`
	}
	deadline := time.Now().Add(45 * time.Second)
	synced := map[string]bool{}
	for time.Now().Before(deadline) && len(synced) < len(ids) {
		time.Sleep(300 * time.Millisecond)
		call(t, http.MethodGet, "/jobs/"+created.Job.ID, nil, http.StatusOK, &shown)
		for _, r := range shown.Job.Results {
			if r.Result == "synced" {
				synced[r.ID] = true
			}
		}
	}
	for _, id := range ids {
		if !synced[id] {
			t.Errorf("order %s never synced in the job's results: %+v", id, shown.Job)
		}
	}
	if shown.Job.Status != "done" || shown.Job.Queued < len(ids) {
		t.Errorf("job = %+v, want done (every order synced) with at least %d orders", shown.Job, len(ids))
	}
	for _, o := range orders {
		if st := waitSync(t, o, order.SyncSynced); st.MarketplaceStatus != order.StatusShipped {
			t.Errorf("order %s: marketplace status %q, want shipped", o.Name, st.MarketplaceStatus)
		}
	}

	var jobs struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	call(t, http.MethodGet, "/jobs", nil, http.StatusOK, &jobs)
	if len(jobs.Jobs) == 0 || jobs.Jobs[0].ID != created.Job.ID {
		t.Errorf("GET jobs = %+v, want the job first", jobs.Jobs)
	}
	var problem struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	call(t, http.MethodGet, "/jobs/20200101T000000.000Z-000000", nil, http.StatusNotFound, &problem)
	if problem.Error.Code != "job_not_found" {
		t.Errorf("unknown job: %+v, want job_not_found", problem)
	}
}

// call sends a merchant API request for the demo connection and decodes
// its answer into out, failing unless its status is want.
func call(t *testing.T, method, path string, body []byte, want int, out any) {
	t.Helper()
	status, b, err := sys.CallAPI(context.Background(), method, path, body)
	if err != nil || status != want {
		t.Fatalf("%s %s = %d %s, %v; want %d", method, path, status, b, err, want)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %s: %v", method, path, b, err)
	}
}
