package schedule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// acquireScript takes the lock, or extends it if this token holds it already (so a leader
// that stepped down after a failed renewal gets its own lock back).
//
//	KEYS[1] -> the lock
//	ARGV[1] -> token
//	ARGV[2] -> TTL in ms
//
// It returns 1 when the token holds the lock, 0 otherwise.
var acquireScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  return 1
end
return 0
`)

// renewScript extends the lock if the token still holds it.
//
//	KEYS[1] -> the lock
//	ARGV[1] -> token
//	ARGV[2] -> TTL in ms
//
// It returns 1 when extended, 0 when the lock is gone or someone else's.
var renewScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript deletes the lock if the token holds it.
//
//	KEYS[1] -> the lock
//	ARGV[1] -> token
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
`)

// LeaderConfig configures NewLeader. The zero value works.
type LeaderConfig struct {
	// TTL is how long the lock outlives its holder's last renewal: a crashed leader is
	// replaced after at most TTL plus RenewInterval. Defaults to 15s.
	TTL time.Duration
	// RenewInterval is how often the leader renews the lock and the others try to take
	// it. It must be less than TTL. Defaults to 5s.
	RenewInterval time.Duration
	// Key is the lock's Redis key, so that other singleton jobs (the retention sweep) can
	// elect their own leader. Defaults to the scheduler's, dialer:scheduler:leader.
	Key string
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c LeaderConfig) WithDefaults() LeaderConfig {
	if c.TTL <= 0 {
		c.TTL = 15 * time.Second
	}
	if c.RenewInterval <= 0 {
		c.RenewInterval = 5 * time.Second
	}
	if c.Key == "" {
		c.Key = leaderKey()
	}
	return c
}

// Validate says which field is wrong.
func (c LeaderConfig) Validate() error {
	if c.RenewInterval >= c.TTL {
		return fmt.Errorf("schedule: LeaderConfig.RenewInterval %s must be less than TTL %s", c.RenewInterval, c.TTL)
	}
	return nil
}

// Leader is one contender for a lock in Redis (LeaderConfig.Key: the scheduler's unless
// set). At most one Leader holds it at a time: it is a random token set with NX and a TTL,
// renewed and released only by the token's owner.
type Leader struct {
	rdb   redis.UniversalClient
	token string
	cfg   LeaderConfig
}

// NewLeader returns a contender on rdb with a fresh random token. It panics if cfg, with its
// defaults, does not Validate.
func NewLeader(rdb redis.UniversalClient, cfg LeaderConfig) *Leader {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &Leader{rdb: rdb, token: hex.EncodeToString(b[:]), cfg: cfg}
}

// TryAcquire takes the lock if it is free (or already this Leader's) and reports whether
// this Leader holds it.
func (l *Leader) TryAcquire(ctx context.Context) (bool, error) {
	n, err := acquireScript.Run(ctx, l.rdb, []string{l.cfg.Key}, l.token, l.cfg.TTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("acquire lock %s: %w", l.cfg.Key, err)
	}
	return n == 1, nil
}

// Renew extends the lock by TTL and reports whether this Leader still holds it.
func (l *Leader) Renew(ctx context.Context) (bool, error) {
	n, err := renewScript.Run(ctx, l.rdb, []string{l.cfg.Key}, l.token, l.cfg.TTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew lock %s: %w", l.cfg.Key, err)
	}
	return n == 1, nil
}

// Release gives the lock up if this Leader holds it, so another takes over at once.
func (l *Leader) Release(ctx context.Context) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{l.cfg.Key}, l.token).Err(); err != nil {
		return fmt.Errorf("release lock %s: %w", l.cfg.Key, err)
	}
	return nil
}

// Run contends for the lock until ctx is done. While this Leader holds it, lead runs with a
// context that is cancelled as soon as a renewal fails or finds the lock lost; Run waits for
// lead to return before it contends again. When ctx is done Run stops lead, releases the
// lock and returns nil. Redis errors are passed to onError (may be nil) and retried at
// the next RenewInterval.
func (l *Leader) Run(ctx context.Context, lead func(ctx context.Context), onError func(error)) error {
	report := func(err error) {
		if onError != nil && err != nil {
			onError(err)
		}
	}
	tick := time.NewTicker(l.cfg.RenewInterval)
	defer tick.Stop()
	for {
		ok, err := l.TryAcquire(ctx)
		report(err)
		if ok {
			l.hold(ctx, lead, tick.C, report)
			// Release even when ctx is done: the next leader need not wait out the TTL.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			report(l.Release(rctx))
			cancel()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// hold runs lead while renewals succeed, and returns once lead has returned.
func (l *Leader) hold(ctx context.Context, lead func(ctx context.Context), tick <-chan time.Time, report func(error)) {
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(lctx)
	}()
	defer func() { cancel(); <-done }()
	for {
		select {
		case <-lctx.Done():
			return
		case <-done:
			return
		case <-tick:
		}
		// A renewal that errs steps down too: the lock may run out before the next one.
		ok, err := l.Renew(lctx)
		report(err)
		if !ok {
			return
		}
	}
}
