package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/order"
)

// An SKU alias is two items in its connection's partition ALIAS#<conn>, one
// per direction: S#<store sku> and M#<marketplace sku>, each holding the
// whole alias. Both are written, or deleted, by one TransactWriteItems,
// each conditional on the other direction's SKU being free (or still its
// partner), so no alias is ever half there and none is one-to-many. The
// same transaction moves the partition's COUNT item, which bounds the
// aliases to order.MaxSKUAliases: the sync reads them all in one Query.
// Listing queries the S# items only, so they come by store SKU.

func aliasPK(conn string) string           { return "ALIAS#" + conn }
func aliasStoreSK(sku string) string       { return "S#" + sku }
func aliasMarketplaceSK(sku string) string { return "M#" + sku }

const aliasCountSK = "COUNT"

// transactTries bounds how often an alias write is tried again after a
// TransactionConflict (another write to the same items, the COUNT item
// above all, in flight): the outcome is decided on the items, not lost.
const transactTries = 8

// PutSKUAlias stores a. Setting an alias held already is no error; one
// that would give either SKU a second partner is a wrapped
// order.ErrAliasConflict, and a new one past order.MaxSKUAliases a wrapped
// order.ErrAliasLimit, both storing nothing. SKUs must be order.ValidSKU
// and the connection order.ValidID, as memstore holds them.
func (s *Store) PutSKUAlias(ctx context.Context, conn string, a order.SKUAlias) error {
	if !order.ValidID(conn) || !order.ValidSKU(a.StoreSKU) || !order.ValidSKU(a.MarketplaceSKU) {
		return fmt.Errorf("dynamostore: alias %.40q -> %.40q of %.40q: a connection must be order.ValidID and SKUs order.ValidSKU", a.StoreSKU, a.MarketplaceSKU, conn)
	}
	pk := aliasPK(conn)
	extra := map[string]types.AttributeValue{"type": str("alias")}
	fwd, err := item(a, pk, aliasStoreSK(a.StoreSKU), extra)
	if err != nil {
		return err
	}
	rev, err := item(a, pk, aliasMarketplaceSK(a.MarketplaceSKU), extra)
	if err != nil {
		return err
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: fwd, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: rev, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{TableName: aws.String(s.table), Key: key(pk, aliasCountSK),
			UpdateExpression:          aws.String("ADD n :one"),
			ConditionExpression:       aws.String("attribute_not_exists(n) OR n < :max"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":max": num(order.MaxSKUAliases)}}},
	}}
	what := fmt.Sprintf("put alias %q of %s", a.StoreSKU, conn)
	reasons, err := s.transact(ctx, in, what)
	if err != nil {
		return err
	}
	switch {
	case reasons == nil:
		return nil
	case failedCondition(reasons, 0):
		// The store SKU has an alias: this one again, or another.
		var held order.SKUAlias
		ok, err := s.get(ctx, pk, aliasStoreSK(a.StoreSKU), &held)
		if err != nil {
			return err
		}
		if ok && held == a {
			return nil
		}
		return fmt.Errorf("dynamostore: %s: the store SKU has marketplace SKU %q: %w", what, held.MarketplaceSKU, order.ErrAliasConflict)
	case failedCondition(reasons, 1):
		return fmt.Errorf("dynamostore: %s: marketplace SKU %q has another store SKU: %w", what, a.MarketplaceSKU, order.ErrAliasConflict)
	case failedCondition(reasons, 2):
		return fmt.Errorf("dynamostore: %s: the connection holds %d: %w", what, order.MaxSKUAliases, order.ErrAliasLimit)
	}
	return fmt.Errorf("dynamostore: %s: transaction cancelled: %v", what, reasonCodes(reasons))
}

