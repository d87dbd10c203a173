package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/clock"
	"github.com/redis/go-redis/v9"
)

// keyTTLLeases is how many leases an idle semaphore key outlives its last lease by, so
// that the key of a campaign nobody holds any more disappears on its own.
const keyTTLLeases = 3

// Each script below keeps holders in a ZSET scored by the Unix millisecond at which
// their lease runs out, in Redis server time. redis.replicate_commands lets a script
// write after calling TIME on Redis before 5; later versions ignore it.

// acquireCmd drops expired leases, then gives holder a fresh lease if it already holds
// or fewer than max others do. It serves TryAcquire (max), Hold (max unbounded) and Extend
// (max 0: only a holder that still holds).
//
// KEYS[1] -> holders ZSET
// ARGV[1] -> holder
// ARGV[2] -> lease, in milliseconds
// ARGV[3] -> key TTL, in milliseconds
// ARGV[4] -> max holders
// Returns 1 if holder now holds, 0 if max others hold.
var acquireCmd = redis.NewScript(`
redis.replicate_commands()
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
if not redis.call("ZSCORE", KEYS[1], ARGV[1]) and redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[4]) then
	return 0
end
redis.call("ZADD", KEYS[1], now + ARGV[2], ARGV[1])
if redis.call("PTTL", KEYS[1]) < tonumber(ARGV[3]) then
	redis.call("PEXPIRE", KEYS[1], ARGV[3])
end
return 1
`)

// countCmd counts the holders whose lease has not run out.
//
// KEYS[1] -> holders ZSET
// Returns the number of live holders.
var countCmd = redis.NewScript(`
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call("ZCOUNT", KEYS[1], "(" .. now, "+inf")
`)

// SemaphoreConfig configures a Semaphore. The zero value takes every default.
type SemaphoreConfig struct {
	// Lease is how long a holder keeps its slot without a Hold, Extend or KeepAlive, in
	// Redis server time: a process that dies holding a slot gives it back after at most
	// Lease. Every process sharing a key should use the same Lease. Millisecond precision.
	// Defaults to 3m.
	Lease time.Duration

	// PollInterval is how long Acquire waits before asking Redis again while every slot
	// is taken, unless a Release in the same process wakes it first. Each wait is drawn
	// at random from [PollInterval/2, PollInterval*3/2), so processes do not poll in step.
	// Defaults to 100ms.
	PollInterval time.Duration
}

// WithDefaults returns c with each zero field set to its default.
func (c SemaphoreConfig) WithDefaults() SemaphoreConfig {
	if c.Lease == 0 {
		c.Lease = 3 * time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	return c
}

// Validate reports the first field of c that is out of range, after defaults.
func (c SemaphoreConfig) Validate() error {
	if c.Lease < time.Millisecond {
		return fmt.Errorf("semaphore Lease %v: must be at least 1ms", c.Lease)
	}
	if c.PollInterval <= 0 {
		return fmt.Errorf("semaphore PollInterval %v: must be positive", c.PollInterval)
	}
	return nil
}

// Semaphore caps the holders of a key across every process sharing a Redis, e.g. the
// live calls of a campaign. Holders are named by the caller (an attempt ID), are kept in
// a ZSET scored by lease expiry in Redis server time, and lose their slot when the lease
// runs out, so a crashed holder's slot comes back by itself. The ZSET itself expires a
// few leases after the last one is taken or refreshed.
//
// A Semaphore is safe for concurrent use; one per process is enough.
type Semaphore struct {
	rdb     redis.UniversalClient
	cfg     SemaphoreConfig
	leaseMS int64
	ttlMS   int64

	mu      sync.Mutex
	waiters map[string]*waiters // by key; present while some Acquire of it waits
}

// waiters are the goroutines of this process waiting in Acquire on one key.
type waiters struct {
	turn chan struct{} // capacity 1: who filled it polls Redis; the rest queue on the send, in order
	wake chan struct{} // capacity 1: a local Release tells the poller to ask again at once
	n    int           // goroutines in Acquire
}

// NewSemaphore returns a Semaphore on rdb configured by cfg (zero fields take their
// defaults). It panics if cfg is invalid, as reported by Validate.
func NewSemaphore(rdb redis.UniversalClient, cfg SemaphoreConfig) *Semaphore {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		panic("ratelimit.NewSemaphore: " + err.Error())
	}
	return &Semaphore{
		rdb:     rdb,
		cfg:     cfg,
		leaseMS: cfg.Lease.Milliseconds(),
		ttlMS:   keyTTLLeases * cfg.Lease.Milliseconds(),
		waiters: make(map[string]*waiters),
	}
}

