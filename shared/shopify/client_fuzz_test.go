package shopify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/shopify"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/fuzzhttp"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
)

func readSeed(f *testing.F, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func fuzzClient(f *testing.F, srv *fuzzhttp.Server) *shopify.Client {
	c, err := shopify.New(shopify.Config{ShopURL: srv.URL, AccessToken: token, Connection: "conn-1"}, srv.Client())
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// operation names the GraphQL operation of a request to the fuzz server
// (OrderCreate, FulfillmentOrders, ...).
func operation(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	var req struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(b, &req)
	for _, op := range []string{"ImportedOrder", "VariantsBySKU", "OrderCreate", "FulfillmentOrders", "FulfillmentCreate", "Orders", "Order"} {
		if strings.Contains(req.Query, " "+op+"(") {
			return op
		}
	}
	return ""
}

// FuzzOrderAnswer serves any answer, with any status and Retry-After, to
// Order: a failure is classified (store_disconnected for a 401, 402, 403,
// 404 or 423, rate_limited with a sane delay for a 429 or THROTTLED) and
// shows no token; an event is one the sync can use, about the order asked
// for.
func FuzzOrderAnswer(f *testing.F) {
	f.Add(200, "", readSeed(f, "order_graphql.json"))
	f.Add(200, "", readSeed(f, "throttled_response.json"))
	f.Add(200, "", []byte(`{"errors":[{"extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":1000,"throttleStatus":{"currentlyAvailable":0,"restoreRate":1e-300}}}}`))
	f.Add(200, "", []byte(`{"errors":[{"extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":1000,"throttleStatus":{"currentlyAvailable":0,"restoreRate":1e-9}}}}`))
	f.Add(429, "2.0", []byte(`{"errors":"Exceeded 2 calls per second for api client."}`))
	f.Add(401, "", []byte(`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`))
	f.Add(402, "", []byte(`{"errors":"Unavailable Shop"}`))
	f.Add(200, "", []byte(`{"data":{"order":null}}`))
	f.Add(200, "", []byte(`{"data":{"order":{"displayFinancialStatus":"PAID","displayFulfillmentStatus":"FULFILLED"}}}`))
	f.Add(200, "", []byte(`{"data":{"order":{"id":"gid://shopify/Order/1","displayFinancialStatus":"PAID","displayFulfillmentStatus":"UNFULFILLED"}}}`))
	f.Add(200, "", []byte(`{"data":{"order":{"legacyResourceId":"450789469","displayFinancialStatus":"PAID","updatedAt":"9999-12-31T23:59:59-23:59","fulfillments":[{"status":"SUCCESS","trackingInfo":[]}]}}}`))
	f.Add(503, "Fri, 31 Dec 9999 23:59:59 GMT", []byte(`<html>`))
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		srv.Answer(func(*http.Request) fuzzhttp.Answer {
			return fuzzhttp.Answer{Status: status, Header: http.Header{"Retry-After": {retryAfter}}, Body: body}
		})
		ev, err := c.Order(context.Background(), "450789469")
		if err != nil {
			e := fuzzhttp.Classified(t, err, token)
			switch s := fuzzhttp.Status(status); {
			case slices.Contains([]int{401, 402, 403, 404, 423}, s) && e.Code != syncerr.StoreDisconnected,
				s == 429 && e.Code != syncerr.RateLimited:
				t.Fatalf("http %d: code %s", s, e.Code)
			}
			return
		}
		if s := fuzzhttp.Status(status); s >= 300 {
			t.Fatalf("http %d answered an event", s)
		}
		storefronttest.CheckEvent(t, ev, order.Shopify, "conn-1")
		if ev.Order.StoreOrderID != "450789469" {
			t.Fatalf("Order(450789469) answered order %q", ev.Order.StoreOrderID)
		}
	})
}

// importedOrder is the marketplace order FuzzCreateOrderAnswers imports.
var importedOrder = order.MarketplaceOrder{ID: "BM-77",
	Lines: []order.MarketplaceLine{{SKU: "IPOD2008GREEN", Quantity: 1}, {SKU: "IPOD2008BLACK", Quantity: 2}},
	ShippingAddress: &order.Address{Name: "Bob Norman", Line1: "Chestnut Street 92", City: "Louisville",
		PostalCode: "40202", Region: "KY", Country: "US"}}

