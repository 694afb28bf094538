package refreshbatch

import (
	"cmp"
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/refresh"
)

// Namespace is the CloudWatch namespace of the refresh's metrics.
const Namespace = "ordersync"

// dimension is the one dimension of every metric: the service, not the
// connection (ten thousand connections would be ten thousand metrics).
const dimension = "service"

// metric is one count of an Embedded Metric Format document.
type metric struct {
	name  string
	value int64
	unit  string // "Count" when empty
}

// emf returns the slog attributes that make a JSON log line a CloudWatch
// Embedded Metric Format document: each metric's value as a top-level
// field, the dimension's value, and the _aws directive naming them, so
// CloudWatch Logs turns the line into metrics with no API call.
func (h *Handler) emf(ms ...metric) []any {
	defs := make([]map[string]string, len(ms))
	out := make([]any, 0, 2*len(ms)+4)
	for i, m := range ms {
		defs[i] = map[string]string{"Name": m.name, "Unit": cmp.Or(m.unit, "Count")}
		out = append(out, m.name, m.value)
	}
	return append(out, dimension, h.cfg.Service, "_aws", map[string]any{
		"Timestamp": h.cfg.Now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{dimension}},
			"Metrics":    defs,
		}},
	})
}

// logReport logs a job's report as one line: what the refresh found, in
// counts (the ids stay in the stored report), each a metric too.
func (h *Handler) logReport(ctx context.Context, job refresh.Job, r refresh.Report, took time.Duration) {
	b := func(v bool) int64 {
		if v {
			return 1
		}
		return 0
	}
	ms := []metric{
		{"jobs_refreshed", 1, ""},
		{"refresh_ms", took.Milliseconds(), "Milliseconds"},
		{"paused", b(r.Paused), ""},
		{"resumed", b(r.Resumed), ""},
		{"marketplace_listed", int64(r.MarketplaceListed), ""},
		{"store_listed", int64(r.StoreListed), ""},
		{"in_sync", int64(r.InSync.Count), ""},
		{"behind", int64(r.Behind.Count), ""},
		{"changed_by_hand", int64(r.ChangedByHand.Count), ""},
		{"recovered", int64(r.Recovered.Count), ""},
		{"imports", int64(r.Imports.Count), ""},
		{"retried", int64(r.Retried.Count), ""},
		{"resolved", int64(r.Resolved.Count), ""},
		{"still_failing", int64(r.StillFailing.Count), ""},
		{"edits_applied", int64(r.EditsApplied.Count), ""},
		{"edits_refused", int64(r.EditsRefused.Count), ""},
		{"requeued", int64(r.Requeued), ""},
		{"gave_up", int64(r.GaveUp), ""},
	}
	h.log.InfoContext(ctx, "refreshed", append([]any{"connection", job.Connection, "at", job.At}, h.emf(ms...)...)...)
}
