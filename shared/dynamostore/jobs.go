package dynamostore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/merchantapi"
	"github.com/ordersync/ordersync/shared/order"
)

// The listing of orders by sync state (gsi6) and by store order name
// (gsi5), and the re-sync jobs:
//
//	pk                     sk             what
//	(order state)          STATE          gsi6 (keys gsi4pk, gsi4sk): ORDERS#<conn>#<sync state>, merchantapi.OrderKey
//	                                      (KEYS_ONLY); gsi5: NAME#<conn>#<store order name> (KEYS_ONLY)
//	CONN#<id>              JOB#<job id>   a re-sync job (7-day TTL)
//	JOB#<conn>#<job id>    PART#<n>       the job's order ids, jobPart at a time (7-day TTL)

func ordersPK(conn string, state order.SyncState) string {
	return "ORDERS#" + conn + "#" + string(state)
}
func namePK(conn, name string) string   { return "NAME#" + conn + "#" + name }
func jobPartsPK(conn, id string) string { return "JOB#" + conn + "#" + id }

// jobPart is how many ids one part item holds: 1,000 of the longest ids
// (256 bytes) stay below DynamoDB's 400 KB item limit.
const jobPart = 1000

// listingKeys are st's places on the indexes of the listing: by sync state
// always, by store order name when it has one that fits a key. SaveOrder
// writes them in the state's own PutItem, so they cost no extra request.
func listingKeys(st order.State, extra map[string]types.AttributeValue) {
	extra["gsi4pk"], extra["gsi4sk"] = str(ordersPK(st.Connection, merchantapi.SyncState(st))), str(merchantapi.OrderKey(st))
	if n := st.Ref.StoreOrderName; n != "" && len(n) <= order.MaxIDBytes {
		extra["gsi5pk"] = str(namePK(st.Connection, n))
	}
}

// ListOrders returns one page of a connection's orders in q.State, newest
// first, from gsi6: the key condition bounds the time the order entered
// its state and the cursor. The index holds keys only, so that a save
// that leaves an order where it stood in the listing writes nothing to it;
// each page of keys is read from the table (BatchGetItem), and what the
// keys do not say is checked on the states read: the error code, and that
// each is still in q.State (the index lags the table by a moment).
func (s *Store) ListOrders(ctx context.Context, conn string, q merchantapi.OrderQuery) ([]order.State, error) {
	if q.Limit < 1 {
		return nil, nil
	}
	lo, hi := q.KeyRange()
	if lo != "" && hi != "" && lo >= hi {
		return []order.State{}, nil // an empty range (BETWEEN would refuse it)
	}
	values := map[string]types.AttributeValue{":p": str(ordersPK(conn, q.State))}
	cond := "gsi4pk = :p"
	switch {
	case lo != "" && hi != "":
		// BETWEEN is inclusive; no key is hi itself but the cursor's,
		// which the answer leaves out below.
		cond += " AND gsi4sk BETWEEN :lo AND :hi"
		values[":lo"], values[":hi"] = str(lo), str(hi)
	case lo != "":
		cond += " AND gsi4sk >= :lo"
		values[":lo"] = str(lo)
	case hi != "":
		cond += " AND gsi4sk < :hi"
		values[":hi"] = str(hi)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String("gsi6"),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(min(q.Limit+1, maxBatchGet))),
	})
	prefix := orderPK(conn, "")
	var out []order.State
	for p.HasMorePages() && len(out) < q.Limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: orders of %s: %w", conn, err)
		}
		var ids []string
		for _, it := range page.Items {
			if pk, ok := it["pk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, prefix) {
				ids = append(ids, strings.TrimPrefix(pk.Value, prefix))
			}
		}
		states, err := s.LoadOrders(ctx, conn, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			st, ok := states[id]
			switch {
			case !ok, merchantapi.SyncState(st) != q.State, q.Code != "" && st.Sync.ErrorCode != q.Code:
				continue // gone, moved since the index was written, or another code
			}
			if k := merchantapi.OrderKey(st); (hi != "" && k >= hi) || (lo != "" && k < lo) {
				continue // the cursor's own order, one at Until, or moved out of the range
			}
			out = append(out, merchantapi.Listed(st))
		}
	}
	if out == nil {
		out = []order.State{}
	}
	return out[:min(q.Limit, len(out))], nil
}

