package worker

import (
	"context"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/dialerhq/dialer/internal/window"
)

// TestRunActiveHours runs the worker pool on real asynq with active hours that are shut now,
// then open now, and checks that it dials only in the second case.
func TestRunActiveHours(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	utc := time.UTC
	now := testutil.Now().In(utc)
	day := func(ahead int) string {
		return [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}[(int(now.Weekday())+ahead)%7]
	}
	today, tomorrow := day(0), day(1)
	// Three days ahead stays shut even if the test runs across midnight.
	shut, err := window.New([]string{day(3)}, "00:00", "24:00")
	if err != nil {
		t.Fatal(err)
	}
	open, err := window.New([]string{today, tomorrow}, "00:00", "24:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		active *window.Window
		dials  int
		// wait is how long the test waits for the contact's outcome: open, until the
		// dial (well under a second); shut, several times that, for a dial that
		// must not come.
		wait time.Duration
	}{
		{"shut", shut, 0, time.Second},
		{"open", open, 1, 10 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(interactly.PhoneCompleted)
			fx := setup(t, api)
			q := queue.NewClient(fx.rdb)
			defer q.Close()
			if err := q.EnqueueDial(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, PoolConfig{Redis: fx.rdb, API: api, Concurrency: 2, Active: tt.active, ActiveZone: utc, Now: testutil.Now})
			}()
			testutil.Eventually(tt.wait, func() bool { return fx.contact(t).Outcome != "" })
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("Run did not return after its context was canceled")
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if len(api.connects) != tt.dials {
				t.Errorf("%d dials with active hours %s, want %d", len(api.connects), tt.active, tt.dials)
			}
		})
	}
}