// FuzzCreateOrderAnswers serves any answers to the three steps of
// CreateOrder (the search for an order already imported, the variant
// lookups, orderCreate): a failure is classified (a userError on the
// shipping address is address_invalid, any other invalid_data); a success
// is a Shopify order id; and an order the search finds is never created
// again.
func FuzzCreateOrderAnswers(f *testing.F) {
	none := []byte(`{"data":{"orders":{"nodes":[]}}}`)
	variants := []byte(`{"data":{"productVariants":{"nodes":[{"id":"gid://shopify/ProductVariant/808950810","sku":"IPOD2008GREEN"},{"id":"gid://shopify/ProductVariant/457924702","sku":"IPOD2008BLACK"}]}}}`)
	created := []byte(`{"data":{"orderCreate":{"order":{"id":"gid://shopify/Order/450789469","legacyResourceId":"450789469"},"userErrors":[]}}}`)
	f.Add(none, variants, created)
	f.Add([]byte(`{"data":{"orders":{"nodes":[{"id":"gid://shopify/Order/450789469","legacyResourceId":"450789469","sourceIdentifier":"BM-77","customAttributes":[]}]}}}`), variants, created)
	f.Add([]byte(`{"data":{"orders":{"nodes":[{"customAttributes":[{"key":"ordersync_marketplace_order_id","value":"BM-77"}]}]}}}`), variants, created)
	f.Add(none, []byte(`{"data":{"productVariants":{"nodes":[{"id":"a","sku":"IPOD2008GREEN"},{"id":"b","sku":"IPOD2008GREEN"}]}}}`), created)
	f.Add(none, variants, []byte(`{"data":{"orderCreate":{"order":null,"userErrors":[{"field":["order","shippingAddress","countryCode"],"message":"is invalid","code":"INVALID"}]}}}`))
	f.Add(none, variants, []byte(`{"data":{"orderCreate":{"order":null,"userErrors":[{"field":null,"message":"x"}]}}}`))
	f.Add(none, variants, []byte(`{"data":{"orderCreate":{"order":{},"userErrors":[]}}}`))
	f.Add(none, variants, []byte(`{"data":{"orderCreate":{"order":{"id":"gid://shopify/Order/","legacyResourceId":""}}}}`))
	f.Add(none, variants, readSeed(f, "throttled_response.json"))
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	f.Fuzz(func(t *testing.T, lookup, variants, create []byte) {
		var creates int
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			switch operation(r) {
			case "ImportedOrder":
				return fuzzhttp.Answer{Body: lookup}
			case "VariantsBySKU":
				return fuzzhttp.Answer{Body: variants}
			case "OrderCreate":
				creates++
				return fuzzhttp.Answer{Body: create}
			}
			return fuzzhttp.Answer{Status: http.StatusBadRequest}
		})
		id, _, err := c.CreateOrder(context.Background(), importedOrder)
		if creates > 0 && foundImported(lookup, importedOrder.ID) {
			t.Fatalf("created %s again, though the search found it", importedOrder.ID)
		}
		if err != nil {
			e := fuzzhttp.Classified(t, err, token)
			if ue := createUserErrors(create); creates > 0 && len(ue) > 0 {
				want := syncerr.InvalidData
				if i := slices.Index(ue[0].Field, "shippingAddress"); i >= 0 && i+1 < len(ue[0].Field) {
					want = syncerr.AddressInvalid
				}
				if e.Code != want {
					t.Fatalf("userErrors %+v: code %s, want %s", ue, e.Code, want)
				}
			}
			return
		}
		if !numeric(id) {
			t.Fatalf("CreateOrder = %q, not a Shopify order id", id)
		}
	})
}

