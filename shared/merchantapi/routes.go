package merchantapi

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// Source marks the events the API puts on the sync queue. Like the
// refresh's, such an event carries no change (its OccurredAt is zero, so
// rules.Apply takes it for stale): the sync brings the marketplace order to
// the order's stored state, reading the store again first when the last
// sync failed.
const Source order.Platform = "resync"

// errorView is one failure in "the last errors".
type errorView struct {
	Order    order.Ref `json:"order"`
	Code     string    `json:"code"`
	Kind     string    `json:"kind"`
	Title    string    `json:"title"`
	Cause    string    `json:"cause"`
	Remedy   string    `json:"remedy"`
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
	// Resolved says when and how the failure ended, once the order synced
	// after it.
	Resolved *order.Resolution `json:"resolved,omitempty"`
	// ResolvedAt and ResolvedHow say the same, flat, for a client that
	// lists errors as rows.
	ResolvedAt  time.Time `json:"resolved_at,omitzero"`
	ResolvedHow string    `json:"resolved_how,omitempty"`
	// Action is the call that fixes it; absent when the fix lies outside
	// ordersync (actions.go).
	Action *actionView `json:"action,omitempty"`
}

// errorsView is the answer of GET errors.
type errorsView struct {
	Connection string    `json:"connection"`
	Since      time.Time `json:"since"`
	Limit      int       `json:"limit"`
	// Resolved is "show" (the default) or "hide", as asked.
	Resolved string      `json:"resolved"`
	Errors   []errorView `json:"errors"`
}

// MaxScanned bounds how many failures one listing reads to find limit
// unresolved ones (?resolved=hide): a connection with more resolved ones
// in the window lists fewer than limit.
const MaxScanned = 5 * MaxLimit

// listErrors answers GET /connections/{connection}/errors?limit=&days=&resolved=:
// the connection's failures of the last days, newest first; with
// resolved=hide, only those not resolved since.
func (h *Handler) listErrors(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	q := c.req.QueryStringParameters
	limit, ok := intParam(q["limit"], DefaultLimit, MaxLimit)
	if !ok {
		return c.fail(errLimit)
	}
	days, ok := intParam(q["days"], MaxDays, MaxDays)
	if !ok {
		return c.fail(errDays)
	}
	resolved := q["resolved"]
	switch resolved {
	case "":
		resolved = "show"
	case "show", "hide":
	default:
		return c.fail(errResolvedParam)
	}
	since := h.cfg.Now().UTC().Add(-time.Duration(days) * 24 * time.Hour)
	views, scanned, err := h.errorViews(ctx, c.conn.ID, since, limit, resolved == "hide")
	if err != nil {
		return c.unavailable(err)
	}
	out := errorsView{Connection: c.conn.ID, Since: since, Limit: limit, Resolved: resolved, Errors: views}
	c.attrs = append(c.attrs, slog.Int("errors", len(out.Errors)), slog.Int("scanned", scanned))
	return reply(http.StatusOK, out)
}

// errorViews lists up to limit failures since, newest first, each with
// how it was resolved; with hide, only unresolved ones: it reads further
// back (4 times as many each time, at most MaxScanned) while resolved ones
// fill the page. It returns how many failures it read.
func (h *Handler) errorViews(ctx context.Context, conn string, since time.Time, limit int, hide bool) ([]errorView, int, error) {
	states := map[string]order.State{}
	for n := limit; ; n = min(n*4, MaxScanned) {
		recs, err := h.store.RecentErrors(ctx, conn, since, n)
		if err != nil {
			return nil, 0, err
		}
		var ids []string
		for _, r := range recs {
			if id := orderOfError(r); id != "" {
				if _, seen := states[id]; !seen {
					ids = append(ids, id)
					states[id] = order.State{}
				}
			}
		}
		if len(ids) > 0 {
			got, err := h.store.LoadOrders(ctx, conn, ids)
			if err != nil {
				return nil, 0, err
			}
			for id, st := range got {
				states[id] = st
			}
		}
		out := make([]errorView, 0, min(len(recs), limit))
		for _, r := range recs {
			st := states[orderOfError(r)]
			v := errorView{
				Order: order.Ref{StoreOrderID: r.StoreOrderID, StoreOrderName: r.StoreOrderName, MarketplaceOrderID: r.MarketplaceOrderID},
				Code:  r.Code, Kind: r.Kind, Title: r.Title, Cause: r.Cause, Remedy: r.Remedy, Attempts: r.Attempts, At: r.At.UTC(),
				Action: actionOf(r, st),
			}
			if res := st.Resolved; res != nil && !res.At.Before(r.At) && (r.MarketplaceOrderID != "" || (st.Ref.StoreOrderID == r.StoreOrderID && res.Code == r.Code)) {
				v.Resolved = res
				v.ResolvedAt, v.ResolvedHow = res.At.UTC(), res.How
			}
			if hide && v.Resolved != nil {
				continue
			}
			if len(out) < limit {
				out = append(out, v)
			}
		}
		if !hide || len(out) >= limit || len(recs) < n || n >= MaxScanned {
			return out, len(recs), nil
		}
	}
}

