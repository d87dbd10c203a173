package campaign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A live call needs a follower: a worker that learns its end, gives its slot back and does
// its follow-up. The worker whose task placed the call follows it and renews a lease on it
// in dialer:{C}:followers. When that worker dies, asynq hands its task to another worker
// only after its own lease and recoverer (up to about two minutes), and behind every task
// waiting in the queue. Any worker that finds a follower's lease run out adopts the call at
// once instead (see Orphans), so a dead worker's calls are followed again within
// FollowLease plus one sweep, however long the queue.

// FollowLease is how long a follower's lease on a live call lasts unless renewed. Followers
// renew it every FollowLease/3.
const FollowLease = 30 * time.Second

// followScript takes or renews the lease on following a live call.
//
//	KEYS[1] -> dialer:{C}:followers   ZSET "N:A" -> lease expiry (Unix ms, Redis time)
//	KEYS[2] -> dialer:{C}:follower    HASH "N:A" -> the lease holder's token
//	ARGV[1] -> "N:A"
//	ARGV[2] -> token of the worker run taking it
//	ARGV[3] -> lease, ms
//
// Returns 1 when token holds the lease now, 0 when another token holds an unexpired one.
var followScript = redis.NewScript(`
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local expiry = tonumber(redis.call("ZSCORE", KEYS[1], ARGV[1]))
if expiry and expiry > now and redis.call("HGET", KEYS[2], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call("ZADD", KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call("HSET", KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// Follow takes, or renews, token's lease on following attempt ref's live call,
// for FollowLease. It reports false when another token holds a lease that has not run out.
func (s *Store) Follow(ctx context.Context, ref AttemptRef, token string) (bool, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	keys := []string{followersKey(id), followerKey(id)}
	res, err := followScript.Run(ctx, s.rdb, keys, liveMember(n, a), token, FollowLease.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("follow attempt %s/%d/%d: %w", id, n, a, err)
	}
	return res == 1, nil
}

// unfollowScript drops a lease, if token holds it.
//
//	KEYS[1] -> dialer:{C}:followers
//	KEYS[2] -> dialer:{C}:follower
//	ARGV[1] -> "N:A"
//	ARGV[2] -> token
var unfollowScript = redis.NewScript(`
if redis.call("HGET", KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call("ZREM", KEYS[1], ARGV[1])
  redis.call("HDEL", KEYS[2], ARGV[1])
end
return 0
`)

// Unfollow drops token's lease on following attempt ref, when token holds it:
// the call is over and recorded, or the worker stops (another adopts the call at once).
func (s *Store) Unfollow(ctx context.Context, ref AttemptRef, token string) error {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	keys := []string{followersKey(id), followerKey(id)}
	if err := unfollowScript.Run(ctx, s.rdb, keys, liveMember(n, a), token).Err(); err != nil {
		return fmt.Errorf("unfollow attempt %s/%d/%d: %w", id, n, a, err)
	}
	return nil
}

// Orphans lists, for each campaign of ids, up to limit attempts whose follower's lease ran
// out at least grace ago (by the server clock of at): their worker died or stopped, and they
// may be adopted with Follow. It costs one round trip for all of ids.
func (s *Store) Orphans(ctx context.Context, ids []string, at time.Time, grace time.Duration, limit int) ([]AttemptRef, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	max := strconv.FormatInt(at.Add(-grace).UnixMilli(), 10)
	cmds := make([]*redis.StringSliceCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.ZRangeByScore(ctx, followersKey(id), &redis.ZRangeBy{Min: "-inf", Max: max, Count: int64(limit)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look for orphaned calls: %w", err)
	}
	var out []AttemptRef
	for i, cmd := range cmds {
		for _, m := range cmd.Val() {
			if n, a, ok := parseLiveMember(m); ok {
				out = append(out, AttemptRef{CampaignID: ids[i], ContactID: n, Attempt: a})
			}
		}
	}
	return out, nil
}

// RedisTime is the Redis server's clock, which follower leases are scored by.
func (s *Store) RedisTime(ctx context.Context) (time.Time, error) {
	t, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("read the Redis clock: %w", err)
	}
	return t, nil
}

// Answering names, for each attempt of refs, the worker answering for it: the one following
// its call (the Name part of its follower token), else the one that claimed it; "" for an
// attempt nobody claimed. It is for looking at attempts from outside (cmd/chaos tells the
// slots of killed workers' calls apart); nothing decides on it. One round trip for all refs.
func (s *Store) Answering(ctx context.Context, refs []AttemptRef) ([]string, error) {
	pipe := s.rdb.Pipeline()
	follower := make([]*redis.StringCmd, len(refs))
	claimer := make([]*redis.StringCmd, len(refs))
	for i, r := range refs {
		follower[i] = pipe.HGet(ctx, followerKey(r.CampaignID), liveMember(r.ContactID, r.Attempt))
		claimer[i] = pipe.HGet(ctx, attemptKey(r.CampaignID, r.ContactID, r.Attempt), "worker")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read who answers for %d attempts: %w", len(refs), err)
	}
	out := make([]string, len(refs))
	for i := range refs {
		// A follower token is the worker's Name, "/" and a random suffix.
		if name, _, _ := strings.Cut(follower[i].Val(), "/"); name != "" {
			out[i] = name
		} else {
			out[i] = claimer[i].Val()
		}
	}
	return out, nil
}
