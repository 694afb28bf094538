// Package emf writes CloudWatch Embedded Metric Format documents as the
// attributes of a JSON log line: CloudWatch Logs turns such a line into
// metrics as it ingests it, with no PutMetricData call and no agent
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
// The sync, the webhook, the merchant API and the refresh log their counts
// this way; the README lists every metric and its dimensions.
package emf

import (
	"bytes"
	"cmp"
	"encoding/json"
	"log/slog"
	"strconv"
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
	out := make([]any, 0, 2*(len(ms)+len(dims))+2)
	for _, m := range ms {
		out = append(out, m.Name, m.Value)
	}
	for _, d := range dims {
		out = append(out, d.Name, d.Value)
	}
	return append(out, "_aws", newDirective(at, dims, ms))
}

// Directive is the _aws member of a document, already JSON: written
// straight into the log line, with no reflection over maps per line. Its
// JSON is what encoding/json writes for the same nested maps (keys
// sorted, HTML not escaped, as slog's JSON handler writes).
type Directive struct{ json []byte }

// MarshalJSON implements json.Marshaler.
func (d Directive) MarshalJSON() ([]byte, error) { return d.json, nil }

// String is the directive's JSON, for handlers that print values with fmt.
func (d Directive) String() string { return string(d.json) }

func newDirective(at time.Time, dims []Dimension, ms []Metric) Directive {
	n := 96 + len(Namespace)
	for _, m := range ms {
		n += len(m.Name) + len(m.Unit) + 32
	}
	for _, d := range dims {
		n += len(d.Name) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, `{"CloudWatchMetrics":[{"Dimensions":[[`...)
	for i, d := range dims {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, d.Name)
	}
	b = append(b, `]],"Metrics":[`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Name":`...)
		b = appendString(b, m.Name)
		b = append(b, `,"Unit":`...)
		b = appendString(b, cmp.Or(m.Unit, "Count"))
		b = append(b, '}')
	}
	b = append(b, `],"Namespace":`...)
	b = appendString(b, Namespace)
	b = append(b, `}],"Timestamp":`...)
	b = strconv.AppendInt(b, at.UnixMilli(), 10)
	return Directive{json: append(b, '}')}
}

// appendString appends s as a JSON string, as encoding/json writes it
// with HTML escaping off: names are plain ASCII, written as they are;
// anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// Of is Attrs with the service dimension first, then dims.
func Of(at time.Time, service string, dims []Dimension, ms ...Metric) []any {
	return Attrs(at, append([]Dimension{{Service, service}}, dims...), ms...)
}

// LogAttrs is Of as slog.Attrs, for Logger.LogAttrs: the same attributes,
// built straight into Attrs (no []any of boxed values in between).
func LogAttrs(at time.Time, service string, dims []Dimension, ms ...Metric) []slog.Attr {
	var buf [4]Dimension
	all := append(append(buf[:0], Dimension{Service, service}), dims...)
	out := make([]slog.Attr, 0, len(ms)+len(all)+1)
	for _, m := range ms {
		out = append(out, slog.Int64(m.Name, m.Value))
	}
	for _, d := range all {
		out = append(out, slog.String(d.Name, d.Value))
	}
	return append(out, slog.Any("_aws", newDirective(at, all, ms)))
}
