package ratelimit

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/redistest"
)

// TestLimiter's subtests each have a database of their own and run in parallel (on
// miniredis; see redistest.Parallel), with the package's other parallel tests. The Limiter's
// tests that time it against the wall clock run before them, in TestAlone.
func TestLimiter(t *testing.T) {
	const key = cpsKey

	redistest.Parallel(t)

	t.Run("WaitStopsWithContext", func(t *testing.T) {
		redistest.Parallel(t)
		lim := NewLimiter(setup(t))
		if _, err := lim.Wait(t.Context(), key, 0.5); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		waited, err := lim.Wait(ctx, key, 0.5)
		// The deadline was set before Wait began, so Wait sees a little under 100 ms
		// of it; 90 ms tells waiting out the context from giving up at once.
		if !errors.Is(err, context.DeadlineExceeded) || waited < 90*time.Millisecond || waited > time.Second {
			t.Errorf("Wait 1s after a grant at 0.5 cps = %v after %v, want %v after 100ms", err, waited, context.DeadlineExceeded)
		}
	})

	// WaitAll grants its turns together: both keys' next turns are set from one instant,
	// and a turn one key refuses costs the other key nothing.
	t.Run("WaitAllAtOneInstant", func(t *testing.T) {
		redistest.Parallel(t)
		rdb := setup(t)
		lim := NewLimiter(rdb)
		const account, campaign = "acct:cps", "camp:cps"
		if _, err := lim.WaitAll(t.Context(), Turn{account, 4}, Turn{campaign, 1}); err != nil {
			t.Fatal(err)
		}
		a, errA := rdb.Get(t.Context(), rateKeyPrefix+account).Float64()
		c, errC := rdb.Get(t.Context(), rateKeyPrefix+campaign).Float64()
		if errA != nil || errC != nil {
			t.Fatalf("the turns' state: %v, %v", errA, errC)
		}
		// Each next turn is its interval after the grant: 0.25 s and 1 s.
		if granted := c - 1; math.Abs(a-0.25-granted) > 1e-6 {
			t.Errorf("next turns %.6f and %.6f: granted at %.6f and %.6f, want one instant", a, c, a-0.25, granted)
		}

		// The campaign's next turn is 1 s off: waiting 100 ms for both is refused, and
		// the account's turn, free by then, is left for another campaign.
		time.Sleep(260 * time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := lim.WaitAll(ctx, Turn{account, 4}, Turn{campaign, 1}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitAll with the campaign's turn 740 ms off, for 100 ms = %v, want %v", err, context.DeadlineExceeded)
		}
		ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if waited, err := lim.WaitAll(ctx, Turn{account, 4}, Turn{"other:cps", 1}); err != nil || waited > 50*time.Millisecond {
			t.Errorf("another campaign's dial on the account = %v after %v, want a turn at once: the refused WaitAll took none", err, waited)
		}
	})

	t.Run("RejectsBadRate", func(t *testing.T) {
		redistest.Parallel(t)
		lim := NewLimiter(setup(t))
		for _, cps := range []float64{0, -1, math.NaN(), math.Inf(1), 2e9} {
			if _, err := lim.Wait(t.Context(), key, cps); err == nil {
				t.Errorf("Wait at %v cps: no error", cps)
			}
			if _, err := lim.WaitAll(t.Context(), Turn{key, 1}, Turn{"k:2", cps}); err == nil {
				t.Errorf("WaitAll with a turn at %v cps: no error", cps)
			}
		}
		if _, err := lim.WaitAll(t.Context()); err == nil {
			t.Error("WaitAll with no turns: no error")
		}
	})
}

// testGlobalRateAcrossProcesses: Limiters of several processes, each Waiting from several
// goroutines, grant at most cps in any second together, and not much fewer over the run
// than cps in each second the process and Redis both ran. It runs in TestAlone: it counts
// grants against the time the process and Redis ran.
func testGlobalRateAcrossProcesses(t *testing.T) {
	const key = cpsKey
	const (
		procs   = 3 // Limiters, each on its own client, as worker processes
		perProc = 5 // goroutines per Limiter
		cps     = 20
		// About 31 grants: the bounds below leave each the same share of its
		// interval to lose as over a longer run.
		run = 1500 * time.Millisecond
	)
	rdb := setup(t)
	grants := &grantLog{}
	// The clients first: a client copies rdb's options, which rdb's first
	// connection (meterStalls' first ping) writes to.
	var lims []*Limiter
	for range procs {
		c, _ := newClient(t, rdb)
		c.AddHook(grants)
		lims = append(lims, NewLimiter(c))
	}
	ctx, cancel := context.WithTimeout(t.Context(), run)
	defer cancel()
	stalled := meterStalls(ctx, rdb)
	var wg sync.WaitGroup
	for _, lim := range lims {
		for range perProc {
			wg.Go(func() {
				for {
					if _, err := lim.Wait(ctx, key, cps); err != nil {
						if !errors.Is(err, context.DeadlineExceeded) {
							t.Errorf("Wait: %v", err)
						}
						return
					}
				}
			})
		}
	}
	wg.Wait()

	// Each grant happened in Redis between the sending of its ask and the
	// receipt of the answer. Any cps+1 of them must be at least 1s apart; the
	// check fails only where that is certainly broken, however late the test's
	// goroutines ran.
	asks := grants.sorted()
	if len(asks) <= cps {
		t.Fatalf("%d grants in %v at %d cps", len(asks), run, cps)
	}
	shortest := time.Duration(math.MaxInt64)
	for i := 0; i+cps < len(asks); i++ {
		last := slices.MaxFunc(asks[i:i+cps+1], func(a, b ask) int { return a.answered.Compare(b.answered) })
		shortest = min(shortest, last.answered.Sub(asks[i].sent))
	}
	first, last := asks[0].sent, slices.MaxFunc(asks, func(a, b ask) int { return a.answered.Compare(b.answered) }).answered
	lost := stalled()
	t.Logf("%d grants in %v at %d cps (%v stalled); %d in a row within at most %v", len(asks), run, cps, lost, cps+1, shortest)
	if shortest < time.Second {
		t.Errorf("%d grants within at most %v, want %d at most per second", cps+1, shortest, cps)
	}
	if maxGrants := int(last.Sub(first).Seconds()*cps) + 1; len(asks) > maxGrants {
		t.Errorf("%d grants in %v, want at most %d", len(asks), last.Sub(first), maxGrants)
	}
	// The lower bound counts only the time in which this process and Redis both
	// ran: on a machine loaded many times over, neither the goroutines nor Redis
	// get a core for whole stretches, and no limiter can grant in them.
	if minGrants := int(math.Ceil(0.95 * cps * (run - lost).Seconds())); len(asks) < minGrants {
		t.Errorf("%d grants in %v (%v of it stalled), want at least %d (95%% of %d cps)", len(asks), run, lost, minGrants, cps)
	}
}

// testFractionalRate: a rate below 1 cps spaces grants by its interval. It runs in
// TestAlone: it bounds the gaps between grants.
func testFractionalRate(t *testing.T) {
	const key = cpsKey
	const cps = 2.5 // one every 400ms
	c, _ := newClient(t, setup(t))
	grants := &grantLog{}
	c.AddHook(grants)
	lim := NewLimiter(c)
	for range 3 {
		if _, err := lim.Wait(t.Context(), key, cps); err != nil {
			t.Fatal(err)
		}
	}
	// Each grant happened in Redis between the sending of its ask and the receipt of the
	// answer, so two grants were at most answered-after-sent-before apart, and at least
	// sent-after-answered-before: the bounds fail only where the pace is certainly wrong,
	// however late this goroutine ran after a grant.
	asks := grants.sorted()
	if len(asks) != 3 {
		t.Fatalf("%d grants logged for 3 Waits", len(asks))
	}
	for i := 1; i < len(asks); i++ {
		prev, next := asks[i-1], asks[i]
		if most := next.answered.Sub(prev.sent); most < 390*time.Millisecond {
			t.Errorf("grant %d came at most %v after the one before, want 400ms", i+1, most)
		}
		if least := next.sent.Sub(prev.answered); least > time.Second {
			t.Errorf("grant %d came at least %v after the one before, want 400ms", i+1, least)
		}
	}
}

// testOneAskPerGrant: goroutines of one process waiting on a key ask Redis about once per
// grant, not each on its own. It runs in TestAlone: on a busy process (beside
// TestSemaphore/NeverExceedsMax's 200 goroutines) more asks come early and are denied.
func testOneAskPerGrant(t *testing.T) {
	const key = cpsKey
	const (
		cps        = 50
		goroutines = 10
		grants     = 25
	)
	c, sent := newClient(t, setup(t))
	lim := NewLimiter(c)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range grants / goroutines {
				if _, err := lim.Wait(t.Context(), key, cps); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n := grants / goroutines * goroutines
	// One EVALSHA per grant, plus the EVAL that loads the script, plus an ask now
	// and then that comes early and is denied.
	t.Logf("%d goroutines, %d grants: %d commands", goroutines, n, sent.Load())
	if limit := int64(n*3/2) + 1; sent.Load() > limit {
		t.Errorf("%d grants took %d commands, want at most %d", n, sent.Load(), limit)
	}
}

// grantLog is a go-redis hook that records when each ask that Redis granted was
// sent and answered.
type grantLog struct {
	mu   sync.Mutex
	asks []ask
}

type ask struct{ sent, answered time.Time }

// meterStalls pings rdb every 5ms until ctx ends, and returns a function that tells how
// long the round trips (a ping and a sleep) overran by more than 5ms in all, once ctx has
// ended: the time in which the test's process or Redis was not running.
func meterStalls(ctx context.Context, rdb *redis.Client) func() time.Duration {
	const tick = 5 * time.Millisecond
	done := make(chan time.Duration, 1)
	go func() {
		var lost time.Duration
		for ctx.Err() == nil {
			start := time.Now()
			rdb.Ping(ctx)
			time.Sleep(tick)
			if over := time.Since(start) - tick; over > tick {
				lost += over
			}
		}
		done <- lost
	}()
	return func() time.Duration { return <-done }
}

func (g *grantLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *grantLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		sent := time.Now()
		err := next(ctx, cmd)
		answered := time.Now()
		if Granted(cmd, cpsKey) {
			g.mu.Lock()
			g.asks = append(g.asks, ask{sent, answered})
			g.mu.Unlock()
		}
		return err
	}
}

func (g *grantLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// sorted returns the granted asks in the order they were sent.
func (g *grantLog) sorted() []ask {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.SortedFunc(slices.Values(g.asks), func(a, b ask) int { return a.sent.Compare(b.sent) })
}

// TestLimiterRateBounds checks both ends of the rates Wait accepts: at MinRate a second
// event waits (the interval, about 32 years, does not overflow), below it and above MaxRate
// Wait refuses, and at MaxRate events pass at once.
func TestLimiterRateBounds(t *testing.T) {
	redistest.Parallel(t)
	rdb := setup(t)
	lim := NewLimiter(rdb)
	for _, cps := range []float64{1e-300, 1e-11, MinRate / 2, 0, -1, math.NaN(), math.Inf(1), MaxRate * 2} {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		_, err := lim.Wait(ctx, "k:refused", cps)
		cancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait at %v cps = %v, want a refusal", cps, err)
		}
	}
	for _, cps := range []float64{MinRate, 1.0 / 3600} {
		key := "k:slow:" + strconv.FormatFloat(cps, 'g', -1, 64)
		if _, err := lim.Wait(t.Context(), key, cps); err != nil {
			t.Fatalf("first Wait at %v cps: %v", cps, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		_, err := lim.Wait(ctx, key, cps)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("second Wait at %v cps = %v, want it held until the deadline", cps, err)
		}
	}
	for range 3 {
		if _, err := lim.Wait(t.Context(), "k:fast", MaxRate); err != nil {
			t.Fatalf("Wait at MaxRate: %v", err)
		}
	}
	if got := intervalOf(MinRate); got != time.Duration(1e18) {
		t.Errorf("intervalOf(MinRate) = %v, want 1e18ns", got)
	}
}

// TestRaisedRateForgetsSlowTurn: once a key's rate is raised, a turn taken at the old, slower
// rate (by a process that had not yet seen the change) does not hold the new rate back for
// the old interval, in that process or another; the new rate still spaces its own grants.
//
// It runs alone, not in parallel: the third process's wait of one 20 ms interval, measured
// from its ask, shrinks by however long the goroutine waited for a core before asking.
func TestRaisedRateForgetsSlowTurn(t *testing.T) {
	rdb := setup(t)
	const slow, fast = 1.0 / 60, 50.0
	for _, tt := range []struct {
		name    string
		sameOne bool // the slow turn and the fast ones in one process
	}{{"OtherProcess", false}, {"SameProcess", true}} {
		t.Run(tt.name, func(t *testing.T) {
			key := "k:raised:" + tt.name
			old, raised := NewLimiter(rdb), NewLimiter(rdb)
			if tt.sameOne {
				raised = old
			}
			if _, err := old.Wait(t.Context(), key, slow); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			start := time.Now()
			if _, err := raised.Wait(ctx, key, fast); err != nil {
				t.Fatalf("Wait at the raised rate after a turn at the old one: %v (after %v); want a turn within an interval of the new rate", err, time.Since(start))
			}
			// The new rate's own turns are spaced: a third process waits for the next.
			third := NewLimiter(rdb)
			waited, err := third.Wait(ctx, key, fast)
			if err != nil || waited < 10*time.Millisecond {
				t.Errorf("the next turn at %v cps came after %v (%v); want about %v", fast, waited, err, time.Second/fast)
			}
		})
	}
}

// FuzzLimiterRate: for any rate Wait accepts, the interval is positive and within a part
// in a million of 1/cps, and when it is long a second event on the same key waits; any other
// rate is refused.
//
// go test -run '^$' -fuzz FuzzLimiterRate -fuzztime 30s ./internal/ratelimit/
func FuzzLimiterRate(f *testing.F) {
	for _, cps := range []float64{1e-300, 1e-11, 1e-10, MinRate, 1.0 / 3600, 0.5, 1, 20, 1000, MaxRate, 2e9, math.Inf(1), math.NaN(), math.Copysign(0, -1)} {
		f.Add(cps)
	}
	rdb := setup(f)
	lim := NewLimiter(rdb)
	var n int
	f.Fuzz(func(t *testing.T, cps float64) {
		n++
		key := "fuzz:" + strconv.Itoa(n)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := lim.Wait(ctx, key, cps)
		if !(cps >= MinRate && cps <= MaxRate) {
			if err == nil {
				t.Fatalf("Wait accepted %v cps", cps)
			}
			return
		}
		if err != nil {
			t.Fatalf("Wait at %v cps: %v", cps, err)
		}
		iv := intervalOf(cps)
		if want := float64(time.Second) / cps; iv <= 0 || math.Abs(float64(iv)-want) > max(1, want*1e-6) {
			t.Fatalf("intervalOf(%v) = %d ns, want %g", cps, iv, want)
		}
		if iv < time.Second {
			return
		}
		ctx2, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel2()
		if _, err := lim.Wait(ctx2, key, cps); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Wait at %v cps (interval %v) = %v, want it held", cps, iv, err)
		}
	})
}
