package ratelimit

import (
	"testing"
	"time"
)

// BenchmarkSemaphoreTryAcquire measures TryAcquire by a holder that holds (a lease
// refresh, the same script as a first take) from one goroutine.
func BenchmarkSemaphoreTryAcquire(b *testing.B) {
	c, sent := newClient(b, setup(b))
	sem := NewSemaphore(c, SemaphoreConfig{})
	ctx := b.Context()
	ops := 0
	for b.Loop() {
		if ok, err := sem.TryAcquire(ctx, "dialer:{c1}:slots", "h", 1); err != nil || !ok {
			b.Fatalf("TryAcquire = %v, %v", ok, err)
		}
		ops++
	}
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(sent.Load())/float64(ops), "round-trips/op")
}

// BenchmarkLimiterUncontended measures Wait from one goroutine of one process: at a
// rate it never reaches (the cost of a grant), and at rates it must keep to (how close
// it gets, and how many round trips a grant takes).
func BenchmarkLimiterUncontended(b *testing.B) {
	for _, bm := range []struct {
		name string
		cps  float64
	}{
		{"cps=1e6", 1e6},
		{"cps=1000", 1000},
		{"cps=100", 100},
	} {
		b.Run(bm.name, func(b *testing.B) {
			c, sent := newClient(b, setup(b))
			lim := NewLimiter(c)
			ctx := b.Context()
			grants := 0
			var first time.Time
			for b.Loop() {
				if _, err := lim.Wait(ctx, "dialer:{c1}:cps", bm.cps); err != nil {
					b.Fatal(err)
				}
				if grants == 0 {
					first = time.Now()
				}
				grants++
			}
			b.ReportMetric(float64(grants)/b.Elapsed().Seconds(), "grants/s")
			b.ReportMetric(float64(sent.Load())/float64(grants), "round-trips/grant")
			if bm.cps < 1e6 && grants > 1 {
				// Grants after the first, which comes at once.
				rate := float64(grants-1) / time.Since(first).Seconds()
				b.ReportMetric(100*rate/bm.cps, "%cps")
			}
		})
	}
}