// TryAcquire takes a slot of key for holder if fewer than max others hold one, after
// dropping expired leases, and reports whether holder now holds. A holder that already
// holds gets true and a fresh lease, so retrying after an error is safe. It returns an
// error if max is below 1 or Redis fails.
func (s *Semaphore) TryAcquire(ctx context.Context, key, holder string, max int) (bool, error) {
	if max < 1 {
		return false, fmt.Errorf("acquire %s for %s: max %d, want at least 1", key, holder, max)
	}
	ok, err := acquireCmd.Run(ctx, s.rdb, []string{key}, holder, s.leaseMS, s.ttlMS, max).Bool()
	if err != nil {
		return false, fmt.Errorf("acquire %s for %s: %w", key, holder, err)
	}
	return ok, nil
}

// Acquire waits until holder takes a slot of key (see TryAcquire) and returns how long
// it waited. While every slot is taken, one goroutine per process and key asks Redis
// every PollInterval (jittered) and the others wait their turn locally, in arrival order;
// a Release of the key in this process cuts the wait short. There is no order between
// processes.
//
// It returns ctx.Err() if ctx ends first, and the first Redis error as it comes, without
// retrying.
func (s *Semaphore) Acquire(ctx context.Context, key, holder string, max int) (waited time.Duration, err error) {
	start := time.Now()
	w := s.join(key)
	defer s.leave(key, w)

	select {
	case w.turn <- struct{}{}:
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	}
	defer func() { <-w.turn }()

	for {
		// A wake-up from before this ask tells nothing the ask will not see.
		select {
		case <-w.wake:
		default:
		}
		ok, err := s.TryAcquire(ctx, key, holder, max)
		if ctx.Err() != nil {
			return time.Since(start), ctx.Err()
		}
		if err != nil || ok {
			return time.Since(start), err
		}

		t := time.NewTimer(s.cfg.PollInterval/2 + rand.N(s.cfg.PollInterval))
		select {
		case <-t.C:
		case <-w.wake:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return time.Since(start), ctx.Err()
		}
	}
}

// join counts the calling goroutine among key's waiters.
func (s *Semaphore) join(key string) *waiters {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.waiters[key]
	if w == nil {
		w = &waiters{turn: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
		s.waiters[key] = w
	}
	w.n++
	return w
}

// leave undoes join.
func (s *Semaphore) leave(key string, w *waiters) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.n--; w.n == 0 {
		delete(s.waiters, key)
	}
}

// Hold gives holder a fresh lease on a slot of key however many already hold, for a call
// that is live whatever the cap says: a task resumed after a crash must count its call
// even if its slot was given to another meanwhile. The count can then exceed max until
// holders release. It returns an error only if Redis fails.
func (s *Semaphore) Hold(ctx context.Context, key, holder string) error {
	// No cap: a live call counts whether or not others have filled the slots meanwhile.
	if err := acquireCmd.Run(ctx, s.rdb, []string{key}, holder, s.leaseMS, s.ttlMS, math.MaxInt32).Err(); err != nil {
		return fmt.Errorf("hold %s for %s: %w", key, holder, err)
	}
	return nil
}

