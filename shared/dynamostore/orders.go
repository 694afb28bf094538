package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncer"
)

var _ syncer.Store = (*Store)(nil)
var _ refresh.Store = (*Store)(nil)
var _ merchantapi.Store = (*Store)(nil)

func connPK(id string) string                   { return "CONN#" + id }
func orderPK(conn, marketplaceID string) string { return "ORDER#" + conn + "#" + marketplaceID }
func linkPK(conn, storeID string) string        { return "LINK#" + conn + "#" + storeID }

// PutConnection creates or replaces a connection.
func (s *Store) PutConnection(ctx context.Context, c order.Connection) error {
	it, err := item(c, connPK(c.ID), "CONN", map[string]types.AttributeValue{
		"gsi1pk": str("CONNECTIONS"), "gsi1sk": str(c.ID), "type": str("connection")})
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: put connection %s: %w", c.ID, err)
	}
	return nil
}

// Connection returns a connection.
func (s *Store) Connection(ctx context.Context, id string) (order.Connection, error) {
	var c order.Connection
	ok, err := s.get(ctx, connPK(id), "CONN", &c)
	if err == nil && !ok {
		err = fmt.Errorf("dynamostore: connection %q: %w", id, order.ErrNotFound)
	}
	return c, err
}

// Connections lists every connection, for the refresh.
func (s *Store) Connections(ctx context.Context) ([]order.Connection, error) {
	var out []order.Connection
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String("gsi1"),
		KeyConditionExpression:    aws.String("gsi1pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str("CONNECTIONS")},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: list connections: %w", err)
		}
		var cs []order.Connection
		if err := unmarshalList(page.Items, &cs); err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// PauseConnection marks a connection paused for the error code.
func (s *Store) PauseConnection(ctx context.Context, id, code string) error {
	return s.setPaused(ctx, "pause", id, "SET paused = :p, paused_code = :c", map[string]types.AttributeValue{
		":p": &types.AttributeValueMemberBOOL{Value: true}, ":c": str(code)})
}

// ResumeConnection ends a connection's pause.
func (s *Store) ResumeConnection(ctx context.Context, id string) error {
	return s.setPaused(ctx, "resume", id, "SET paused = :p REMOVE paused_code", map[string]types.AttributeValue{
		":p": &types.AttributeValueMemberBOOL{Value: false}})
}

func (s *Store) setPaused(ctx context.Context, verb, id, update string, values map[string]types.AttributeValue) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(connPK(id), "CONN"),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return fmt.Errorf("dynamostore: %s connection %q: %w", verb, id, order.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: %s connection %q: %w", verb, id, err)
	}
	return nil
}

type link struct {
	MarketplaceOrderID string `json:"marketplace_order_id"`
}

// FindOrder returns the marketplace order linked to a store order.
func (s *Store) FindOrder(ctx context.Context, conn, storeOrderID string) (string, error) {
	var l link
	ok, err := s.get(ctx, linkPK(conn, storeOrderID), "LINK", &l)
	if err == nil && !ok {
		err = fmt.Errorf("dynamostore: store order %q of %q: %w", storeOrderID, conn, order.ErrNotFound)
	}
	return l.MarketplaceOrderID, err
}

// LinkOrder links a store order to a marketplace order.
func (s *Store) LinkOrder(ctx context.Context, conn, storeOrderID, marketplaceOrderID string) error {
	it, err := item(link{MarketplaceOrderID: marketplaceOrderID}, linkPK(conn, storeOrderID), "LINK", nil)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: link order %s: %w", storeOrderID, err)
	}
	return nil
}

// LoadOrder returns an order's state.
func (s *Store) LoadOrder(ctx context.Context, conn, marketplaceOrderID string) (order.State, error) {
	var st order.State
	ok, err := s.get(ctx, orderPK(conn, marketplaceOrderID), "STATE", &st)
	if err == nil && !ok {
		err = fmt.Errorf("dynamostore: order %q of %q: %w", marketplaceOrderID, conn, order.ErrNotFound)
	}
	return st, err
}

// SaveOrder writes st if nobody else wrote since it was read.
func (s *Store) SaveOrder(ctx context.Context, st order.State) (order.State, error) {
	if st.Ref.MarketplaceOrderID == "" || st.Connection == "" {
		return st, fmt.Errorf("dynamostore: save order: connection and marketplace order id are required")
	}
	prev := st.Version
	st.Version++
	it, err := item(st, orderPK(st.Connection, st.Ref.MarketplaceOrderID), "STATE", map[string]types.AttributeValue{"type": str("order")})
	if err != nil {
		return st, err
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}
	if prev == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("version = :v")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(prev)}
	}
	if _, err := s.db.PutItem(ctx, in); err != nil {
		st.Version = prev
		if isConditionFailed(err) {
			return st, fmt.Errorf("dynamostore: order %s at version %d: %w", st.Ref.MarketplaceOrderID, prev, order.ErrConflict)
		}
		return st, fmt.Errorf("dynamostore: save order %s: %w", st.Ref.MarketplaceOrderID, err)
	}
	return st, nil
}

func unmarshalList(items []map[string]types.AttributeValue, out any) error {
	if err := attributevaluelist(items, out); err != nil {
		return fmt.Errorf("dynamostore: decode list: %w", err)
	}
	return nil
}

type checkpoint struct {
	At time.Time `json:"at"`
}

// Checkpoint returns when a connection was last refreshed (zero if never).
func (s *Store) Checkpoint(ctx context.Context, conn string) (time.Time, error) {
	var c checkpoint
	_, err := s.get(ctx, connPK(conn), "CHECKPOINT", &c)
	return c.At, err
}

// SetCheckpoint records a connection's refresh time.
func (s *Store) SetCheckpoint(ctx context.Context, conn string, at time.Time) error {
	it, err := item(checkpoint{At: at.UTC()}, connPK(conn), "CHECKPOINT", nil)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: set checkpoint %s: %w", conn, err)
	}
	return nil
}
