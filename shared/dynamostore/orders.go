package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/refresh"
	"github.com/ordersync/ordersync/shared/syncer"
)

var _ syncer.Store = (*Store)(nil)
var _ refresh.Store = (*Store)(nil)
var _ refresh.Reports = (*Store)(nil)
var _ merchantapi.Store = (*Store)(nil)

func connPK(id string) string                   { return "CONN#" + id }
func orderPK(conn, marketplaceID string) string { return "ORDER#" + conn + "#" + marketplaceID }
func linkPK(conn, storeID string) string        { return "LINK#" + conn + "#" + storeID }
func unsettledPK(conn string) string            { return "UNSETTLED#" + conn }

// PutConnection creates or replaces a connection.
func (s *Store) PutConnection(ctx context.Context, c order.Connection) error {
	defer s.forgetConnection(c.ID)
	it, err := connItem(c)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: put connection %s: %w", c.ID, err)
	}
	return nil
}

// DeleteConnection removes a connection: the refresh no longer lists it.
// Its orders, errors and reports stay until they expire. Deleting a
// connection that is gone is no error.
func (s *Store) DeleteConnection(ctx context.Context, id string) error {
	defer s.forgetConnection(id)
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(connPK(id), "CONN")}); err != nil {
		return fmt.Errorf("dynamostore: delete connection %s: %w", id, err)
	}
	return nil
}

// Connection returns a connection.
func (s *Store) Connection(ctx context.Context, id string) (order.Connection, error) {
	if s.conns != nil {
		return s.cachedConnection(ctx, id)
	}
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

// PauseConnection marks a connection paused for the error code. PausedAt
// is set on the first pause (store's clock) and kept by later ones.
func (s *Store) PauseConnection(ctx context.Context, id, code string) error {
	at, err := attributevalue.Marshal(s.now().UTC())
	if err != nil {
		return fmt.Errorf("dynamostore: pause connection %q: %w", id, err)
	}
	return s.setPaused(ctx, "pause", id, "SET paused = :p, paused_code = :c, paused_at = if_not_exists(paused_at, :t)", map[string]types.AttributeValue{
		":p": &types.AttributeValueMemberBOOL{Value: true}, ":c": str(code), ":t": at})
}

// ResumeConnection ends a connection's pause.
func (s *Store) ResumeConnection(ctx context.Context, id string) error {
	return s.setPaused(ctx, "resume", id, "SET paused = :p REMOVE paused_code, paused_at", map[string]types.AttributeValue{
		":p": &types.AttributeValueMemberBOOL{Value: false}})
}

func (s *Store) setPaused(ctx context.Context, verb, id, update string, values map[string]types.AttributeValue) error {
	defer s.forgetConnection(id)
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

// CreateConnection stores a new connection: an error wrapping
// order.ErrConflict, and nothing written, if one with its id exists.
func (s *Store) CreateConnection(ctx context.Context, c order.Connection) error {
	defer s.forgetConnection(c.ID)
	it, err := connItem(c)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return fmt.Errorf("dynamostore: create connection %q: %w", c.ID, order.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: create connection %q: %w", c.ID, err)
	}
	return nil
}

// SaveConnection replaces a stored connection with c if its pause (paused,
// paused_code) is still c's: an error wrapping order.ErrNotFound if there
// is none, order.ErrConflict if a pause or resume came in since c was read
// (nothing is written; read it again).
func (s *Store) SaveConnection(ctx context.Context, c order.Connection) error {
	defer s.forgetConnection(c.ID)
	it, err := connItem(c)
	if err != nil {
		return err
	}
	cond := "attribute_exists(pk) AND (attribute_not_exists(paused) OR paused = :f)"
	values := map[string]types.AttributeValue{":f": &types.AttributeValueMemberBOOL{Value: false}}
	if c.Paused {
		cond = "attribute_exists(pk) AND paused = :t AND paused_code = :c"
		values = map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":c": str(c.PausedCode)}
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it,
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: values})
	if isConditionFailed(err) {
		if _, gerr := s.Connection(ctx, c.ID); gerr != nil {
			return fmt.Errorf("dynamostore: save connection %q: %w", c.ID, gerr)
		}
		return fmt.Errorf("dynamostore: save connection %q: paused or resumed meanwhile: %w", c.ID, order.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("dynamostore: save connection %q: %w", c.ID, err)
	}
	return nil
}

// connItem is c as its item. A zero paused_at is left out, not stored as
// the year 1: PauseConnection sets it only where it is absent.
func connItem(c order.Connection) (map[string]types.AttributeValue, error) {
	it, err := item(c, connPK(c.ID), "CONN", map[string]types.AttributeValue{
		"gsi1pk": str("CONNECTIONS"), "gsi1sk": str(c.ID), "type": str("connection")})
	if err == nil && c.PausedAt.IsZero() {
		delete(it, "paused_at")
	}
	return it, err
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

// LinkOrder links a store order to a marketplace order, replacing any
// link it had, with the expiry of an open order's link
// (order.State.LinkNeeds), or the later one it has: an expiry is never
// moved earlier, so the state a link was made for never outlives it (a
// retention cut since may make the open one's the shorter). The order's
// saves keep it from then on.
func (s *Store) LinkOrder(ctx context.Context, conn, storeOrderID, marketplaceOrderID string) error {
	_, until := order.State{}.LinkNeeds(s.now(), s.retention)
	pk := linkPK(conn, storeOrderID)
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, "LINK"),
		UpdateExpression:                    aws.String("SET marketplace_order_id = :m, expires_at = :e"),
		ConditionExpression:                 aws.String("attribute_not_exists(expires_at) OR expires_at < :e"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":m": str(marketplaceOrderID), ":e": num(until)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// Lasting longer already: the expiry stays.
		if at, ok := numberAttr(ccf.Item, "expires_at"); ok {
			until = at
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key(pk, "LINK"),
			UpdateExpression:          aws.String("SET marketplace_order_id = :m"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":m": str(marketplaceOrderID)},
		})
	}
	if err != nil {
		return fmt.Errorf("dynamostore: link order %s: %w", storeOrderID, err)
	}
	s.linked.put(pk, marketplaceOrderID, until)
	return nil
}

