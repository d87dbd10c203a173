package metrics

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestNilRecorder(t *testing.T) {
	var r *Recorder
	r.Dial("c1")
	r.RateLimitWait("c1", time.Second)
	r.APIError(OpConnect, 429)
	r.PollFallback("c1")
	r.WebhookEvent("status-update")
	r.WebhookRejected(RejectUnauthorized)
	r.WebhookRecordLatency(time.Second)
	if err := r.Flush(t.Context()); err != nil {
		t.Errorf("Flush of a nil Recorder = %v; want nil", err)
	}
	// Run must return at once, not wait for its context.
	if err := r.Run(t.Context()); err != nil {
		t.Errorf("Run of a nil Recorder = %v; want nil", err)
	}
}

func TestFlushWritesDeltasOnce(t *testing.T) {
	rdb, _ := setup(t)
	r := NewRecorder(rdb)
	r.Dial("c1")
	r.Dial("c1")
	r.Dial("c2")
	r.RateLimitWait("c1", 1500*time.Millisecond)
	r.RateLimitWait("c1", -time.Second) // counts, as 0 s
	mustFlush(t, r)
	mustFlush(t, r) // nothing new: must not add the same counts again
	r.Dial("c1")
	mustFlush(t, r)

	got := mustHashes(t, rdb, dialsKey(), rateLimitWaitsKey(), rateLimitWaitSecondsKey())
	want := map[string]map[string]string{
		dialsKey():                {"c1": "3", "c2": "1"},
		rateLimitWaitsKey():       {"c1": "2"},
		rateLimitWaitSecondsKey(): {"c1": "1.5"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redis hashes (-want +got):\n%s", diff)
	}
}

func TestFlushFailureKeepsDeltas(t *testing.T) {
	// record makes one of each event, so a lost delta of any kind shows.
	record := func(r *Recorder) {
		r.Dial("c1")
		r.RateLimitWait("c1", 250*time.Millisecond)
		r.APIError(OpGet, 503)
		r.PollFallback("c1")
		r.WebhookEvent("hang")
		r.WebhookRejected(RejectMalformed)
		r.WebhookRecordLatency(500 * time.Millisecond)
	}
	// twice is what Redis holds after two rounds of record.
	twice := map[string]map[string]string{
		dialsKey():                {"c1": "2"},
		rateLimitWaitsKey():       {"c1": "2"},
		rateLimitWaitSecondsKey(): {"c1": "0.5"},
		apiErrorsKey():            {"get:503": "2"},
		pollFallbacksKey():        {"c1": "2"},
		webhookEventsKey():        {"hang": "2"},
		webhookRejectedKey():      {"malformed": "2"},
		webhookRecordKey():        {"0.5": "2", "sum": "1", "count": "2"},
	}
	read := func(t *testing.T, rdb *redis.Client) map[string]map[string]string {
		t.Helper()
		return mustHashes(t, rdb, slices.Collect(maps.Keys(twice))...)
	}

	t.Run("CommandsFail", func(t *testing.T) {
		rdb, _ := setup(t)
		failing, hook := newFailingClient(t, rdb)
		r := NewRecorder(failing)

		record(r)
		hook.Down.Store(true)
		err := r.Flush(t.Context())
		if !errors.Is(err, redistest.ErrUnreachable) || !strings.Contains(err.Error(), "kept for the next flush") {
			t.Fatalf("Flush while Redis fails = %v; want the injected error, saying the counts are kept", err)
		}
		if got := read(t, rdb); len(got) != 0 {
			t.Fatalf("a failed flush wrote %v", got)
		}
		record(r) // recorded while the failed deltas wait
		hook.Down.Store(false)
		mustFlush(t, r)
		if diff := cmp.Diff(twice, read(t, rdb)); diff != "" {
			t.Errorf("after recovery (-want +got):\n%s", diff)
		}
	})

	t.Run("ServerDown", func(t *testing.T) {
		rdb, mr := redistest.Setup(t, testDB)
		if mr == nil {
			t.Skip("stops the in-process miniredis; TEST_REDIS_URL is set")
		}
		opt := *rdb.Options() // a copy: clients must not share one Options
		// Fail at once rather than back off against a closed port: no retry of the
		// command, one dial per connection (go-redis dials 5 times, 100 ms apart, by default).
		opt.MaxRetries = -1
		opt.DialerRetries = 1
		down := redis.NewClient(&opt)
		t.Cleanup(func() { down.Close() })
		r := NewRecorder(down)
		record(r)
		mr.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := r.Flush(ctx); err == nil {
			t.Fatal("Flush with the server down = nil; want an error")
		}
		record(r)
		if err := mr.Restart(); err != nil {
			t.Fatal(err)
		}
		mustFlush(t, r)
		if diff := cmp.Diff(twice, read(t, rdb)); diff != "" {
			t.Errorf("after the server came back (-want +got):\n%s", diff)
		}
	})
}

func TestLabelValuesAreBounded(t *testing.T) {
	rdb, _ := setup(t)
	r := NewRecorder(rdb)
	for _, typ := range []string{"end-of-call-report", "status-update", "transcript", "", "x\ny"} {
		r.WebhookEvent(typ)
	}
	for _, reason := range []string{RejectUnauthorized, RejectTooLarge, "method_not_allowed", "Bad Reason", "", strings.Repeat("a", 33), "9lives"} {
		r.WebhookRejected(reason)
	}
	r.APIError(OpConnect, 429)
	r.APIError(OpControl, 0)
	r.APIError("delete", 500)
	r.APIError(OpList, 600)
	r.APIError(OpGet, -1)
	mustFlush(t, r)

	got := mustHashes(t, rdb, webhookEventsKey(), webhookRejectedKey(), apiErrorsKey())
	want := map[string]map[string]string{
		webhookEventsKey(): {"end-of-call-report": "1", "status-update": "1", "other": "3"},
		webhookRejectedKey(): {
			"unauthorized": "1", "too_large": "1", "method_not_allowed": "1", "other": "4",
		},
		apiErrorsKey(): {
			"connect:429": "1", "control:0": "1", "other:500": "1", "list:other": "1", "get:other": "1",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redis hashes (-want +got):\n%s", diff)
	}
}

func TestConcurrentRecording(t *testing.T) {
	rdb, _ := setup(t)
	r := NewRecorder(rdb)
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				r.Dial("c1")
				r.WebhookRecordLatency(time.Millisecond)
			}
		})
	}
	// Flush while they record: every count must land exactly once.
	stop := make(chan struct{})
	flushed := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				flushed <- nil
				return
			default:
			}
			if err := r.Flush(t.Context()); err != nil {
				flushed <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	mustFlush(t, r)
	dials, err := rdb.HGet(t.Context(), dialsKey(), "c1").Result()
	if err != nil {
		t.Fatal(err)
	}
	count, err := rdb.HGet(t.Context(), webhookRecordKey(), fieldCount).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := "4000"; dials != want || count != want {
		t.Errorf("dials %s, latency count %s; want %s each", dials, count, want)
	}
}

