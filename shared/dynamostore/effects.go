package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordersync/ordersync/shared/syncer"
)

// effectTTL is how long a confirmed marketplace call is remembered. Past it
// the sync still reads the marketplace order before any call, so a replay
// finds the effect there.
const effectTTL = 30 * 24 * time.Hour

// The claims of one order's marketplace calls are one item, EFFECTS#<scope>,
// with an attribute per call: its key's digest, holding when the call was
// claimed (Unix milliseconds, positive: pending) or confirmed (negated:
// done). A sync claims every call of its plan (an accept and a shipment,
// say) in one conditional write, one write unit, where an item per call
// cost one each. Each attribute keeps its own time, so one call's claim
// goes stale after its lease and its confirmation is forgotten after
// effectTTL whatever the others'; the item's TTL, moved on by every write,
// outlives them all.
func effectsPK(scope string) string { return "EFFECTS#" + scope }

const effectsSK = "EFFECTS"

// effectAttr names a call's attribute: a digest, as the key may hold any
// character and be up to a key's length.
func effectAttr(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "e" + hex.EncodeToString(sum[:12])
}

// maxEffectKey is the longest effect key taken: what a table key holds.
const maxEffectKey = 2048

func checkEffects(scope string, keys []string) error {
	if scope == "" || len(effectsPK(scope)) > maxEffectKey {
		return fmt.Errorf("dynamostore: effect scope %.40q: must be 1 to %d bytes", scope, maxEffectKey-len(effectsPK("")))
	}
	for _, k := range keys {
		if k == "" || len(k) > maxEffectKey {
			return fmt.Errorf("dynamostore: effect key %.40q: must be 1 to %d bytes", k, maxEffectKey)
		}
	}
	return nil
}

// effectTries bounds how often a claim is tried again after its condition
// failed on calls that were free when read back (another worker's write
// came in between).
const effectTries = 4

// ClaimEffects claims the calls named by keys, all of one order (scope), in
// one conditional write: each is claimed unless it is confirmed, or claimed
// less than lease ago and not confirmed. When some are not free, the write
// is refused and returns the item as it is; the free ones are claimed again
// by themselves.
func (s *Store) ClaimEffects(ctx context.Context, scope string, keys []string, lease time.Duration) ([]syncer.EffectClaim, error) {
	if err := checkEffects(scope, keys); err != nil {
		return nil, err
	}
	out := make([]syncer.EffectClaim, len(keys))
	todo := map[string][]int{} // attribute → the keys' indexes (a key named twice gets one answer)
	for i, k := range keys {
		a := effectAttr(k)
		todo[a] = append(todo[a], i)
	}
	for range effectTries {
		if len(todo) == 0 {
			return out, nil
		}
		now := s.now()
		names := map[string]string{}
		values := map[string]types.AttributeValue{
			":mine": num(now.UnixMilli()), ":exp": num(now.Add(effectTTL).Unix()), ":zero": num(0),
			":stale": num(now.Add(-lease).UnixMilli()), ":forgotten": num(-now.Add(-effectTTL).UnixMilli()),
		}
		set, conds := []string{"expires_at = :exp"}, []string{}
		i := 0
		for a := range todo {
			n := "#a" + strconv.Itoa(i)
			i++
			names[n] = a
			set = append(set, n+" = :mine")
			conds = append(conds, fmt.Sprintf("(attribute_not_exists(%[1]s) OR (%[1]s > :zero AND %[1]s < :stale) OR (%[1]s < :zero AND %[1]s > :forgotten))", n))
		}
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key(effectsPK(scope), effectsSK),
			UpdateExpression:                    aws.String("SET " + strings.Join(set, ", ")),
			ConditionExpression:                 aws.String(strings.Join(conds, " AND ")),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			for _, idx := range todo {
				for _, i := range idx {
					out[i] = syncer.EffectClaimed
				}
			}
			return out, nil
		}
		held, err := s.refusedItem(ctx, err, scope)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: claim effects of %s: %w", scope, err)
		}
		for a, idx := range todo {
			v, ok := effectValue(held, a)
			var st syncer.EffectClaim
			switch {
			case !ok, v > 0 && v < now.Add(-lease).UnixMilli(), v < 0 && -v < now.Add(-effectTTL).UnixMilli():
				continue // free: claimed on the next try
			case v < 0:
				st = syncer.EffectDone
			default:
				st = syncer.EffectBusy
			}
			for _, i := range idx {
				out[i] = st
			}
			delete(todo, a)
		}
	}
	return nil, fmt.Errorf("dynamostore: claim effects of %s: too many concurrent claims", scope)
}

// refusedItem is the effects item as a write whose condition failed found
// it: the refusal carries it (ReturnValuesOnConditionCheckFailure), else
// it is read. Any other error is returned as it is.
func (s *Store) refusedItem(ctx context.Context, err error, scope string) (map[string]types.AttributeValue, error) {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, err
	}
	if ccf.Item != nil {
		return ccf.Item, nil
	}
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(effectsPK(scope), effectsSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return res.Item, nil
}

// effectValue is a call's time on the item (0, false when it has none).
func effectValue(it map[string]types.AttributeValue, attr string) (int64, bool) {
	n, ok := it[attr].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	return v, err == nil
}

// ConfirmEffects records calls of one order as made, whoever holds their
// claims, in one write. It is idempotent.
func (s *Store) ConfirmEffects(ctx context.Context, scope string, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := checkEffects(scope, keys); err != nil {
		return err
	}
	now := s.now()
	names := map[string]string{}
	set := []string{"expires_at = :exp"}
	for i, k := range keys {
		n := "#a" + strconv.Itoa(i)
		names[n] = effectAttr(k)
		set = append(set, n+" = :done")
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(effectsPK(scope), effectsSK),
		UpdateExpression:         aws.String("SET " + strings.Join(set, ", ")),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":done": num(-now.UnixMilli()), ":exp": num(now.Add(effectTTL).Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: confirm effects of %s: %w", scope, err)
	}
	return nil
}

// ReleaseEffects drops the claims of calls of one order that did not
// happen, in one write; it never drops a confirmed one. When one of them
// is confirmed (or gone) the write is refused, and the others are dropped
// by themselves.
func (s *Store) ReleaseEffects(ctx context.Context, scope string, keys ...string) error {
	if err := checkEffects(scope, keys); err != nil {
		return err
	}
	todo := map[string]bool{}
	for _, k := range keys {
		todo[effectAttr(k)] = true
	}
	for range effectTries {
		if len(todo) == 0 {
			return nil
		}
		names := map[string]string{}
		var remove, conds []string
		i := 0
		for a := range todo {
			n := "#a" + strconv.Itoa(i)
			i++
			names[n] = a
			remove = append(remove, n)
			conds = append(conds, n+" > :zero")
		}
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key(effectsPK(scope), effectsSK),
			UpdateExpression:                    aws.String("REMOVE " + strings.Join(remove, ", ")),
			ConditionExpression:                 aws.String(strings.Join(conds, " AND ")),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           map[string]types.AttributeValue{":zero": num(0)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return nil
		}
		held, err := s.refusedItem(ctx, err, scope)
		if err != nil {
			return fmt.Errorf("dynamostore: release effects of %s: %w", scope, err)
		}
		for a := range todo {
			if v, ok := effectValue(held, a); !ok || v < 0 {
				delete(todo, a) // confirmed, or not claimed: nothing to drop
			}
		}
	}
	return fmt.Errorf("dynamostore: release effects of %s: too many concurrent writes", scope)
}
