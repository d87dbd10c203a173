package schedule

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/testutil"
)

// TestLeader's subtests run in parallel, each on a lock key of its own in one database.
func TestLeader(t *testing.T) {
	rdb := setup(t)
	ctx := t.Context()
	// config returns the test's lock settings on a key of t's own.
	config := func(t *testing.T) LeaderConfig {
		return LeaderConfig{TTL: 500 * time.Millisecond, RenewInterval: 100 * time.Millisecond, Key: leaderKey() + ":" + t.Name()}
	}

	t.Run("OneOfTwo", func(t *testing.T) {
		t.Parallel()
		cfg := config(t)
		a, b := NewLeader(rdb, cfg), NewLeader(rdb, cfg)
		okA, errA := a.TryAcquire(ctx)
		okB, errB := b.TryAcquire(ctx)
		if errA != nil || errB != nil || !okA || okB {
			t.Fatalf("TryAcquire: a %v %v, b %v %v; want only a", okA, errA, okB, errB)
		}
		if ok, _ := a.TryAcquire(ctx); !ok {
			t.Error("the holder's second TryAcquire = false")
		}
		if ok, _ := b.Renew(ctx); ok {
			t.Error("b renewed a lock it does not hold")
		}
		if err := b.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, _ := a.Renew(ctx); !ok {
			t.Error("b's Release took a's lock")
		}
		if err := a.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, _ := b.TryAcquire(ctx); !ok {
			t.Error("b could not take the lock a released")
		}
		_ = b.Release(ctx)
	})

	t.Run("TakeOverAfterExpiry", func(t *testing.T) {
		t.Parallel()
		cfg := config(t)
		a, b := NewLeader(rdb, cfg), NewLeader(rdb, cfg)
		if ok, _ := a.TryAcquire(ctx); !ok {
			t.Fatal("a did not get the free lock")
		}
		// a dies without releasing: b gets the lock once the TTL has run out.
		testutil.WaitFor(t, 3*time.Second, "b to take over the expired lock", func() bool {
			ok, err := b.TryAcquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		})
		if ok, _ := a.Renew(ctx); ok {
			t.Error("a renewed a lock b took over")
		}
		_ = b.Release(ctx)
	})

	t.Run("RunHandsOver", func(t *testing.T) {
		t.Parallel()
		cfg := config(t)
		var leading, most atomic.Int32
		started := make(chan int, 10)
		lead := func(n int) func(context.Context) {
			return func(ctx context.Context) {
				v := leading.Add(1)
				for m := most.Load(); v > m && !most.CompareAndSwap(m, v); m = most.Load() {
				}
				started <- n
				<-ctx.Done()
				leading.Add(-1)
			}
		}
		ctxA, stopA := context.WithCancel(ctx)
		ctxB, stopB := context.WithCancel(ctx)
		doneA, doneB := make(chan struct{}), make(chan struct{})
		go func() { defer close(doneA); _ = NewLeader(rdb, cfg).Run(ctxA, lead(1), nil) }()
		if first := <-started; first != 1 {
			t.Fatalf("%d leads first, want a", first)
		}
		go func() { defer close(doneB); _ = NewLeader(rdb, cfg).Run(ctxB, lead(2), nil) }()
		// b contends several times (every 100ms) and must not lead while a does.
		select {
		case <-started:
			t.Fatal("b leads while a does")
		case <-time.After(400 * time.Millisecond):
		}
		stopA()
		<-doneA
		select {
		case n := <-started:
			if n != 2 {
				t.Errorf("after a stopped, %d leads; want b", n)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("b did not take over after a released the lock")
		}
		stopB()
		<-doneB
		if most.Load() != 1 {
			t.Errorf("%d led at once", most.Load())
		}
	})
}