// LoadOrder returns an order's state.
func (s *Store) LoadOrder(ctx context.Context, conn, marketplaceOrderID string) (order.State, error) {
	var si stateItem
	ok, err := s.get(ctx, orderPK(conn, marketplaceOrderID), "STATE", &si)
	if err == nil && !ok {
		err = fmt.Errorf("dynamostore: order %q of %q: %w", marketplaceOrderID, conn, order.ErrNotFound)
	}
	if err != nil {
		return si.State, err
	}
	return si.state()
}

// SaveOrder writes st if nobody else wrote since it was read.
func (s *Store) SaveOrder(ctx context.Context, st order.State) (order.State, error) {
	if st.Ref.MarketplaceOrderID == "" || st.Connection == "" {
		return st, fmt.Errorf("dynamostore: save order: connection and marketplace order id are required")
	}
	prev := st.Version
	st.Version++
	extra := map[string]types.AttributeValue{"type": str("order")}
	if st.Unsettled() {
		// On the sparse index of unsettled orders while it is one; the put
		// replaces the whole item, so a settled state leaves the index.
		extra["gsi3pk"], extra["gsi3sk"] = str(unsettledPK(st.Connection)), str(sortable(st.Sync.At))
	}
	// On the merchant's listing by sync state and by store order name (jobs.go).
	listingKeys(st, extra)
	// A closed order expires (retention.go).
	s.orderExpiry(st, extra)
	// Its store order's link first, where the mark it carries does not
	// cover it.
	mark, err := s.linkOrder(ctx, st)
	if err != nil {
		st.Version = prev
		return st, err
	}
	st.LinkExpiry = mark
	it, err := orderItem(st, orderPK(st.Connection, st.Ref.MarketplaceOrderID), "STATE", extra)
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

// queryUpTo reads the pages of p until it has limit items (a Query's
// Limit counts items before its filter, so one page may hold fewer), and
// returns at most limit of them; what names the list in an error.
func queryUpTo[T any](ctx context.Context, p *dynamodb.QueryPaginator, limit int, what string) ([]T, error) {
	var out []T
	for p.HasMorePages() && len(out) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: %s: %w", what, err)
		}
		var items []T
		if err := unmarshalList(page.Items, &items); err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func unmarshalList(items []map[string]types.AttributeValue, out any) error {
	if err := attributevaluelist(items, out); err != nil {
		return fmt.Errorf("dynamostore: decode list: %w", err)
	}
	return nil
}

func checkpointSK(side refresh.Side) string { return "CHECKPOINT#" + string(side) }

// legacyCheckpoint is the one checkpoint per connection (sk CHECKPOINT) of
// the refresh before it listed both sides: when its marketplace listing ran.
type legacyCheckpoint struct {
	At time.Time `json:"at"`
}

// Checkpoint returns where the refresh of one side of a connection stands:
// the zero Checkpoint if it never ran. A connection refreshed only before
// the refresh had sides has a legacy CHECKPOINT item: for the marketplace
// side, its time is Since.
func (s *Store) Checkpoint(ctx context.Context, conn string, side refresh.Side) (refresh.Checkpoint, error) {
	var cp refresh.Checkpoint
	ok, err := s.get(ctx, connPK(conn), checkpointSK(side), &cp)
	if err != nil || ok || side != refresh.SideMarketplace {
		return cp, err
	}
	var old legacyCheckpoint
	if _, err := s.get(ctx, connPK(conn), "CHECKPOINT", &old); err != nil {
		return cp, err
	}
	return refresh.Checkpoint{Since: old.At}, nil
}

// SetCheckpoint records where the refresh of one side of a connection
// stands (in UTC), replacing what it was. It leaves a legacy CHECKPOINT
// item alone: it is read no more once the marketplace side has its own.
func (s *Store) SetCheckpoint(ctx context.Context, conn string, side refresh.Side, cp refresh.Checkpoint) error {
	cp.Since, cp.RunAt = cp.Since.UTC(), cp.RunAt.UTC()
	it, err := item(cp, connPK(conn), checkpointSK(side), map[string]types.AttributeValue{"type": str("checkpoint")})
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: set checkpoint %s %s: %w", conn, side, err)
	}
	return nil
}

