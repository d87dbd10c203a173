package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestRefusesEvictingRedis starts the worker against a Redis whose maxmemory-policy may
// evict keys: it refuses and says what to set; with --allow-eviction it starts and warns.
func TestRefusesEvictingRedis(t *testing.T) {
	_, url := redistest.StartServer(t, "maxmemory-policy", "volatile-ttl")
	vars := map[string]string{"REDIS_URL": url, "INTERACTLY_API_KEY": "test-key", "INTERACTLY_BASE_URL": "http://127.0.0.1:1"}
	getenv := func(k string) string { return vars[k] }

	var stderr lab.LockedBuffer
	err := run(t.Context(), nil, getenv, &stderr)
	if !errors.Is(err, redisconn.ErrEvictionPolicy) || !strings.Contains(err.Error(), "maxmemory-policy noeviction") {
		t.Fatalf("worker = %v, want a refusal naming maxmemory-policy noeviction", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--allow-eviction"}, getenv, &stderr) }()
	started := testutil.Eventually(10*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("worker --allow-eviction stopped: %v\n%s", err, stderr.String())
		default:
		}
		return strings.Contains(stderr.String(), "worker started")
	})
	if !started {
		t.Fatalf("worker --allow-eviction did not start:\n%s", stderr.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker --allow-eviction: %v", err)
	}
	if !strings.Contains(stderr.String(), "maxmemory-policy=volatile-ttl") {
		t.Errorf("no eviction warning in:\n%s", stderr.String())
	}
}
