package shopifytest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
)

// Server is the fake. Build it with New; it is safe for concurrent use.
// Its embedded Switch holds the fault switch (SetFault) and call log
// (Calls).
type Server struct {
	storefronttest.Switch

	// Now is the fake's clock, for the timestamps it sets; time.Now when nil.
	Now func() time.Time

	token string

	mu           sync.Mutex
	next         int64
	orders       []*Order
	variants     []Variant
	throttle     Throttle
	throttleLeft int
	path         string      // the Persist file, if any
	saveErr      func(error) // hears of failures to write it
}

// New returns a fake store that accepts only the access token token.
func New(token string) *Server {
	return &Server{token: token, next: 5000}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) id() string {
	s.next++
	return itoa(s.next)
}

// AddVariant adds a product variant with the given SKU to the catalogue
// and returns its global id. Adding a SKU twice makes it ambiguous, as a
// merchant's duplicate would.
func (s *Server) AddVariant(sku, title string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := Variant{ID: gid("ProductVariant", s.id()), SKU: sku, Title: title}
	s.variants = append(s.variants, v)
	s.save()
	return v.ID
}

// RemoveVariant deletes the product variant with global id id from the
// catalogue (a product the merchant deleted), and reports whether there
// was one. Orders made with it keep its id.
func (s *Server) RemoveVariant(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, v := range s.variants {
		if v.ID == id {
			s.variants = append(s.variants[:i], s.variants[i+1:]...)
			s.save()
			return true
		}
	}
	return false
}

// AddOrder stores o as the merchant's store would hold it, assigning ids,
// a name, timestamps (UpdatedAt defaults to now) and a fulfillment order,
// and returns the stored order.
func (s *Server) AddOrder(o Order) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.save()
	return s.add(o).clone()
}

func (s *Server) add(o Order) *Order {
	o.ID = s.id()
	if o.Name == "" {
		o.Name = fmt.Sprintf("#%d", 1000+len(s.orders)+1)
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = s.now()
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = o.UpdatedAt
	}
	if o.FinancialStatus == "" {
		o.FinancialStatus = "PAID"
	}
	o.LineItems = slices.Clone(o.LineItems)
	for i := range o.LineItems {
		if o.LineItems[i].ID == "" {
			o.LineItems[i].ID = s.id()
		}
	}
	if len(o.FulfillmentOrders) == 0 {
		fo := FulfillmentOrder{ID: s.id(), Status: "OPEN"}
		if !o.CancelledAt.IsZero() {
			fo.Status = "CLOSED"
		}
		for _, li := range o.LineItems {
			fo.LineItems = append(fo.LineItems, FulfillmentOrderLineItem{ID: s.id(), LineItemID: li.ID,
				TotalQuantity: li.Quantity, RemainingQuantity: li.Quantity})
		}
		o.FulfillmentOrders = []FulfillmentOrder{fo}
	}
	p := &o
	*p = p.clone()
	s.orders = append(s.orders, p)
	return p
}

// Order returns a copy of the order with numeric id id.
func (s *Server) Order(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.find(id); o != nil {
		return o.clone(), true
	}
	return Order{}, false
}

// Orders returns a copy of every order, in creation order.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, o.clone())
	}
	return out
}

// UpdateOrder changes the order with numeric id id in place, as the
// merchant would in the admin (close a fulfillment order, cancel), and
// reports whether it exists.
func (s *Server) UpdateOrder(id string, f func(*Order)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.find(id)
	if o == nil {
		return false
	}
	f(o)
	*o = o.clone()
	s.save()
	return true
}

