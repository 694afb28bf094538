// Package emf writes CloudWatch Embedded Metric Format documents as the
// attributes of a JSON log line: CloudWatch Logs turns such a line into
// metrics as it ingests it, with no PutMetricData call and no agent
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
// The sync, the webhook, the merchant API and the refresh log their counts
// this way; the README lists every metric and its dimensions.
package emf

import (
	"cmp"
	"log/slog"
	"time"
)

// Namespace is the CloudWatch namespace of ordersync's metrics.
const Namespace = "ordersync"

// Service is the dimension every metric has: the function that counted it,
// never the connection (ten thousand connections would be ten thousand
// metrics).
const Service = "service"

// Metric is one value of a document.
type Metric struct {
	Name  string
	Value int64
	Unit  string // "Count" when empty
}

// Count is a Metric counting n things.
func Count(name string, n int64) Metric { return Metric{Name: name, Value: n} }

// Dimension is one dimension of a document's metrics: its name and value.
type Dimension struct{ Name, Value string }

// Attrs returns the slog key-value pairs that make a JSON log line an EMF
// document timestamped at: each metric's value and each dimension's value
// as a top-level field, and the _aws directive declaring the metrics under
// the one set of dims. The caller's other attributes must not reuse these
// names (a JSON line with a key twice is ambiguous).
func Attrs(at time.Time, dims []Dimension, ms ...Metric) []any {
	defs := make([]map[string]string, len(ms))
	names := make([]string, len(dims))
	out := make([]any, 0, 2*(len(ms)+len(dims))+2)
	for i, m := range ms {
		defs[i] = map[string]string{"Name": m.Name, "Unit": cmp.Or(m.Unit, "Count")}
		out = append(out, m.Name, m.Value)
	}
	for i, d := range dims {
		names[i] = d.Name
		out = append(out, d.Name, d.Value)
	}
	return append(out, "_aws", map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  Namespace,
			"Dimensions": [][]string{names},
			"Metrics":    defs,
		}},
	})
}

// Of is Attrs with the service dimension first, then dims.
func Of(at time.Time, service string, dims []Dimension, ms ...Metric) []any {
	return Attrs(at, append([]Dimension{{Service, service}}, dims...), ms...)
}

// LogAttrs is Of as slog.Attrs, for Logger.LogAttrs.
func LogAttrs(at time.Time, service string, dims []Dimension, ms ...Metric) []slog.Attr {
	kv := Of(at, service, dims, ms...)
	out := make([]slog.Attr, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, slog.Any(kv[i].(string), kv[i+1]))
	}
	return out
}
