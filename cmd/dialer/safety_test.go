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

// TestLongRunningCommandsRefuseEviction starts serve and scheduler against a Redis that may
// evict keys: each refuses to start and says what to set; with --allow-eviction each starts
// and logs a warning.
func TestLongRunningCommandsRefuseEviction(t *testing.T) {
	t.Parallel() // on a redis-server of its own
	_, url := redistest.StartServer(t, "maxmemory-policy", "allkeys-lru")
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"scheduler"}} {
		t.Run(args[0], func(t *testing.T) {
			var stderr lab.LockedBuffer
			vars := map[string]string{"REDIS_URL": url, "INTERACTLY_WEBHOOK_SECRET": "whsec-test"}
			e := &env{getenv: func(k string) string { return vars[k] }, stdout: &stderr, stderr: &stderr}
			err := dispatch(t.Context(), e, args)
			if !errors.Is(err, redisconn.ErrEvictionPolicy) || !strings.Contains(err.Error(), "maxmemory-policy noeviction") {
				t.Fatalf("%s = %v, want a refusal naming maxmemory-policy noeviction", args[0], err)
			}

			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- dispatch(ctx, e, append(args, "--allow-eviction")) }()
			warned := testutil.Eventually(10*time.Second, func() bool {
				select {
				case err := <-done:
					t.Fatalf("%s --allow-eviction stopped: %v\n%s", args[0], err, stderr.String())
				default:
				}
				return strings.Contains(stderr.String(), "maxmemory-policy=allkeys-lru")
			})
			if !warned {
				t.Fatalf("%s --allow-eviction logged no warning:\n%s", args[0], stderr.String())
			}
			cancel()
			// Canceled while it still starts up (it connects and counts tokens after the check),
			// a command may return the cancellation, in words: Redis errors are redacted text.
			if err := <-done; err != nil && !strings.Contains(err.Error(), context.Canceled.Error()) {
				t.Fatalf("%s --allow-eviction: %v", args[0], err)
			}
		})
	}
}
