package ratelimit

import (
	"context"
	"os"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestMain runs more parallel tests at once than the machine has cores: most of them wait
// for a lease or a rate's interval.
func TestMain(m *testing.M) { os.Exit(testutil.RunWaiting(m)) }

// testDB is this package's database; see package redistest.
const testDB = 3

// The keys the tests pace and count on, as a worker names a campaign's.
const (
	cpsKey   = "dialer:{c1}:cps"
	slotsKey = "dialer:{c1}:slots"
)

// TestAlone runs the package's tests that time a Limiter or a Semaphore against the wall
// clock first, before the package's parallel tests and beside no other test: gaps between
// grants, grants counted over a run, asks that come early on a busy process, renewals of a
// lease on time. They run in parallel with each other, each on a database of its own (on
// miniredis; see redistest.Parallel): together they leave the process most of its cores and
// Redis most of its time, as go test -count=20, with and without -race, beside another
// package's tests showed. The two that time grants bound each grant by the sending of its
// ask and the receipt of the answer, so a goroutine that runs late after a grant cannot
// make a gap look short.
func TestAlone(t *testing.T) {
	for _, tt := range []struct {
		name string
		test func(*testing.T)
	}{
		{"FractionalRate", testFractionalRate},
		{"GlobalRateAcrossProcesses", testGlobalRateAcrossProcesses},
		{"OneAskPerGrant", testOneAskPerGrant},
		{"KeepAliveOutlivesLease", testKeepAliveOutlivesLease},
	} {
		t.Run(tt.name, func(t *testing.T) {
			redistest.Parallel(t)
			tt.test(t)
		})
	}
}

// setup returns a client of a clean database for the test.
func setup(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb, _ := redistest.Setup(tb, testDB)
	return rdb
}

// newClient returns another client of rdb's database, with its own connections, as a
// second worker process would have, and the number of commands it has had answered.
func newClient(tb testing.TB, rdb *redis.Client) (*redis.Client, *atomic.Int64) {
	tb.Helper()
	c := redistest.NewClient(tb, rdb)
	h := &countingHook{}
	c.AddHook(h)
	return c, &h.n
}

// countingHook counts the commands a client has had answered (each a round trip, as
// nothing here pipelines), leaving out those that set up a new connection.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		switch cmd.Name() {
		case "hello", "auth", "select", "client":
		default:
			h.n.Add(1)
		}
		return err
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
