package ratelimit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/clock"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Limiter paces events of a key, e.g. a campaign's dials, to a rate in events per second
// across every process sharing a Redis.
//
// The global schedule is a GCRA in Redis (redis_rate, burst 1): grants are spaced at
// least 1/cps apart by the Redis server's clock, never bunched, even after an idle spell.
// In front of it each process keeps, per key, a local golang.org/x/time/rate limiter at
// the same rate and a queue: a process's waiting goroutines wait their turn locally, in
// arrival order, and the one whose turn it is asks Redis only once the local limiter says
// 1/cps has passed since this process's last grant. So each process has at most one
// request to Redis in flight per key, and a process dialing alone needs about one round
// trip per grant.
//
// Burst 1 keeps no credit for lateness: a grant that comes after the moment the GCRA
// would allow it pushes every later one back. Each comes a little late, by the waiting
// process's timer slack (up to about a millisecond) and, when processes compete, a round
// trip, so the rate achieved is a little under cps. From one process against a local
// Redis: 98% of 20 cps, 92% of 100, 80% of 1000.
//
// A Limiter is safe for concurrent use; one per process is enough.
type Limiter struct {
	gcra *redis_rate.Limiter
	rdb  redis.UniversalClient

	mu   sync.Mutex
	keys map[string]*pacer
}

// pacer is one process's side of one key.
type pacer struct {
	turn  chan struct{} // capacity 1: who filled it asks Redis; the rest queue on the send, in order
	local *rate.Limiter // burst 1, charged for each grant as of when it was asked for
	n     int           // goroutines in Wait
}

// NewLimiter returns a Limiter on rdb.
func NewLimiter(rdb redis.UniversalClient) *Limiter {
	return &Limiter{gcra: redis_rate.NewLimiter(rdb), rdb: rdb, keys: make(map[string]*pacer)}
}

// Wait blocks until key grants one event at cps events per second and returns how long
// it waited. cps may be fractional: 0.5 allows one event every 2s. The Redis key is key
// prefixed with "rate:" (redis_rate's prefix); it expires on its own once idle. Callers
// sharing a key should pass the same cps; a change applies from the next grant, and a
// raised rate is not held back by a turn the old rate gave (a caller that had not yet seen
// the change, in any process): that turn is forgotten.
//
// It returns an error if cps is below MinRate, above MaxRate or NaN, ctx.Err() if ctx ends
// first, and the first Redis error as it comes, without retrying.
func (l *Limiter) Wait(ctx context.Context, key string, cps float64) (waited time.Duration, err error) {
	start := time.Now()
	if !(cps >= MinRate && cps <= MaxRate) {
		return 0, fmt.Errorf("wait for %s: cps %v, want at least %v (one event in about 32 years) and at most %v", key, cps, MinRate, MaxRate)
	}
	interval := intervalOf(cps)
	limit := redis_rate.Limit{Rate: 1, Period: interval, Burst: 1}

	p := l.join(key, cps)
	defer l.leave(p)
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	}
	defer func() { <-p.turn }()

	if p.local.Limit() != rate.Limit(cps) {
		p.local.SetLimit(rate.Limit(cps))
	}
	if tokens := p.local.Tokens(); tokens < 1 {
		if err := clock.Sleep(ctx, scale(interval, 1-tokens)); err != nil {
			return time.Since(start), err
		}
	}
	for {
		asked := time.Now()
		res, err := l.gcra.Allow(ctx, key, limit)
		if ctx.Err() != nil {
			return time.Since(start), ctx.Err()
		}
		if err != nil {
			return time.Since(start), fmt.Errorf("wait for %s: %w", key, err)
		}
		if res.Allowed > 0 {
			// Charge the local limiter as of the granted ask's sending, not as of
			// the answer or of an earlier denied ask: the next ask then goes out 1/cps
			// after this one did and reaches Redis about when the GCRA allows it. Any
			// later and the lateness is lost for good (burst 1 keeps no credit); any
			// earlier and it is denied and costs a second round trip.
			p.local.ReserveN(asked, 1)
			return time.Since(start), nil
		}
		if res.RetryAfter > interval+time.Millisecond {
			// At burst 1 a grant at this rate leaves the next at most one interval
			// ahead: a longer wait is the turn a slower rate gave (the rate was raised,
			// and a process that had not yet seen it took a turn at the old one). That
			// turn is forgotten, so the new rate counts from now.
			forgot, err := forgetSlowerScript.Run(ctx, l.rdb, []string{rateKeyPrefix + key}, interval.Seconds()+0.001).Int()
			if err != nil {
				return time.Since(start), fmt.Errorf("wait for %s: %w", key, err)
			}
			if forgot == 1 {
				continue
			}
		}
		if err := clock.Sleep(ctx, res.RetryAfter); err != nil {
			return time.Since(start), err
		}
	}
}

// rateKeyPrefix is what redis_rate puts before a key.
const rateKeyPrefix = "rate:"

// forgetSlowerScript deletes the GCRA state in KEYS[1] when its theoretical arrival time
// lies more than ARGV[1] seconds (the caller's interval, with a millisecond's slack) ahead
// of now: state that only a slower rate leaves. The time is redis_rate's: seconds since
// 2017-01-01 UTC on the Redis server's clock. Returns 1 when it deleted, else 0; a later
// grant at the caller's rate (another process's, say) is never more than ARGV[1] ahead, so it
// stays.
var forgetSlowerScript = redis.NewScript(`
local tat = tonumber(redis.call("GET", KEYS[1]) or "")
if not tat then
  return 0
end
local t = redis.call("TIME")
local now = (t[1] - 1483228800) + (t[2] / 1000000)
if tat - now > tonumber(ARGV[1]) then
  redis.call("DEL", KEYS[1])
  return 1
end
return 0
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
// passed to Wait) that Redis granted: redis_rate's script, whose reply is {allowed,
// remaining, retry after, reset after}. A go-redis hook counts or times grants with it.
func Granted(cmd redis.Cmder, key string) bool {
	c, ok := cmd.(*redis.Cmd)
	if !ok || c.Err() != nil || !slices.Contains(cmd.Args(), any(rateKeyPrefix+key)) {
		return false
	}
	v, ok := c.Val().([]any)
	return ok && len(v) == 4 && v[0] == int64(1)
}
