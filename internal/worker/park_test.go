package worker

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/testutil"
)

// parkBound is how long a dial that cannot start may keep its worker goroutine: a few Redis
// round trips, with room for a loaded machine.
const parkBound = 50 * time.Millisecond

// parkTokenWait is the TokenWait of TestCannotStartParksAtOnce's dial without a
// calls-per-second turn, each of whose five runs waits it out.
const parkTokenWait = 100 * time.Millisecond

// TestCannotStartParksAtOnce checks, from the worker's side, that a dial that cannot start
// now does not hold a worker goroutine (issue 10: no head-of-line blocking): with no slot
// free, calling window closed, paused or frequency-capped, ProcessTask parks the dial (a
// *queue.RetryLaterError; paused: held) without dialing, and the median of 5 runs takes
// under parkBound. Without a calls-per-second turn it waits at most TokenWait (250 ms by
// default, 100 ms here) for one, the turn the feeder timed to be due when the task came, then
// parks it. (A dial
// stopped by the frequency cap has taken its turn first, as the cap is checked last.)
//
// It and its subtests run one at a time, not in parallel with the package's other tests:
// their goroutines would stretch the times it measures.
func TestCannotStartParksAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		prepare func(t *testing.T, fx *fixture) func() error // returns the run to time
		bound   time.Duration
	}{
		{name: "no slot free", yaml: testCampaign, bound: parkBound, prepare: func(t *testing.T, fx *fixture) func() error {
			// maxConcurrentCalls is 1, and another call holds it.
			if err := ratelimit.NewSemaphore(fx.rdb, ratelimit.SemaphoreConfig{}).Hold(t.Context(), campaign.SlotsKey(fx.c.ID), "other"); err != nil {
				t.Fatal(err)
			}
			return func() error { return fx.process(t, 1) }
		}},
		{name: "no calls-per-second turn", yaml: strings.Replace(testCampaign, "callsPerSecond: 50", "callsPerSecond: 0.1", 1), bound: parkTokenWait + parkBound,
			prepare: func(t *testing.T, fx *fixture) func() error {
				fx.h.cfg.TokenWait = parkTokenWait
				// Another dial just took the campaign's turn: the next is 10 s away.
				if _, err := fx.h.cfg.Limiter.Wait(t.Context(), campaign.RateKey(fx.c), 0.1); err != nil {
					t.Fatal(err)
				}
				return func() error { return fx.process(t, 1) }
			}},
		{name: "calling window closed", yaml: windowCampaign, bound: parkBound, prepare: func(t *testing.T, fx *fixture) func() error {
			pacific, _ := time.LoadLocation("America/Los_Angeles")
			fx.h.now = func() time.Time { return time.Date(2026, 11, 20, 8, 30, 0, 0, pacific) }
			return func() error { return fx.process(t, 1) }
		}},
		{name: "paused", yaml: testCampaign, bound: parkBound, prepare: func(t *testing.T, fx *fixture) func() error {
			if err := fx.store.Pause(t.Context(), fx.c.ID); err != nil {
				t.Fatal(err)
			}
			return func() error { return fx.process(t, 1) }
		}},
		// The frequency cap is checked after the calls-per-second turn, as close to the send
		// as it can be, so each run takes a turn: at 1,000 calls/s the next is 1 ms away.
		{name: "frequency cap", yaml: strings.Replace(testCampaign, "callsPerSecond: 50", "callsPerSecond: 1000", 1) + "frequencyCap: {maxCalls: 1, per: 24h}\n", bound: parkBound, prepare: func(t *testing.T, fx *fixture) func() error {
			if err := fx.process(t, 1); err != nil || len(fx.api.connects) != 1 {
				t.Fatalf("first campaign: err %v, %d dials; want nil, 1", err, len(fx.api.connects))
			}
			// A second campaign holds the same number.
			other := uploadTestContacts(t, fx.store, &fx.c.File)
			return func() error { return fx.processOf(t, other.ID, 1) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setupOn(t, soleRedis(t), newFakeAPI(interactly.PhoneCompleted), tt.yaml, nil)
			run := tt.prepare(t, fx)
			dials := len(fx.api.connects)
			var took []time.Duration
			for range 5 {
				start := testutil.Now()
				err := run()
				took = append(took, testutil.Now().Sub(start))
				var later *queue.RetryLaterError
				if tt.name == "paused" {
					if held, _ := fx.store.Held(t.Context(), fx.c.ID); err != nil || held != 1 {
						t.Fatalf("err %v, %d held; want the dial held", err, held)
					}
				} else if !errors.As(err, &later) {
					t.Fatalf("err = %v, want a *queue.RetryLaterError: the dial parked", err)
				}
			}
			if len(fx.api.connects) != dials {
				t.Errorf("%d dials while it cannot start", len(fx.api.connects)-dials)
			}
			slices.Sort(took)
			t.Logf("ProcessTask took %v (sorted)", took)
			if took[2] > tt.bound {
				t.Errorf("a dial that cannot start kept its goroutine %s (median of 5: %v); want under %s", took[2], took, tt.bound)
			}
		})
	}
}
