package bigcommerce_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/bigcommerce"
	"github.com/ordersync/ordersync/shared/bigcommerce/bigcommercetest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
)

const (
	hash  = "abc123"
	token = "bc_token_0123456789"
)

func TestConformance(t *testing.T) {
	storefronttest.RunConformance(t, func(t *testing.T) *storefronttest.Harness {
		srv := bigcommercetest.New(hash, token)
		srv.AddProduct(bigcommercetest.CatalogProduct{Name: "Widget A", SKU: "SKU-A"})
		srv.AddProduct(bigcommercetest.CatalogProduct{Name: "Widget", SKU: "WIDGET", Variants: []bigcommercetest.Variant{{SKU: "SKU-B"}, {SKU: "SKU-C"}}})
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		c, err := bigcommerce.New(bigcommerce.Config{BaseURL: hs.URL, StoreHash: hash, AccessToken: token, PageSize: 2}, hs.Client())
		if err != nil {
			t.Fatal(err)
		}
		bad, err := bigcommerce.New(bigcommerce.Config{BaseURL: hs.URL, StoreHash: hash, AccessToken: "bc_revoked"}, hs.Client())
		if err != nil {
			t.Fatal(err)
		}
		return &storefronttest.Harness{
			Storefront:     c,
			BadCredentials: bad,
			Secret:         token,
			SeedOrder: func(t *testing.T, s storefronttest.Seed) string {
				o := bigcommercetest.Order{StatusID: 11, DateModified: s.UpdatedAt}
				for _, l := range s.Lines {
					o.Products = append(o.Products, bigcommercetest.Product{SKU: l.SKU, Name: l.Title, Quantity: l.Quantity})
				}
				if a := s.ShippingAddress; a != nil {
					first, last, _ := strings.Cut(a.Name, " ")
					o.ShippingAddresses = []bigcommercetest.Address{{FirstName: first, LastName: last, Street1: a.Line1,
						City: a.City, Zip: a.PostalCode, CountryISO2: a.Country}}
				}
				return strconv.FormatInt(srv.AddOrder(o).ID, 10)
			},
			SeedStatus: order.StatusAccepted, // 11 Awaiting Fulfillment
			SKUs:       []string{"SKU-A", "SKU-B"},
			Imports:    true,
			OrderCount: func() int { return len(srv.Orders()) },
			SetFault:   srv.SetFault,
			Calls:      srv.Calls,
		}
	})
}

