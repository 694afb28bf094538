package merchantapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// RouteOrderTimeline is the route of an order's timeline.
const RouteOrderTimeline = "/connections/{connection}/orders/{marketplaceOrderId}/timeline"

// The refusals of the timeline and of the errors list's resolved.
var (
	errTimelineLimit = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "limit", Args: maxArg(order.MaxTimeline)}
	errResolvedParam = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "resolved"}
)

// timelineEntryView is one timeline entry. A failure (failed, or a
// refresh entry with a code) carries the catalogue's words for its code.
type timelineEntryView struct {
	At      time.Time          `json:"at"`
	Kind    order.TimelineKind `json:"kind"`
	Source  order.Platform     `json:"source,omitempty"`
	Topic   string             `json:"topic,omitempty"`
	EventID string             `json:"event_id,omitempty"`
	Step    string             `json:"step,omitempty"`
	Code    string             `json:"code,omitempty"`
	Detail  string             `json:"detail,omitempty"`
	Title   string             `json:"title,omitempty"`
	Cause   string             `json:"cause,omitempty"`
	Remedy  string             `json:"remedy,omitempty"`
}

// timelineView is the answer of GET timeline: the newest entries ordersync
// keeps of the order, oldest first. Dropped counts the older entries it no
// longer keeps (it keeps order.MaxTimeline); Omitted, those kept but left
// out by limit.
type timelineView struct {
	Connection string              `json:"connection"`
	Order      order.Ref           `json:"order"`
	Dropped    int                 `json:"dropped"`
	Omitted    int                 `json:"omitted"`
	Entries    []timelineEntryView `json:"entries"`
}

// showTimeline answers GET /connections/{connection}/orders/{marketplaceOrderId}/timeline?limit=:
// what happened to the order, oldest first; with limit, the newest limit
// entries.
func (h *Handler) showTimeline(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	id := c.req.PathParameters["marketplaceOrderId"]
	if !order.ValidID(id) {
		return c.fail(errInvalidPathOrderID)
	}
	limit, ok := intParam(c.req.QueryStringParameters["limit"], order.MaxTimeline, order.MaxTimeline)
	if !ok {
		return c.fail(errTimelineLimit)
	}
	st, err := h.store.LoadOrder(ctx, c.conn.ID, id)
	switch {
	case errors.Is(err, order.ErrNotFound):
		return c.fail(errOrderNotFound)
	case err != nil:
		return c.unavailable(err)
	}
	entries := st.Timeline
	omitted := max(len(entries)-limit, 0)
	entries = entries[omitted:]
	v := timelineView{Connection: c.conn.ID, Order: st.Ref, Dropped: st.TimelineDropped, Omitted: omitted,
		Entries: make([]timelineEntryView, 0, len(entries))}
	for _, e := range entries {
		ev := timelineEntryView{At: e.At.UTC(), Kind: e.Kind, Source: e.Source, Topic: e.Topic, EventID: e.EventID,
			Step: e.Step, Code: e.Code, Detail: e.Detail}
		if e.Code != "" && (e.Kind == order.TimelineFailed || e.Kind == order.TimelineRefresh) {
			x := syncerr.Explain(syncerr.E(syncerr.Code(e.Code), "order", st.Ref.Name(),
				"marketplace", c.conn.Marketplace.Platform.DisplayName(), "store", c.conn.Store.Platform.DisplayName()).
				With(factPairs(e.Facts)...))
			ev.Title, ev.Cause, ev.Remedy = x.Title, x.Cause, x.Remedy
		}
		v.Entries = append(v.Entries, ev)
	}
	c.attrs = append(c.attrs, slog.Int("entries", len(v.Entries)))
	return reply(http.StatusOK, v)
}

// factPairs are an entry's facts as key, value pairs.
func factPairs(facts map[string]string) []string {
	kv := make([]string, 0, 2*len(facts))
	for k, v := range facts {
		kv = append(kv, k, v)
	}
	return kv
}
