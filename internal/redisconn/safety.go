package redisconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrEvictionPolicy is CheckSafety's error when Redis may evict keys: asynq's tasks and the
// dialer's records would then vanish without an error. Its message says what to set.
var ErrEvictionPolicy = errors.New("maxmemory-policy lets Redis evict keys")

// SafetyOptions tune CheckSafety. The zero value refuses every eviction policy.
type SafetyOptions struct {
	// AllowEviction turns the refusal of an eviction policy into a logged warning
	// (--allow-eviction).
	AllowEviction bool
	// Production says the process runs against a Redis of its own (REDIS_URL is set), where
	// `appendonly no` loses the queue and the records on a restart: that is then logged as a
	// warning. An embedded or test Redis leaves it false.
	Production bool
	// Logger receives the warnings. Defaults to slog.Default().
	Logger *slog.Logger
}

// Settings are the Redis settings CheckSafety reads, from INFO (CONFIG is often disabled on
// managed Redis services).
type Settings struct {
	// MaxmemoryPolicy is maxmemory-policy, e.g. "noeviction"; "" when the server does not say.
	MaxmemoryPolicy string
	// Maxmemory is the memory limit in bytes; 0 means none.
	Maxmemory int64
	// AppendOnly is whether the append-only file is on; AppendOnlyKnown whether the server said.
	AppendOnly, AppendOnlyKnown bool
}

// ReadSettings reads the Settings of rdb's server from INFO's default sections (memory and
// persistence among them). A server that leaves a field out leaves it zero.
func ReadSettings(ctx context.Context, rdb redis.UniversalClient) (Settings, error) {
	var s Settings
	text, err := rdb.Info(ctx).Result()
	if err != nil {
		return s, fmt.Errorf("read Redis settings (INFO): %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch k {
		case "maxmemory_policy":
			s.MaxmemoryPolicy = v
		case "maxmemory":
			_, _ = fmt.Sscan(v, &s.Maxmemory)
		case "aof_enabled":
			s.AppendOnly, s.AppendOnlyKnown = v == "1", true
		}
	}
	return s, nil
}

// CheckSafety reads rdb's maxmemory-policy and appendonly and says whether the dialer may
// run on it. Under any policy but noeviction Redis may drop asynq's tasks and the dialer's
// records silently when it fills up, so CheckSafety returns an error wrapping
// ErrEvictionPolicy that names the setting to change, unless opt.AllowEviction is set,
// when it logs a warning instead. With opt.Production it also warns about appendonly no.
// A server that does not report its policy (some proxies) gets a warning, not a refusal.
func CheckSafety(ctx context.Context, rdb redis.UniversalClient, opt SafetyOptions) error {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	s, err := ReadSettings(ctx, rdb)
	if err != nil {
		return err
	}
	switch s.MaxmemoryPolicy {
	case "noeviction":
	case "":
		log.Warn("Redis does not report its maxmemory-policy; make sure it is noeviction, or tasks and records may be evicted when Redis fills up")
	default:
		if !opt.AllowEviction {
			return fmt.Errorf("%w: it is %s, so a full Redis would silently drop queued dials and call records; set `maxmemory-policy noeviction` (redis.conf, or CONFIG SET maxmemory-policy noeviction), or start with --allow-eviction to run anyway",
				ErrEvictionPolicy, s.MaxmemoryPolicy)
		}
		log.Warn("Redis may evict keys: queued dials and call records can vanish when it fills up; set maxmemory-policy noeviction",
			"maxmemory-policy", s.MaxmemoryPolicy, "allowed-by", "--allow-eviction")
	}
	if opt.Production && s.AppendOnlyKnown && !s.AppendOnly {
		log.Warn("Redis runs with appendonly no: a restart loses queued dials and call records since the last snapshot; set `appendonly yes` for production")
	}
	return nil
}

// IsFull reports whether err is Redis refusing a write because it reached maxmemory under
// noeviction ("OOM command not allowed when used memory > 'maxmemory'"), also when a
// script's write was refused. Nothing was written by the refused command; the same call may
// succeed once memory is freed.
func IsFull(err error) bool {
	return err != nil && strings.Contains(err.Error(), "OOM command not allowed")
}

// FullMessage is what to tell an operator when IsFull: what happened and what to do.
const FullMessage = "Redis is full (used memory reached maxmemory): raise maxmemory, or free memory by deleting or archiving finished campaigns (dialer delete, dialer archive)"
