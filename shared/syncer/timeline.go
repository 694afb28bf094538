package syncer

import (
	"errors"
	"fmt"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/rules"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// The timeline (order.State.Timeline) is written by the state writes the
// sync already makes: a job notes what it does (the calls it makes) as it
// goes, and the next write of the order's state carries the notes, behind
// the event's received entry: saveOutcome's, which also carries the
// event's change (applyLater), or applyEvent's where that change is
// written alone first.
// Nothing is written for the timeline alone.

// note keeps an entry for the next write of the order's state.
func (j *job) note(e order.TimelineEntry) {
	if e.At.IsZero() {
		e.At = j.p.cfg.Now()
	}
	j.pending = append(j.pending, e)
}

// stamp adds to st, about to be written, the event's received entry (once
// per event: a redelivery is not received again; quiet, it says the event
// changed nothing), the noted entries and then more.
func (j *job) stamp(st *order.State, quiet bool, more ...order.TimelineEntry) {
	var add []order.TimelineEntry
	if e := j.event; !j.received && (j.attempts == 1 || !st.HasReceived(e.SourceEventID)) {
		r := order.TimelineEntry{At: j.started, Kind: order.TimelineReceived, Source: e.Source,
			Topic: receivedTopic(e), EventID: e.SourceEventID}
		if quiet {
			r.Detail = "nothing to change"
		}
		add = append(add, r)
	}
	add = append(add, j.pending...)
	add = append(add, more...)
	st.AddTimeline(add...)
}

// written forgets the notes once a write carried them (and the received
// entry with them).
func (j *job) written() { j.pending, j.received = nil, true }

// receivedTopic names what brought an event: the webhook's topic, the
// refresh's or the merchant API's own, or the intent when none is given.
func receivedTopic(e order.Event) string {
	if e.Topic != "" {
		return e.Topic
	}
	if e.Intent == order.IntentImport {
		return "import"
	}
	return ""
}

// outcomeEntries are the entries of how a sync ended: out, and, for an
// order synced after a failure, the failure it resolved. An event that
// changed nothing (no write of its own yet, no call, a synced order left
// synced) is quiet: no entry, its received entry says so (stores resend
// unchanged orders often, and the timeline is bounded).
func (j *job) outcomeEntries(out order.SyncOutcome, resolved *order.Resolution, was order.SyncResult) (entries []order.TimelineEntry, quiet bool) {
	e := order.TimelineEntry{At: out.At, Code: out.ErrorCode}
	switch out.Result {
	case order.SyncSynced:
		e.Kind = order.TimelineSynced
		if resolved != nil {
			r := order.TimelineEntry{At: out.At, Kind: order.TimelineResolved, Code: resolved.Code, Topic: resolved.How}
			return []order.TimelineEntry{r, e}, false
		}
		if was == order.SyncSynced && !j.received && !j.changed && !j.called() {
			return nil, true
		}
	case order.SyncPending:
		e.Kind = order.TimelineRetried
		e.Detail = fmt.Sprintf("try %d of %d failed; next try in %s", out.Attempts, j.p.cfg.MaxAttempts, j.retryIn)
	default:
		e.Kind = order.TimelineFailed
		e.EventID = j.event.SourceEventID
		e.Facts = j.facts
		e.Detail = fmt.Sprintf("%s after %d tries", out.Result, out.Attempts)
		if out.Attempts == 1 {
			e.Detail = fmt.Sprintf("%s after 1 try", out.Result)
		}
	}
	return []order.TimelineEntry{e}, false
}

// called reports whether the notes hold a call.
func (j *job) called() bool {
	for _, e := range j.pending {
		if e.Kind == order.TimelineCall {
			return true
		}
	}
	return false
}

// httpStatuser is an error that knows the HTTP status a platform answered
// (shared/httpclient's).
type httpStatuser interface{ HTTPStatus() int }

// noteCall notes one call made to platform for step, and its answer: err,
// nil when the platform said yes; how, when set, says how it ended in
// other words (made before, seen made after a lost answer).
func (j *job) noteCall(platform order.Platform, step rules.Action, err error, how string) {
	e := order.TimelineEntry{Kind: order.TimelineCall, Source: platform, Step: string(step), Detail: how}
	if err != nil {
		e.Code = string(syncerr.CodeOf(err))
	}
	if e.Detail == "" {
		e.Detail = answer(err)
	}
	j.note(e)
}

// answer says in a few words how a call ended.
func answer(err error) string {
	if err == nil {
		return "ok"
	}
	var hs httpStatuser
	switch {
	case errors.As(err, &hs):
		return fmt.Sprintf("HTTP %d", hs.HTTPStatus())
	case outcomeUnknown(err):
		return "no answer; outcome unknown"
	}
	return "refused"
}

// roundDelay is d as a retried entry names it.
func roundDelay(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
