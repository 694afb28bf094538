package mirakl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/mirakl"
	"github.com/ordersync/ordersync/shared/mirakl/mirakltest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncer"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/marketplacetest"
)

var _ syncer.Marketplace = (*mirakl.Client)(nil)

const key = "mirakl-shop-key"

func start(t *testing.T, fopts mirakltest.Options, opts mirakl.Options) (*mirakltest.Server, *mirakl.Client, *httptest.Server) {
	t.Helper()
	fopts.APIKey = key
	fake := mirakltest.New(fopts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	opts.BaseURL = srv.URL
	if opts.APIKey == "" {
		opts.APIKey = key
	}
	return fake, mirakl.New(httpclient.New(httpclient.Options{}), opts), srv
}

func TestConformance(t *testing.T) {
	marketplacetest.RunConformance(t, harness(mirakltest.Options{}, mirakl.Options{PageSize: 3}))
}

// TestConformanceMultiShipment runs the suite on a marketplace whose
// operator enabled multiple shipments (ST01), the connection's
// split_parcels set, and a connection that names a refund reason code
// (OR28 refunds shipped lines).
func TestConformanceMultiShipment(t *testing.T) {
	marketplacetest.RunConformance(t, harness(mirakltest.Options{MultiShipment: true, RefundReasons: []string{"17"}},
		mirakl.Options{PageSize: 3, MultiShipment: true, RefundReasonCode: "17"}))
}

func harness(fopts mirakltest.Options, opts mirakl.Options) marketplacetest.Harness {
	return marketplacetest.Harness{Start: func(t *testing.T) *marketplacetest.Fixture {
		fake, client, srv := start(t, fopts, opts)
		expired := mirakl.New(httpclient.New(httpclient.Options{}), mirakl.Options{BaseURL: srv.URL, APIKey: "revoked"})
		var mu sync.Mutex
		next := 1000
		return &marketplacetest.Fixture{
			Marketplace:  client,
			Unauthorized: expired,
			Seed: func(t *testing.T, s marketplacetest.SeedOrder) string {
				mu.Lock()
				next++
				id := fmt.Sprintf("%d-A", next)
				mu.Unlock()
				o := mirakltest.AwaitingAcceptance(id, s.SKUs...)
				for i := range o.OrderLines {
					o.OrderLines[i] = o.OrderLines[i].Priced(10, 2, 20) // the amounts OR28 refunds
				}
				if s.Status == order.StatusCancelled {
					o.OrderState = mirakltest.StateCanceled
					for i := range o.OrderLines {
						o.OrderLines[i].OrderLineState = mirakltest.StateCanceled
					}
				}
				if !s.UpdatedAt.IsZero() {
					o.LastUpdatedDate = s.UpdatedAt.UTC().Format(time.RFC3339)
				}
				fake.Seed(o)
				return id
			},
			SetFault:    fake.SetFault,
			ClearFaults: fake.ClearFaults,
			Updates:     func() int { return len(fake.Calls()) },
			Requests:    fake.Requests,
			PageSize:    3,
		}
	}}
}

func TestRequestShape(t *testing.T) {
	var headers []http.Header
	var queries []string
	fake := mirakltest.New(mirakltest.Options{APIKey: key})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers = append(headers, r.Header.Clone())
		queries = append(queries, r.URL.RawQuery)
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	fake.Seed(mirakltest.AwaitingAcceptance("7-A", "SKU-A", "SKU-B"))
	c := mirakl.New(httpclient.New(httpclient.Options{}), mirakl.Options{BaseURL: srv.URL + "/", APIKey: key,
		ShopID: "2001", CarrierCodes: map[string]string{"Colissimo": "COLISSIMO"}})

	ctx := context.Background()
	o, err := c.Order(ctx, "7-A")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Accept(ctx, o); err != nil {
		t.Fatal(err)
	}
	o, _ = c.Order(ctx, "7-A")
	if err := c.Ship(ctx, o, order.Parcel{Tracking: order.Tracking{Number: "T1", Carrier: "colissimo"}}); err != nil {
		t.Fatal(err)
	}
	for i, h := range headers {
		if got := h.Get("Authorization"); got != key {
			t.Errorf("request %d Authorization = %q; want the bare key", i, got)
		}
		if !strings.Contains(queries[i], "shop_id=2001") {
			t.Errorf("request %d query %q has no shop_id", i, queries[i])
		}
	}
	calls := fake.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls = %+v; want OR21, OR23, OR24", calls)
	}
	wantOps := []string{"OR21", "OR23", "OR24"}
	for i, c := range calls {
		if c.Operation != wantOps[i] || c.Status != http.StatusNoContent || c.ShopID != "2001" {
			t.Errorf("call %d = %+v; want %s answered 204 for shop 2001", i, c, wantOps[i])
		}
	}
	var accept struct {
		OrderLines []struct {
			ID       string `json:"id"`
			Accepted bool   `json:"accepted"`
		} `json:"order_lines"`
	}
	if err := json.Unmarshal([]byte(calls[0].Body), &accept); err != nil {
		t.Fatal(err)
	}
	if len(accept.OrderLines) != 2 || !accept.OrderLines[0].Accepted || !accept.OrderLines[1].Accepted {
		t.Errorf("OR21 body = %s; want both lines accepted", calls[0].Body)
	}
	if got, want := calls[1].Body, `{"carrier_code":"COLISSIMO","tracking_number":"T1"}`; got != want {
		t.Errorf("OR23 body = %s; want %s", got, want)
	}
}

