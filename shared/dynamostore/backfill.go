package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/order"
)

// Scanner is the DynamoDB call the backfill makes besides the store's;
// *dynamodb.Client satisfies it.
type Scanner interface {
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// BackfillListing puts the order states saved before the listing's
// indexes existed (no gsi4pk) on them, as SaveOrder would: it scans the
// table once and updates each such state, unless it was saved again since
// it was read (then SaveOrder wrote its keys). It returns how many it
// updated; it is idempotent, and safe while the sync runs. Run it once
// after deploying gsi4 and gsi5.
func (s *Store) BackfillListing(ctx context.Context, db Scanner) (int, error) {
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName:                 aws.String(s.table),
		FilterExpression:          aws.String("sk = :state AND attribute_not_exists(gsi4pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":state": str("STATE")},
	})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("dynamostore: backfill: scan: %w", err)
		}
		for _, it := range page.Items {
			// listingKeys reads listed attributes only, which no item
			// packs (pack.go): the attributes decode to all it needs.
			var st order.State
			if err := attributevalue.UnmarshalMapWithOptions(it, &st, jsonTags); err != nil {
				return n, fmt.Errorf("dynamostore: backfill: decode: %w", err)
			}
			keys := map[string]types.AttributeValue{}
			listingKeys(st, keys)
			set, values := "SET gsi4pk = :g4p, gsi4sk = :g4s", map[string]types.AttributeValue{
				":g4p": keys["gsi4pk"], ":g4s": keys["gsi4sk"], ":v": num(st.Version)}
			if v, ok := keys["gsi5pk"]; ok {
				set += ", gsi5pk = :g5p"
				values[":g5p"] = v
			}
			_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(s.table), Key: key(orderPK(st.Connection, st.Ref.MarketplaceOrderID), "STATE"),
				UpdateExpression:          aws.String(set),
				ConditionExpression:       aws.String("version = :v AND attribute_not_exists(gsi4pk)"),
				ExpressionAttributeValues: values,
			})
			switch {
			case isConditionFailed(err): // saved since: SaveOrder wrote its keys
			case err != nil:
				return n, fmt.Errorf("dynamostore: backfill %s: %w", st.Ref.MarketplaceOrderID, err)
			default:
				n++
			}
		}
	}
	return n, nil
}
