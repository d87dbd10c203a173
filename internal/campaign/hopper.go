package campaign

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The hopper is where a campaign's attempts wait until they can be dialed: a ZSET of
// "N:A" scored by when each is due. Upload parks every dialable contact's first attempt
// there, a retry parks the next attempt, and a dial that cannot start yet (no slot, no
// calls-per-second turn, calling window closed, frequency cap) is parked again, due when it
// may start. Nothing waits in asynq: the feeder (package feeder) moves only as many due
// attempts as a campaign can start soon to its ready set and enqueues a dial task for
// each; the task's run takes it off the ready set, and once the task has ended for good
// it leaves the dispatched set, which the reconciler checks against asynq.

// EnqueueDial parks attempt ref in the campaign's hopper, due
// at at (zero: now). Parking an attempt that is parked already moves its due time. Store
// implements Enqueuer this way: a retry, a resume and an upload all go through the hopper.
func (s *Store) EnqueueDial(ctx context.Context, ref AttemptRef, at time.Time) error {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	if at.IsZero() {
		at = s.now()
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, hopperKey(id), redis.Z{Score: dueScore(at), Member: liveMember(n, a)})
		p.SAdd(ctx, activeKey(), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("park attempt %s/%d/%d: %w", id, n, a, err)
	}
	return nil
}

var _ Enqueuer = (*Store)(nil)

// dueScore is at in Unix milliseconds, rounded up, so that an attempt is never taken from
// the hopper before it is due.
func dueScore(at time.Time) float64 {
	ms := at.UnixMilli()
	if at.After(time.UnixMilli(ms)) {
		ms++
	}
	return float64(ms)
}

// parkBatch parks attempt 1 of each contact of ids in p, due at at.
func parkBatch(ctx context.Context, p redis.Pipeliner, id string, ids []int, at time.Time) {
	if len(ids) == 0 {
		return
	}
	zs := make([]redis.Z, len(ids))
	for i, n := range ids {
		zs[i] = redis.Z{Score: dueScore(at), Member: liveMember(n, 1)}
	}
	p.ZAdd(ctx, hopperKey(id), zs...)
}

// takeScript moves due attempts from a campaign's hopper to its ready and dispatched sets.
//
//	KEYS[1] -> dialer:{C}:hopper
//	KEYS[2] -> dialer:{C}:ready
//	KEYS[3] -> dialer:{C}:dispatched
//	KEYS[4] -> dialer:{C}:campaign
//	ARGV[1] -> now, Unix ms
//	ARGV[2] -> how many at most
//
// Returns the attempts "N:A" moved, oldest due first; none while the campaign is uploading,
// paused or gone.
var takeScript = redis.NewScript(`
local c = redis.call("HMGET", KEYS[4], "state", "control")
if c[1] ~= "ready" or c[2] == "paused" then
  return {}
end
local m = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[2]))
for _, v in ipairs(m) do
  redis.call("ZREM", KEYS[1], v)
  redis.call("ZADD", KEYS[2], ARGV[1], v)
  redis.call("ZADD", KEYS[3], ARGV[1], v)
end
return m
`)

// Take moves up to max attempts of campaign id that are due at now from its hopper to its
// ready and dispatched sets, in one atomic step, and returns them; the caller enqueues a
// dial task for each. A campaign that is uploading or paused gives none.
func (s *Store) Take(ctx context.Context, id string, now time.Time, max int) ([]AttemptRef, error) {
	if max <= 0 {
		return nil, nil
	}
	keys := []string{hopperKey(id), readyKey(id), dispatchedKey(id), campaignKey(id)}
	members, err := takeScript.Run(ctx, s.rdb, keys, now.UnixMilli(), max).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("take attempts of campaign %s: %w", id, err)
	}
	return refs(id, members), nil
}

func refs(id string, members []string) []AttemptRef {
	out := make([]AttemptRef, 0, len(members))
	for _, m := range members {
		if n, a, ok := parseLiveMember(m); ok {
			out = append(out, AttemptRef{CampaignID: id, ContactID: n, Attempt: a})
		}
	}
	return out
}

// Started records that the dial task of attempt ref runs: it is no longer
// ready (waiting in asynq), though still dispatched.
func (s *Store) Started(ctx context.Context, ref AttemptRef) error {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	if err := s.rdb.ZRem(ctx, readyKey(id), liveMember(n, a)).Err(); err != nil {
		return fmt.Errorf("record start of %s/%d/%d: %w", id, n, a, err)
	}
	return nil
}

// Settled records that the dial task of attempt ref ended for good (its
// follow-up is recorded, or it was parked again): it is neither ready nor dispatched.
func (s *Store) Settled(ctx context.Context, ref AttemptRef) error {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	m := liveMember(n, a)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, readyKey(id), m)
		p.ZRem(ctx, dispatchedKey(id), m)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record end of %s/%d/%d: %w", id, n, a, err)
	}
	return nil
}

// Hopper is what a campaign's hopper holds at one moment.
type Hopper struct {
	// Due counts parked attempts due by now; Later those due after.
	Due, Later int
	// Ready counts attempts given to asynq whose task has not started; Dispatched those
	// whose task has not ended (Ready included).
	Ready, Dispatched int
	// NextDue is when the earliest of Later is due; zero when none.
	NextDue time.Time
}

