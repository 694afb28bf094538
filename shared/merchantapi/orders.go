package merchantapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// SyncState is where st stands with the sync, as the listing files it:
// order.SyncStateOf with the error catalogue's transient kind. The stores
// index orders by it.
func SyncState(st order.State) order.SyncState {
	return order.SyncStateOf(st.Sync, syncerr.IsTransient)
}

// ListedAt is the time the listing sorts an order by: when it entered its
// sync state (SyncOutcome.Since); for a state recorded without it, its
// last sync's; for an order never tried, when the store last changed it.
// A sync that leaves an order in its state leaves its key alone, and the
// index's write is one unit, not a delete and a put.
func ListedAt(st order.State) time.Time {
	switch {
	case !st.Sync.Since.IsZero():
		return st.Sync.Since.UTC()
	case !st.Sync.At.IsZero():
		return st.Sync.At.UTC()
	}
	return st.StoreUpdatedAt.UTC()
}

// keyLayout is the time of an OrderKey: RFC 3339 in UTC with all nine
// digits of the fraction, so that keys sort as their times do.
const keyLayout = "2006-01-02T15:04:05.000000000Z07:00"

// OrderKey is an order's place in the listing by state: ListedAt in
// keyLayout, '#', the marketplace order id (which holds no '#'). Keys
// sort as the listing goes, oldest first.
func OrderKey(st order.State) string {
	return ListedAt(st).Format(keyLayout) + "#" + st.Ref.MarketplaceOrderID
}

// ListedAttributes are the attributes of an order's state the listing
// keeps (the stores' index projects these; Listed keeps the same).
var ListedAttributes = []string{"connection", "ref", "store_status", "store_updated_at", "marketplace_status", "sync", "version"}

// Listed is st as the listing keeps it: ListedAttributes, nothing else.
func Listed(st order.State) order.State {
	return order.State{Connection: st.Connection, Ref: st.Ref, StoreStatus: st.StoreStatus, StoreUpdatedAt: st.StoreUpdatedAt,
		MarketplaceStatus: st.MarketplaceStatus, Sync: st.Sync, Version: st.Version}
}

// keyRange is the range of OrderKeys of q's Since and Until: lo
// inclusive, hi exclusive, each empty when unbounded. A key of an order
// listed at Until is "<Until>#<id>", after hi = "<Until>".
func (q OrderQuery) keyRange() (lo, hi string) {
	if !q.Since.IsZero() {
		lo = q.Since.UTC().Format(keyLayout)
	}
	if !q.Until.IsZero() {
		hi = q.Until.UTC().Format(keyLayout)
	}
	return lo, hi
}

// KeyRange returns the OrderKeys q asks for: at or after lo, before hi,
// and before q.After; each bound empty when there is none. Stores use it so
// that they bound the listing alike.
func (q OrderQuery) KeyRange() (lo, hi string) {
	lo, hi = q.keyRange()
	if q.After != "" && (hi == "" || q.After < hi) {
		hi = q.After
	}
	return lo, hi
}

// ValidOrderKey reports whether k is an OrderKey (a cursor's content).
func ValidOrderKey(k string) bool {
	at, id, ok := strings.Cut(k, "#")
	if !ok || !order.ValidID(id) {
		return false
	}
	t, err := time.Parse(keyLayout, at)
	return err == nil && t.UTC().Format(keyLayout) == at
}

// The listing's refusals.
var (
	errState         = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "state"}
	errCode          = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "code"}
	errDate          = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "date"}
	errCursor        = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "cursor"}
	errFind          = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "find"}
	errStoreName     = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "store_order_name", Args: maxArg(order.MaxIDBytes)}
	errFindMarketID  = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "marketplace_order_id", Args: maxArg(order.MaxIDBytes)}
	errUnknownParams = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "unknown"}
)

// listedView is one order in a listing.
type listedView struct {
	Order             order.Ref       `json:"order"`
	State             order.SyncState `json:"state"`
	StoreStatus       order.Status    `json:"store_status"`
	MarketplaceStatus order.Status    `json:"marketplace_status"`
	Sync              syncView        `json:"sync"`
}

// ordersView is the answer of GET orders.
type ordersView struct {
	Connection string          `json:"connection"`
	State      order.SyncState `json:"state,omitempty"`
	Code       string          `json:"code,omitempty"`
	Since      time.Time       `json:"since,omitzero"`
	Until      time.Time       `json:"until,omitzero"`
	Limit      int             `json:"limit,omitempty"`
	Orders     []listedView    `json:"orders"`
	// NextCursor asks for the next page; absent on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
}

func listed(st order.State) listedView {
	return listedView{Order: st.Ref, State: SyncState(st), StoreStatus: st.StoreStatus, MarketplaceStatus: st.MarketplaceStatus,
		Sync: syncViewOf(st)}
}

// listParams are the query parameters of the listing, and of a find.
var listParams = map[string]bool{"state": true, "code": true, "since": true, "until": true, "limit": true, "cursor": true,
	"marketplace_order_id": true, "store_order_name": true}

