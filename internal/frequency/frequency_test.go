package frequency

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/redistest"
)

const number = "+14155550101"

// setup returns a Counter on a clean database, and a client of that database for looking at
// the keys.
func setup(tb testing.TB) (*Counter, *redis.Client) {
	tb.Helper()
	rdb, _ := redistest.Setup(tb, 9)
	return New(rdb), rdb
}

// mustTake takes and fails the test on an error.
func mustTake(tb testing.TB, c *Counter, number, holder string, cp Cap) Result {
	tb.Helper()
	res, err := c.Take(tb.Context(), number, holder, cp)
	if err != nil {
		tb.Fatalf("Take(%s, %s): %v", number, holder, err)
	}
	return res
}

func TestTake(t *testing.T) {
	day := Cap{MaxCalls: 2, Per: 24 * time.Hour}

	t.Run("CapHoldsAcrossCampaigns", func(t *testing.T) {
		c, _ := setup(t)
		got := []Result{
			mustTake(t, c, number, "c1:1:1", day),
			mustTake(t, c, number, "c2:7:1", day),
		}
		want := []Result{{Allowed: true, Count: 1}, {Allowed: true, Count: 2}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("first two takes (-want +got):\n%s", diff)
		}
		for _, holder := range []string{"c1:1:2", "c2:7:2", "c3:1:1"} {
			if res := mustTake(t, c, number, holder, day); res.Allowed || res.Count != 2 {
				t.Errorf("Take(%s) = %+v, want denied with count 2", holder, res)
			}
		}
		// Another number has its own count.
		if res := mustTake(t, c, "+14155550102", "c1:2:1", day); !res.Allowed || res.Count != 1 {
			t.Errorf("Take of another number = %+v, want allowed with count 1", res)
		}
		if n, err := c.Count(t.Context(), number, day.Per); err != nil || n != 2 {
			t.Errorf("Count = %d, %v; want 2", n, err)
		}
	})

	t.Run("RetakeIsIdempotent", func(t *testing.T) {
		c, rdb := setup(t)
		first := mustTake(t, c, number, "c1:1:1", day)
		before, err := rdb.ZScore(t.Context(), numberKey(number), "c1:1:1").Result()
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if res := mustTake(t, c, number, "c1:1:1", day); res != first {
				t.Errorf("retake = %+v, want %+v", res, first)
			}
		}
		after, err := rdb.ZScore(t.Context(), numberKey(number), "c1:1:1").Result()
		if err != nil || after != before {
			t.Errorf("dial time after retakes = %v, %v; want it unchanged at %v", after, err, before)
		}
		// A full window still lets its own holders retake.
		mustTake(t, c, number, "c2:1:1", day)
		if res := mustTake(t, c, number, "c1:1:1", day); !res.Allowed || res.Count != 2 {
			t.Errorf("retake in a full window = %+v, want allowed with count 2", res)
		}
		if n, err := c.Count(t.Context(), number, day.Per); err != nil || n != 2 {
			t.Errorf("Count = %d, %v; want 2", n, err)
		}
	})

	t.Run("RetryAtIsOldestPlusPer", func(t *testing.T) {
		c, rdb := setup(t)
		mustTake(t, c, number, "c1:1:1", day)
		mustTake(t, c, number, "c2:1:1", day)
		oldest, err := rdb.ZScore(t.Context(), numberKey(number), "c1:1:1").Result()
		if err != nil {
			t.Fatal(err)
		}
		res := mustTake(t, c, number, "c3:1:1", day)
		want := Result{Count: 2, RetryAt: time.UnixMilli(int64(oldest)).Add(day.Per)}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("denied take (-want +got):\n%s", diff)
		}
		if ok, err := rdb.ZScore(t.Context(), numberKey(number), "c3:1:1").Result(); err != redis.Nil {
			t.Errorf("denied holder recorded: %v, %v", ok, err)
		}
	})

	t.Run("LoweredCap", func(t *testing.T) {
		// A campaign with a lower cap than the dials already made waits until enough of
		// them have left, not just the oldest.
		c, rdb := setup(t)
		for _, h := range []string{"c1:1:1", "c1:2:1", "c1:3:1"} {
			mustTake(t, c, number, h, Cap{MaxCalls: 3, Per: day.Per})
		}
		second, err := rdb.ZScore(t.Context(), numberKey(number), "c1:2:1").Result()
		if err != nil {
			t.Fatal(err)
		}
		res := mustTake(t, c, number, "c2:1:1", Cap{MaxCalls: 2, Per: day.Per})
		want := Result{Count: 3, RetryAt: time.UnixMilli(int64(second)).Add(day.Per)}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("denied take (-want +got):\n%s", diff)
		}
	})

	t.Run("KeyExpires", func(t *testing.T) {
		c, rdb := setup(t)
		mustTake(t, c, number, "c1:1:1", day)
		ttl, err := rdb.PTTL(t.Context(), numberKey(number)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= day.Per-time.Minute || ttl > day.Per {
			t.Errorf("PTTL = %v, want about %v", ttl, day.Per)
		}
	})

	t.Run("WindowSlides", func(t *testing.T) {
		c, rdb := setup(t)
		short := Cap{MaxCalls: 2, Per: 300 * time.Millisecond}
		mustTake(t, c, number, "c1:1:1", short)
		mustTake(t, c, number, "c2:1:1", short)
		denied := mustTake(t, c, number, "c3:1:1", short)
		if denied.Allowed {
			t.Fatalf("third take in the window = %+v, want denied", denied)
		}
		deadline := time.Now().Add(5 * time.Second)
		var res Result
		for res = mustTake(t, c, number, "c3:1:1", short); !res.Allowed; res = mustTake(t, c, number, "c3:1:1", short) {
			if time.Now().After(deadline) {
				t.Fatalf("still denied 5s after a 300ms window: %+v", res)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The window slid past c1 (RetryAt is when c1 leaves it); c2, taken a moment after c1,
		// may still be in it under load. The count is what the take left in the window: c3
		// and any of c2, never c1.
		left, err := rdb.ZRange(t.Context(), numberKey(number), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]bool{1: true, 2: true}; !want[res.Count] || len(left) != res.Count ||
			slices.Contains(left, "c1:1:1") || !slices.Contains(left, "c3:1:1") {
			t.Errorf("take after the window = %+v with %v in the window; want allowed, c3 and at most c2 counted", res, left)
		}
		if now := time.Now(); now.Before(denied.RetryAt.Add(-50 * time.Millisecond)) {
			t.Errorf("allowed at %v, before RetryAt %v", now, denied.RetryAt)
		}
		// With no more dials, the key disappears.
		for {
			n, err := rdb.Exists(t.Context(), numberKey(number)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("key still there 5s after a 300ms window")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n, err := c.Count(t.Context(), number, short.Per); err != nil || n != 0 {
			t.Errorf("Count after expiry = %d, %v; want 0", n, err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		c, _ := setup(t)
		cp := Cap{MaxCalls: 3, Per: time.Hour}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			allowed int
		)
		for i := range 50 {
			wg.Go(func() {
				res, err := c.Take(ctx, number, fmt.Sprintf("c%d:1:1", i), cp)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		n, err := c.Count(ctx, number, cp.Per)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("Count = %d, want 3", n)
		}
		if allowed != 3 {
			t.Errorf("%d takes allowed, want 3", allowed)
		}
	})
}

// A released dial leaves the count, and frees its place under the cap for another holder;
// releasing a holder that holds nothing changes nothing.
func TestRelease(t *testing.T) {
	c, _ := setup(t)
	ctx := t.Context()
	one := Cap{MaxCalls: 1, Per: time.Hour}
	mustTake(t, c, number, "c1:1:1", one)
	if err := c.Release(ctx, number, "c9:9:9"); err != nil {
		t.Fatal(err)
	}
	if res := mustTake(t, c, number, "c2:1:1", one); res.Allowed {
		t.Fatalf("a second holder was allowed past a cap of 1 after releasing a holder that held nothing: %+v", res)
	}
	if err := c.Release(ctx, number, "c1:1:1"); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Count(ctx, number, time.Hour); err != nil || n != 0 {
		t.Fatalf("Count after Release = %d, %v; want 0", n, err)
	}
	if res := mustTake(t, c, number, "c2:1:1", one); !res.Allowed {
		t.Fatalf("Take after Release = %+v, want allowed", res)
	}
	if err := c.Release(ctx, "4155550101", "c1:1:1"); err == nil {
		t.Error("Release of a number not in E.164: no error")
	}
}
