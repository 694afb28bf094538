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
// claimed (Unix nanoseconds, positive: pending; the claim's token) or
// confirmed (negated: done). A sync claims every call of its plan (an
// accept and a shipment, say) in one conditional write, one write unit,
// where an item per call cost one each. Each attribute keeps its own
// time, so one call's claim goes stale after its lease and its
// confirmation is forgotten after effectTTL whatever the others'; the
// item's TTL, moved on by every write, outlives them all. A renewal or a
// release names the claim by its token, so it never touches a claim
// another worker took over meanwhile.
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
func (s *Store) ClaimEffects(ctx context.Context, scope string, keys []string, lease time.Duration) ([]syncer.Claim, error) {
	if err := checkEffects(scope, keys); err != nil {
		return nil, err
	}
	out := make([]syncer.Claim, len(keys))
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
		mine := now.UnixNano()
		values := map[string]types.AttributeValue{
			":mine": num(mine), ":exp": num(now.Add(effectTTL).Unix()), ":zero": num(0),
			":stale": num(now.Add(-lease).UnixNano()), ":forgotten": num(-now.Add(-effectTTL).UnixNano()),
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
		err := s.updateEffects(ctx, scope, "SET "+strings.Join(set, ", "), conds, names, values)
		if err == nil {
			for _, idx := range todo {
				for _, i := range idx {
					out[i] = syncer.Claim{State: syncer.EffectClaimed, Token: mine}
				}
			}
			return out, nil
		}
		held, err := s.refusedItem(ctx, err, scope)
		if err != nil {
			return nil, fmt.Errorf("dynamostore: claim effects of %s: %w", scope, err)
		}
		for a, idx := range todo {
			st, free := heldBy(held, a, now, lease)
			if free {
				continue // claimed on the next try
			}
			for _, i := range idx {
				out[i] = syncer.Claim{State: st}
			}
			delete(todo, a)
		}
	}
	return nil, fmt.Errorf("dynamostore: claim effects of %s: too many concurrent claims", scope)
}

// heldBy is what the item holds of the call attr: free (never claimed, its
// claim stale, its confirmation forgotten), or done or busy.
func heldBy(it map[string]types.AttributeValue, attr string, now time.Time, lease time.Duration) (syncer.EffectClaim, bool) {
	v, ok := numberAttr(it, attr)
	switch {
	case !ok, v > 0 && v < now.Add(-lease).UnixNano(), v < 0 && -v < now.Add(-effectTTL).UnixNano():
		return 0, true
	case v < 0:
		return syncer.EffectDone, false
	}
	return syncer.EffectBusy, false
}

// RenewEffect takes the call's claim again from now, if token still names
// it: one conditional write.
func (s *Store) RenewEffect(ctx context.Context, scope, call string, token int64) (syncer.Claim, bool, error) {
	if err := checkEffects(scope, []string{call}); err != nil {
		return syncer.Claim{}, false, err
	}
	now := s.now()
	mine := max(now.UnixNano(), token+1)
	err := s.updateEffects(ctx, scope, "SET #a = :mine, expires_at = :exp", []string{"#a = :token"},
		map[string]string{"#a": effectAttr(call)},
		map[string]types.AttributeValue{":mine": num(mine), ":token": num(token), ":exp": num(now.Add(effectTTL).Unix())})
	if err == nil {
		return syncer.Claim{State: syncer.EffectClaimed, Token: mine}, true, nil
	}
	held, err := s.refusedItem(ctx, err, scope)
	if err != nil {
		return syncer.Claim{}, false, fmt.Errorf("dynamostore: renew effect of %s: %w", scope, err)
	}
	// Not this claim any more: what it is now, for the caller (a free
	// call is one to claim again, not to make under this claim).
	st, free := heldBy(held, effectAttr(call), now, 0)
	if free {
		st = syncer.EffectBusy
	}
	return syncer.Claim{State: st}, false, nil
}

// updateEffects is one conditional update of scope's effects item (the
// conditions all hold, or nothing is written), which returns the item
// when it is refused (refusedItem).
func (s *Store) updateEffects(ctx context.Context, scope, update string, conds []string, names map[string]string, values map[string]types.AttributeValue) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(effectsPK(scope), effectsSK),
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	return err
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

// numberAttr is the item's number attribute attr (0, false when it has
// none): a call's time on an effects item, a link's expiry.
func numberAttr(it map[string]types.AttributeValue, attr string) (int64, bool) {
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
			":done": num(-now.UnixNano()), ":exp": num(now.Add(effectTTL).Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamostore: confirm effects of %s: %w", scope, err)
	}
	return nil
}

// ReleaseEffects drops the claims named by their tokens (key → token) of
// calls of one order that did not happen, in one write; a claim that is
// no longer the one its token names (taken over, released, confirmed) is
// left as it is. When one of them is not, the write is refused, and the
// others are dropped by themselves.
func (s *Store) ReleaseEffects(ctx context.Context, scope string, claims map[string]int64) error {
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	if err := checkEffects(scope, keys); err != nil {
		return err
	}
	todo := map[string]int64{}
	for k, token := range claims {
		if token > 0 {
			todo[effectAttr(k)] = token
		}
	}
	for range effectTries {
		if len(todo) == 0 {
			return nil
		}
		names := map[string]string{}
		values := map[string]types.AttributeValue{}
		var remove, conds []string
		i := 0
		for a, token := range todo {
			n, v := "#a"+strconv.Itoa(i), ":t"+strconv.Itoa(i)
			i++
			names[n], values[v] = a, num(token)
			remove = append(remove, n)
			conds = append(conds, n+" = "+v)
		}
		err := s.updateEffects(ctx, scope, "REMOVE "+strings.Join(remove, ", "), conds, names, values)
		if err == nil {
			return nil
		}
		held, err := s.refusedItem(ctx, err, scope)
		if err != nil {
			return fmt.Errorf("dynamostore: release effects of %s: %w", scope, err)
		}
		for a, token := range todo {
			if v, ok := numberAttr(held, a); !ok || v != token {
				delete(todo, a) // not this claim any more: not ours to drop
			}
		}
	}
	return fmt.Errorf("dynamostore: release effects of %s: too many concurrent writes", scope)
}