// Extend gives holder a fresh lease if it still holds a slot of key, and reports whether
// it did; false means its lease ran out (or it released) and the slot may be another's.
// It returns an error only if Redis fails.
func (s *Semaphore) Extend(ctx context.Context, key, holder string) (bool, error) {
	// With max 0 only a holder that still holds is given a lease.
	ok, err := acquireCmd.Run(ctx, s.rdb, []string{key}, holder, s.leaseMS, s.ttlMS, 0).Bool()
	if err != nil {
		return false, fmt.Errorf("extend %s for %s: %w", key, holder, err)
	}
	return ok, nil
}

// Release gives back holder's slot of key and wakes a goroutine of this process waiting
// in Acquire on key. Releasing a slot that is not held (never taken, expired, released
// before) does nothing. It returns an error only if Redis fails.
func (s *Semaphore) Release(ctx context.Context, key, holder string) error {
	if err := s.rdb.ZRem(ctx, key, holder).Err(); err != nil {
		return fmt.Errorf("release %s for %s: %w", key, holder, err)
	}
	s.mu.Lock()
	w := s.waiters[key]
	s.mu.Unlock()
	if w != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Count returns how many holders of key have a lease that has not run out, including
// those over max by Hold. It returns an error only if Redis fails.
func (s *Semaphore) Count(ctx context.Context, key string) (int, error) {
	n, err := countCmd.Run(ctx, s.rdb, []string{key}).Int()
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", key, err)
	}
	return n, nil
}

// Lease returns when holder's lease on a slot of key runs out, and whether holder holds one
// now, by Redis server time. It is for looking at a semaphore from outside (cmd/chaos times
// the leases of a killed worker's calls); nothing decides on it. It returns an error only if
// Redis fails.
func (s *Semaphore) Lease(ctx context.Context, key, holder string) (expiry time.Time, held bool, err error) {
	score, err := s.rdb.ZScore(ctx, key, holder).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("lease of %s on %s: %w", holder, key, err)
	}
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("lease of %s on %s: %w", holder, key, err)
	}
	expiry = time.UnixMilli(int64(score))
	return expiry, expiry.After(now), nil
}

// holdersCmd lists up to limit holders whose lease has not run out, soonest to run out first.
//
// KEYS[1] -> holders ZSET
// ARGV[1] -> limit
// Returns the holders.
var holdersCmd = redis.NewScript(`
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. now, "+inf", "LIMIT", 0, tonumber(ARGV[1]))
`)

// Holders returns up to limit holders of key whose lease has not run out, those whose
// lease runs out soonest first, e.g. for a sweeper that frees the slots of holders known
// to be done. It returns an error if limit is below 1 or Redis fails.
func (s *Semaphore) Holders(ctx context.Context, key string, limit int) ([]string, error) {
	if limit < 1 {
		return nil, fmt.Errorf("holders of %s: limit %d, want at least 1", key, limit)
	}
	hs, err := holdersCmd.Run(ctx, s.rdb, []string{key}, limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("holders of %s: %w", key, err)
	}
	return hs, nil
}

// KeepAlive starts a goroutine that renews holder's lease on key every Lease/3 until
// stop is called or ctx ends, so a holder that lives longer than Lease keeps its slot.
// Each renewal is a Hold: the holder stands for a live call, so if its lease ran out
// anyway (Redis unreachable for longer than Lease, a process paused) it is counted again.
// A failed renewal is retried at the next tick; two can fail before the lease runs out.
//
// stop returns once the goroutine has ended, so a Release after stop cannot be undone by
// a renewal in flight. stop may be called more than once.
func (s *Semaphore) KeepAlive(ctx context.Context, key, holder string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		clock.Every(ctx, s.cfg.Lease/3, func() bool {
			_ = s.Hold(ctx, key, holder) // on failure the next tick tries again
			return true
		})
	}()
	return func() {
		cancel()
		<-done
	}
}