// orderOfError is the marketplace order an error is about: its own, or
// for an unverified link the one the store order claimed (resolved only
// once that order is linked to this store order).
func orderOfError(r order.ErrorRecord) string {
	return cmp.Or(r.MarketplaceOrderID, r.ClaimedMarketplaceOrderID)
}

// intParam reads a query parameter: def when absent, false unless a whole
// number from 1 to max.
func intParam(v string, def, max int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= max
}

// orderView is the answer of GET order: the stored order and its last sync
// outcome. The shipping address is left out: it is personal, and not
// needed to act on a sync.
type orderView struct {
	Connection        string         `json:"connection"`
	Order             order.Ref      `json:"order"`
	StoreStatus       order.Status   `json:"store_status"`
	StoreUpdatedAt    time.Time      `json:"store_updated_at,omitzero"`
	MarketplaceStatus order.Status   `json:"marketplace_status"`
	MarketplaceState  string         `json:"marketplace_state,omitempty"`
	Lines             []order.Line   `json:"lines,omitempty"`
	Parcels           []order.Parcel `json:"parcels,omitempty"`
	CancelReason      string         `json:"cancel_reason,omitempty"`
	Test              bool           `json:"test,omitempty"`
	Sync              syncView       `json:"sync"`
	// Resolved is how the order's last failure ended; ManualChange, a
	// change made in the marketplace's back office, as the refresh found
	// it; RefreshTries, the refreshes that gave a failed order another try.
	Resolved     *order.Resolution   `json:"resolved,omitempty"`
	ManualChange *order.ManualChange `json:"manual_change,omitempty"`
	RefreshTries int                 `json:"refresh_tries,omitempty"`
	// Override is what the merchant filled in (POST fix).
	Override *overrideView `json:"override,omitempty"`
}

// overrideView is the merchant's override as the API shows it: the
// tracking, and only when the address was set (it is personal).
type overrideView struct {
	Tracking          *trackingView `json:"tracking,omitempty"`
	ShippingAddressAt time.Time     `json:"shipping_address_at,omitzero"`
}

// trackingView is a tracking override.
type trackingView struct {
	ParcelID string `json:"parcel_id,omitempty"`
	order.Tracking
	At time.Time `json:"at"`
}

func overrideOf(o *order.Override) *overrideView {
	if o == nil {
		return nil
	}
	v := &overrideView{}
	if t := o.Tracking; t != nil {
		v.Tracking = &trackingView{ParcelID: t.ParcelID, Tracking: t.Tracking, At: t.At}
	}
	if a := o.ShippingAddress; a != nil {
		v.ShippingAddressAt = a.At
	}
	return v
}

// syncView is how the order's last sync ended. Kind, from the error
// catalogue, says whether ordersync retries by itself (transient) or waits
// for the merchant (permanent, auth).
type syncView struct {
	Result        order.SyncResult `json:"result,omitempty"`
	ErrorCode     string           `json:"error_code,omitempty"`
	Kind          syncerr.Kind     `json:"kind,omitempty"`
	Message       string           `json:"message,omitempty"`
	Attempts      int              `json:"attempts,omitempty"`
	At            time.Time        `json:"at,omitzero"`
	FirstFailedAt time.Time        `json:"first_failed_at,omitzero"`
	// Since is when the order entered its sync state (ListedAt): what the
	// listing sorts by, and filters by with since and until.
	Since time.Time `json:"since,omitzero"`
}

// syncViewOf is st's last sync as the API shows it.
func syncViewOf(st order.State) syncView {
	s := st.Sync
	v := syncView{Result: s.Result, ErrorCode: s.ErrorCode, Message: s.Message, Attempts: s.Attempts, At: s.At,
		FirstFailedAt: s.FirstFailedAt, Since: ListedAt(st)}
	if s.ErrorCode != "" {
		v.Kind = syncerr.Lookup(syncerr.Code(s.ErrorCode)).Kind
	}
	return v
}

// showOrder answers GET /connections/{connection}/orders/{marketplaceOrderId}.
func (h *Handler) showOrder(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	id := c.req.PathParameters["marketplaceOrderId"]
	if !order.ValidID(id) {
		return c.fail(errInvalidPathOrderID)
	}
	st, err := h.store.LoadOrder(ctx, c.conn.ID, id)
	switch {
	case errors.Is(err, order.ErrNotFound):
		return c.fail(errOrderNotFound)
	case err != nil:
		return c.unavailable(err)
	}
	return reply(http.StatusOK, orderViewOf(c.conn.ID, st))
}

