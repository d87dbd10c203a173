package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A key hold: once Interactly refuses an account's API key (401 or 403), every worker holds
// the account's dials, instead of each sending its own dials to be refused. One dial at a
// time is let through as a probe, after a backoff that doubles from KeyProbeFirst up to
// KeyProbeMax; the first dial Interactly accepts ends the hold. The hold is kept by account
// name, never by the key, which is never stored.
const (
	// KeyProbeFirst is the wait before the first probe.
	KeyProbeFirst = time.Second
	// KeyProbeMax is the longest wait between two probes.
	KeyProbeMax = time.Minute
	// KeyLogEvery is how often the fleet logs that a key is refused: the first refusal, then
	// at most once in each such interval, whichever worker sees it.
	KeyLogEvery = 30 * time.Second
)

// KeyHoldKey is the key of account name's key hold, a HASH: since, status, step, probe_at,
// logged_at (times in Unix ms by the workers' clocks, step in ms). It expires a day after the
// hold began; a key still refused then starts a new hold.
func KeyHoldKey(name string) string { return "dialer:{account:" + name + "}:keyhold" }

// KeyHold is an account held because Interactly refused its API key.
type KeyHold struct {
	// Since is when the first refusal was seen.
	Since time.Time
	// Status is the HTTP status of the refusal: 401 or 403.
	Status int
	// ProbeAt is when the next probe dial may go.
	ProbeAt time.Time
}

// refuseKeyScript records a refusal of the account's key.
//
//	KEYS[1] -> dialer:{account:A}:keyhold
//	ARGV[1] -> now, Unix ms
//	ARGV[2] -> HTTP status
//	ARGV[3] -> first step, ms
//	ARGV[4] -> log interval, ms
//
// Returns {probe_at, log}: log is 1 when this refusal should be logged (the first, then one
// per log interval).
var refuseKeyScript = redis.NewScript(`
local now = tonumber(ARGV[1])
if redis.call("EXISTS", KEYS[1]) == 0 then
  redis.call("HSET", KEYS[1], "since", now, "status", ARGV[2], "step", ARGV[3], "probe_at", now + tonumber(ARGV[3]), "logged_at", now)
  redis.call("PEXPIRE", KEYS[1], 86400000)
  return {now + tonumber(ARGV[3]), 1}
end
local probe = tonumber(redis.call("HGET", KEYS[1], "probe_at"))
local logged = tonumber(redis.call("HGET", KEYS[1], "logged_at")) or 0
if now - logged >= tonumber(ARGV[4]) then
  redis.call("HSET", KEYS[1], "logged_at", now)
  return {probe, 1}
end
return {probe, 0}
`)

// RefuseKey records that Interactly refused account name's API key with HTTP status at now,
// holding the account's dials in every worker (see CheckKeyHold). The first refusal starts
// the hold; later ones, from dials in flight or probes, keep it as it is. It returns when
// the next probe may go, and whether to log this refusal: true for the first, then at most
// once per KeyLogEvery across every worker. It returns an error only if Redis fails.
func (s *Store) RefuseKey(ctx context.Context, name string, status int, now time.Time) (probeAt time.Time, log bool, err error) {
	res, err := refuseKeyScript.Run(ctx, s.rdb, []string{KeyHoldKey(name)}, now.UnixMilli(), status,
		KeyProbeFirst.Milliseconds(), KeyLogEvery.Milliseconds()).Int64Slice()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("hold account %s after its API key was refused: %w", name, err)
	}
	return time.UnixMilli(res[0]), res[1] == 1, nil
}