// Refund records a refund of order id, as a merchant makes one in the
// admin, and returns its id. Shopify's rules hold: each line item is the
// order's, refunded no more than it holds in all; CANCEL restocks only a
// quantity not fulfilled (the fulfillment orders then hold that much
// less), RETURN only one fulfilled. The order's updatedAt moves to now and
// its financial status to PARTIALLY_REFUNDED (REFUNDED once every unit is).
func (s *Server) Refund(id string, r Refund) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.find(id)
	if o == nil {
		return "", fmt.Errorf("shopifytest: no order %s", id)
	}
	refunded := map[string]int{}
	for _, old := range o.Refunds {
		for _, l := range old.Lines {
			refunded[l.LineItemID] += l.Quantity
		}
	}
	for _, l := range r.Lines {
		li, ok := o.lineItem(l.LineItemID)
		if !ok {
			return "", fmt.Errorf("shopifytest: order %s has no line item %s", id, l.LineItemID)
		}
		refunded[l.LineItemID] += l.Quantity
		unfulfilled := 0
		for _, fo := range o.FulfillmentOrders {
			for _, fli := range fo.LineItems {
				if fli.LineItemID == l.LineItemID {
					unfulfilled += fli.RemainingQuantity
				}
			}
		}
		switch {
		case l.Quantity < 1 || refunded[l.LineItemID] > li.Quantity:
			return "", fmt.Errorf("shopifytest: line item %s: refund quantity is more than the line holds", l.LineItemID)
		case l.RestockType == "CANCEL" && l.Quantity > unfulfilled:
			return "", fmt.Errorf("shopifytest: line item %s: CANCEL restocks only a quantity not fulfilled", l.LineItemID)
		case l.RestockType == "RETURN" && l.Quantity > li.Quantity-unfulfilled:
			return "", fmt.Errorf("shopifytest: line item %s: RETURN restocks only a quantity fulfilled", l.LineItemID)
		case l.RestockType != "CANCEL" && l.RestockType != "RETURN" && l.RestockType != "NO_RESTOCK":
			return "", fmt.Errorf("shopifytest: restock type %q is not CANCEL, RETURN or NO_RESTOCK", l.RestockType)
		}
	}
	for _, l := range r.Lines {
		if l.RestockType != "CANCEL" {
			continue
		}
		left := l.Quantity
		for i := range o.FulfillmentOrders {
			for j := range o.FulfillmentOrders[i].LineItems {
				fli := &o.FulfillmentOrders[i].LineItems[j]
				if fli.LineItemID == l.LineItemID && left > 0 {
					n := min(left, fli.RemainingQuantity)
					fli.RemainingQuantity -= n
					fli.TotalQuantity -= n
					left -= n
				}
			}
		}
	}
	r.ID, r.CreatedAt, r.Lines = s.id(), s.now(), slices.Clone(r.Lines)
	o.Refunds = append(o.Refunds, r)
	o.UpdatedAt = r.CreatedAt
	o.FinancialStatus = "PARTIALLY_REFUNDED"
	all := true
	for _, li := range o.LineItems {
		all = all && refunded[li.ID] >= li.Quantity
	}
	if all {
		o.FinancialStatus = "REFUNDED"
	}
	*o = o.clone()
	s.save()
	return r.ID, nil
}

// SetThrottle makes the next t.Count requests fail with THROTTLED.
func (s *Server) SetThrottle(t Throttle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.throttleLeft = t, t.Count
}

func (s *Server) find(id string) *Order {
	for _, o := range s.orders {
		if o.ID == id {
			return o
		}
	}
	return nil
}

func (o Order) clone() Order {
	c := o
	c.CustomAttributes = slices.Clone(o.CustomAttributes)
	c.LineItems = slices.Clone(o.LineItems)
	if o.ShippingAddress != nil {
		a := *o.ShippingAddress
		c.ShippingAddress = &a
	}
	c.FulfillmentOrders = make([]FulfillmentOrder, len(o.FulfillmentOrders))
	for i, fo := range o.FulfillmentOrders {
		fo.LineItems = slices.Clone(fo.LineItems)
		c.FulfillmentOrders[i] = fo
	}
	c.Fulfillments = make([]Fulfillment, len(o.Fulfillments))
	for i, f := range o.Fulfillments {
		f.Tracking = slices.Clone(f.Tracking)
		f.Lines = slices.Clone(f.Lines)
		c.Fulfillments[i] = f
	}
	c.Refunds = make([]Refund, len(o.Refunds))
	for i, r := range o.Refunds {
		r.Lines = slices.Clone(r.Lines)
		c.Refunds[i] = r
	}
	return c
}

var endpoint = regexp.MustCompile(`^/admin/api/[0-9]{4}-[0-9]{2}/graphql\.json$`)

