package refreshbatch

import (
	"context"
	"time"

	"github.com/ordersync/ordersync/shared/emf"
	"github.com/ordersync/ordersync/shared/refresh"
)

// Namespace is the CloudWatch namespace of the refresh's metrics.
const Namespace = emf.Namespace

// metric is one count of an Embedded Metric Format document.
type metric struct {
	name  string
	value int64
	unit  string // "Count" when empty
}

// emf returns the slog attributes that make a JSON log line a CloudWatch
// Embedded Metric Format document (shared/emf), under the one dimension
// of the service.
func (h *Handler) emf(ms ...metric) []any {
	out := make([]emf.Metric, len(ms))
	for i, m := range ms {
		out[i] = emf.Metric{Name: m.name, Value: m.value, Unit: m.unit}
	}
	return emf.Of(h.cfg.Now(), h.cfg.Service, nil, out...)
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