// foundImported reports whether a search answer names an order holding
// marketplace order id mpID, as CreateOrder's idempotency promises to
// find it.
func foundImported(lookup []byte, mpID string) bool {
	var r struct {
		Data struct {
			Orders struct {
				Nodes []struct {
					SourceIdentifier string `json:"sourceIdentifier"`
				} `json:"nodes"`
			} `json:"orders"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(lookup, &r) != nil || len(r.Errors) > 0 {
		return false
	}
	for _, n := range r.Data.Orders.Nodes {
		// Only source_identifier: the custom attribute is buyer-writable.
		if n.SourceIdentifier == mpID {
			return true
		}
	}
	return false
}

type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

func createUserErrors(b []byte) []userError {
	var r struct {
		Data struct {
			OrderCreate struct {
				UserErrors []userError `json:"userErrors"`
			} `json:"orderCreate"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(b, &r) != nil || len(r.Errors) > 0 {
		return nil
	}
	return r.Data.OrderCreate.UserErrors
}

func numeric(s string) bool {
	return s != "" && len(s) <= 19 && strings.Trim(s, "0123456789") == ""
}

// parcels are what FuzzFulfillAnswers asks to record, one per input.
var parcels = []order.Parcel{
	{Tracking: order.Tracking{Number: "1Z2345", Carrier: "UPS"}},
	{Tracking: order.Tracking{Number: "1Z2345"}, Lines: []order.Line{{SKU: "IPOD2008GREEN", Quantity: 1}}},
	{Tracking: order.Tracking{Number: "1Z9999"}, Lines: []order.Line{{StoreLineID: "466157049"}}},
	{Lines: []order.Line{{SKU: "IPOD2008BLACK", Quantity: 2}, {SKU: "IPOD2008GREEN"}}},
}

// fulfillmentOrders mirrors what FulfillmentOrders answers, as the test
// reads it.
type fulfillmentOrders struct {
	Data struct {
		Order *struct {
			Fulfillments []struct {
				Status       string `json:"status"`
				TrackingInfo []struct {
					Number string `json:"number"`
				} `json:"trackingInfo"`
			} `json:"fulfillments"`
			FulfillmentOrders struct {
				Nodes []struct {
					ID               string `json:"id"`
					SupportedActions []struct {
						Action string `json:"action"`
					} `json:"supportedActions"`
					LineItems struct {
						Nodes []struct {
							ID                string `json:"id"`
							RemainingQuantity int    `json:"remainingQuantity"`
						} `json:"nodes"`
					} `json:"lineItems"`
				} `json:"nodes"`
			} `json:"fulfillmentOrders"`
		} `json:"order"`
	} `json:"data"`
}

// FuzzFulfillAnswers serves any answers to Fulfill's two calls (the
// fulfillment orders, fulfillmentCreate): a failure is classified (a
// userError on trackingInfo is invalid_data, any other
// invalid_transition); fulfillmentCreate only ever asks for a positive
// quantity of a line item of a fulfillment order that supports
// CREATE_FULFILLMENT, never more than remains of it; and a success either
// found the parcel's tracking number recorded or had Shopify create the
// fulfillment.
func FuzzFulfillAnswers(f *testing.F) {
	open := []byte(`{"data":{"order":{"id":"gid://shopify/Order/450789469","displayFulfillmentStatus":"UNFULFILLED","fulfillments":[],
 "fulfillmentOrders":{"nodes":[{"id":"gid://shopify/FulfillmentOrder/1","status":"OPEN","supportedActions":[{"action":"CREATE_FULFILLMENT"}],
 "lineItems":{"nodes":[{"id":"gid://shopify/FulfillmentOrderLineItem/11","remainingQuantity":1,"lineItem":{"id":"gid://shopify/LineItem/466157049","sku":"IPOD2008GREEN"}},
 {"id":"gid://shopify/FulfillmentOrderLineItem/12","remainingQuantity":3,"lineItem":{"id":"gid://shopify/LineItem/518995019","sku":"IPOD2008BLACK"}}]}}]}}}}`)
	shipped := []byte(`{"data":{"order":{"displayFulfillmentStatus":"FULFILLED","fulfillments":[{"status":"SUCCESS","trackingInfo":[{"number":"1Z2345"}]}],"fulfillmentOrders":{"nodes":[]}}}}`)
	split := []byte(`{"data":{"order":{"fulfillmentOrders":{"nodes":[
 {"id":"fo1","supportedActions":[{"action":"CREATE_FULFILLMENT"}],"lineItems":{"nodes":[{"id":"a","remainingQuantity":1,"lineItem":{"id":"gid://shopify/LineItem/1","sku":"IPOD2008BLACK"}}]}},
 {"id":"fo2","supportedActions":[{"action":"HOLD"}],"lineItems":{"nodes":[{"id":"b","remainingQuantity":5,"lineItem":{"id":"gid://shopify/LineItem/2","sku":"IPOD2008BLACK"}}]}},
 {"id":"fo3","supportedActions":[{"action":"CREATE_FULFILLMENT"}],"lineItems":{"nodes":[{"id":"a","remainingQuantity":-4,"lineItem":{"id":"gid://shopify/LineItem/1","sku":"IPOD2008BLACK"}},{"id":"c","remainingQuantity":1,"lineItem":{"id":"gid://shopify/LineItem/466157049","sku":"IPOD2008GREEN"}}]}}]}}}}`)
	created := []byte(`{"data":{"fulfillmentCreate":{"fulfillment":{"id":"gid://shopify/Fulfillment/255858046","status":"SUCCESS"},"userErrors":[]}}}`)
	for i := range parcels {
		f.Add(uint8(i), open, created)
	}
	f.Add(uint8(0), shipped, created)
	f.Add(uint8(3), split, created)
	f.Add(uint8(1), open, []byte(`{"data":{"fulfillmentCreate":{"fulfillment":null,"userErrors":[{"field":["fulfillment","trackingInfo","url"],"message":"is invalid"}]}}}`))
	f.Add(uint8(1), open, []byte(`{"data":{"fulfillmentCreate":{"fulfillment":null,"userErrors":[{"field":["fulfillment"],"message":"Fulfillment order is closed"}]}}}`))
	f.Add(uint8(2), open, []byte(`{"data":{"fulfillmentCreate":{}}}`))
	f.Add(uint8(0), []byte(`{"data":{"order":null}}`), created)
	f.Add(uint8(0), readSeed(f, "throttled_response.json"), created)
	srv := fuzzhttp.New(f)
	c := fuzzClient(f, srv)
	f.Fuzz(func(t *testing.T, which uint8, orderBody, createBody []byte) {
		p := parcels[int(which)%len(parcels)]
		var asked [][]byte // fulfillmentCreate variables
		srv.Answer(func(r *http.Request) fuzzhttp.Answer {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(b)))
			switch operation(r) {
			case "FulfillmentOrders":
				return fuzzhttp.Answer{Body: orderBody}
			case "FulfillmentCreate":
				asked = append(asked, b)
				return fuzzhttp.Answer{Body: createBody}
			}
			return fuzzhttp.Answer{Status: http.StatusBadRequest}
		})
		err := c.Fulfill(context.Background(), "450789469", p)
		var fos fulfillmentOrders
		_ = json.Unmarshal(orderBody, &fos)
		for _, b := range asked {
			checkAllocation(t, fos, b)
		}
		if err != nil {
			e := fuzzhttp.Classified(t, err, token)
			if ue := fulfillUserErrors(createBody); len(asked) > 0 && len(ue) > 0 {
				want := syncerr.InvalidTransition
				for _, u := range ue {
					if slices.Contains(u.Field, "trackingInfo") {
						want = syncerr.InvalidData
						break
					}
				}
				if e.Code != want {
					t.Fatalf("userErrors %+v: code %s, want %s", ue, e.Code, want)
				}
			}
			return
		}
		if len(asked) == 0 && !recorded(fos, p.Tracking.Number) {
			t.Fatal("Fulfill succeeded without creating a fulfillment or finding one with its tracking number")
		}
	})
}