// checkKeyHoldScript says whether the account is held, and lets one dial through as a probe
// once its time has come, doubling the wait before the next one.
//
//	KEYS[1] -> dialer:{account:A}:keyhold
//	ARGV[1] -> now, Unix ms
//	ARGV[2] -> longest step, ms
//
// Returns {0} when the account is not held, {1, probe_at} when it is and this dial waits
// until probe_at, {2, next probe_at} when this dial is the probe.
var checkKeyHoldScript = redis.NewScript(`
local h = redis.call("HMGET", KEYS[1], "probe_at", "step")
if not h[1] then
  return {0}
end
local now, probe, step = tonumber(ARGV[1]), tonumber(h[1]), tonumber(h[2])
if now < probe then
  return {1, probe}
end
step = math.min(step * 2, tonumber(ARGV[2]))
redis.call("HSET", KEYS[1], "step", step, "probe_at", now + step)
return {2, now + step}
`)

// KeyCheck is what CheckKeyHold decided for one dial.
type KeyCheck int

const (
	// KeyFree: the account is not held; dial.
	KeyFree KeyCheck = iota
	// KeyHeld: the account is held; the dial waits until the returned time.
	KeyHeld
	// KeyProbe: the account is held and this dial is its probe: send it, then call
	// ClearKeyHold if Interactly accepts it, or RefuseKey if it refuses the key again.
	KeyProbe
)

// CheckKeyHold tells a worker, at now, whether account name's dials are held because its
// API key was refused (see RefuseKey). While held, one dial per backoff step (KeyProbeFirst
// doubling up to KeyProbeMax) is let through as a probe across every worker; the others
// wait until the next probe's time, which it returns. It returns an error only if Redis
// fails.
func (s *Store) CheckKeyHold(ctx context.Context, name string, now time.Time) (KeyCheck, time.Time, error) {
	res, err := checkKeyHoldScript.Run(ctx, s.rdb, []string{KeyHoldKey(name)}, now.UnixMilli(), KeyProbeMax.Milliseconds()).Int64Slice()
	if err != nil {
		return KeyFree, time.Time{}, fmt.Errorf("check whether account %s is held: %w", name, err)
	}
	if res[0] == 0 {
		return KeyFree, time.Time{}, nil
	}
	return KeyCheck(res[0]), time.UnixMilli(res[1]), nil
}

// ClearKeyHold ends account name's key hold: Interactly accepted a dial. Clearing an account
// that is not held does nothing. It returns an error only if Redis fails.
func (s *Store) ClearKeyHold(ctx context.Context, name string) error {
	if err := s.rdb.Del(ctx, KeyHoldKey(name)).Err(); err != nil {
		return fmt.Errorf("end the hold of account %s: %w", name, err)
	}
	return nil
}

// ReturnProbe lets the next dial of account name probe at once, for a probe dial that stopped
// before it sent anything. It does nothing when the account is not held. It returns an error
// only if Redis fails.
func (s *Store) ReturnProbe(ctx context.Context, name string, now time.Time) error {
	err := s.rdb.Eval(ctx, `if redis.call("EXISTS", KEYS[1]) == 1 then redis.call("HSET", KEYS[1], "probe_at", ARGV[1]) end return 0`,
		[]string{KeyHoldKey(name)}, now.UnixMilli()).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("hand back the probe of account %s: %w", name, err)
	}
	return nil
}

// KeyHoldOf reads account name's key hold; nil when the account is not held.
func (s *Store) KeyHoldOf(ctx context.Context, name string) (*KeyHold, error) {
	m, err := s.rdb.HGetAll(ctx, KeyHoldKey(name)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read the hold of account %s: %w", name, err)
	}
	return ParseKeyHold(m), nil
}

// ParseKeyHold reads a key hold from the fields of its HASH (KeyHoldKey); nil when there are
// none (the account is not held).
func ParseKeyHold(m map[string]string) *KeyHold {
	if len(m) == 0 || m["since"] == "" {
		return nil
	}
	ms := func(f string) time.Time {
		n, _ := strconv.ParseInt(m[f], 10, 64)
		return time.UnixMilli(n).UTC()
	}
	status, _ := strconv.Atoi(m["status"])
	return &KeyHold{Since: ms("since"), Status: status, ProbeAt: ms("probe_at")}
}
