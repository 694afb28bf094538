package backmarket_test

import (
	"context"
	"testing"

	"github.com/ordersync/ordersync/shared/backmarket"
	"github.com/ordersync/ordersync/shared/backmarket/backmarkettest"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/syncerr"
)

// TestAnswersAreClassifiedByWhatTheMarketplaceSaid: an order the
// marketplace does not have (404, as a sandbox that forgot it answers) is
// order_not_found, never marketplace_unavailable ("did not answer"): it
// did answer. Only no answer, or a 5xx, is marketplace_unavailable.
func TestAnswersAreClassifiedByWhatTheMarketplaceSaid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault *backmarkettest.Fault
		call  func(context.Context, *backmarket.Client) error
		want  syncerr.Code
	}{
		{"reading an unknown order", nil, func(ctx context.Context, c *backmarket.Client) error {
			_, err := c.Order(ctx, "424242")
			return err
		}, syncerr.OrderNotFound},
		{"accepting an unknown order", nil, func(ctx context.Context, c *backmarket.Client) error {
			return c.Accept(ctx, order.MarketplaceOrder{ID: "424242"})
		}, syncerr.OrderNotFound},
		{"shipping an unknown order", nil, func(ctx context.Context, c *backmarket.Client) error {
			return c.Ship(ctx, order.MarketplaceOrder{ID: "424242"}, order.Parcel{Tracking: order.Tracking{Number: "1Z999AA10123456784", Carrier: "UPS"}})
		}, syncerr.OrderNotFound},
		{"a 503", &backmarkettest.Fault{Status: 503}, func(ctx context.Context, c *backmarket.Client) error {
			_, err := c.Order(ctx, "424242")
			return err
		}, syncerr.MarketplaceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, client, _ := start(t, backmarket.Options{})
			if tc.fault != nil {
				fake.SetFault(*tc.fault)
			}
			err := tc.call(context.Background(), client)
			if got := syncerr.CodeOf(err); got != tc.want {
				t.Errorf("code = %q (%v), want %q", got, err, tc.want)
			}
			if tc.want != syncerr.MarketplaceUnavailable {
				if cause := syncerr.Explain(err).Cause; cause == syncerr.Explain(syncerr.E(syncerr.MarketplaceUnavailable, "marketplace", backmarket.Name)).Cause {
					t.Errorf("cause = %q: the words of no answer", cause)
				}
			}
		})
	}
}
