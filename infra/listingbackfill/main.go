// Command listingbackfill puts the order states saved before the merchant
// API's listing indexes (gsi6, formerly gsi4, and gsi5) existed on them,
// once, after those indexes are deployed (dynamostore.BackfillListing):
//
//	AWS_PROFILE=… go run ./infra/listingbackfill -table ordersync-prod-Table-…
//
// It is idempotent and safe while the system runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordersync/ordersync/shared/dynamostore"
)

func main() {
	table := flag.String("table", "", "the table's name (the stack's TableName output)")
	flag.Parse()
	if *table == "" {
		log.Fatal("listingbackfill: -table is required")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	n, err := dynamostore.New(db, *table).BackfillListing(ctx, db)
	if err != nil {
		log.Fatalf("listingbackfill: after %d orders: %v", n, err)
	}
	fmt.Printf("listingbackfill: %d order states put on the listing's indexes\n", n)
}