// FindOrdersByName returns the marketplace order ids of the connection's
// orders named name at the store, sorted, from gsi5 (KEYS_ONLY: the ids
// are read from the keys).
func (s *Store) FindOrdersByName(ctx context.Context, conn, name string) ([]string, error) {
	out := []string{}
	if len(name) > order.MaxIDBytes {
		return out, nil // never indexed
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String("gsi5"),
		KeyConditionExpression:    aws.String("gsi5pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(namePK(conn, name))},
	})
	prefix := orderPK(conn, "")
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: find orders named %q of %s: %w", name, conn, err)
		}
		for _, it := range page.Items {
			if pk, ok := it["pk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, prefix) {
				out = append(out, strings.TrimPrefix(pk.Value, prefix))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// jobExtra are a job item's attributes besides the job: its TTL.
func jobExtra(j merchantapi.Job, what string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"expires_at": num(j.CreatedAt.Add(merchantapi.JobRetention).Unix()), "type": str(what)}
}

type jobPartItem struct {
	IDs []string `json:"ids"`
}

// PutJob creates or replaces a job and, with orders not nil, first its
// orders: one item per jobPart ids, and the parts of a former put beyond
// the new ones deleted.
func (s *Store) PutJob(ctx context.Context, j merchantapi.Job, orders []string) error {
	if len(orders) > merchantapi.MaxJobOrders {
		return fmt.Errorf("dynamostore: job %s: %d orders, more than %d", j.ID, len(orders), merchantapi.MaxJobOrders)
	}
	if orders != nil {
		if err := s.putJobOrders(ctx, j, orders); err != nil {
			return err
		}
	}
	it, err := item(j, connPK(j.Connection), "JOB#"+j.ID, jobExtra(j, "job"))
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("dynamostore: put job %s: %w", j.ID, err)
	}
	return nil
}

func partSK(n int) string { return fmt.Sprintf("PART#%05d", n) }

func (s *Store) putJobOrders(ctx context.Context, j merchantapi.Job, orders []string) error {
	pk := jobPartsPK(j.Connection, j.ID)
	old, err := s.jobParts(ctx, j.Connection, j.ID)
	if err != nil {
		return err
	}
	n := 0
	for start := 0; start < len(orders); start += jobPart {
		it, err := item(jobPartItem{IDs: orders[start:min(start+jobPart, len(orders))]}, pk, partSK(n), jobExtra(j, "job_part"))
		if err != nil {
			return err
		}
		if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
			return fmt.Errorf("dynamostore: put job %s orders: %w", j.ID, err)
		}
		n++
	}
	for k := n; k < len(old); k++ {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(pk, partSK(k))}); err != nil {
			return fmt.Errorf("dynamostore: put job %s orders: %w", j.ID, err)
		}
	}
	return nil
}

// jobParts reads a job's parts, in order, consistently.
func (s *Store) jobParts(ctx context.Context, conn, id string) ([]jobPartItem, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :part)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(jobPartsPK(conn, id)), ":part": str("PART#")},
	})
	var out []jobPartItem
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: job %s orders: %w", id, err)
		}
		var parts []jobPartItem
		if err := unmarshalList(page.Items, &parts); err != nil {
			return nil, err
		}
		out = append(out, parts...)
	}
	return out, nil
}

// Job returns a job of the past merchantapi.JobRetention (one past its TTL
// that DynamoDB has not deleted yet is gone too).
func (s *Store) Job(ctx context.Context, conn, id string) (merchantapi.Job, error) {
	var j merchantapi.Job
	ok, err := s.get(ctx, connPK(conn), "JOB#"+id, &j)
	if err == nil && (!ok || !s.now().Before(j.CreatedAt.Add(merchantapi.JobRetention))) {
		return merchantapi.Job{}, fmt.Errorf("dynamostore: job %q of %q: %w", id, conn, order.ErrNotFound)
	}
	return j, err
}

// Jobs lists a connection's jobs of the past merchantapi.JobRetention,
// newest first (job ids sort by creation time), at most limit of them.
func (s *Store) Jobs(ctx context.Context, conn string, limit int) ([]merchantapi.Job, error) {
	if limit < 1 {
		return nil, nil
	}
	return newestLive[merchantapi.Job](ctx, s, conn, "JOB#", limit, "jobs of "+conn)
}

// JobOrders returns the ids a job names, in the order put.
func (s *Store) JobOrders(ctx context.Context, conn, id string) ([]string, error) {
	parts, err := s.jobParts(ctx, conn, id)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range parts {
		out = append(out, p.IDs...)
	}
	return out, nil
}
