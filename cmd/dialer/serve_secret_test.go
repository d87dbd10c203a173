package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

func TestServeRefusesToStartWithoutWebhookSecret(t *testing.T) {
	_, e, _, _ := redisEnv(t)
	// Were it to start, it would serve until the context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := runServe(ctx, e, []string{"--addr", "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "INTERACTLY_WEBHOOK_SECRET is not set") || !strings.Contains(err.Error(), "--insecure-no-webhook-secret") {
		t.Fatalf("serve without a secret = %v; want a refusal naming the variable and the flag", err)
	}
}

func TestServeInsecureWithoutSecretWarnsAtStart(t *testing.T) {
	redistest.Parallel(t)
	rdb, _ := redistest.Setup(t, 6)
	var stderr lab.LockedBuffer
	e := &env{
		getenv: func(k string) string { return map[string]string{"REDIS_URL": redistest.URL(rdb)}[k] },
		stdout: &bytes.Buffer{}, stderr: &stderr,
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, e, []string{"--addr", "127.0.0.1:0", "--insecure-no-webhook-secret"}) }()
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "dialer serve on") }) {
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve = %v", err)
	}
	if out := stderr.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "webhooks are accepted from anyone") {
		t.Errorf("no warning at start:\n%s", out)
	}
}
