package order

import (
	"slices"
	"time"
	"unicode/utf8"
)

// MaxTimeline is how many timeline entries an order's state keeps: the
// newest ones, State.TimelineDropped counting the older ones let go.
//
// The timeline lives inside the order's state item and is written by the
// writes the sync already makes (no extra item, no extra request). But a
// DynamoDB put is charged by the item's size, a write unit a KiB, and
// every put of the state carries the whole timeline again; so the bound
// is set by what a full timeline adds to each write. shared/dynamostore
// packs it compressed with the rest of the state (about 15 bytes an
// entry, against about 105 as attributes); measured on DynamoDB Local
// (TestTimelineItemSize), a busy order (three lines, two parcels) puts
// 0.6 KiB and 1 unit without a timeline, 1.4 KiB and 2 units with 50
// entries (3.6 KiB and 4 units for 20 entries unpacked). 50 entries hold
// an order's whole normal life (received, calls, synced, a dozen events)
// and its last failures and retries; one extra item per entry instead
// would cost a unit an entry, 3 to 5 more per event.
const MaxTimeline = 50

// MaxTimelineDetail bounds an entry's Detail, in bytes: a short summary,
// never a payload.
const MaxTimelineDetail = 120

// TimelineKind names what a timeline entry records.
type TimelineKind string

// Timeline kinds.
const (
	// TimelineReceived: an event reached the sync (a webhook, the
	// refresh's or a merchant action's). Source and Topic say which,
	// EventID is the event's id.
	TimelineReceived TimelineKind = "received"
	// TimelineCall: a call ordersync made to a platform (Source) for a
	// step (accept, ship, cancel, import) and its answer: Code empty when
	// it said yes, else the error code; Detail says how it ended.
	TimelineCall TimelineKind = "call"
	// TimelineRetried: the sync failed for a reason that passes (Code) and
	// tries again (Detail says when).
	TimelineRetried TimelineKind = "retried"
	// TimelineFailed: the sync failed for good, or is held for the
	// merchant, with Code from the error catalogue; EventID is the event
	// that failed (its message left for the DLQ), by which a redrive of
	// it is known (State.DeadLettered).
	TimelineFailed TimelineKind = "failed"
	// TimelineResolved: the order synced after a failure; Code is the
	// failure it cleared, Topic what brought the fix.
	TimelineResolved TimelineKind = "resolved"
	// TimelineSynced: the marketplace has what the store says.
	TimelineSynced TimelineKind = "synced"
	// TimelineRefresh: the hourly refresh changed the stored order
	// (Step: manual-change, edit-applied, edit-refused, requeued).
	TimelineRefresh TimelineKind = "refresh"
	// TimelineRefund: a refund, return or line cancellation made on one
	// side (Source): Step is its kind (cancel, refund, return), Detail what
	// it covers (quantities and SKUs, never amounts).
	TimelineRefund TimelineKind = "refund"
)

// TimelineEntry is one thing that happened to an order. It holds names,
// codes and statuses only: never a secret, an address or any other of the
// buyer's data.
type TimelineEntry struct {
	At   time.Time    `json:"at"`
	Kind TimelineKind `json:"kind"`
	// Source is the platform the event came from or the call went to
	// ("shopify", "backmarket", "ordersync" for the refresh, "resync" for
	// the merchant API).
	Source  Platform `json:"source,omitempty"`
	Topic   string   `json:"topic,omitempty"`
	EventID string   `json:"event_id,omitempty"`
	Step    string   `json:"step,omitempty"`
	Code    string   `json:"code,omitempty"`
	Detail  string   `json:"detail,omitempty"`
	// Facts are a failure's details that fill the catalogue's words
	// (missing, sku, field, from, to...; never a buyer's data), so that the
	// entry can be explained long after. The order's and the connection's
	// names are filled when it is read, not kept.
	Facts map[string]string `json:"facts,omitempty"`
}

// AddTimeline appends entries to s's timeline, oldest first, keeping the
// newest MaxTimeline and counting the ones dropped. Details, and each
// fact, are cut to MaxTimelineDetail bytes.
func (s *State) AddTimeline(entries ...TimelineEntry) {
	// A new array: copies of the state (the one last read, a retry's)
	// must not share what is appended.
	s.Timeline = slices.Clip(s.Timeline)
	for _, e := range entries {
		e.At = e.At.UTC()
		e.Detail = clip(e.Detail, MaxTimelineDetail)
		if e.Facts != nil {
			facts := make(map[string]string, len(e.Facts))
			for k, v := range e.Facts {
				facts[k] = clip(v, MaxTimelineDetail)
			}
			e.Facts = facts
		}
		s.Timeline = append(s.Timeline, e)
	}
	if over := len(s.Timeline) - MaxTimeline; over > 0 {
		s.Timeline = append([]TimelineEntry(nil), s.Timeline[over:]...)
		s.TimelineDropped += over
	}
}

// HasReceived reports whether the timeline holds the received entry of
// the event eventID (a redelivery is received once).
func (s State) HasReceived(eventID string) bool {
	for _, e := range s.Timeline {
		if e.Kind == TimelineReceived && e.EventID == eventID {
			return true
		}
	}
	return false
}

// DeadLettered returns the code the event named eventID last failed for
// good with, as the timeline records it, and whether it does (an entry
// let go past MaxTimeline is not known).
func (s State) DeadLettered(eventID string) (string, bool) {
	if eventID == "" {
		return "", false
	}
	for i := len(s.Timeline) - 1; i >= 0; i-- {
		if e := s.Timeline[i]; e.Kind == TimelineFailed && e.EventID == eventID {
			return e.Code, true
		}
	}
	return "", false
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