// ServeHTTP answers one Admin API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveSandbox(w, r) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req struct {
		Query     string          `json:"query"`
		Variables json.RawMessage `json:"variables"`
	}
	_ = json.Unmarshal(body, &req) // checked below, after recording
	op := rootField(req.Query)
	s.Record(storefronttest.Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Operation: op, Body: string(body)})

	if s.Apply(w, r, writeFault) {
		return
	}
	if r.Method != http.MethodPost || !endpoint.MatchString(r.URL.Path) {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.token || s.token == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	if t, ok := s.takeThrottle(); ok {
		writeJSON(w, http.StatusOK, map[string]any{
			"errors": []any{map[string]any{"message": "Throttled",
				"extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": map[string]any{"cost": map[string]any{
				"requestedQueryCost": t.RequestedCost, "actualQueryCost": nil,
				"throttleStatus": map[string]any{"maximumAvailable": 2000.0,
					"currentlyAvailable": t.Available, "restoreRate": t.RestoreRate}}},
		})
		return
	}
	if req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": "Required parameter missing or invalid"}})
		return
	}

	s.mu.Lock()
	data, gerr := s.dispatch(op, req.Variables)
	if gerr == nil && (op == "orderCreate" || op == "fulfillmentCreate") {
		s.save()
	}
	s.mu.Unlock()
	if gerr != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []any{gerr}, "extensions": cost(1)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{op: data}, "extensions": cost(10)})
}

func (s *Server) takeThrottle() (Throttle, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttleLeft <= 0 {
		return Throttle{}, false
	}
	s.throttleLeft--
	return s.throttle, true
}

// graphQLError is one top-level error.
type graphQLError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func gqlErr(code, format string, args ...any) *graphQLError {
	return &graphQLError{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": code}}
}

func (s *Server) dispatch(op string, vars json.RawMessage) (any, *graphQLError) {
	switch op {
	case "order":
		var v struct {
			ID string `json:"id"`
		}
		if err := decodeVars(vars, &v); err != nil {
			return nil, err
		}
		o := s.byGID(v.ID)
		if o == nil {
			return nil, nil
		}
		return renderOrder(o), nil
	case "orders":
		return s.listOrders(vars)
	case "productVariants":
		return s.listVariants(vars)
	case "orderCreate":
		return s.orderCreate(vars)
	case "fulfillmentCreate":
		return s.fulfillmentCreate(vars)
	default:
		return nil, gqlErr("undefinedField", "Field '%s' doesn't exist on type 'QueryRoot'", op)
	}
}

func (s *Server) byGID(id string) *Order {
	const prefix = "gid://shopify/Order/"
	if !strings.HasPrefix(id, prefix) {
		return nil
	}
	return s.find(strings.TrimPrefix(id, prefix))
}

func decodeVars(vars json.RawMessage, v any) *graphQLError {
	if len(vars) == 0 {
		vars = []byte("{}")
	}
	if err := json.Unmarshal(vars, v); err != nil {
		return gqlErr("INVALID_VARIABLE", "Variables are invalid: %v", err)
	}
	return nil
}

func (s *Server) listOrders(vars json.RawMessage) (any, *graphQLError) {
	var v struct {
		First int     `json:"first"`
		After *string `json:"after"`
		Query string  `json:"query"`
	}
	if err := decodeVars(vars, &v); err != nil {
		return nil, err
	}
	if v.First <= 0 || v.First > 250 {
		v.First = 50
	}
	terms, perr := parseSearch(v.Query)
	if perr != nil {
		return nil, perr
	}
	for _, t := range terms {
		if _, ok := searchTime(t.value); t.field == "updated_at" && !ok {
			return nil, gqlErr("BAD_REQUEST", "shopifytest: cannot read date %q", t.value)
		}
	}
	var match []*Order
	for _, o := range s.orders {
		ok := true
		for _, t := range terms {
			switch t.field {
			case "updated_at":
				ok = ok && t.compareTime(o.UpdatedAt)
			case "source_identifier":
				ok = ok && t.op == ":" && o.SourceIdentifier == t.value
			default:
				return nil, gqlErr("BAD_REQUEST", "shopifytest: search field %q is not supported", t.field)
			}
		}
		if ok {
			match = append(match, o)
		}
	}
	// sortKey UPDATED_AT, ties broken by id, as a stable cursor needs.
	sort.SliceStable(match, func(i, j int) bool {
		if !match[i].UpdatedAt.Equal(match[j].UpdatedAt) {
			return match[i].UpdatedAt.Before(match[j].UpdatedAt)
		}
		return match[i].ID < match[j].ID
	})
	start := 0
	if v.After != nil {
		b, err := base64.StdEncoding.DecodeString(*v.After)
		if err != nil {
			return nil, gqlErr("BAD_REQUEST", "Invalid cursor for current pagination sort.")
		}
		for i, o := range match {
			if cursor(o) == string(b) {
				start = i + 1
			}
		}
	}
	end := min(start+v.First, len(match))
	nodes := []any{}
	for _, o := range match[start:end] {
		nodes = append(nodes, renderOrder(o))
	}
	page := map[string]any{"hasNextPage": end < len(match), "endCursor": nil}
	if end > start {
		page["endCursor"] = base64.StdEncoding.EncodeToString([]byte(cursor(match[end-1])))
	}
	return map[string]any{"pageInfo": page, "nodes": nodes}, nil
}

func cursor(o *Order) string { return o.UpdatedAt.Format(time.RFC3339Nano) + "|" + o.ID }

func (s *Server) listVariants(vars json.RawMessage) (any, *graphQLError) {
	var v struct {
		First int    `json:"first"`
		Query string `json:"query"`
	}
	if err := decodeVars(vars, &v); err != nil {
		return nil, err
	}
	terms, perr := parseSearch(v.Query)
	if perr != nil {
		return nil, perr
	}
	nodes := []any{}
	for _, vr := range s.variants {
		ok := true
		for _, t := range terms {
			if t.field != "sku" {
				return nil, gqlErr("BAD_REQUEST", "shopifytest: search field %q is not supported", t.field)
			}
			ok = ok && vr.SKU == t.value
		}
		if ok {
			nodes = append(nodes, map[string]any{"id": vr.ID, "sku": vr.SKU, "title": vr.Title})
		}
	}
	return map[string]any{"nodes": nodes}, nil
}

// userError is one entry of a mutation payload's userErrors.
type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code,omitempty"`
}

