package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestSemaphore's subtests each have a database of their own and run in parallel (on
// miniredis; see redistest.Parallel), with the package's other parallel tests. The
// Semaphore's test that needs its renewals on time runs before them, in TestAlone.
func TestSemaphore(t *testing.T) {
	const key = slotsKey

	redistest.Parallel(t)

	t.Run("NeverExceedsMax", func(t *testing.T) {
		redistest.Parallel(t)
		const (
			procs   = 4  // Semaphores, each on its own client, as worker processes
			perProc = 50 // goroutines per Semaphore
			slots   = 7
		)
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cfg := SemaphoreConfig{PollInterval: 10 * time.Millisecond}
		sem, rdb := newSem(t, cfg)
		sems := []*Semaphore{sem}
		for range procs - 1 {
			c, _ := newClient(t, rdb)
			sems = append(sems, NewSemaphore(c, cfg))
		}

		var live, peak atomic.Int64
		var wg sync.WaitGroup
		for p, sem := range sems {
			for g := range perProc {
				wg.Go(func() {
					holder := fmt.Sprintf("p%d-g%d", p, g)
					if _, err := sem.Acquire(ctx, key, holder, slots); err != nil {
						t.Errorf("Acquire %s: %v", holder, err)
						return
					}
					n := live.Add(1)
					for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
					}
					time.Sleep(20 * time.Millisecond) // the call
					live.Add(-1)
					if err := sem.Release(ctx, key, holder); err != nil {
						t.Errorf("Release %s: %v", holder, err)
					}
				})
			}
		}

		// Sample Redis's own count while they run.
		done := make(chan struct{})
		var samples, maxCount int
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-done:
					return
				default:
				}
				n, err := sem.Count(ctx, key)
				if err != nil {
					t.Errorf("Count: %v", err)
					return
				}
				samples++
				maxCount = max(maxCount, n)
			}
		}()
		wg.Wait()
		close(done)
		<-sampled

		t.Logf("%d holders through %d slots: peak %d live, Count at most %d over %d samples", procs*perProc, slots, peak.Load(), maxCount, samples)
		if maxCount > slots {
			t.Errorf("Count reached %d, above max %d", maxCount, slots)
		}
		if peak.Load() > slots {
			t.Errorf("%d held at once, above max %d", peak.Load(), slots)
		}
		// A Semaphore that let one through at a time would pass the checks above.
		// (TryAcquireFillsToMax shows that all slots can be taken.)
		if peak.Load() < 2 {
			t.Errorf("at most %d held at once, want up to %d", peak.Load(), slots)
		}
		if n, err := sem.Count(ctx, key); err != nil || n != 0 {
			t.Errorf("Count after all released = %d, %v; want 0", n, err)
		}
	})

	t.Run("TryAcquireFillsToMax", func(t *testing.T) {
		redistest.Parallel(t)
		ctx := t.Context()
		sem, _ := newSem(t, SemaphoreConfig{})
		for i := range 3 {
			if ok, err := sem.TryAcquire(ctx, key, fmt.Sprint(i), 3); err != nil || !ok {
				t.Fatalf("TryAcquire %d with %d holding, max 3 = %v, %v; want true", i, i, ok, err)
			}
		}
		if ok, err := sem.TryAcquire(ctx, key, "3", 3); err != nil || ok {
			t.Errorf("TryAcquire with 3 holding, max 3 = %v, %v; want false", ok, err)
		}
		// Retrying is safe: a holder that holds gets true and no second slot.
		if ok, err := sem.TryAcquire(ctx, key, "0", 3); err != nil || !ok {
			t.Errorf("TryAcquire by holder 0 again = %v, %v; want true", ok, err)
		}
		if n, err := sem.Count(ctx, key); err != nil || n != 3 {
			t.Errorf("Count = %d, %v; want 3", n, err)
		}
	})

	t.Run("ExpiredLeaseIsReclaimed", func(t *testing.T) {
		redistest.Parallel(t)
		ctx := t.Context()
		const lease = 300 * time.Millisecond
		sem, _ := newSem(t, SemaphoreConfig{Lease: lease, PollInterval: 20 * time.Millisecond})
		if ok, err := sem.TryAcquire(ctx, key, "crashed", 1); err != nil || !ok {
			t.Fatalf("TryAcquire crashed = %v, %v; want true", ok, err)
		}
		if ok, err := sem.TryAcquire(ctx, key, "b", 1); err != nil || ok {
			t.Fatalf("TryAcquire b while crashed holds = %v, %v; want false", ok, err)
		}
		ctx, cancel := context.WithTimeout(ctx, 10*lease)
		defer cancel()
		waited, err := sem.Acquire(ctx, key, "b", 1)
		if err != nil {
			t.Fatalf("Acquire b after crashed's lease: %v (waited %v)", err, waited)
		}
		t.Logf("b waited %v for a lease of %v", waited, lease)
		if waited < lease*2/3 {
			t.Errorf("b waited %v, well short of crashed's lease of %v", waited, lease)
		}
		if ok, err := sem.Extend(ctx, key, "crashed"); err != nil || ok {
			t.Errorf("Extend crashed after its lease ran out = %v, %v; want false", ok, err)
		}
	})

	t.Run("HoldExceedsMax", func(t *testing.T) {
		redistest.Parallel(t)
		ctx := t.Context()
		sem, _ := newSem(t, SemaphoreConfig{})
		for _, h := range []string{"a", "b"} {
			if ok, err := sem.TryAcquire(ctx, key, h, 2); err != nil || !ok {
				t.Fatalf("TryAcquire %s = %v, %v; want true", h, ok, err)
			}
		}
		if err := sem.Hold(ctx, key, "resumed"); err != nil {
			t.Fatal(err)
		}
		if n, err := sem.Count(ctx, key); err != nil || n != 3 {
			t.Errorf("Count after Hold over a full max of 2 = %d, %v; want 3", n, err)
		}
		// The extra holder keeps new ones out until the count is below max again.
		if err := sem.Release(ctx, key, "a"); err != nil {
			t.Fatal(err)
		}
		if ok, err := sem.TryAcquire(ctx, key, "new", 2); err != nil || ok {
			t.Errorf("TryAcquire with 2 holding, max 2 = %v, %v; want false", ok, err)
		}
		if err := sem.Release(ctx, key, "b"); err != nil {
			t.Fatal(err)
		}
		if ok, err := sem.TryAcquire(ctx, key, "new", 2); err != nil || !ok {
			t.Errorf("TryAcquire with 1 holding, max 2 = %v, %v; want true", ok, err)
		}
	})

	t.Run("ExtendFailsAfterExpiry", func(t *testing.T) {
		redistest.Parallel(t)
		ctx := t.Context()
		sem, _ := newSem(t, SemaphoreConfig{Lease: 300 * time.Millisecond})
		if ok, err := sem.Extend(ctx, key, "a"); err != nil || ok {
			t.Errorf("Extend a before it held = %v, %v; want false", ok, err)
		}
		if ok, err := sem.TryAcquire(ctx, key, "a", 1); err != nil || !ok {
			t.Fatalf("TryAcquire a = %v, %v; want true", ok, err)
		}
		if ok, err := sem.Extend(ctx, key, "a"); err != nil || !ok {
			t.Errorf("Extend a while it holds = %v, %v; want true", ok, err)
		}
		eventually(t, 3*time.Second, "a's lease runs out", func() (bool, error) {
			n, err := sem.Count(ctx, key)
			return n == 0, err
		})
		if ok, err := sem.Extend(ctx, key, "a"); err != nil || ok {
			t.Errorf("Extend a after its lease ran out = %v, %v; want false", ok, err)
		}
		if n, err := sem.Count(ctx, key); err != nil || n != 0 {
			t.Errorf("Count after a failed Extend = %d, %v; want 0", n, err)
		}
		if err := sem.Release(ctx, key, "a"); err != nil {
			t.Errorf("Release of an expired holder: %v", err)
		}
	})

	t.Run("LeaseShowsHolderAndExpiry", func(t *testing.T) {
		redistest.Parallel(t)
		ctx := t.Context()
		const lease = 300 * time.Millisecond
		sem, rdb := newSem(t, SemaphoreConfig{Lease: lease})
		if _, held, err := sem.Lease(ctx, key, "a"); err != nil || held {
			t.Fatalf("Lease of a before it held = %v, %v; want not held", held, err)
		}
		if ok, err := sem.TryAcquire(ctx, key, "a", 1); err != nil || !ok {
			t.Fatalf("TryAcquire a = %v, %v; want true", ok, err)
		}
		now, err := rdb.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		expiry, held, err := sem.Lease(ctx, key, "a")
		if err != nil || !held {
			t.Fatalf("Lease of a while it holds = %v, %v; want held", held, err)
		}
		if left := expiry.Sub(now); left <= 0 || left > lease {
			t.Errorf("a's lease runs out %v after Redis' now; want within (0, %v]", left, lease)
		}
		eventually(t, 3*time.Second, "a's lease runs out", func() (bool, error) {
			_, held, err := sem.Lease(ctx, key, "a")
			return !held, err
		})
		if got, _, err := sem.Lease(ctx, key, "a"); err != nil || !got.Equal(expiry) {
			t.Errorf("Lease of a after it ran out = %v, %v; want the same expiry %v", got, err, expiry)
		}
	})

	t.Run("KeyExpiresWhenAbandoned", func(t *testing.T) {
		redistest.Parallel(t)
		ctx := t.Context()
		const lease = 200 * time.Millisecond
		sem, rdb := newSem(t, SemaphoreConfig{Lease: lease})
		if ok, err := sem.TryAcquire(ctx, key, "a", 1); err != nil || !ok {
			t.Fatalf("TryAcquire a = %v, %v; want true", ok, err)
		}
		ttl, err := rdb.PTTL(ctx, key).Result()
		if err != nil || ttl <= lease || ttl > keyTTLLeases*lease {
			t.Errorf("PTTL %s = %v, %v; want in (%v, %v]", key, ttl, err, lease, keyTTLLeases*lease)
		}
		eventually(t, 3*keyTTLLeases*lease, "the key expires", func() (bool, error) {
			n, err := rdb.Exists(ctx, key).Result()
			return n == 0, err
		})
	})

	t.Run("AcquireWaitsInLineLocally", func(t *testing.T) {
		redistest.Parallel(t)
		const (
			goroutines = 20
			poll       = 20 * time.Millisecond
			wait       = 400 * time.Millisecond
		)
		sem, rdb := newSem(t, SemaphoreConfig{PollInterval: poll})
		c, sent := newClient(t, rdb)
		waiting := NewSemaphore(c, SemaphoreConfig{PollInterval: poll})
		if ok, err := sem.TryAcquire(t.Context(), key, "a", 1); err != nil || !ok {
			t.Fatalf("TryAcquire a = %v, %v; want true", ok, err)
		}

		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				_, err := waiting.Acquire(ctx, key, fmt.Sprint(g), 1)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Acquire %d with the only slot held = %v, want %v", g, err, context.DeadlineExceeded)
				}
			})
		}
		wg.Wait()

		// One poller asks at most every poll/2; each goroutine asking would send
		// goroutines times as many.
		limit := int64(wait/(poll/2)) + 2
		t.Logf("%d goroutines waiting %v sent %d commands (limit %d)", goroutines, wait, sent.Load(), limit)
		if sent.Load() > limit {
			t.Errorf("%d goroutines waiting %v sent %d commands, want at most %d: more than one polls", goroutines, wait, sent.Load(), limit)
		}
	})

	t.Run("ReleaseWakesLocalWaiter", func(t *testing.T) {
		redistest.Parallel(t)
		cfg := SemaphoreConfig{PollInterval: time.Hour}
		other, rdb := newSem(t, cfg)
		c, replies := newClient(t, rdb)
		sem := NewSemaphore(c, cfg)
		if ok, err := other.TryAcquire(t.Context(), key, "a", 1); err != nil || !ok {
			t.Fatalf("TryAcquire a = %v, %v; want true", ok, err)
		}

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		acquired := make(chan error, 1)
		go func() {
			_, err := sem.Acquire(ctx, key, "b", 1)
			acquired <- err
		}()
		eventually(t, 5*time.Second, "b's first ask is answered", func() (bool, error) {
			return replies.Load() == 1, nil
		})
		// Another process's Release is seen only by polling, an hour from now.
		if err := other.Release(ctx, key, "a"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-acquired:
			t.Fatalf("Acquire b returned %v after another process's Release, before its next poll", err)
		case <-time.After(200 * time.Millisecond):
		}
		// A Release in b's own process, of any holder, wakes it at once.
		if err := sem.Release(ctx, key, "nobody"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-acquired:
			if err != nil {
				t.Fatalf("Acquire b: %v", err)
			}
		case <-ctx.Done():
			t.Fatal("Acquire b still waiting after a Release in its process")
		}
	})

	t.Run("AcquireStopsWithContext", func(t *testing.T) {
		redistest.Parallel(t)
		sem, _ := newSem(t, SemaphoreConfig{})
		if ok, err := sem.TryAcquire(t.Context(), key, "a", 1); err != nil || !ok {
			t.Fatalf("TryAcquire a = %v, %v; want true", ok, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		deadline, _ := ctx.Deadline()
		// waited counts from inside Acquire, a little after the deadline was set: what must
		// hold is that Acquire gave up no earlier than the deadline.
		waited, err := sem.Acquire(ctx, key, "b", 1)
		if returned := time.Now(); !errors.Is(err, context.DeadlineExceeded) || returned.Before(deadline) || waited <= 0 {
			t.Errorf("Acquire b with the only slot held = %v after %v, %v before the deadline; want %v at the deadline",
				err, waited, deadline.Sub(returned), context.DeadlineExceeded)
		}
		if got := waitersOf(sem, key); got != 0 {
			t.Errorf("%d waiters left behind", got)
		}
	})

	t.Run("RejectsMaxBelowOne", func(t *testing.T) {
		redistest.Parallel(t)
		sem, _ := newSem(t, SemaphoreConfig{})
		if ok, err := sem.TryAcquire(t.Context(), key, "a", 0); err == nil || ok {
			t.Errorf("TryAcquire with max 0 = %v, %v; want an error", ok, err)
		}
	})
}

// newSem returns a Semaphore with cfg on a clean database, and a client of that database
// for looking at the key.
func newSem(t *testing.T, cfg SemaphoreConfig) (*Semaphore, *redis.Client) {
	t.Helper()
	rdb := setup(t)
	c, _ := newClient(t, rdb)
	return NewSemaphore(c, cfg), rdb
}

// testKeepAliveOutlivesLease: a holder kept alive keeps its slot through more than one
// lease, and loses it once the keeping alive stops. It runs in TestAlone: it needs its
// renewals on time.
func testKeepAliveOutlivesLease(t *testing.T) {
	const key = slotsKey
	ctx := t.Context()
	const lease = 450 * time.Millisecond // renewed every 150ms
	sem, _ := newSem(t, SemaphoreConfig{Lease: lease})
	if ok, err := sem.TryAcquire(ctx, key, "a", 1); err != nil || !ok {
		t.Fatalf("TryAcquire a = %v, %v; want true", ok, err)
	}
	stop := sem.KeepAlive(ctx, key, "a")
	defer stop()
	// Twice the lease: a's first lease has run out, and b has met several renewals.
	for end := time.Now().Add(2 * lease); time.Now().Before(end); time.Sleep(lease / 10) {
		if ok, err := sem.TryAcquire(ctx, key, "b", 1); err != nil || ok {
			t.Fatalf("TryAcquire b while a is kept alive = %v, %v; want false", ok, err)
		}
	}
	stop()
	stop() // a second stop is harmless
	eventually(t, 10*lease, "a's lease runs out after stop", func() (bool, error) {
		n, err := sem.Count(ctx, key)
		return n == 0, err
	})
}

func TestSemaphoreConfig(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     SemaphoreConfig
		want    SemaphoreConfig
		wantErr string
	}{
		{"Defaults", SemaphoreConfig{}, SemaphoreConfig{Lease: 3 * time.Minute, PollInterval: 100 * time.Millisecond}, ""},
		{"Kept", SemaphoreConfig{Lease: time.Second, PollInterval: time.Millisecond}, SemaphoreConfig{Lease: time.Second, PollInterval: time.Millisecond}, ""},
		{"LeaseTooShort", SemaphoreConfig{Lease: time.Microsecond}, SemaphoreConfig{Lease: time.Microsecond, PollInterval: 100 * time.Millisecond}, "Lease"},
		{"NegativePoll", SemaphoreConfig{PollInterval: -1}, SemaphoreConfig{Lease: 3 * time.Minute, PollInterval: -1}, "PollInterval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.WithDefaults()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("WithDefaults() mismatch (-want +got):\n%s", diff)
			}
			err := got.Validate()
			if !testutil.ErrMatches(err, tt.wantErr) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

// waitersOf returns how many goroutines wait in sem.Acquire on key.
func waitersOf(sem *Semaphore, key string) int {
	sem.mu.Lock()
	defer sem.mu.Unlock()
	if w := sem.waiters[key]; w != nil {
		return w.n
	}
	return 0
}

// eventually polls cond until it holds, failing the test if it does not within d.
func eventually(tb testing.TB, d time.Duration, what string, cond func() (bool, error)) {
	tb.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		ok, err := cond()
		if err != nil {
			tb.Fatalf("waiting until %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v", what, d)
		}
	}
}
