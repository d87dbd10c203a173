package worker

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/feeder"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestEditReachesRunningWorkers runs the worker pool (handler and feeder) on a campaign whose
// calls stay live, and edits its limits while it dials: the pool must keep to the old limit
// until the edit, and apply the new one within a few seconds of it.
func TestEditReachesRunningWorkers(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	// The pool's CampaignRecheck: an edit reaches it within this (production: 1 s).
	const recheck = 300 * time.Millisecond
	for _, tt := range []struct {
		name   string
		limits string         // the campaign's rateLimit
		patch  map[string]any // the edit
		before int            // dials the old limit allows over holdFor
		after  int            // dials the new one allows soon after the edit
	}{
		{"maxConcurrentCalls 1 -> 4", "{callsPerSecond: 50, maxConcurrentCalls: 1}",
			map[string]any{"rateLimit": map[string]any{"maxConcurrentCalls": 4}}, 1, 4},
		{"callsPerSecond one in 60s -> 50", "{callsPerSecond: 0.0167, maxConcurrentCalls: 10}",
			map[string]any{"rateLimit": map[string]any{"callsPerSecond": 50}}, 1, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rdb := testRedis(t)
			yaml := strings.Replace(testCampaign, "{callsPerSecond: 50, maxConcurrentCalls: 1}", tt.limits, 1)
			f := mustFile(t, yaml)
			contacts := "First Name,phone\n"
			for i := range 6 {
				contacts += "N,415 555 010" + string(rune('1'+i)) + "\n"
			}
			store := campaign.NewStore(rdb)
			open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(contacts)), nil }
			c, err := store.Upload(t.Context(), f, "contacts.csv", open, nil, campaign.UploadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			api := newFakeAPI("")
			api.live = true // every call stays live: the concurrency cap is what limits dials
			dials := func() int {
				api.mu.Lock()
				defer api.mu.Unlock()
				return len(api.connects)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, PoolConfig{Redis: rdb, API: api, Concurrency: 20, ShutdownTimeout: 100 * time.Millisecond, Now: testutil.Now,
					Feeder: feeder.Config{Tick: 20 * time.Millisecond}, CampaignRecheck: recheck})
			}()
			t.Cleanup(func() {
				cancel()
				<-done
			})
			testutil.WaitFor(t, 10*time.Second, "the first dial", func() bool { return dials() >= 1 })
			// The old limit holds: a recheck of the campaign (every CampaignRecheck) passes
			// without another dial.
			const holdFor = 5 * recheck / 3
			if testutil.Eventually(holdFor, func() bool { return dials() > tt.before }) {
				t.Fatalf("%d dials before the edit, want %d", dials(), tt.before)
			}
			cur, err := store.Campaign(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			nf, err := cur.File.Patch(tt.patch)
			if err != nil {
				t.Fatal(err)
			}
			edited := testutil.Now()
			if _, err := store.SetFile(t.Context(), cur, nf); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, 5*time.Second, "the new limit to apply", func() bool { return dials() >= tt.after })
			t.Logf("%d dials %v after the edit", dials(), testutil.Now().Sub(edited).Round(time.Millisecond))
		})
	}
}