// orderViewOf is the view of the stored order st of connection.
func orderViewOf(connection string, st order.State) orderView {
	v := orderView{Connection: connection, Order: st.Ref, StoreStatus: st.StoreStatus, StoreUpdatedAt: st.StoreUpdatedAt,
		MarketplaceStatus: st.MarketplaceStatus, MarketplaceState: st.MarketplaceState, Lines: st.Lines, Parcels: st.Parcels,
		CancelReason: st.CancelReason, Test: st.Test, Resolved: st.Resolved, ManualChange: st.ManualChange, RefreshTries: st.RefreshTries,
		Sync: syncViewOf(st)}
	v.Override = overrideOf(st.Override)
	return v
}

// reportsView is the answer of GET reports.
type reportsView struct {
	Connection string           `json:"connection"`
	Limit      int              `json:"limit"`
	Reports    []refresh.Report `json:"reports"`
}

// listReports answers GET /connections/{connection}/reports?limit=: the
// hourly refresh's drift reports, newest first.
func (h *Handler) listReports(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	limit, ok := intParam(c.req.QueryStringParameters["limit"], DefaultReports, MaxReports)
	if !ok {
		return c.fail(errReportLimit)
	}
	reps, err := h.store.Reports(ctx, c.conn.ID, limit)
	if err != nil {
		return c.unavailable(err)
	}
	if reps == nil {
		reps = []refresh.Report{}
	}
	c.attrs = append(c.attrs, slog.Int("reports", len(reps)))
	return reply(http.StatusOK, reportsView{Connection: c.conn.ID, Limit: limit, Reports: reps})
}

// resyncView is the answer of a re-sync: the ids queued, and those
// ordersync holds no order for, each in the order asked.
type resyncView struct {
	Queued   []string `json:"queued"`
	NotFound []string `json:"not_found"`
}

// resyncOne answers POST /connections/{connection}/orders/{marketplaceOrderId}/resync.
func (h *Handler) resyncOne(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	id := c.req.PathParameters["marketplaceOrderId"]
	if !order.ValidID(id) {
		return c.fail(errInvalidPathOrderID)
	}
	return h.resync(ctx, c, []string{id})
}

// resyncMany answers POST /connections/{connection}/resync with
// {"orders": [...]}.
func (h *Handler) resyncMany(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	body, p := requestBody(c.req)
	if p != nil {
		return c.fail(*p)
	}
	ids, p := parseResync(body)
	if p != nil {
		return c.fail(*p)
	}
	return h.resync(ctx, c, ids)
}

