package shopify

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/ordersync/ordersync/shared/syncerr"
)

// FuzzOrderResponse feeds arbitrary answers to the parser of Shopify's
// order responses: it must never panic, and every failure is classified.
func FuzzOrderResponse(f *testing.F) {
	for _, name := range []string{"testdata/order_graphql.json", "testdata/throttled_response.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data":{"order":{"lineItems":{"nodes":[{}]},"fulfillments":[{"status":"SUCCESS"}]}}}`))
	c := &Client{cfg: Config{Connection: "c"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r gqlResponse
		if json.Unmarshal(b, &r) != nil {
			return
		}
		if len(r.Errors) > 0 {
			if _, ok := syncerr.As(classifyGraphQL(r, "1")); !ok {
				t.Fatal("unclassified GraphQL error")
			}
			return
		}
		var data struct {
			Order *gqlOrder `json:"order"`
		}
		if json.Unmarshal(r.Data, &data) != nil || data.Order == nil {
			return
		}
		if _, err := c.event(*data.Order); err != nil {
			if _, ok := syncerr.As(err); !ok {
				t.Fatalf("unclassified error %v", err)
			}
		}
	})
}
