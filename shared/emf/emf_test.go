package emf_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/emf"
)

// TestALineIsReadAsCloudWatchReadsIt: a JSON log line with Attrs is an EMF
// document whose metrics carry their values, units and dimensions.
func TestALineIsReadAsCloudWatchReadsIt(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("sync failed", append([]any{"connection", "acme"},
		emf.Of(at, "sync", []emf.Dimension{{"error_code", "auth_expired"}}, emf.Count("failed", 1), emf.Metric{Name: "took_ms", Value: 12, Unit: "Milliseconds"})...)...)
	got, err := emf.Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]emf.Reading{
		"failed":  {Namespace: "ordersync", Value: 1, Unit: "Count", Dimensions: []string{"service=sync,error_code=auth_expired"}},
		"took_ms": {Namespace: "ordersync", Value: 12, Unit: "Milliseconds", Dimensions: []string{"service=sync,error_code=auth_expired"}},
	}
	if len(got) != len(want) {
		t.Fatalf("metrics %+v, want %+v", got, want)
	}
	for name, w := range want {
		g := got[name]
		if g.Namespace != w.Namespace || g.Value != w.Value || g.Unit != w.Unit || !slices.Equal(g.Dimensions, w.Dimensions) {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
	}
}

func TestReadRefusesWhatCloudWatchRefuses(t *testing.T) {
	tests := []struct {
		name, line string
		metrics    int
		err        bool
	}{
		{"no directive", `{"msg":"synced"}`, 0, false},
		{"a metric the line lacks", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"x"}]}]}}`, 0, true},
		{"a dimension the line lacks", `{"x":1,"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["service"]],"Metrics":[{"Name":"x"}]}]}}`, 0, true},
		{"no timestamp", `{"x":1,"_aws":{"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"x"}]}]}}`, 0, true},
		{"a document", `{"x":1,"service":"s","_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["service"]],"Metrics":[{"Name":"x"}]}]}}`, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := emf.Read([]byte(tt.line))
			if (err != nil) != tt.err || len(got) != tt.metrics {
				t.Errorf("Read = %v, %v; want %d metrics, error %v", got, err, tt.metrics, tt.err)
			}
		})
	}
}

// TestDirectiveIsTheMapsJSON: the _aws directive Attrs writes is the JSON
// encoding/json writes for the nested maps it stands for (as slog's JSON
// handler writes them, HTML not escaped), names that need escaping too.
func TestDirectiveIsTheMapsJSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 123e6, time.UTC)
	for _, tc := range []struct {
		name string
		dims []emf.Dimension
		ms   []emf.Metric
	}{
		{"one count, no dimension", nil, []emf.Metric{emf.Count("webhook_accepted", 1)}},
		{"dimensions and units", []emf.Dimension{{"service", "sync"}, {"error_code", "auth_expired"}},
			[]emf.Metric{emf.Count("failed", 1), {Name: "took_ms", Value: 12, Unit: "Milliseconds"}}},
		{"names to escape", []emf.Dimension{{"a\"b\\c<d>&", "v"}, {"é\n\u2028", "w"}},
			[]emf.Metric{{Name: "m\t<x>", Value: 2, Unit: "Cou\"nt"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := emf.Attrs(at, tc.dims, tc.ms...)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(kv[len(kv)-1]); err != nil {
				t.Fatal(err)
			}
			defs := make([]map[string]string, len(tc.ms))
			for i, m := range tc.ms {
				defs[i] = map[string]string{"Name": m.Name, "Unit": cmp.Or(m.Unit, "Count")}
			}
			names := make([]string, len(tc.dims))
			for i, d := range tc.dims {
				names[i] = d.Name
			}
			var want bytes.Buffer
			enc = json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(map[string]any{"Timestamp": at.UnixMilli(), "CloudWatchMetrics": []map[string]any{{
				"Namespace": emf.Namespace, "Dimensions": [][]string{names}, "Metrics": defs}}}); err != nil {
				t.Fatal(err)
			}
			if buf.String() != want.String() {
				t.Errorf("directive\n got %s\nwant %s", buf.Bytes(), want.Bytes())
			}
		})
	}
}

// TestLogAttrsIsOf: LogAttrs writes the line Of writes.
func TestLogAttrsIsOf(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	dims := []emf.Dimension{{"reason", "signature_invalid"}, {"a", "b"}, {"c", "d"}, {"e", "f"}}
	ms := []emf.Metric{emf.Count("webhook_rejected", 1), {Name: "took_ms", Value: 3, Unit: "Milliseconds"}}
	var of, attrs bytes.Buffer
	slog.New(slog.NewJSONHandler(&of, nil)).Info("m", emf.Of(at, "webhook", dims, ms...)...)
	slog.New(slog.NewJSONHandler(&attrs, nil)).LogAttrs(context.Background(), slog.LevelInfo, "m", emf.LogAttrs(at, "webhook", dims, ms...)...)
	strip := func(b *bytes.Buffer) string { _, rest, _ := strings.Cut(b.String(), `"level"`); return rest } // the time differs
	if strip(&attrs) != strip(&of) {
		t.Errorf("LogAttrs line\n%s\nOf line\n%s", attrs.String(), of.String())
	}
}
