package testutil

import (
	"flag"
	"runtime"
	"strconv"
	"testing"
)

// WaitingParallel is how many tests marked parallel RunWaiting lets run at once by default.
// At 16 rather than 8, internal/worker's 30-odd parallel tests take 3.5 s rather than 4.2 s
// on two cores; the other packages that use it take the same time either way.
const WaitingParallel = 16

// RunWaiting runs m's tests, as a TestMain does, and returns m.Run's exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(testutil.RunWaiting(m)) }
//
// It lets up to WaitingParallel tests marked parallel (t.Parallel, redistest.Parallel) run at
// once, or GOMAXPROCS if that is more, unless -test.parallel (go test -parallel) is given.
// go test's own default, GOMAXPROCS, suits tests that compute; on a machine of two cores it
// runs two at a time, and tests that mostly wait (on timers, Redis, an HTTP server, a leased
// key running out) then wait one after the other.
func RunWaiting(m *testing.M) int {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		n := max(WaitingParallel, runtime.GOMAXPROCS(0))
		if err := flag.Set("test.parallel", strconv.Itoa(n)); err != nil {
			panic("testutil.RunWaiting: " + err.Error())
		}
	}
	return m.Run()
}
