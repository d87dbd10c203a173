package redisconn

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// mustStartPlainRedis starts a redis-server with extra settings and opens it.
func mustStartPlainRedis(t *testing.T, extra ...string) *redis.Client {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir}, extra...)
	startRedis(t, dir, "r.pid", args...)
	return openWhenUp(t, fmt.Sprintf("redis://127.0.0.1:%d/0", port))
}

func TestCheckSafety(t *testing.T) {
	t.Parallel() // each case on a redis-server of its own
	tests := []struct {
		name       string
		redis      []string
		opt        SafetyOptions
		wantErr    bool
		wantLog    string // a warning that must be logged, "" for none
		wantNoWarn bool
	}{
		{name: "noeviction durable", redis: []string{"--maxmemory-policy", "noeviction", "--appendonly", "yes"},
			opt: SafetyOptions{Production: true}, wantNoWarn: true},
		{name: "eviction refused", redis: []string{"--maxmemory-policy", "allkeys-lru", "--appendonly", "yes"},
			opt: SafetyOptions{Production: true}, wantErr: true},
		{name: "eviction allowed", redis: []string{"--maxmemory-policy", "volatile-lru", "--appendonly", "yes"},
			opt: SafetyOptions{Production: true, AllowEviction: true}, wantLog: "maxmemory-policy=volatile-lru"},
		{name: "appendonly no in production", redis: []string{"--maxmemory-policy", "noeviction", "--appendonly", "no"},
			opt: SafetyOptions{Production: true}, wantLog: "appendonly no"},
		{name: "appendonly no without REDIS_URL", redis: []string{"--maxmemory-policy", "noeviction", "--appendonly", "no"},
			opt: SafetyOptions{}, wantNoWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rdb := mustStartPlainRedis(t, tt.redis...)
			var logs bytes.Buffer
			tt.opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			err := CheckSafety(t.Context(), rdb, tt.opt)
			if tt.wantErr {
				if !errors.Is(err, ErrEvictionPolicy) {
					t.Fatalf("CheckSafety = %v, want ErrEvictionPolicy", err)
				}
				for _, want := range []string{"allkeys-lru", "maxmemory-policy noeviction", "--allow-eviction"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckSafety: %v", err)
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log %q lacks %q", logs.String(), tt.wantLog)
			}
			if tt.wantNoWarn && logs.Len() > 0 {
				t.Errorf("unexpected warning: %s", logs.String())
			}
		})
	}
}

// TestIsFull fills a redis-server with a small maxmemory under noeviction and checks that
// both a plain write and a script's write are recognised as Redis being full.
func TestIsFull(t *testing.T) {
	t.Parallel() // its own redis-server
	rdb := mustStartPlainRedis(t, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction", "--appendonly", "no")
	ctx := t.Context()
	value := strings.Repeat("x", 10_000)
	var err error
	for i := 0; i < 10_000 && err == nil; i++ {
		err = rdb.Set(ctx, fmt.Sprint("k", i), value, 0).Err()
	}
	if !IsFull(err) {
		t.Fatalf("filling Redis ended with %v, want an OOM error", err)
	}
	script := redis.NewScript(`return redis.call("SET", KEYS[1], ARGV[1])`)
	err = script.Run(ctx, rdb, []string{"from-script"}, value).Err()
	if !IsFull(err) {
		t.Fatalf("a script's write under OOM = %v, want an OOM error", err)
	}
	if IsFull(errors.New("some other error")) || IsFull(nil) {
		t.Fatal("IsFull is true for an unrelated error")
	}
}
