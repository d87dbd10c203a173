package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/clock"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Limiter paces events of a key, e.g. a campaign's dials, to a rate in events per second
// across every process sharing a Redis; WaitAll paces one event against several keys at
// once, e.g. a dial against its campaign's rate and its account's.
//
// The global schedule is a GCRA in Redis (burst 1, as redis_rate keeps it): grants are
// spaced at least 1/cps apart by the Redis server's clock, never bunched, even after an idle
// spell. In front of it each process keeps, per key (per set of keys for WaitAll), a local
// golang.org/x/time/rate limiter at the same rate (the slowest of the set's) and a queue: a
// process's waiting goroutines wait their turn locally, in arrival order, and the one whose
// turn it is asks Redis only once the local limiter says 1/cps has passed since this
// process's last grant. So each process has at most one request to Redis in flight per key,
// and a process dialing alone needs about one round trip per grant.
//
// Burst 1 keeps no credit for lateness: a grant that comes after the moment the GCRA
// would allow it pushes every later one back. Each comes a little late, by the waiting
// process's timer slack (up to about a millisecond) and, when processes compete, a round
// trip, so the rate achieved is a little under cps. From one process against a local
// Redis: 98% of 20 cps, 92% of 100, 80% of 1000.
//
// A Limiter is safe for concurrent use; one per process is enough.
type Limiter struct {
	rdb redis.UniversalClient

	mu   sync.Mutex
	keys map[string]*pacer
}

// pacer is one process's side of one key, or of one set of keys that WaitAll takes together.
type pacer struct {
	turn  chan struct{} // capacity 1: who filled it asks Redis; the rest queue on the send, in order
	local *rate.Limiter // burst 1, charged for each grant as of when it was asked for
	n     int           // goroutines in Wait
}

// NewLimiter returns a Limiter on rdb.
func NewLimiter(rdb redis.UniversalClient) *Limiter {
	return &Limiter{rdb: rdb, keys: make(map[string]*pacer)}
}

// Turn is one rate a WaitAll grant must keep: Key's events at CPS events per second.
type Turn struct {
	// Key names the rate's state; the Redis key is Key prefixed with "rate:".
	Key string
	// CPS is the rate, in events per second, from MinRate to MaxRate; it may be
	// fractional (0.5 allows one event every 2 s).
	CPS float64
}

// Wait blocks until key grants one event at cps events per second and returns how long
// it waited: WaitAll with one Turn. cps may be fractional: 0.5 allows one event every 2s.
// The Redis key is key prefixed with "rate:"; it expires on its own once idle. Callers
// sharing a key should pass the same cps; a change applies from the next grant, and a
// raised rate is not held back by a turn the old rate gave (a caller that had not yet seen
// the change, in any process): that turn is forgotten.
//
// It returns an error if cps is below MinRate, above MaxRate or NaN, ctx.Err() if ctx ends
// first, and the first Redis error as it comes, without retrying.
func (l *Limiter) Wait(ctx context.Context, key string, cps float64) (waited time.Duration, err error) {
	return l.WaitAll(ctx, Turn{Key: key, CPS: cps})
}

// WaitAll blocks until every turn's key grants one event at its rate, all at one instant,
// and returns how long it waited. Redis grants the turns together or not at all (one
// script), so none goes stale while the caller waits for another: a dial sent when WaitAll
// returns keeps every rate it names. The keys must differ and, on a Redis Cluster, share a
// hash slot. Each key behaves as under Wait; callers that name the same key pass the same
// rate for it.
//
// It returns an error if turns is empty or a rate is below MinRate, above MaxRate or NaN,
// ctx.Err() if ctx ends first, and the first Redis error as it comes, without retrying.
func (l *Limiter) WaitAll(ctx context.Context, turns ...Turn) (waited time.Duration, err error) {
	start := time.Now()
	if len(turns) == 0 {
		return 0, errors.New("wait for a turn: no keys")
	}
	names := make([]string, len(turns))
	keys := make([]string, len(turns))
	intervals := make([]any, len(turns))
	slowest := math.Inf(1)
	for i, t := range turns {
		if !(t.CPS >= MinRate && t.CPS <= MaxRate) {
			return 0, fmt.Errorf("wait for %s: cps %v, want at least %v (one event in about 32 years) and at most %v", t.Key, t.CPS, MinRate, MaxRate)
		}
		names[i], keys[i] = t.Key, rateKeyPrefix+t.Key
		intervals[i] = intervalOf(t.CPS).Seconds()
		slowest = min(slowest, t.CPS)
	}
	name := strings.Join(names, " and ")

	p := l.join(strings.Join(names, "\n"), slowest)
	defer l.leave(p)
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	}
	defer func() { <-p.turn }()

	if p.local.Limit() != rate.Limit(slowest) {
		p.local.SetLimit(rate.Limit(slowest))
	}
	if tokens := p.local.Tokens(); tokens < 1 {
		if err := clock.Sleep(ctx, scale(intervalOf(slowest), 1-tokens)); err != nil {
			return time.Since(start), err
		}
	}
	for {
		asked := time.Now()
		wait, err := grant(ctx, l.rdb, keys, intervals)
		if ctx.Err() != nil {
			return time.Since(start), ctx.Err()
		}
		if err != nil {
			return time.Since(start), fmt.Errorf("wait for %s: %w", name, err)
		}
		if wait == 0 {
			// Charge the local limiter as of the granted ask's sending, not as of
			// the answer or of an earlier denied ask: the next ask then goes out 1/cps
			// after this one did and reaches Redis about when the GCRA allows it. Any
			// later and the lateness is lost for good (burst 1 keeps no credit); any
			// earlier and it is denied and costs a second round trip.
			p.local.ReserveN(asked, 1)
			return time.Since(start), nil
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			return time.Since(start), err
		}
	}
}

