package frequency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The scripts below keep a number's dials in a ZSET of holder -> dial time (Unix ms, Redis
// server time). A dial counts while now < its time + Per. redis.replicate_commands lets a
// script write after calling TIME on Redis before 5; later versions ignore it.

// takeCmd drops dials older than the window, then records holder's dial unless it is
// recorded already or max dials are.
//
// KEYS[1] -> dials ZSET
// ARGV[1] -> holder
// ARGV[2] -> per, in milliseconds
// ARGV[3] -> max dials in the window
// Returns {1, count, 0} when holder's dial is (now or already) in the window, count including
// it; {0, count, retryAt} otherwise, retryAt being the Unix ms at which the window has room
// again.
var takeCmd = redis.NewScript(`
redis.replicate_commands()
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local per = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - per)
local count = redis.call("ZCARD", KEYS[1])
if redis.call("ZSCORE", KEYS[1], ARGV[1]) then
	return {1, count, 0}
end
if count >= max then
	local nth = redis.call("ZRANGE", KEYS[1], count - max, count - max, "WITHSCORES")
	return {0, count, tonumber(nth[2]) + per}
end
redis.call("ZADD", KEYS[1], now, ARGV[1])
redis.call("PEXPIRE", KEYS[1], per)
return {1, count + 1, 0}
`)

// countCmd counts the dials in the window.
//
// KEYS[1] -> dials ZSET
// ARGV[1] -> per, in milliseconds
// Returns the number of dials made less than per ago.
var countCmd = redis.NewScript(`
local t = redis.call("TIME")
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call("ZCOUNT", KEYS[1], "(" .. (now - tonumber(ARGV[1])), "+inf")
`)

// Cap is a limit on dials to one number across every campaign: at most MaxCalls in any
// window of Per.
type Cap struct {
	// MaxCalls is how many dials the window may hold, at least 1.
	MaxCalls int
	// Per is the length of the sliding window, at least 1ms; millisecond precision.
	Per time.Duration
}

// Validate reports the first field of c that is out of range.
func (c Cap) Validate() error {
	if c.MaxCalls < 1 {
		return fmt.Errorf("frequency cap MaxCalls %d: must be at least 1", c.MaxCalls)
	}
	if c.Per < time.Millisecond {
		return fmt.Errorf("frequency cap Per %v: must be at least 1ms", c.Per)
	}
	return nil
}

// Result is what Take decided. A denial is a result, not an error.
type Result struct {
	// Allowed is whether the dial is recorded and may go ahead.
	Allowed bool
	// Count is how many dials of the number the window holds: this one included when
	// Allowed, the ones that fill it when not.
	Count int
	// RetryAt is the earliest time, by the Redis server's clock, at which a dial of the
	// number is allowed again: when the dial that makes the window full leaves it (with
	// Count == MaxCalls, the oldest). Zero when Allowed.
	RetryAt time.Time
}

// Counter counts each number's dials across every campaign and process sharing a Redis.
// It is safe for concurrent use; one per process is enough.
type Counter struct {
	rdb redis.UniversalClient
}

// New returns a Counter keeping its state in rdb.
func New(rdb redis.UniversalClient) *Counter {
	return &Counter{rdb: rdb}
}

// Take records a dial of number (E.164, such as "+14155550101") by holder, an attempt key
// ("campaign:contact:attempt"), if fewer than cap.MaxCalls dials of number were recorded in
// the last cap.Per of Redis server time, and returns Allowed. Otherwise it records nothing
// and returns RetryAt, the earliest time a dial is allowed again, and Count.
//
// Taking again with a holder whose dial is still in the window is idempotent: it returns
// Allowed without counting twice, so a task that runs again after a crash does not use up
// the cap. A holder whose dial has left the window counts anew.
//
// Take keeps a number's key for cap.Per after its newest dial. It runs one script in one
// round trip. Errors are for an invalid cap, an empty number or holder, and Redis failures.
func (c *Counter) Take(ctx context.Context, number, holder string, cap Cap) (res Result, err error) {
	if err := cap.Validate(); err != nil {
		return Result{}, err
	}
	if err := checkNumber(number); err != nil {
		return Result{}, err
	}
	if holder == "" {
		return Result{}, errors.New("frequency take: empty holder")
	}
	v, err := takeCmd.Run(ctx, c.rdb, []string{numberKey(number)}, holder, cap.Per.Milliseconds(), cap.MaxCalls).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("frequency take %s: %w", number, err)
	}
	if len(v) != 3 {
		return Result{}, fmt.Errorf("frequency take %s: script returned %v", number, v)
	}
	res = Result{Allowed: v[0] == 1, Count: int(v[1])}
	if !res.Allowed {
		res.RetryAt = time.UnixMilli(v[2])
	}
	return res, nil
}

// Release takes back the dial of number by holder that Take recorded, for a dial that
// reached nobody (Interactly refused the request, so no call was placed). Releasing a
// holder that holds nothing does nothing. Errors are for an empty number or holder, and
// Redis failures.
func (c *Counter) Release(ctx context.Context, number, holder string) error {
	if err := checkNumber(number); err != nil {
		return err
	}
	if holder == "" {
		return errors.New("frequency release: empty holder")
	}
	if err := c.rdb.ZRem(ctx, numberKey(number), holder).Err(); err != nil {
		return fmt.Errorf("frequency release %s: %w", number, err)
	}
	return nil
}

// Count returns how many dials of number were recorded in the last per of Redis server
// time, by every campaign. per is read to the millisecond, and only dials Take still keeps
// are counted: a per longer than the caps in use may count fewer than were made.
func (c *Counter) Count(ctx context.Context, number string, per time.Duration) (int, error) {
	if err := checkNumber(number); err != nil {
		return 0, err
	}
	if per < time.Millisecond {
		return 0, fmt.Errorf("frequency count %s: per %v must be at least 1ms", number, per)
	}
	n, err := countCmd.Run(ctx, c.rdb, []string{numberKey(number)}, per.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("frequency count %s: %w", number, err)
	}
	return n, nil
}

// checkNumber refuses what is not E.164: it would not share a key with the number's other
// spellings, and braces would break the key's hash tag.
func checkNumber(number string) error {
	ok := len(number) >= 2 && len(number) <= 16 && number[0] == '+'
	for i := 1; ok && i < len(number); i++ {
		ok = number[i] >= '0' && number[i] <= '9'
	}
	if !ok {
		return fmt.Errorf("frequency: number %q is not E.164, such as +14155550101", number)
	}
	return nil
}