// listOrders answers GET /connections/{connection}/orders: with
// marketplace_order_id or store_order_name, the orders found so; else
// the connection's orders in one sync state, newest first, a page at a time.
func (h *Handler) listOrders(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	q := c.req.QueryStringParameters
	for k := range q {
		if !listParams[k] {
			return c.fail(errUnknownParams)
		}
	}
	mk, byMK := q["marketplace_order_id"]
	name, byName := q["store_order_name"]
	if byMK || byName {
		if byMK && byName || len(q) > 1 {
			return c.fail(errFind)
		}
		return h.findOrders(ctx, c, mk, byMK, name)
	}
	oq, p := parseOrderQuery(q, DefaultLimit, MaxLimit)
	if p != nil {
		return c.fail(*p)
	}
	if cur := q["cursor"]; cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || !ValidOrderKey(string(b)) {
			return c.fail(errCursor)
		}
		oq.After = string(b)
	}
	sts, err := h.store.ListOrders(ctx, c.conn.ID, oq)
	if err != nil {
		return c.unavailable(err)
	}
	out := ordersView{Connection: c.conn.ID, State: oq.State, Code: oq.Code, Since: oq.Since, Until: oq.Until, Limit: oq.Limit,
		Orders: make([]listedView, 0, len(sts))}
	for _, st := range sts {
		out.Orders = append(out.Orders, listed(st))
	}
	if len(sts) == oq.Limit {
		// Perhaps the last page, full: the next one is then empty.
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(OrderKey(sts[len(sts)-1])))
	}
	c.attrs = append(c.attrs, slog.String("state", string(oq.State)), slog.Int("orders", len(out.Orders)))
	return reply(http.StatusOK, out)
}

// findOrders answers a find: by marketplace order id (the order itself,
// read consistently) or by store order name (every order of that name).
func (h *Handler) findOrders(ctx context.Context, c *call, mk string, byMK bool, name string) events.APIGatewayV2HTTPResponse {
	var sts []order.State
	if byMK {
		if !order.ValidID(mk) {
			return c.fail(errFindMarketID)
		}
		st, err := h.store.LoadOrder(ctx, c.conn.ID, mk)
		switch {
		case errors.Is(err, order.ErrNotFound):
		case err != nil:
			return c.unavailable(err)
		default:
			sts = append(sts, st)
		}
	} else {
		if !validName(name) {
			return c.fail(errStoreName)
		}
		ids, err := h.store.FindOrdersByName(ctx, c.conn.ID, name)
		if err != nil {
			return c.unavailable(err)
		}
		// Read again, consistently: the index may lag a rename.
		m, err := h.store.LoadOrders(ctx, c.conn.ID, ids)
		if err != nil {
			return c.unavailable(err)
		}
		for _, id := range ids {
			if st, ok := m[id]; ok && st.Ref.StoreOrderName == name {
				sts = append(sts, st)
			}
		}
	}
	out := ordersView{Connection: c.conn.ID, Orders: make([]listedView, 0, len(sts))}
	for _, st := range sts {
		out.Orders = append(out.Orders, listed(st))
	}
	c.attrs = append(c.attrs, slog.Int("orders", len(out.Orders)))
	return reply(http.StatusOK, out)
}

// validName reports whether a store order name can be looked up: 1 to
// order.MaxIDBytes bytes of UTF-8 without control or format characters.
// Unlike an id it may hold '#' and spaces ("#1001", "Order 12").
func validName(s string) bool {
	if s == "" || len(s) > order.MaxIDBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Noncharacter_Code_Point, r) {
			return false
		}
	}
	return true
}

// parseOrderQuery reads state (required), code, since, until and limit
// (from 1 to max, def when absent), from the query of a listing or a job's
// filter.
func parseOrderQuery(q map[string]string, def, max int) (OrderQuery, *httpapi.Problem) {
	var oq OrderQuery
	st, ok := order.ParseSyncState(q["state"])
	if !ok {
		return oq, &errState
	}
	oq.State = st
	if code, ok := q["code"]; ok {
		if !knownCode(code) {
			return oq, &errCode
		}
		oq.Code = code
	}
	var err error
	if oq.Since, err = parseDate(q["since"]); err != nil {
		return oq, &errDate
	}
	if oq.Until, err = parseDate(q["until"]); err != nil {
		return oq, &errDate
	}
	if !oq.Since.IsZero() && !oq.Until.IsZero() && !oq.Since.Before(oq.Until) {
		return oq, &errDate
	}
	if oq.Limit, ok = intParam(q["limit"], def, max); !ok {
		return oq, &errLimit
	}
	return oq, nil
}

// knownCode reports whether code is in the error catalogue.
func knownCode(code string) bool {
	for _, c := range syncerr.Codes() {
		if string(c) == code {
			return true
		}
	}
	return false
}

// parseDate reads an RFC 3339 time or a date (YYYY-MM-DD, midnight UTC);
// the zero time when s is empty.
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}