func TestRunFlushesEveryIntervalAndAtTheEnd(t *testing.T) {
	t.Run("EveryInterval", func(t *testing.T) {
		rdb, _ := setup(t)
		r := NewRecorderWithConfig(rdb, RecorderConfig{FlushInterval: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		defer func() { cancel(); <-done }()

		r.Dial("c1")
		var n string
		flushed := testutil.Eventually(5*time.Second, func() bool {
			var err error
			n, err = rdb.HGet(t.Context(), dialsKey(), "c1").Result()
			if err != nil && err != redis.Nil {
				t.Fatal(err)
			}
			return err == nil && n == "1"
		})
		if !flushed {
			t.Fatalf("dial not flushed within 5s by Run with a 10ms interval (got %q)", n)
		}
	})

	t.Run("AtTheEnd", func(t *testing.T) {
		rdb, _ := setup(t)
		r := NewRecorderWithConfig(rdb, RecorderConfig{FlushInterval: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		r.Dial("c1")
		r.WebhookEvent("hang")
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v; want nil", err)
		}
		n, err := rdb.HGet(t.Context(), dialsKey(), "c1").Result()
		if err != nil || n != "1" {
			t.Errorf("dials after Run returned = %q, %v; want 1 (the final flush)", n, err)
		}
	})

	t.Run("FinalFlushFails", func(t *testing.T) {
		rdb, _ := setup(t)
		failing, hook := newFailingClient(t, rdb)
		hook.Down.Store(true)
		r := NewRecorderWithConfig(failing, RecorderConfig{FlushInterval: time.Hour})
		r.Dial("c1")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := r.Run(ctx); !errors.Is(err, redistest.ErrUnreachable) {
			t.Errorf("Run whose last flush fails = %v; want that error", err)
		}
	})
}

func TestRecorderConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     RecorderConfig
		wantErr string
	}{
		{name: "zero", cfg: RecorderConfig{}},
		{name: "set", cfg: RecorderConfig{FlushInterval: 5 * time.Second, FlushTimeout: time.Second}},
		{name: "negative interval", cfg: RecorderConfig{FlushInterval: -time.Second}, wantErr: "FlushInterval -1s: must be positive"},
		{name: "negative timeout", cfg: RecorderConfig{FlushTimeout: -time.Second}, wantErr: "FlushTimeout -1s: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.WithDefaults().Validate(); !testutil.ErrMatches(err, tt.wantErr) {
				t.Errorf("Validate() = %v; want one containing %q (none for \"\")", err, tt.wantErr)
			}
		})
	}
	if d := (RecorderConfig{}).WithDefaults(); d.FlushInterval != time.Second || d.FlushTimeout != 2*time.Second || d.Logger == nil {
		t.Errorf("defaults = %+v; want FlushInterval 1s, FlushTimeout 2s, a Logger", d)
	}
}

// TestDialsPerMinute: each dial is counted in its minute on the Recorder's clock, across
// flushes and processes, read back oldest first, and deleted by Forget.
func TestDialsPerMinute(t *testing.T) {
	rdb, _ := setup(t)
	ctx := t.Context()
	start := testutil.Now().Truncate(time.Minute)
	now := start
	clock := func() time.Time { return now }
	a := NewRecorderWithConfig(rdb, RecorderConfig{Now: clock})
	b := NewRecorderWithConfig(rdb, RecorderConfig{Now: clock})
	a.Dial("c1")
	b.Dial("c1")
	a.Dial("c2")
	now = start.Add(59 * time.Second)
	a.Dial("c1")
	mustFlush(t, a, b)
	now = start.Add(3*time.Minute + time.Second)
	b.Dial("c1")
	mustFlush(t, a, b)

	got, err := DialsPerMinute(ctx, rdb, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{{start.UTC(), 3}, {start.Add(3 * time.Minute).UTC(), 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DialsPerMinute(c1) -want +got:\n%s", diff)
	}
	if err := Forget(ctx, rdb, "c1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := DialsPerMinute(ctx, rdb, "c1"); len(got) != 0 {
		t.Errorf("after Forget: %v", got)
	}
	if got, _ := DialsPerMinute(ctx, rdb, "c2"); len(got) != 1 || got[0].Count != 1 {
		t.Errorf("c2 after c1 was forgotten: %v", got)
	}
}
