// Package testutil holds what many test packages need alike: the clock tests read "now"
// from, a settable clock to inject into the code under test, and a wait with a deadline. It
// is imported by tests only.
//
// The clock can be moved: with DIALER_TEST_CLOCK_SHIFT set to a Go duration (for example
// 87600h, about ten years), Now returns the wall clock moved by it. CI runs the packages
// whose behaviour depends on the date once more that way, so a test that mixes a fixed
// calendar date with the real clock fails in CI today rather than on a later day.
package testutil

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// ShiftEnv names the environment variable that moves Now: a duration that time.ParseDuration
// accepts, such as "87600h" or "-24h". Unset or empty means no shift.
const ShiftEnv = "DIALER_TEST_CLOCK_SHIFT"

// shift is ShiftEnv's value, read once. A malformed value panics at the first Now, so a CI
// guard that sets it wrongly cannot pass unnoticed.
var shift = func() time.Duration {
	v := os.Getenv(ShiftEnv)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		panic(fmt.Sprintf("testutil: %s=%q is not a duration (e.g. 87600h): %v", ShiftEnv, v, err))
	}
	return d
}()

// Now returns the time a test treats as now: the wall clock, moved by DIALER_TEST_CLOCK_SHIFT
// when it is set. Inject it (or a clock derived from it) into the code under test wherever the
// test also compares times with it.
func Now() time.Time { return time.Now().Add(shift) }

// Shift returns how far Now is moved from the wall clock (0 unless DIALER_TEST_CLOCK_SHIFT is set).
func Shift() time.Duration { return shift }

// WaitFor polls cond every 5 ms until it returns true, and fails the test naming what it
// waited for when d passes first.
func WaitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Eventually(d, cond) {
		tb.Fatalf("gave up after %s waiting for %s", d, what)
	}
}

// Eventually polls cond every 5 ms until it returns true (then it returns true) or d passes
// (then false, after one last look). It measures d with a timer, so the shift does not
// matter to it; a caller that wants to say more on failure than WaitFor does uses it.
func Eventually(d time.Duration, cond func() bool) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-timer.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}
