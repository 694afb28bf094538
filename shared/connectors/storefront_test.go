package connectors_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/ordersync/ordersync/shared/bigcommerce/bigcommercetest"
	"github.com/ordersync/ordersync/shared/connectors"
	"github.com/ordersync/ordersync/shared/httpclient"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

func store(platform order.Platform, baseURL, account, ref string) order.Connection {
	return order.Connection{ID: "c1", Store: order.Endpoint{Platform: platform, BaseURL: baseURL, Account: account, CredentialRef: ref}}
}

func TestStorefrontReadsTheOrderWithTheResolvedCredential(t *testing.T) {
	fake := bigcommercetest.New("abc123", "s3cr3t-bc-token")
	o := fake.AddOrder(bigcommercetest.Order{Products: []bigcommercetest.Product{{ProductID: 1, SKU: "A", Quantity: 1}}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	sf, err := connectors.Storefront(context.Background(), store(order.BigCommerce, srv.URL, "abc123", "bc/acme"),
		secrets{"bc/acme": "s3cr3t-bc-token"}, httpclient.New(httpclient.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := sf.Order(context.Background(), strconv.FormatInt(o.ID, 10))
	if err != nil || len(ev.Lines) != 1 || ev.Lines[0].SKU != "A" || ev.Connection != "c1" {
		t.Errorf("Order = %+v, %v; want the store's order of connection c1", ev, err)
	}
}

func TestStorefrontTypes(t *testing.T) {
	sec := secrets{"tok": "t0k", "woo": "ck_1:cs_2"}
	hc := httpclient.New(httpclient.Options{})
	for _, tc := range []struct {
		conn order.Connection
		want string
	}{
		{store(order.Shopify, "", "acme.myshopify.com", "tok"), "*shopify.Client"},
		{store("Shopify ", "https://acme.myshopify.com", "", "tok"), "*shopify.Client"},
		{store(order.WooCommerce, "https://shop.example.com", "", "woo"), "*woocommerce.Client"},
		{store(order.BigCommerce, "", "abc123", "tok"), "*bigcommerce.Client"},
	} {
		sf, err := connectors.Storefront(context.Background(), tc.conn, sec, hc)
		if got := fmt.Sprintf("%T", sf); err != nil || got != tc.want {
			t.Errorf("%s: Storefront = %s, %v; want %s", tc.conn.Store.Platform, got, err, tc.want)
		}
	}
}

func TestStorefrontErrors(t *testing.T) {
	sec := secrets{"tok": "t0k", "blank": "  "}
	hc := httpclient.New(httpclient.Options{})
	for _, tc := range []struct {
		name string
		conn order.Connection
		want syncerr.Code
	}{
		{"no credential", store(order.Shopify, "https://acme.myshopify.com", "", ""), syncerr.StoreDisconnected},
		{"credential gone", store(order.Shopify, "https://acme.myshopify.com", "", "missing"), syncerr.StoreDisconnected},
		{"blank credential", store(order.BigCommerce, "", "abc123", "blank"), syncerr.StoreDisconnected},
		{"secret store down", store(order.Shopify, "https://acme.myshopify.com", "", "broken"), syncerr.MarketplaceUnavailable},
		{"no shop URL", store(order.Shopify, "", "", "tok"), syncerr.StoreDisconnected},
		{"WooCommerce key without its secret", store(order.WooCommerce, "https://shop.example.com", "", "tok"), syncerr.StoreDisconnected},
		{"no store hash", store(order.BigCommerce, "", "", "tok"), syncerr.StoreDisconnected},
		{"no integration yet", store("magento", "https://m.example.com", "", "tok"), syncerr.PlatformUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf, err := connectors.Storefront(context.Background(), tc.conn, sec, hc)
			if sf != nil || syncerr.CodeOf(err) != tc.want {
				t.Errorf("Storefront = %v, %v (code %q); want %s", sf, err, syncerr.CodeOf(err), tc.want)
			}
		})
	}
}