// resync queues a re-sync of every order of ids that the store holds. It
// reads them all before it queues any, so a request refused (or failing on
// the store) queues nothing.
func (h *Handler) resync(ctx context.Context, c *call, ids []string) events.APIGatewayV2HTTPResponse {
	states := make([]*order.State, len(ids))
	err := each(len(ids), func(i int) error {
		st, err := h.store.LoadOrder(ctx, c.conn.ID, ids[i])
		switch {
		case errors.Is(err, order.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		states[i] = &st
		return nil
	})
	if err != nil {
		return c.unavailable(err)
	}
	out := resyncView{Queued: []string{}, NotFound: []string{}}
	var evs []order.Event
	for i, id := range ids {
		if states[i] == nil {
			out.NotFound = append(out.NotFound, id)
			continue
		}
		evs = append(evs, resyncEvent(c.conn, id, *states[i]))
		out.Queued = append(out.Queued, id)
	}
	c.attrs = append(c.attrs, slog.Int("not_found", len(out.NotFound)))
	if len(evs) == 0 {
		return c.fail(errNoOrderFound)
	}
	var queued atomic.Int64
	err = each(len(evs), func(i int) error {
		if err := h.queue.Enqueue(ctx, evs[i]); err != nil {
			return err
		}
		queued.Add(1)
		return nil
	})
	c.attrs = append(c.attrs, slog.Int64("queued", queued.Load()))
	if err != nil {
		// Some may be queued: a re-sync is idempotent, so the caller
		// repeats the whole request.
		return c.unavailable(err)
	}
	return reply(http.StatusAccepted, out)
}

// resyncEvent is the sync queue event that re-syncs the stored order st of
// conn: no change of its own (zero OccurredAt, no status, no parcels), the
// order named on both sides, and a fresh event id. An order that is not in
// the merchant's store yet (a failed import: no store order id, no store
// status) is imported again on a connection that imports orders; as an
// update, it would plan nothing and be recorded synced.
func resyncEvent(conn order.Connection, marketplaceOrderID string, st order.State) order.Event {
	ref := st.Ref
	ref.MarketplaceOrderID = marketplaceOrderID
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	e := order.Event{Connection: conn.ID, Source: Source, SourceEventID: "resync-" + hex.EncodeToString(b), Topic: "merchant/resync", Order: ref}
	if conn.ImportOrders && ref.StoreOrderID == "" && st.StoreStatus == order.StatusUnknown {
		e.Intent = order.IntentImport
	}
	return e
}

// each runs f for 0..n-1, at most parallel at once, and returns the first
// error (by index): one store or queue outage is logged once, not n times.
func each(n int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// requestBody returns the request's body, decoded, within MaxBodyBytes.
func requestBody(req events.APIGatewayV2HTTPRequest) ([]byte, *httpapi.Problem) {
	b, err := httpapi.Body(req, MaxBodyBytes)
	switch {
	case errors.Is(err, httpapi.ErrBodyTooLarge):
		return nil, &errBodyTooLarge
	case err != nil:
		return nil, &errMalformedBody
	}
	return b, nil
}

// parseResync reads a re-sync body, {"orders": ["<marketplace order id>",
// ...]}: exactly that object, in UTF-8, with 1 to MaxOrders ids that are
// order.ValidID once duplicates are dropped. It returns them in the order
// given.
func parseResync(body []byte) ([]string, *httpapi.Problem) {
	if !utf8.Valid(body) {
		// Not JSON; and the decoder would turn each bad byte into U+FFFD,
		// a valid id the caller never sent.
		return nil, &errMalformedBody
	}
	var in struct {
		Orders []string `json:"orders"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, &errMalformedBody
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &errMalformedBody // something after the object
	}
	seen := make(map[string]bool, len(in.Orders))
	ids := make([]string, 0, len(in.Orders))
	for _, id := range in.Orders {
		if !order.ValidID(id) {
			return nil, &errInvalidOrderID
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 0:
		return nil, &errNoOrders
	case len(ids) > MaxOrders:
		return nil, &errTooManyOrders
	}
	return ids, nil
}

// linkView is the answer of a link.
type linkView struct {
	StoreOrderID       string `json:"store_order_id"`
	MarketplaceOrderID string `json:"marketplace_order_id"`
	Queued             bool   `json:"queued"`
}

// linkOrder answers POST /connections/{connection}/orders/{marketplaceOrderId}/link
// with {"store_order_id": "..."}: the merchant says the store order is the
// marketplace order (one held as order_link_unverified, say). The link is
// recorded unless either order is linked to another, and the store order
// is queued to be read and synced.
func (h *Handler) linkOrder(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	mkID := c.req.PathParameters["marketplaceOrderId"]
	if !order.ValidID(mkID) {
		return c.fail(errInvalidPathOrderID)
	}
	body, p := requestBody(c.req)
	if p != nil {
		return c.fail(*p)
	}
	var in struct {
		StoreOrderID string `json:"store_order_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return c.fail(errMalformedLink)
	}
	if _, err := dec.Token(); err != io.EOF {
		return c.fail(errMalformedLink)
	}
	if !order.ValidID(in.StoreOrderID) {
		return c.fail(errInvalidStoreID)
	}
	linked, err := h.store.FindOrder(ctx, c.conn.ID, in.StoreOrderID)
	switch {
	case err == nil && linked != mkID:
		return c.fail(errLinkedElsewhere)
	case err != nil && !errors.Is(err, order.ErrNotFound):
		return c.unavailable(err)
	}
	st, err := h.store.LoadOrder(ctx, c.conn.ID, mkID)
	switch {
	case err == nil && st.Ref.StoreOrderID != "" && st.Ref.StoreOrderID != in.StoreOrderID:
		return c.fail(errLinkedElsewhere)
	case err != nil && !errors.Is(err, order.ErrNotFound):
		return c.unavailable(err)
	}
	if err := h.store.LinkOrder(ctx, c.conn.ID, in.StoreOrderID, mkID); err != nil {
		return c.unavailable(err)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	// Fetch: the sync reads the store order as it is now and syncs it.
	e := order.Event{Connection: c.conn.ID, Source: Source, SourceEventID: "link-" + hex.EncodeToString(b), Topic: order.TopicMerchantLink, Fetch: true,
		Order: order.Ref{StoreOrderID: in.StoreOrderID, MarketplaceOrderID: mkID}}
	if err := h.queue.Enqueue(ctx, e); err != nil {
		// The link holds; the caller repeats the request to queue it.
		return c.unavailable(err)
	}
	return reply(http.StatusAccepted, linkView{StoreOrderID: in.StoreOrderID, MarketplaceOrderID: mkID, Queued: true})
}