var (
	financialStatuses   = []string{"AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "PENDING", "REFUNDED", "VOIDED"}
	inventoryBehaviours = []string{"BYPASS", "DECREMENT_IGNORING_POLICY", "DECREMENT_OBEYING_POLICY"}
)

func (s *Server) orderCreate(vars json.RawMessage) (any, *graphQLError) {
	var v struct {
		Order *struct {
			LineItems []struct {
				VariantID string `json:"variantId"`
				Quantity  int    `json:"quantity"`
			} `json:"lineItems"`
			ShippingAddress *struct {
				FirstName    string `json:"firstName"`
				LastName     string `json:"lastName"`
				Company      string `json:"company"`
				Address1     string `json:"address1"`
				Address2     string `json:"address2"`
				City         string `json:"city"`
				Zip          string `json:"zip"`
				ProvinceCode string `json:"provinceCode"`
				CountryCode  string `json:"countryCode"`
				Phone        string `json:"phone"`
			} `json:"shippingAddress"`
			CustomAttributes []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"customAttributes"`
			SourceIdentifier string `json:"sourceIdentifier"`
			FinancialStatus  string `json:"financialStatus"`
			ProcessedAt      string `json:"processedAt"`
			Test             bool   `json:"test"`
		} `json:"order"`
		Options *struct {
			InventoryBehaviour string `json:"inventoryBehaviour"`
		} `json:"options"`
	}
	if err := decodeVars(vars, &v); err != nil {
		return nil, err
	}
	in := v.Order
	if in == nil {
		return nil, gqlErr("INVALID_VARIABLE", "Variable $order of type OrderCreateOrderInput! was provided invalid value")
	}
	if in.FinancialStatus != "" && !slices.Contains(financialStatuses, in.FinancialStatus) {
		return nil, gqlErr("INVALID_VARIABLE", "Variable $order of type OrderCreateOrderInput! was provided invalid value for financialStatus")
	}
	if v.Options != nil && v.Options.InventoryBehaviour != "" && !slices.Contains(inventoryBehaviours, v.Options.InventoryBehaviour) {
		return nil, gqlErr("INVALID_VARIABLE", "Variable $options of type OrderCreateOptionsInput was provided invalid value for inventoryBehaviour")
	}
	if in.ProcessedAt != "" {
		if _, err := time.Parse(time.RFC3339, in.ProcessedAt); err != nil {
			return nil, gqlErr("INVALID_VARIABLE", "Variable $order of type OrderCreateOrderInput! was provided invalid value for processedAt")
		}
	}
	refuse := func(field []string, msg string) (any, *graphQLError) {
		return map[string]any{"order": nil, "userErrors": []userError{{Field: field, Message: msg, Code: "INVALID"}}}, nil
	}
	if len(in.LineItems) == 0 {
		return refuse([]string{"order", "lineItems"}, "Line items must have at least one line item.")
	}
	o := Order{SourceIdentifier: in.SourceIdentifier, FinancialStatus: in.FinancialStatus, Test: in.Test}
	for i, li := range in.LineItems {
		var variant *Variant
		for k := range s.variants {
			if s.variants[k].ID == li.VariantID {
				variant = &s.variants[k]
			}
		}
		if variant == nil {
			return refuse([]string{"order", "lineItems", fmt.Sprint(i), "variantId"}, "Variant does not exist.")
		}
		if li.Quantity < 1 {
			return refuse([]string{"order", "lineItems", fmt.Sprint(i), "quantity"}, "Quantity must be greater than or equal to 1.")
		}
		o.LineItems = append(o.LineItems, LineItem{SKU: variant.SKU, Title: variant.Title, Quantity: li.Quantity, VariantID: variant.ID})
	}
	if a := in.ShippingAddress; a != nil {
		if len(a.CountryCode) != 2 {
			return refuse([]string{"order", "shippingAddress", "countryCode"}, "Country code is invalid.")
		}
		o.ShippingAddress = &Address{FirstName: a.FirstName, LastName: a.LastName, Company: a.Company,
			Address1: a.Address1, Address2: a.Address2, City: a.City, Zip: a.Zip,
			ProvinceCode: a.ProvinceCode, CountryCode: a.CountryCode, Phone: a.Phone}
	}
	for _, a := range in.CustomAttributes {
		o.CustomAttributes = append(o.CustomAttributes, Attribute{Key: a.Key, Value: a.Value})
	}
	created := s.add(o)
	return map[string]any{
		"order":      map[string]any{"id": gid("Order", created.ID), "legacyResourceId": created.ID, "name": created.Name},
		"userErrors": []userError{},
	}, nil
}

func (s *Server) fulfillmentCreate(vars json.RawMessage) (any, *graphQLError) {
	var v struct {
		Fulfillment *struct {
			LineItemsByFulfillmentOrder []struct {
				FulfillmentOrderID        string `json:"fulfillmentOrderId"`
				FulfillmentOrderLineItems []struct {
					ID       string `json:"id"`
					Quantity int    `json:"quantity"`
				} `json:"fulfillmentOrderLineItems"`
			} `json:"lineItemsByFulfillmentOrder"`
			NotifyCustomer bool `json:"notifyCustomer"`
			TrackingInfo   *struct {
				Company string `json:"company"`
				Number  string `json:"number"`
				URL     string `json:"url"`
			} `json:"trackingInfo"`
		} `json:"fulfillment"`
	}
	if err := decodeVars(vars, &v); err != nil {
		return nil, err
	}
	in := v.Fulfillment
	if in == nil {
		return nil, gqlErr("INVALID_VARIABLE", "Variable $fulfillment of type FulfillmentInput! was provided invalid value")
	}
	if t := in.TrackingInfo; t != nil && t.URL != "" && !isURL(t.URL) {
		// URL is a scalar: a bad one fails variable coercion, before any
		// business rule runs.
		return nil, gqlErr("INVALID_VARIABLE", "Variable $fulfillment of type FulfillmentInput! was provided invalid value for trackingInfo.url (Invalid URL)")
	}
	refuse := func(field []string, msg string) (any, *graphQLError) {
		return map[string]any{"fulfillment": nil, "userErrors": []userError{{Field: field, Message: msg}}}, nil
	}
	if len(in.LineItemsByFulfillmentOrder) == 0 {
		return refuse([]string{"fulfillment", "lineItemsByFulfillmentOrder"}, "Line items by fulfillment order must not be empty.")
	}
	type take struct {
		fo, li   int
		quantity int
	}
	var order *Order
	var takes []take
	for i, group := range in.LineItemsByFulfillmentOrder {
		field := []string{"fulfillment", "lineItemsByFulfillmentOrder", fmt.Sprint(i), "fulfillmentOrderId"}
		o, foi := s.findFulfillmentOrder(group.FulfillmentOrderID)
		if o == nil {
			return refuse(field, "Fulfillment order does not exist.")
		}
		if order != nil && order != o {
			return refuse(field, "All fulfillment orders must belong to the same order.")
		}
		order = o
		fo := &o.FulfillmentOrders[foi]
		if fo.Status != "OPEN" && fo.Status != "IN_PROGRESS" {
			return refuse(field, fmt.Sprintf("Fulfillment order %s has an unfulfillable status= %s.", gid("FulfillmentOrder", fo.ID), strings.ToLower(fo.Status)))
		}
		if len(group.FulfillmentOrderLineItems) == 0 {
			for k, li := range fo.LineItems {
				if li.RemainingQuantity > 0 {
					takes = append(takes, take{foi, k, li.RemainingQuantity})
				}
			}
			continue
		}
		for j, want := range group.FulfillmentOrderLineItems {
			lfield := []string{"fulfillment", "lineItemsByFulfillmentOrder", fmt.Sprint(i), "fulfillmentOrderLineItems", fmt.Sprint(j)}
			k := slices.IndexFunc(fo.LineItems, func(li FulfillmentOrderLineItem) bool {
				return gid("FulfillmentOrderLineItem", li.ID) == want.ID
			})
			if k < 0 {
				return refuse(append(lfield, "id"), "Fulfillment order line item does not exist.")
			}
			already := 0
			for _, t := range takes {
				if t.fo == foi && t.li == k {
					already += t.quantity
				}
			}
			if want.Quantity < 1 || want.Quantity+already > fo.LineItems[k].RemainingQuantity {
				return refuse(append(lfield, "quantity"), "Invalid fulfillment order line item quantity requested.")
			}
			takes = append(takes, take{foi, k, want.Quantity})
		}
	}
	if len(takes) == 0 {
		return refuse([]string{"fulfillment", "lineItemsByFulfillmentOrder"}, "Fulfillment order has no line items to fulfill.")
	}
	f := Fulfillment{ID: s.id(), Status: "SUCCESS", NotifyCustomer: in.NotifyCustomer}
	if t := in.TrackingInfo; t != nil {
		f.Tracking = []Tracking{{Company: t.Company, Number: t.Number, URL: t.URL}}
	}
	for _, t := range takes {
		li := &order.FulfillmentOrders[t.fo].LineItems[t.li]
		li.RemainingQuantity -= t.quantity
		f.Lines = append(f.Lines, FulfilledLine{LineItemID: li.LineItemID, Quantity: t.quantity})
	}
	for i := range order.FulfillmentOrders {
		fo := &order.FulfillmentOrders[i]
		if fo.Status != "OPEN" && fo.Status != "IN_PROGRESS" {
			continue
		}
		remaining, total := 0, 0
		for _, li := range fo.LineItems {
			remaining += li.RemainingQuantity
			total += li.TotalQuantity
		}
		switch {
		case remaining == 0:
			fo.Status = "CLOSED"
		case remaining < total:
			fo.Status = "IN_PROGRESS"
		}
	}
	order.Fulfillments = append(order.Fulfillments, f)
	order.UpdatedAt = s.now()
	return map[string]any{
		"fulfillment": map[string]any{"id": gid("Fulfillment", f.ID), "status": f.Status},
		"userErrors":  []userError{},
	}, nil
}

func (s *Server) findFulfillmentOrder(id string) (*Order, int) {
	for _, o := range s.orders {
		for i, fo := range o.FulfillmentOrders {
			if gid("FulfillmentOrder", fo.ID) == id {
				return o, i
			}
		}
	}
	return nil, -1
}

func isURL(s string) bool {
	return (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) && !strings.ContainsAny(s, " \t\n")
}

// writeFault answers a fault the way Shopify's edge does.
func writeFault(w http.ResponseWriter, f storefronttest.Fault) {
	switch f.Status {
	case http.StatusTooManyRequests:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprintf("%.1f", f.RetryAfter.Seconds()))
		}
		writeJSON(w, f.Status, map[string]any{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})
	case http.StatusUnauthorized:
		writeJSON(w, f.Status, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
	case http.StatusForbidden:
		writeJSON(w, f.Status, map[string]any{"errors": "[API] This action requires merchant approval for read_orders scope."})
	default:
		writeJSON(w, f.Status, map[string]any{"errors": http.StatusText(f.Status)})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func cost(actual float64) map[string]any {
	return map[string]any{"cost": map[string]any{
		"requestedQueryCost": actual, "actualQueryCost": actual,
		"throttleStatus": map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": 2000.0 - actual, "restoreRate": 100.0},
	}}
}
