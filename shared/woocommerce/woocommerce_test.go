package woocommerce_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
	"github.com/ordersync/ordersync/shared/testkit/storefronttest"
	"github.com/ordersync/ordersync/shared/woocommerce"
	"github.com/ordersync/ordersync/shared/woocommerce/woocommercetest"
)

const (
	key    = "ck_0123456789abcdef"
	secret = "cs_fedcba9876543210"
)

func TestConformance(t *testing.T) {
	storefronttest.RunConformance(t, func(t *testing.T) *storefronttest.Harness {
		srv := woocommercetest.New(key, secret)
		srv.AddProduct(woocommercetest.Product{Name: "Widget A", SKU: "SKU-A"})
		parent := srv.AddProduct(woocommercetest.Product{Name: "Widget"})
		srv.AddProduct(woocommercetest.Product{Name: "Widget B", SKU: "SKU-B", ParentID: parent.ID})
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		c, err := woocommerce.New(woocommerce.Config{SiteURL: hs.URL, ConsumerKey: key, ConsumerSecret: secret, PageSize: 2}, hs.Client())
		if err != nil {
			t.Fatal(err)
		}
		bad, err := woocommerce.New(woocommerce.Config{SiteURL: hs.URL, ConsumerKey: key, ConsumerSecret: "cs_revoked"}, hs.Client())
		if err != nil {
			t.Fatal(err)
		}
		return &storefronttest.Harness{
			Storefront:     c,
			BadCredentials: bad,
			Secret:         secret,
			SeedOrder: func(t *testing.T, s storefronttest.Seed) string {
				o := woocommercetest.Order{Status: "processing", DateModified: s.UpdatedAt}
				for _, l := range s.Lines {
					o.LineItems = append(o.LineItems, woocommercetest.LineItem{SKU: l.SKU, Name: l.Title, Quantity: l.Quantity})
				}
				if a := s.ShippingAddress; a != nil {
					first, last, _ := strings.Cut(a.Name, " ")
					o.Shipping = woocommercetest.Address{FirstName: first, LastName: last, Address1: a.Line1,
						City: a.City, Postcode: a.PostalCode, Country: a.Country}
				}
				got, err := srv.AddOrder(o)
				if err != nil {
					t.Fatal(err)
				}
				return itoa(got.ID)
			},
			SeedStatus: order.StatusAccepted, // processing
			SKUs:       []string{"SKU-A", "SKU-B"},
			Imports:    true,
			OrderCount: func() int { return len(srv.Orders()) },
			SetFault:   srv.SetFault,
			Calls:      srv.Calls,
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func clientFor(t *testing.T, h http.HandlerFunc) *woocommerce.Client {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	c, err := woocommerce.New(woocommerce.Config{SiteURL: hs.URL, ConsumerKey: key, ConsumerSecret: secret, Connection: "conn-w"}, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOrderFromDocsExample(t *testing.T) {
	body, err := os.ReadFile("testdata/retrieve_order_response.json")
	if err != nil {
		t.Fatal(err)
	}
	var path, user, pass string
	c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		user, pass, _ = r.BasicAuth()
		_, _ = w.Write(body)
	})
	ev, err := c.Order(context.Background(), "727")
	if err != nil {
		t.Fatal(err)
	}
	if path != "/wp-json/wc/v3/orders/727" || user != key || pass != secret {
		t.Errorf("request path %q auth %q/%q", path, user, pass)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", ev.Order.StoreOrderID, "727"},
		{"name", ev.Order.StoreOrderName, "#727"},
		{"connection", ev.Connection, "conn-w"},
		{"source", ev.Source, order.WooCommerce},
		{"status", ev.Status, order.StatusAccepted},
		{"source status", ev.SourceStatus, "processing"},
		{"occurred (GMT)", ev.OccurredAt, time.Date(2017, 3, 22, 19, 28, 8, 0, time.UTC)},
		{"lines", len(ev.Lines), 2},
		{"second SKU", ev.Lines[1].SKU, "Bar3"},
		{"second line id", ev.Lines[1].StoreLineID, "316"},
		{"first quantity", ev.Lines[0].Quantity, 2},
		{"address", *ev.ShippingAddress, order.Address{Name: "John Doe", Line1: "969 Market", City: "San Francisco",
			PostalCode: "94103", Region: "CA", Country: "US"}},
		{"parcels", len(ev.Parcels), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestListFromDocsExample(t *testing.T) {
	body, err := os.ReadFile("testdata/list_orders_response.json")
	if err != nil {
		t.Fatal(err)
	}
	var query string
	c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Header().Set("X-WP-TotalPages", "1")
		_, _ = w.Write(body)
	})
	evs, err := c.OrdersUpdatedSince(context.Background(), time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	if !evs[0].OccurredAt.Before(evs[1].OccurredAt) && !evs[0].OccurredAt.Equal(evs[1].OccurredAt) {
		t.Errorf("events not oldest first: %v then %v", evs[0].OccurredAt, evs[1].OccurredAt)
	}
	statuses := map[string]order.Status{}
	for _, ev := range evs {
		statuses[ev.Order.StoreOrderID] = ev.Status
	}
	if statuses["727"] != order.StatusAccepted || statuses["723"] != order.StatusShipped {
		t.Errorf("statuses = %v, want 727 accepted, 723 shipped", statuses)
	}
	for _, want := range []string{"modified_after=2017-02-28T23%3A59%3A59", "dates_are_gmt=true", "orderby=id", "order=asc"} {
		if !strings.Contains(query, want) {
			t.Errorf("query %q lacks %s", query, want)
		}
	}
}

func TestTrackingAndMarketplaceMeta(t *testing.T) {
	srv := woocommercetest.New(key, secret)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := woocommerce.New(woocommerce.Config{SiteURL: hs.URL, ConsumerKey: key, ConsumerSecret: secret}, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	o, err := srv.AddOrder(woocommercetest.Order{Status: "completed",
		LineItems: []woocommercetest.LineItem{{SKU: "SKU-A", Quantity: 1}},
		Meta: []woocommercetest.Meta{
			{Key: woocommerce.MarketplaceOrderMetaKey, Value: "MP-9"},
			{Key: woocommerce.DefaultTrackingMetaKey, Value: []map[string]string{{
				"tracking_provider": "colissimo", "tracking_number": "6A123", "custom_tracking_link": "", "tracking_id": "abc"}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := c.Order(context.Background(), itoa(o.ID))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != order.StatusShipped || ev.Order.ClaimedMarketplaceOrderID != "MP-9" {
		t.Errorf("status %s claimed marketplace id %q, want shipped, MP-9", ev.Status, ev.Order.ClaimedMarketplaceOrderID)
	}
	want := order.Parcel{ID: "abc", Tracking: order.Tracking{Number: "6A123", Carrier: "colissimo"}}
	if len(ev.Parcels) != 1 || ev.Parcels[0].ID != want.ID || ev.Parcels[0].Tracking != want.Tracking {
		t.Errorf("parcels = %+v, want [%+v]", ev.Parcels, want)
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   syncerr.Code
	}{
		{"bad key", 401, `{"code":"woocommerce_rest_authentication_error","message":"Invalid signature","data":{"status":401}}`, syncerr.StoreDisconnected},
		{"read-only key", 403, `{"code":"woocommerce_rest_cannot_view","message":"Sorry","data":{"status":403}}`, syncerr.StoreDisconnected},
		{"no route", 404, `{"code":"rest_no_route","message":"No route","data":{"status":404}}`, syncerr.StoreDisconnected},
		{"invalid id", 404, `{"code":"woocommerce_rest_shop_order_invalid_id","message":"Invalid ID.","data":{"status":404}}`, syncerr.OrderNotFound},
		{"500", 500, `<html>`, syncerr.MarketplaceUnavailable},
		{"400", 400, `{"code":"rest_invalid_param"}`, syncerr.InvalidData},
		{"unknown status", 200, `{"id":5,"status":"wc-awaiting-pickup"}`, syncerr.InvalidData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := c.Order(context.Background(), "5")
			if got := syncerr.CodeOf(err); err == nil || got != tt.want {
				t.Fatalf("err = %v, want code %s", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), key) {
				t.Errorf("error %q shows a credential", err)
			}
		})
	}
}
