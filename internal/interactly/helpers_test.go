package interactly

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

const testKey = "sk-test-5f3c9a7e1b2d4c6f8a0b"

var epoch = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// fakeClock is a clock whose Sleep advances Now instead of waiting, and
// records every wait.
type fakeClock struct {
	*testutil.Clock
	mu     sync.Mutex
	sleeps []time.Duration
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := f.Clock.Sleep(ctx, d); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// setup starts a loopback server for h and a Client for it whose clock is
// fake and whose jitter always picks the longest wait, so backoff is
// predictable. cfg's BaseURL, APIKey, Now and Sleep are filled in.
func setup(tb testing.TB, h http.Handler, cfg Config) (*Client, *fakeClock) {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	clock := &fakeClock{Clock: testutil.NewClock(epoch)}
	cfg.BaseURL = srv.URL + "/"
	cfg.APIKey = testKey
	cfg.Now = clock.Now
	cfg.Sleep = clock.Sleep
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = srv.Client()
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	c.jitter = func(n int64) int64 { return n - 1 }
	return c, clock
}

// timeEqual lets cmp compare Time values by instant.
var timeEqual = cmp.Comparer(func(a, b Time) bool { return a.Equal(b.Time) })

func ms(s string) Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return Time{t}
}

// slogJSON logs v the way the dialer's commands log their configuration.
func slogJSON(w io.Writer, v any) {
	slog.New(slog.NewJSONHandler(w, nil)).Info("config", "cfg", v)
}