// recorded reports whether the fulfillment orders answer holds a
// fulfillment, not cancelled, with tracking number n.
func recorded(fos fulfillmentOrders, n string) bool {
	if fos.Data.Order == nil || n == "" {
		return false
	}
	for _, f := range fos.Data.Order.Fulfillments {
		if f.Status == "CANCELLED" {
			continue
		}
		for _, t := range f.TrackingInfo {
			if t.Number == n {
				return true
			}
		}
	}
	return false
}

// checkAllocation fails t unless the fulfillmentCreate request body b asks
// only for positive quantities of line items of fulfillment orders that
// support CREATE_FULFILLMENT, within what remains of each.
func checkAllocation(t *testing.T, fos fulfillmentOrders, b []byte) {
	t.Helper()
	var req struct {
		Variables struct {
			Fulfillment struct {
				LineItemsByFulfillmentOrder []struct {
					FulfillmentOrderID        string `json:"fulfillmentOrderId"`
					FulfillmentOrderLineItems []struct {
						ID       string `json:"id"`
						Quantity int    `json:"quantity"`
					} `json:"fulfillmentOrderLineItems"`
				} `json:"lineItemsByFulfillmentOrder"`
			} `json:"fulfillment"`
		} `json:"variables"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("fulfillmentCreate body %s: %v", b, err)
	}
	if fos.Data.Order == nil {
		t.Fatal("fulfillmentCreate called for an order Shopify did not answer")
	}
	type key struct{ fo, li string }
	remaining := map[key]int{}
	for _, fo := range fos.Data.Order.FulfillmentOrders.Nodes {
		if !slices.ContainsFunc(fo.SupportedActions, func(a struct {
			Action string `json:"action"`
		}) bool {
			return a.Action == "CREATE_FULFILLMENT"
		}) {
			continue
		}
		for _, li := range fo.LineItems.Nodes {
			remaining[key{fo.ID, li.ID}] += li.RemainingQuantity
		}
	}
	groups := req.Variables.Fulfillment.LineItemsByFulfillmentOrder
	if len(groups) == 0 {
		t.Fatal("fulfillmentCreate asked for nothing")
	}
	for _, g := range groups {
		for _, li := range g.FulfillmentOrderLineItems {
			k := key{g.FulfillmentOrderID, li.ID}
			left, ok := remaining[k]
			switch {
			case !ok:
				t.Fatalf("asked for %v, not a line item of a fulfillment order that can be fulfilled", k)
			case li.Quantity <= 0 || li.Quantity > left:
				t.Fatalf("asked for %d of %v, %d remain", li.Quantity, k, left)
			}
			remaining[k] = left - li.Quantity
		}
	}
}

func fulfillUserErrors(b []byte) []userError {
	var r struct {
		Data struct {
			FulfillmentCreate struct {
				UserErrors []userError `json:"userErrors"`
			} `json:"fulfillmentCreate"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(b, &r) != nil || len(r.Errors) > 0 {
		return nil
	}
	return r.Data.FulfillmentCreate.UserErrors
}
