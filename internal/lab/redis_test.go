package lab

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// mustStartRedis starts a redis-server with StartRedis, skipping the test when there is none
// on PATH, and returns it and a client of its database db; both go at the end of the test.
func mustStartRedis(tb testing.TB, durability Durability, db int) (*Redis, *redis.Client) {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Skip("redis-server is not on PATH")
	}
	s, err := StartRedis(tb.Context(), filepath.Join(tb.TempDir(), "redis"), durability)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	rdb := s.Client(db)
	tb.Cleanup(func() { rdb.Close() })
	return s, rdb
}

// wantConfig fails the test unless CONFIG GET of each key of want answers its value.
func wantConfig(t *testing.T, rdb *redis.Client, want map[string]string) {
	t.Helper()
	for key, w := range want {
		if v, err := rdb.ConfigGet(t.Context(), key).Result(); err != nil || v[key] != w {
			t.Errorf("CONFIG GET %s = %v, %v; want %q", key, v, err, w)
		}
	}
}

// TestRedisDurableRestart writes, restarts the server and reads the write back on the same
// port: what cmd/chaos relies on the append-only file for.
func TestRedisDurableRestart(t *testing.T) {
	t.Parallel()
	s, rdb := mustStartRedis(t, Durable, 3)
	ctx := t.Context()
	addr := s.Addr()
	if !strings.HasPrefix(addr, "127.0.0.1:") || s.URL(3) != "redis://"+addr+"/3" || s.Version == "" {
		t.Errorf("Addr %s, URL(3) %s, Version %q; want a loopback address and a version", addr, s.URL(3), s.Version)
	}
	if err := rdb.Set(ctx, "lab:test", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	down, err := s.Restart(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if down <= 0 || s.Addr() != addr {
		t.Errorf("Restart: down %s, address %s; want a positive time and %s", down, s.Addr(), addr)
	}
	got, err := rdb.Get(ctx, "lab:test").Result()
	if err != nil || got != "kept" {
		t.Errorf("after the restart GET = %q, %v; want %q", got, err, "kept")
	}
	wantConfig(t, rdb, map[string]string{"appendonly": "yes", "appendfsync": "everysec", "save": ""})
}

// TestRedisCrash kills the server with SIGKILL and brings it back after the given time, on
// the same port, with what was written more than a second before (appendfsync everysec).
func TestRedisCrash(t *testing.T) {
	t.Parallel()
	s, rdb := mustStartRedis(t, Durable, 3)
	ctx := t.Context()
	if err := rdb.Set(ctx, "lab:test", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the append-only file is synced every second
	down, err := s.Crash(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if down < 300*time.Millisecond {
		t.Errorf("Crash: down %s, want at least 300ms", down)
	}
	if got, err := rdb.Get(ctx, "lab:test").Result(); err != nil || got != "kept" {
		t.Errorf("after the crash GET = %q, %v; want %q", got, err, "kept")
	}
}

// TestRedisVolatile checks the measuring server: no persistence, and gone after Close.
func TestRedisVolatile(t *testing.T) {
	t.Parallel()
	s, rdb := mustStartRedis(t, Volatile, 0)
	ctx := t.Context()
	wantConfig(t, rdb, map[string]string{"appendonly": "no", "save": "", "bind": "127.0.0.1"})
	s.Close()
	// A client that dials once: rdb would retry the refused dial for over a second.
	once := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialerRetries: 1})
	defer once.Close()
	if err := once.Ping(ctx).Err(); err == nil {
		t.Error("PING after Close: answered")
	}
}

func TestStartRedisCancelled(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := StartRedis(ctx, t.TempDir(), Volatile); !errors.Is(err, context.Canceled) {
		t.Errorf("StartRedis with an ended context = %v, want context.Canceled", err)
	}
}

func TestStartRedisNotOnPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := StartRedis(t.Context(), t.TempDir(), Volatile); !errors.Is(err, ErrNoRedisServer) {
		t.Errorf("StartRedis without redis-server = %v, want ErrNoRedisServer", err)
	}
}

// fakeInfo answers INFO with a fixed text or error.
type fakeInfo struct {
	text string
	err  error
}

func (f fakeInfo) Info(ctx context.Context, _ ...string) *redis.StringCmd {
	return redis.NewStringResult(f.text, f.err)
}

func TestInfoField(t *testing.T) {
	const memory = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nlazyfree_pending_objects:0\r\n"
	tests := []struct {
		name, field string
		info        fakeInfo
		want        string
		wantErr     string
	}{
		{name: "found", field: "used_memory", info: fakeInfo{text: memory}, want: "1048576"},
		{name: "a field that is a prefix of another", field: "lazyfree_pending_objects", info: fakeInfo{text: memory}, want: "0"},
		{name: "missing", field: "used_cpu_sys", info: fakeInfo{text: memory}, wantErr: "INFO memory has no used_cpu_sys"},
		{name: "error", field: "used_memory", info: fakeInfo{err: errors.New("connection refused")}, wantErr: "INFO memory: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InfoField(t.Context(), tt.info, "memory", tt.field)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("InfoField(%s) = %q, %v; want %q, %q", tt.field, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