// Hoppers reads the hoppers of campaigns ids at now in one round trip, in the order of ids.
func (s *Store) Hoppers(ctx context.Context, ids []string, now time.Time) ([]Hopper, error) {
	type cmds struct {
		due, all, ready, dispatched *redis.IntCmd
		next                        *redis.ZSliceCmd
	}
	cs := make([]cmds, len(ids))
	nowMS := strconv.FormatInt(now.UnixMilli(), 10)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cs[i] = cmds{
				due:        p.ZCount(ctx, hopperKey(id), "-inf", nowMS),
				all:        p.ZCard(ctx, hopperKey(id)),
				ready:      p.ZCard(ctx, readyKey(id)),
				dispatched: p.ZCard(ctx, dispatchedKey(id)),
				next: p.ZRangeByScoreWithScores(ctx, hopperKey(id), &redis.ZRangeBy{
					Min: "(" + nowMS, Max: "+inf", Count: 1,
				}),
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read hoppers: %w", err)
	}
	out := make([]Hopper, len(ids))
	for i, c := range cs {
		h := Hopper{
			Due: int(c.due.Val()), Later: int(c.all.Val() - c.due.Val()),
			Ready: int(c.ready.Val()), Dispatched: int(c.dispatched.Val()),
		}
		if z := c.next.Val(); len(z) > 0 {
			h.NextDue = time.UnixMilli(int64(z[0].Score)).UTC()
		}
		out[i] = h
	}
	return out, nil
}

// Dispatched lists campaign id's dispatched attempts given to asynq before before, up to
// limit: the reconciler checks that each still has its task.
func (s *Store) Dispatched(ctx context.Context, id string, before time.Time, limit int) ([]AttemptRef, error) {
	members, err := s.rdb.ZRangeByScore(ctx, dispatchedKey(id), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(before.UnixMilli(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("list dispatched attempts of campaign %s: %w", id, err)
	}
	return refs(id, members), nil
}

// CallLive reports whether attempt ref has a live call.
func (s *Store) CallLive(ctx context.Context, ref AttemptRef) (bool, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	ok, err := s.rdb.SIsMember(ctx, liveKey(id), liveMember(n, a)).Result()
	if err != nil {
		return false, fmt.Errorf("read live calls of campaign %s: %w", id, err)
	}
	return ok, nil
}

// rebuildScript parks a dispatched attempt whose task is gone again, once.
//
//	KEYS[1] -> dialer:{C}:dispatched
//	KEYS[2] -> dialer:{C}:ready
//	KEYS[3] -> dialer:{C}:hopper
//	KEYS[4] -> dialer:{C}:counters
//	ARGV[1] -> attempt "N:A"
//	ARGV[2] -> now, Unix ms
//
// Returns 1 when it parked the attempt, 0 when the attempt was no longer dispatched.
var rebuildScript = redis.NewScript(`
if redis.call("ZREM", KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZADD", KEYS[3], ARGV[2], ARGV[1])
redis.call("HINCRBY", KEYS[4], "rebuilt", 1)
return 1
`)

// Rebuild parks attempt ref again, due now, because its dial task is gone
// (deleted through asynq's Inspector or web UI, or lost with a Redis restore), and counts
// it under Status.Rebuilt. It reports false when the attempt was not dispatched any more
// (its task ended meanwhile). Dialing it again is safe: the attempt's record says whether
// it was dialed, and a claimed attempt is looked up, never dialed twice.
func (s *Store) Rebuild(ctx context.Context, ref AttemptRef) (bool, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	keys := []string{dispatchedKey(id), readyKey(id), hopperKey(id), countersKey(id)}
	ok, err := rebuildScript.Run(ctx, s.rdb, keys, liveMember(n, a), s.now().UnixMilli()).Bool()
	if err != nil {
		return false, fmt.Errorf("rebuild attempt %s/%d/%d: %w", id, n, a, err)
	}
	return ok, nil
}

// ActiveCampaigns lists the campaigns the feeder looks at: uploaded or parked into and not
// known to be done.
func (s *Store) ActiveCampaigns(ctx context.Context) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, activeKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list active campaigns: %w", err)
	}
	return ids, nil
}

// Retire drops campaign id from the active campaigns: it is done (for good) or deleted.
func (s *Store) Retire(ctx context.Context, id string) error {
	if err := s.rdb.SRem(ctx, activeKey(), id).Err(); err != nil {
		return fmt.Errorf("retire campaign %s: %w", id, err)
	}
	return nil
}

// Share is the feeder's view of a campaign at one moment, for status: the share of its
// account's limits it may use and, when it has due attempts it does not start, why.
type Share struct {
	// Slots is how many live calls the campaign may have now: its maxConcurrentCalls, or
	// less when its account's cap binds.
	Slots int `json:"slots"`
	// CallsPerSecond is the rate the campaign may dial at now.
	CallsPerSecond float64 `json:"callsPerSecond"`
	// Waiting says why due attempts wait, "" when none does: "account cap", "campaign cap",
	// "calls per second", "paused".
	Waiting string `json:"waiting,omitempty"`
	// At is when the feeder wrote it.
	At time.Time `json:"at"`
}

// SetShare records campaign id's share for status; it expires after a minute, so a status
// never shows the view of a feeder that stopped.
func (s *Store) SetShare(ctx context.Context, id string, sh Share) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, shareKey(id), "slots", sh.Slots, "cps", strconv.FormatFloat(sh.CallsPerSecond, 'f', -1, 64),
			"waiting", sh.Waiting, "at", formatTime(sh.At))
		p.Expire(ctx, shareKey(id), time.Minute)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record share of campaign %s: %w", id, err)
	}
	return nil
}

// readShare reads a campaign's share from its hash m, with d, which keeps the first field
// that does not parse; nil when no feeder wrote one in the last minute.
func readShare(d *hashDecoder, m map[string]string) *Share {
	if len(m) == 0 {
		return nil
	}
	return &Share{
		Waiting: m["waiting"], At: d.time("share at", m["at"]),
		Slots: d.int("share slots", m["slots"]), CallsPerSecond: d.float("share cps", m["cps"]),
	}
}
