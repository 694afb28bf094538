package merchantapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/merchantapi"
)

// FuzzOrdersQuery sends any listing parameters to GET orders: the answer
// is 200 or 400 invalid_parameter, never another; a 200 lists only orders
// of the state asked, at most limit of them.
func FuzzOrdersQuery(f *testing.F) {
	for _, s := range [][5]string{{"failed", "", "", "", ""}, {"failed", "shipping_data_missing", "2026-11-01", "2026-12-01", "5"},
		{"synced", "", "", "", "100"}, {"", "", "", "", ""}, {"failed", "x", "", "", ""}, {"failed", "", "2026-11-22T09:00:00Z", "", ""},
		{"failed", "", "", "", "MjAyNi0xMS0yMlQxMDowMDowMC4wMDAwMDAwMDBaIzI2MTY3NQ"}, {"held", "", "bad", "", "!!"}} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, state, code, since, cursor, limit string) {
		q := map[string]string{"state": state, "since": since, "cursor": cursor, "limit": limit}
		if code != "" {
			q["code"] = code
		}
		resp, _ := a.call(t, "GET", merchantapi.RouteOrders, map[string]string{}, q, "", false)
		switch resp.StatusCode {
		case 400:
			if !strings.Contains(resp.Body, `"invalid_parameter"`) {
				t.Fatalf("%v: %s, want invalid_parameter", q, resp.Body)
			}
			return
		case 200:
		default:
			t.Fatalf("%v: %d %s, want 200 or 400", q, resp.StatusCode, resp.Body)
		}
		var got struct {
			Limit  int `json:"limit"`
			Orders []struct {
				State string `json:"state"`
			} `json:"orders"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || len(got.Orders) > got.Limit {
			t.Fatalf("%v: %s", q, resp.Body)
		}
		for _, o := range got.Orders {
			if o.State != state {
				t.Fatalf("%v: listed an order %s", q, o.State)
			}
		}
	})
}

// FuzzJobBody sends any body to POST jobs: the answer is 202 with an
// accepted job, or 400/413 with no job stored.
func FuzzJobBody(f *testing.F) {
	for _, s := range []string{`{"ids":["261673"]}`, `{"filter":{"state":"failed"}}`, `{"filter":{"state":"failed","code":"shipping_data_missing","since":"2026-11-01"}}`,
		`{"ids":[]}`, `{}`, `{"filter":{},"ids":["1"]}`, `{"ids":["a#b"]}`, `{"filter":{"state":"failed","x":1}}`, "\xff", "", `null`, `{"ids":null}`} {
		f.Add([]byte(s))
	}
	a := newFuzzAPI(f)
	jobs := &jobQueue{}
	a.h = a.h.WithJobs(jobs)
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, _ := a.call(t, "POST", merchantapi.RouteJobs, map[string]string{}, nil, string(body), false)
		sent := len(jobs.take().Records)
		switch resp.StatusCode {
		case 202:
			var got struct {
				Job merchantapi.Job `json:"job"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || got.Job.Status != merchantapi.JobAccepted || sent != 1 {
				t.Fatalf("%q: %s (%d sent), want an accepted job sent to the worker", body, resp.Body, sent)
			}
			if got.Job.Filter == nil && (got.Job.Orders < 1 || got.Job.Orders > merchantapi.MaxJobOrders) {
				t.Fatalf("%q: a job of %d ids", body, got.Job.Orders)
			}
		case 400, 413:
			if sent != 0 {
				t.Fatalf("%q: %d, yet sent to the worker", body, resp.StatusCode)
			}
		default:
			t.Fatalf("%q: %d %s", body, resp.StatusCode, resp.Body)
		}
	})
}