// LoadOrders returns the states of the connection's orders named, by
// marketplace order id, read consistently; orders with no state are
// absent. Repeated ids are read once; no ids is an empty map, and no call.
func (s *Store) LoadOrders(ctx context.Context, conn string, marketplaceOrderIDs []string) (map[string]order.State, error) {
	out := map[string]order.State{}
	err := s.batchGet(ctx, "STATE", marketplaceOrderIDs, func(id string) string { return orderPK(conn, id) },
		func(id string, it map[string]types.AttributeValue) error {
			var si stateItem
			if err := attributevalue.UnmarshalMapWithOptions(it, &si, jsonTags); err != nil {
				return fmt.Errorf("dynamostore: decode order %s: %w", id, err)
			}
			st, err := si.state()
			if err != nil {
				return err
			}
			out[id] = st
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("dynamostore: load orders of %s: %w", conn, err)
	}
	return out, nil
}

// FindOrders returns the marketplace orders linked to the store orders
// named, by store order id, read consistently; unlinked ones are absent.
// No ids is an empty map, and no call.
func (s *Store) FindOrders(ctx context.Context, conn string, storeOrderIDs []string) (map[string]string, error) {
	out := map[string]string{}
	err := s.batchGet(ctx, "LINK", storeOrderIDs, func(id string) string { return linkPK(conn, id) },
		func(id string, it map[string]types.AttributeValue) error {
			var l link
			if err := attributevalue.UnmarshalMapWithOptions(it, &l, jsonTags); err != nil {
				return fmt.Errorf("dynamostore: decode link %s: %w", id, err)
			}
			out[id] = l.MarketplaceOrderID
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("dynamostore: find orders of %s: %w", conn, err)
	}
	return out, nil
}

// Unsettled lists the connection's orders whose last sync did not end
// synced, oldest sync first, at most limit of them (none for a limit below
// 1), from the sparse index gsi3. Orders synced at the same time come in
// no particular order. The index is eventually consistent: an order saved
// a moment ago may be missing, or still listed though it synced; the
// refresh reads each one again (LoadOrders) before it acts.
func (s *Store) Unsettled(ctx context.Context, conn string, limit int) ([]order.State, error) {
	if limit < 1 {
		return nil, nil
	}
	items, err := queryUpTo[stateItem](ctx, dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String("gsi3"),
		KeyConditionExpression:    aws.String("gsi3pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(unsettledPK(conn))},
		ScanIndexForward:          aws.Bool(true),
		Limit:                     aws.Int32(int32(min(limit, math.MaxInt32))),
	}), limit, "unsettled orders of "+conn)
	if err != nil {
		return nil, err
	}
	out := make([]order.State, 0, len(items))
	for _, si := range items {
		st, err := si.state()
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