// rateKeyPrefix is what a Limiter puts before a key, as redis_rate does.
const rateKeyPrefix = "rate:"

// grant runs gcraScript on keys (each with rateKeyPrefix) at intervals (seconds, one a key)
// and returns 0 when it granted every key a turn, else how long until it would.
func grant(ctx context.Context, rdb redis.Scripter, keys []string, intervals []any) (time.Duration, error) {
	res, err := gcraScript.Run(ctx, rdb, keys, intervals...).Slice()
	if err != nil {
		return 0, err
	}
	if len(res) != 2 {
		return 0, fmt.Errorf("rate script answered %v, want {granted, wait}", res)
	}
	if res[0] == int64(1) {
		return 0, nil
	}
	s, _ := res[1].(string)
	wait, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("rate script answered wait %q: %w", s, err)
	}
	return nanos(wait * float64(time.Second)), nil
}

// gcraScript grants one event on every key of KEYS, or on none: a GCRA at burst 1 per key.
//
//	KEYS[i]  STR  the key's theoretical arrival time (TAT): when it next allows an event,
//	              in seconds since 2017-01-01 UTC on the Redis server's clock (redis_rate's
//	              format), expiring once it has passed
//	ARGV[i]       KEYS[i]'s interval between events, in seconds
//
// A key allows an event once its TAT has come. When every key allows one, it sets each TAT
// to now plus its interval and returns {1, "0"}; otherwise it changes nothing and returns
// {0, wait}, wait being the seconds until the last of them allows one. A TAT more than its
// interval (and a millisecond) ahead is a turn that a slower rate gave, which a grant at this
// rate never leaves: it is forgotten, so a raised rate counts from now.
var gcraScript = redis.NewScript(`
local t = redis.call("TIME")
local now = (t[1] - 1483228800) + (t[2] / 1000000)
local wait = 0
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call("GET", key) or "")
  if tat and tat - now <= tonumber(ARGV[i]) + 0.001 then
    wait = math.max(wait, tat - now)
  end
end
if wait > 0 then
  return {0, tostring(wait)}
end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i])
  redis.call("SET", key, string.format("%.6f", now + interval), "EX", math.ceil(interval))
end
return {1, "0"}
`)

// MinRate and MaxRate bound the rate Wait accepts, in events per second. Below MinRate the
// interval between events, in nanoseconds, would soon overflow time.Duration (below about
// 1e-10 it does, and the limit would be off); a campaign file allows no rate near either.
const (
	MinRate = 1e-9
	MaxRate = 1e9
)

// intervalOf is the time between events at cps events per second, clamped to [1ns,
// math.MaxInt64 ns] so that no rate makes it zero or negative.
func intervalOf(cps float64) time.Duration {
	return nanos(float64(time.Second) / cps)
}

// scale returns d times f, clamped as intervalOf is.
func scale(d time.Duration, f float64) time.Duration {
	return nanos(float64(d) * f)
}

// nanos converts ns nanoseconds to a time.Duration clamped to [1ns, math.MaxInt64 ns] (NaN
// gives 1ns): a float converted to an integer out of its range is undefined in Go, and
// negative on amd64.
func nanos(ns float64) time.Duration {
	switch {
	case !(ns >= 1):
		return 1
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// join counts the calling goroutine among key's waiters. A new key's entry is made by
// first dropping the entries nobody waits on whose local limiter is full again, which
// are as good as new.
func (l *Limiter) join(key string, cps float64) *pacer {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.keys[key]
	if p == nil {
		now := time.Now()
		for k, idle := range l.keys {
			if idle.n == 0 && idle.local.TokensAt(now) >= 1 {
				delete(l.keys, k)
			}
		}
		p = &pacer{turn: make(chan struct{}, 1), local: rate.NewLimiter(rate.Limit(cps), 1)}
		l.keys[key] = p
	}
	p.n++
	return p
}

// leave undoes join, keeping the entry: its local limiter remembers the last grant.
func (l *Limiter) leave(p *pacer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p.n--
}

// Granted reports whether cmd, once answered, was a Limiter's ask for a turn on key (as
// passed to Wait, or among WaitAll's turns) that Redis granted: gcraScript, whose reply is
// {granted, wait}. A go-redis hook counts or times grants with it.
func Granted(cmd redis.Cmder, key string) bool {
	c, ok := cmd.(*redis.Cmd)
	if !ok || c.Err() != nil || !slices.Contains(cmd.Args(), any(rateKeyPrefix+key)) {
		return false
	}
	v, ok := c.Val().([]any)
	return ok && len(v) == 2 && v[0] == int64(1)
}