// DeleteSKUAlias removes the alias of storeSKU, both items at once, and
// returns it; a wrapped order.ErrNotFound when there is none.
func (s *Store) DeleteSKUAlias(ctx context.Context, conn, storeSKU string) (order.SKUAlias, error) {
	pk := aliasPK(conn)
	what := fmt.Sprintf("delete alias %q of %s", storeSKU, conn)
	for range transactTries {
		var held order.SKUAlias
		ok, err := s.get(ctx, pk, aliasStoreSK(storeSKU), &held)
		if err != nil {
			return order.SKUAlias{}, err
		}
		if !ok {
			return order.SKUAlias{}, fmt.Errorf("dynamostore: %s: %w", what, order.ErrNotFound)
		}
		in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(pk, aliasStoreSK(held.StoreSKU)),
				ConditionExpression:       aws.String("marketplace_sku = :mk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":mk": str(held.MarketplaceSKU)}}},
			{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(pk, aliasMarketplaceSK(held.MarketplaceSKU)),
				ConditionExpression:       aws.String("store_sku = :st"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":st": str(held.StoreSKU)}}},
			{Update: &types.Update{TableName: aws.String(s.table), Key: key(pk, aliasCountSK),
				UpdateExpression:          aws.String("ADD n :minus"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1)}}},
		}}
		reasons, err := s.transact(ctx, in, what)
		if err != nil {
			return order.SKUAlias{}, err
		}
		if reasons == nil {
			return held, nil
		}
		if !failedCondition(reasons, 0) && !failedCondition(reasons, 1) {
			return order.SKUAlias{}, fmt.Errorf("dynamostore: %s: transaction cancelled: %v", what, reasonCodes(reasons))
		}
		// The alias changed since it was read: read it again.
	}
	return order.SKUAlias{}, fmt.Errorf("dynamostore: %s: the alias keeps changing", what)
}

// SKUAliases lists the connection's aliases by store SKU (byte order),
// those after the store SKU after ("" from the first), at most limit of
// them (none for a limit below 1), from a Query of the alias partition
// that follows DynamoDB's pages. next is the store SKU to list after for
// the following page, "" when this page is the last. All of a
// connection's aliases (order.MaxSKUAliases) come in one Query page.
func (s *Store) SKUAliases(ctx context.Context, conn, after string, limit int) (aliases []order.SKUAlias, next string, err error) {
	if limit < 1 {
		return nil, "", nil
	}
	pk := aliasPK(conn)
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :s)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":s": str(aliasStoreSK(""))},
		ProjectionExpression:      aws.String("store_sku, marketplace_sku"),
		ConsistentRead:            aws.Bool(true),
		// One more than asked: whether there is a next page.
		Limit: aws.Int32(int32(min(limit, order.MaxSKUAliases) + 1)),
	}
	if after != "" {
		in.ExclusiveStartKey = key(pk, aliasStoreSK(after))
	}
	var out []order.SKUAlias
	for len(out) <= limit {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("dynamostore: aliases of %s: %w", conn, err)
		}
		var items []order.SKUAlias
		if err := unmarshalList(page.Items, &items); err != nil {
			return nil, "", err
		}
		out = append(out, items...)
		if page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	if len(out) > limit {
		out, next = out[:limit], out[limit-1].StoreSKU
	}
	return out, next, nil
}

// transact runs an alias transaction, again after a TransactionConflict.
// It returns the cancellation reasons of a transaction a condition
// cancelled (nil when it was written), or the error of any other failure.
func (s *Store) transact(ctx context.Context, in *dynamodb.TransactWriteItemsInput, what string) ([]types.CancellationReason, error) {
	for i := range transactTries {
		_, err := s.db.TransactWriteItems(ctx, in)
		var tce *types.TransactionCanceledException
		switch {
		case err == nil:
			return nil, nil
		case !errors.As(err, &tce):
			return nil, fmt.Errorf("dynamostore: %s: %w", what, err)
		case !conflicted(tce.CancellationReasons):
			return tce.CancellationReasons, nil
		}
		// Another transaction on the same items: try again shortly.
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dynamostore: %s: %w", what, ctx.Err())
		case <-time.After(time.Duration(i+1)*10*time.Millisecond + rand.N(10*time.Millisecond)):
		}
	}
	return nil, fmt.Errorf("dynamostore: %s: transaction conflicts %d times", what, transactTries)
}

func failedCondition(reasons []types.CancellationReason, i int) bool {
	return i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed"
}

func conflicted(reasons []types.CancellationReason) bool {
	for _, r := range reasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}

func reasonCodes(reasons []types.CancellationReason) []string {
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = strconv.Quote(aws.ToString(r.Code))
	}
	return codes
}