// docsServer serves the documentation's examples as order 218 and its
// sub-resources.
func docsServer(t *testing.T) *bigcommerce.Client {
	t.Helper()
	files := map[string]string{
		"/stores/" + hash + "/v2/orders":                        "testdata/get_orders_response.json",
		"/stores/" + hash + "/v2/orders/218":                    "testdata/get_order_response.json",
		"/stores/" + hash + "/v2/orders/100":                    "testdata/get_order_response.json",
		"/stores/" + hash + "/v2/orders/218/products":           "testdata/get_order_products_response.json",
		"/stores/" + hash + "/v2/orders/100/products":           "testdata/get_order_products_response.json",
		"/stores/" + hash + "/v2/orders/218/shipping_addresses": "testdata/get_order_shipping_addresses_response.json",
		"/stores/" + hash + "/v2/orders/100/shipping_addresses": "testdata/get_order_shipping_addresses_response.json",
		"/stores/" + hash + "/v2/orders/218/shipments":          "testdata/get_order_shipments_response.json",
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		name, ok := files[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNoContent) // an empty collection
			return
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Error(err)
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(hs.Close)
	c, err := bigcommerce.New(bigcommerce.Config{BaseURL: hs.URL, StoreHash: hash, AccessToken: token, Connection: "conn-b"}, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOrderFromDocsExamples(t *testing.T) {
	ev, err := docsServer(t).Order(context.Background(), "218")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", ev.Order.StoreOrderID, "218"},
		{"source", ev.Source, order.BigCommerce},
		{"connection", ev.Connection, "conn-b"},
		{"status (7 Awaiting Payment)", ev.Status, order.StatusPendingPayment},
		{"source status", ev.SourceStatus, "Awaiting Payment"},
		{"occurred", ev.OccurredAt, time.Date(2019, 3, 11, 15, 17, 25, 0, time.UTC)},
		{"lines", len(ev.Lines), 2},
		{"first SKU", ev.Lines[0].SKU, "S-ORAN"},
		{"first line id", ev.Lines[0].StoreLineID, "65"},
		{"address", *ev.ShippingAddress, order.Address{Name: "Trishy Smith", Company: "Acme Pty Ltd", Line1: "666 Sussex St",
			City: "San Antonio", PostalCode: "78251", Region: "Texas", Country: "US"}},
		{"parcels", len(ev.Parcels), 2},
		{"parcel id", ev.Parcels[0].ID, "6"},
		{"parcel tracking", ev.Parcels[0].Tracking, order.Tracking{Number: "EJ958083578US", Carrier: "usps",
			URL: "https://trkcnfrm1.smi.usps.com/PTSInternetWeb/InterLabelInquiry.do?strOrigTrackNum=EJ958083578US"}},
		{"parcel line", ev.Parcels[0].Lines[0].StoreLineID, "188"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestListFromDocsExamples(t *testing.T) {
	evs, err := docsServer(t).OrdersUpdatedSince(context.Background(), time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Order.StoreOrderID != "100" || evs[0].Status != order.StatusAccepted {
		t.Fatalf("events = %+v, want order 100 accepted (11 Awaiting Fulfillment)", evs)
	}
	if len(evs[0].Parcels) != 0 {
		t.Errorf("parcels = %+v, want none (204 shipments)", evs[0].Parcels)
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		want      syncerr.Code
		wantAfter time.Duration
	}{
		{"429 reset ms", 429, map[string]string{"X-Rate-Limit-Time-Reset-Ms": "4500"}, syncerr.RateLimited, 4500 * time.Millisecond},
		{"429 retry-after", 429, map[string]string{"Retry-After": "7"}, syncerr.RateLimited, 7 * time.Second},
		{"401", 401, nil, syncerr.StoreDisconnected, 0},
		{"403 missing scope", 403, nil, syncerr.StoreDisconnected, 0},
		{"404", 404, nil, syncerr.OrderNotFound, 0},
		{"500", 500, nil, syncerr.MarketplaceUnavailable, 0},
		{"400", 400, nil, syncerr.InvalidData, 0},
		{"204 for an order", 204, nil, syncerr.OrderNotFound, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				if tt.status != 204 {
					_, _ = w.Write([]byte(`[{"status":` + strconv.Itoa(tt.status) + `,"message":"x"}]`))
				}
			}))
			t.Cleanup(hs.Close)
			c, err := bigcommerce.New(bigcommerce.Config{BaseURL: hs.URL, StoreHash: hash, AccessToken: token}, hs.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Order(context.Background(), "1")
			if got := syncerr.CodeOf(err); err == nil || got != tt.want {
				t.Fatalf("err = %v, want code %s", err, tt.want)
			}
			if got := syncerr.RetryAfterOf(err); got != tt.wantAfter {
				t.Errorf("RetryAfter = %v, want %v", got, tt.wantAfter)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestOrderQuantityRefunded(t *testing.T) {
	tests := []struct {
		name                        string
		quantity, shipped, refunded int
		want                        []order.Refund
	}{
		{"nothing refunded", 2, 0, 0, nil},
		{"one of two cancelled before shipping", 2, 0, 1, []order.Refund{{ID: "quantity_refunded/cancel", Kind: order.RefundCancel,
			Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}}},
		{"one shipped, both refunded: one cancelled, one refunded after", 2, 1, 2, []order.Refund{
			{ID: "quantity_refunded/cancel", Kind: order.RefundCancel, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}},
			{ID: "quantity_refunded/refund", Kind: order.RefundRefund, Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}}},
		{"all shipped, one refunded", 2, 2, 1, []order.Refund{{ID: "quantity_refunded/refund", Kind: order.RefundRefund,
			Lines: []order.Line{{SKU: "SKU-A", Quantity: 1}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := bigcommercetest.New(hash, token)
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			c, err := bigcommerce.New(bigcommerce.Config{BaseURL: hs.URL, StoreHash: hash, AccessToken: token}, hs.Client())
			if err != nil {
				t.Fatal(err)
			}
			o := srv.AddOrder(bigcommercetest.Order{StatusID: 11, Products: []bigcommercetest.Product{{SKU: "SKU-A", Name: "A",
				Quantity: tt.quantity, QuantityShipped: tt.shipped, QuantityRefunded: tt.refunded}}})
			ev, err := c.Order(context.Background(), strconv.FormatInt(o.ID, 10))
			if err != nil {
				t.Fatal(err)
			}
			for i := range ev.Refunds {
				if ev.Refunds[i].At != ev.OccurredAt {
					t.Errorf("refund at %v, want the order's %v", ev.Refunds[i].At, ev.OccurredAt)
				}
				ev.Refunds[i].At = time.Time{}
				for k := range ev.Refunds[i].Lines {
					ev.Refunds[i].Lines[k].StoreLineID = ""
				}
			}
			if !reflect.DeepEqual(ev.Refunds, tt.want) {
				t.Errorf("refunds = %+v, want %+v", ev.Refunds, tt.want)
			}
		})
	}
}
