package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// maxBatchGet is the most keys one BatchGetItem takes.
const maxBatchGet = 100

// A BatchGetItem may read only some of its keys (throttled, or past its
// 16 MB answer) and return the rest as UnprocessedKeys, which AWS says to
// ask again after a backoff. batchGet asks at most batchGetTries times per
// 100 keys, waiting batchGetBackoff, then twice as long each time (about
// 0.3 s in all), and then fails: the caller retries the whole read later,
// as it would any transient failure.
const (
	batchGetTries   = 5
	batchGetBackoff = 20 * time.Millisecond
)

// batchGet reads the items (pk(id), sk) of ids, consistently, and calls
// found with each one there is. Repeated ids are asked once (BatchGetItem
// refuses a repeated key); no ids makes no call.
func (s *Store) batchGet(ctx context.Context, sk string, ids []string, pk func(id string) string,
	found func(id string, item map[string]types.AttributeValue) error) error {
	byPK := make(map[string]string, len(ids))
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		p := pk(id)
		if _, ok := byPK[p]; ok {
			continue
		}
		byPK[p] = id
		keys = append(keys, key(p, sk))
	}
	for start := 0; start < len(keys); start += maxBatchGet {
		pending := keys[start:min(start+maxBatchGet, len(keys))]
		for try := 0; len(pending) > 0; try++ {
			if try == batchGetTries {
				return fmt.Errorf("batch get: %d of %d keys still unprocessed after %d tries", len(pending), len(keys), try)
			}
			if try > 0 {
				if err := sleep(ctx, batchGetBackoff<<(try-1)); err != nil {
					return fmt.Errorf("batch get: %w", err)
				}
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				s.table: {Keys: pending, ConsistentRead: aws.Bool(true)}}})
			if err != nil {
				return fmt.Errorf("batch get: %w", err)
			}
			for _, it := range res.Responses[s.table] {
				p, _ := it["pk"].(*types.AttributeValueMemberS)
				if p == nil {
					return fmt.Errorf("batch get: an item without a pk")
				}
				id, ok := byPK[p.Value]
				if !ok {
					return fmt.Errorf("batch get: an item %q not asked for", p.Value)
				}
				if err := found(id, it); err != nil {
					return err
				}
			}
			pending = res.UnprocessedKeys[s.table].Keys
		}
	}
	return nil
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
