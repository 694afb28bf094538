package dynamostore

import (
	"context"
	"fmt"
	"math"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
)

// A drift report is an item CONN#<id>/REPORT#<At, sortable>, beside its
// connection, so that Reports is a query of one partition; expires_at (the
// table's TTL) is At plus order.ErrorRetention.

func reportSK(r refresh.Report) string { return "REPORT#" + sortable(r.At) }

// SaveReport stores one run's drift report, kept order.ErrorRetention
// from its At. A report of the same connection and At replaces it, so a
// run that is retried saves one report.
func (s *Store) SaveReport(ctx context.Context, r refresh.Report) error {
	it, err := item(r, connPK(r.Connection), reportSK(r), map[string]types.AttributeValue{
		"expires_at": num(r.At.Add(order.ErrorRetention).Unix()), "type": str("report")})
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: save report %s: %w", r.Connection, err)
	}
	return nil
}

// Reports lists the connection's drift reports, newest first, at most
// limit of them (none for a limit below 1). Reports past their TTL that
// DynamoDB has not deleted yet are left out.
func (s *Store) Reports(ctx context.Context, conn string, limit int) ([]refresh.Report, error) {
	if limit < 1 {
		return nil, nil
	}
	return newestLive[refresh.Report](ctx, s, conn, "REPORT#", limit, "reports of "+conn)
}

// newestLive lists the items of a connection's partition whose sort key
// starts with prefix, newest first (their keys sort by time), at most
// limit of them, leaving out those past their TTL that DynamoDB has not
// deleted yet (drift reports, jobs).
func newestLive[T any](ctx context.Context, s *Store, conn, prefix string, limit int, what string) ([]T, error) {
	return queryUpTo[T](ctx, dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		FilterExpression:       aws.String("expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(connPK(conn)), ":prefix": str(prefix), ":now": num(s.now().Unix()),
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(min(limit, math.MaxInt32))),
	}), limit, what)
}
