package merchantapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// The merchant's SKU aliases: a store SKU and the marketplace SKU that is
// the same product, for products whose SKU differs between the two sides
// (the sku_not_found remedy). The sync translates by them both ways.

// Limits of the alias routes.
const (
	// DefaultAliases and MaxAliases bound how many aliases one listing
	// returns; MaxAliases is every alias a connection may hold.
	DefaultAliases = 100
	MaxAliases     = order.MaxSKUAliases
	// heldOrders is how many of a connection's unsettled orders setting an
	// alias looks through for those the alias may release.
	heldOrders = 1000
)

// TopicAlias is the topic of the re-syncs queued when an alias is set;
// the failures they resolve say so (order.Resolution.How).
const TopicAlias = "merchant/alias"

// The refusals of the alias routes.
var (
	errInvalidPathSKU   = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_sku", Field: "sku", Args: maxArg(order.MaxSKUBytes)}
	errInvalidMarketSKU = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_sku", Field: "marketplace_sku", Args: maxArg(order.MaxSKUBytes)}
	errInvalidAfter     = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_sku", Field: "after", Args: maxArg(order.MaxSKUBytes)}
	errAliasLimitParam  = httpapi.Problem{Status: http.StatusBadRequest, Code: "invalid_parameter", Case: "limit", Args: maxArg(MaxAliases)}
	errMalformedAlias   = httpapi.Problem{Status: http.StatusBadRequest, Code: "malformed_body", Case: "alias"}
	errAliasConflict    = httpapi.Problem{Status: http.StatusConflict, Code: "alias_conflict"}
	errTooManyAliases   = httpapi.Problem{Status: http.StatusConflict, Code: "alias_limit", Args: maxArg(order.MaxSKUAliases)}
	errAliasNotFound    = httpapi.Problem{Status: http.StatusNotFound, Code: "alias_not_found"}
)

// aliasView is one alias as the API shows it.
type aliasView struct {
	StoreSKU       string `json:"store_sku"`
	MarketplaceSKU string `json:"marketplace_sku"`
}

// aliasesView is the answer of GET aliases. Next, when set, is the after
// of the following page.
type aliasesView struct {
	Connection string      `json:"connection"`
	Limit      int         `json:"limit"`
	Aliases    []aliasView `json:"aliases"`
	Next       string      `json:"next,omitempty"`
}

// aliasSetView is the answer of PUT alias: the alias, and the orders held
// for one of its SKUs that were queued to sync again.
type aliasSetView struct {
	Alias  aliasView `json:"alias"`
	Queued []string  `json:"queued"`
}

// aliasDeletedView is the answer of DELETE alias.
type aliasDeletedView struct {
	Deleted aliasView `json:"deleted"`
}

// listAliases answers GET /connections/{connection}/aliases?limit=&after=:
// the aliases by store SKU, a page at a time.
func (h *Handler) listAliases(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	q := c.req.QueryStringParameters
	limit, ok := intParam(q["limit"], DefaultAliases, MaxAliases)
	if !ok {
		return c.fail(errAliasLimitParam)
	}
	after, has := q["after"]
	if has && !order.ValidSKU(after) {
		return c.fail(errInvalidAfter)
	}
	list, next, err := h.store.SKUAliases(ctx, c.conn.ID, after, limit)
	if err != nil {
		return c.unavailable(err)
	}
	out := aliasesView{Connection: c.conn.ID, Limit: limit, Aliases: make([]aliasView, 0, len(list)), Next: next}
	for _, a := range list {
		out.Aliases = append(out.Aliases, aliasView(a))
	}
	c.attrs = append(c.attrs, slog.Int("aliases", len(out.Aliases)))
	return reply(http.StatusOK, out)
}

// alias answers PUT and DELETE /connections/{connection}/aliases/{sku},
// {sku} being the store SKU.
func (h *Handler) alias(ctx context.Context, c *call) events.APIGatewayV2HTTPResponse {
	sku := c.req.PathParameters["sku"]
	if !order.ValidSKU(sku) {
		return c.fail(errInvalidPathSKU)
	}
	if c.req.RequestContext.HTTP.Method == http.MethodDelete {
		return h.deleteAlias(ctx, c, sku)
	}
	return h.putAlias(ctx, c, sku)
}

// putAlias sets the alias storeSKU ↔ the body's marketplace_sku, then
// queues a re-sync of every order held as sku_not_found for either SKU
// (a failed sync names the store's SKU, a failed import the
// marketplace's). Setting an alias held already is no error and queues
// them again: the merchant repeats the request after a 503.
func (h *Handler) putAlias(ctx context.Context, c *call, storeSKU string) events.APIGatewayV2HTTPResponse {
	body, p := requestBody(c.req)
	if p != nil {
		return c.fail(*p)
	}
	mk, p := parseAlias(body)
	if p != nil {
		return c.fail(*p)
	}
	a := order.SKUAlias{StoreSKU: storeSKU, MarketplaceSKU: mk}
	switch err := h.store.PutSKUAlias(ctx, c.conn.ID, a); {
	case errors.Is(err, order.ErrAliasConflict):
		return c.fail(errAliasConflict)
	case errors.Is(err, order.ErrAliasLimit):
		return c.fail(errTooManyAliases)
	case err != nil:
		return c.unavailable(err)
	}
	unsettled, err := h.store.Unsettled(ctx, c.conn.ID, heldOrders)
	if err != nil {
		return c.unavailable(err)
	}
	out := aliasSetView{Alias: aliasView(a), Queued: []string{}}
	var evs []order.Event
	for _, st := range unsettled {
		if st.Sync.ErrorCode != string(syncerr.SKUNotFound) || (st.Sync.SKU != storeSKU && st.Sync.SKU != mk) {
			continue
		}
		e := resyncEvent(c.conn, st.Ref.MarketplaceOrderID, st)
		e.Topic = TopicAlias
		evs = append(evs, e)
		out.Queued = append(out.Queued, st.Ref.MarketplaceOrderID)
	}
	err = each(len(evs), func(i int) error { return h.queue.Enqueue(ctx, evs[i]) })
	c.attrs = append(c.attrs, slog.Int("queued", len(evs)))
	if err != nil {
		// The alias holds; the caller repeats the request to queue them.
		return c.unavailable(err)
	}
	return reply(http.StatusOK, out)
}

// deleteAlias removes the alias of storeSKU.
func (h *Handler) deleteAlias(ctx context.Context, c *call, storeSKU string) events.APIGatewayV2HTTPResponse {
	a, err := h.store.DeleteSKUAlias(ctx, c.conn.ID, storeSKU)
	switch {
	case errors.Is(err, order.ErrNotFound):
		return c.fail(errAliasNotFound)
	case err != nil:
		return c.unavailable(err)
	}
	return reply(http.StatusOK, aliasDeletedView{Deleted: aliasView(a)})
}

// parseAlias reads an alias body, {"marketplace_sku": "..."}: exactly that
// object, in UTF-8, with a SKU that is order.ValidSKU.
func parseAlias(body []byte) (string, *httpapi.Problem) {
	if !utf8.Valid(body) {
		// The decoder would turn each bad byte into U+FFFD, a SKU the
		// caller never sent.
		return "", &errMalformedAlias
	}
	var in struct {
		MarketplaceSKU *string `json:"marketplace_sku"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return "", &errMalformedAlias
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", &errMalformedAlias // something after the object
	}
	if in.MarketplaceSKU == nil {
		return "", &errMalformedAlias
	}
	if !order.ValidSKU(*in.MarketplaceSKU) {
		return "", &errInvalidMarketSKU
	}
	return *in.MarketplaceSKU, nil
}