func TestTrackingBody(t *testing.T) {
	tests := []struct {
		name    string
		opts    mirakl.Options
		t       order.Tracking
		want    string
		missing string
	}{
		{"unregistered carrier", mirakl.Options{}, order.Tracking{Number: "1", Carrier: "Acme Post", URL: "https://acme/1"},
			`{"carrier_name":"Acme Post","carrier_url":"https://acme/1","tracking_number":"1"}`, ""},
		{"no carrier", mirakl.Options{}, order.Tracking{Number: "1"}, "", "carrier"},
		{"carrier optional", mirakl.Options{CarrierOptional: true}, order.Tracking{Number: "1"}, `{"tracking_number":"1"}`, ""},
		{"tracking URL required", mirakl.Options{TrackingURLRequired: true}, order.Tracking{Number: "1", Carrier: "Acme"}, "", "tracking URL"},
		{"registered carrier needs no URL", mirakl.Options{TrackingURLRequired: true, CarrierCodes: map[string]string{"UPS": "ups"}},
			order.Tracking{Number: "1", Carrier: "UPS"}, `{"carrier_code":"ups","tracking_number":"1"}`, ""},
		// A carrier Mirakl has no code for, known to ordersync: the buyer
		// gets a link, URL required or not.
		{"unregistered known carrier gets a derived URL", mirakl.Options{}, order.Tracking{Number: "1Z 9", Carrier: "UPS"},
			`{"carrier_name":"UPS","carrier_url":"https://www.ups.com/track?tracknum=1Z9","tracking_number":"1Z 9"}`, ""},
		{"registered carrier gets no derived URL", mirakl.Options{CarrierCodes: map[string]string{"UPS": "ups"}},
			order.Tracking{Number: "1", Carrier: "UPS"}, `{"carrier_code":"ups","tracking_number":"1"}`, ""},
		{"unknown carrier without URL where none is required", mirakl.Options{}, order.Tracking{Number: "1", Carrier: "Acme Post"},
			`{"carrier_name":"Acme Post","tracking_number":"1"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := start(t, mirakltest.Options{}, tt.opts)
			o := mirakltest.AwaitingAcceptance("1-A", "A")
			o.OrderState, o.OrderLines[0].OrderLineState = mirakltest.StateShipping, mirakltest.StateShipping
			fake.Seed(o)
			err := c.Ship(context.Background(), order.MarketplaceOrder{ID: "1-A"}, order.Parcel{Tracking: tt.t})
			if tt.missing != "" {
				e, ok := syncerr.As(err)
				if !ok || e.Code != syncerr.ShippingDataMissing || e.Details["missing"] != tt.missing {
					t.Fatalf("Ship = %v; want shipping_data_missing %s", err, tt.missing)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if calls := fake.Calls(); len(calls) != 2 || calls[0].Body != tt.want {
				t.Errorf("calls = %+v; want OR23 with %s then OR24", calls, tt.want)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		opts   mirakl.Options
		want   syncerr.Code
	}{
		{"invalid state", 400, `{"message":"ORDER_INVALID_STATE: no","status":400}`, mirakl.Options{}, syncerr.InvalidTransition},
		{"code in another field", 400, `{"errors":[{"code":"ORDER_INVALID_STATE"}]}`, mirakl.Options{}, syncerr.InvalidTransition},
		{"order not found", 404, `{"message":"ORDER_NOT_FOUND","status":404}`, mirakl.Options{}, syncerr.OrderNotFound},
		{"line not found is not order not found", 400, `{"message":"ORDER_LINE_NOT_FOUND","status":400}`, mirakl.Options{}, syncerr.InvalidData},
		{"validation", 400, `{"message":"VALIDATION_ERROR: max","status":400}`, mirakl.Options{}, syncerr.InvalidData},
		{"no code", 400, `{"message":"Bad Request","status":400}`, mirakl.Options{}, syncerr.InvalidData},
		{"code inside a longer word", 400, `{"message":"XORDER_INVALID_STATE"}`, mirakl.Options{}, syncerr.InvalidData},
		{"configured code", 400, `{"message":"SHOP_ON_VACATION"}`,
			mirakl.Options{ErrorCodes: map[string]syncerr.Code{"SHOP_ON_VACATION": syncerr.MarketplaceUnavailable}}, syncerr.MarketplaceUnavailable},
		{"401 whatever the body", 401, `{"message":"ORDER_NOT_FOUND"}`, mirakl.Options{}, syncerr.AuthExpired},
		{"429", 429, `{"message":"slow down"}`, mirakl.Options{}, syncerr.RateLimited},
		{"503", 503, `<html>`, mirakl.Options{}, syncerr.MarketplaceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			tt.opts.BaseURL, tt.opts.APIKey = srv.URL, key
			c := mirakl.New(httpclient.New(httpclient.Options{}), tt.opts)
			_, err := c.Order(context.Background(), "1-A")
			if got := syncerr.CodeOf(err); got != tt.want {
				t.Errorf("code = %s (%v); want %s", got, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), key) {
				t.Errorf("error %q contains the API key", err)
			}
		})
	}
}

func TestShipPartialParcel(t *testing.T) {
	fake, c, _ := start(t, mirakltest.Options{}, mirakl.Options{})
	fake.Seed(mirakltest.AwaitingAcceptance("1-A", "A", "B"))
	ctx := context.Background()
	if err := c.Accept(ctx, order.MarketplaceOrder{ID: "1-A"}); err != nil {
		t.Fatal(err)
	}
	p := order.Parcel{Tracking: order.Tracking{Number: "1", Carrier: "UPS"}, Lines: []order.Line{{SKU: "A"}}}
	err := c.Ship(ctx, order.MarketplaceOrder{ID: "1-A"}, p)
	if got := syncerr.CodeOf(err); got != syncerr.InvalidData {
		t.Errorf("Ship of one line of two = %v; want invalid_data", err)
	}
	p.Lines = append(p.Lines, order.Line{SKU: "B"})
	if err := c.Ship(ctx, order.MarketplaceOrder{ID: "1-A"}, p); err != nil {
		t.Errorf("Ship of both lines: %v", err)
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name      string
		state     string
		want      syncerr.Code
		wantState string
		calls     int
	}{
		{"awaiting acceptance is refused", mirakltest.StateWaitingAcceptance, "", mirakltest.StateRefused, 1},
		{"shipping is cancelled", mirakltest.StateShipping, "", mirakltest.StateCanceled, 1},
		{"awaiting debit is cancelled", mirakltest.StateWaitingDebitPay, "", mirakltest.StateCanceled, 1},
		{"shipped cannot be", mirakltest.StateShipped, syncerr.InvalidTransition, mirakltest.StateShipped, 0},
		{"cancelled is a no-op", mirakltest.StateCanceled, "", mirakltest.StateCanceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := start(t, mirakltest.Options{}, mirakl.Options{})
			o := mirakltest.AwaitingAcceptance("1-A", "A", "B")
			o.OrderState = tt.state
			for i := range o.OrderLines {
				o.OrderLines[i].OrderLineState = tt.state
			}
			fake.Seed(o)
			err := c.Cancel(context.Background(), order.MarketplaceOrder{ID: "1-A"}, "customer")
			if got := syncerr.CodeOf(err); err != nil && got != tt.want || err == nil && tt.want != "" {
				t.Errorf("Cancel = %v; want %q", err, tt.want)
			}
			got, _ := fake.Order("1-A")
			if got.OrderState != tt.wantState {
				t.Errorf("state = %s; want %s", got.OrderState, tt.wantState)
			}
			if n := len(fake.Calls()); n != tt.calls {
				t.Errorf("%d calls; want %d", n, tt.calls)
			}
		})
	}
}

func TestShipAwaitingDebit(t *testing.T) {
	fake, c, _ := start(t, mirakltest.Options{AcceptTo: mirakltest.StateWaitingDebitPay}, mirakl.Options{})
	fake.Seed(mirakltest.AwaitingAcceptance("1-A", "A"))
	ctx := context.Background()
	if err := c.Accept(ctx, order.MarketplaceOrder{ID: "1-A"}); err != nil {
		t.Fatal(err)
	}
	err := c.Ship(ctx, order.MarketplaceOrder{ID: "1-A"}, order.Parcel{Tracking: order.Tracking{Number: "1", Carrier: "UPS"}})
	if got := syncerr.CodeOf(err); got != syncerr.InvalidTransition {
		t.Errorf("Ship awaiting the debit = %v; want invalid_transition", err)
	}
}
