package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
	"github.com/hibiken/asynq"
)

// rebuildCampaign is the campaign of TestDeletedTasksRebuilt: 8 live calls, so the feeder
// gives asynq 8 dial tasks while the worker runs only 2 at once, and 6 wait in the queue.
var rebuildCampaign = campaignFile("rebuild", `contacts: {numberColumn: phone}
retry: {maxAttempts: 2, retryOn: [busy, no-answer], delay: 300ms}
rateLimit: {callsPerSecond: 10, maxConcurrentCalls: 8}
poll: {interval: 200ms, analysisWait: 3s}
`)

// The reconciler's grace and period in TestDeletedTasksRebuilt's worker (production: 30 s
// and 10 s).
const rebuildGrace, rebuildEvery = 3 * time.Second, time.Second

// TestDeletedTasksRebuilt deletes every waiting task of every asynq queue (pending,
// scheduled and retry, as asynq's Inspector or web UI can) twice while a built `worker`
// (--concurrency 2) dials a campaign: right after the upload, once the feeder has given
// the first tasks to asynq, and again mid-campaign. The reconciler must rebuild each
// deleted task's attempt, within its bound (grace + the check's period after the attempt
// was given to asynq), so that every row still ends at its scripted outcome and attempts,
// with no attempt dialed twice; `dialer status` says how many were rebuilt.
//
// The worker runs the reconciler at rebuildGrace and rebuildEvery (--reconcile-grace,
// --reconcile-every) rather than production's 30 s and 10 s, which the test would only wait
// out; the bound is the same sum of the two. Calls ring 100–200 ms and talk 200–400 ms: the
// tasks wait in asynq because the worker runs 2 at once under a cap of 8, not because calls
// are long.
func TestDeletedTasksRebuilt(t *testing.T) {
	dialer, workerBin, rdb := startE2E(t)
	const apiKey = "rebuild-secret-key-41f0"
	numbers, script, want := scripted(24, 300)
	sim, srv := simtest.Serve(t, simulator.Config{
		APIKey: apiKey, Seed: 23, Script: script,
		RingMin: 100 * time.Millisecond, RingMax: 200 * time.Millisecond,
		TalkMin: 200 * time.Millisecond, TalkMax: 400 * time.Millisecond, AnalysisDelay: 50 * time.Millisecond,
	})
	env := commandEnv(redistest.URL(rdb), srv.URL, apiKey)

	startWorker(t, workerBin, env, "rebuild", "--concurrency", "2",
		"--reconcile-grace", rebuildGrace.String(), "--reconcile-every", rebuildEvery.String())
	id := uploadNumbers(t, env, dialer, t.TempDir(), "rebuild", rebuildCampaign, numbers)
	store := campaign.NewStore(rdb)
	inspector := asynq.NewInspectorFromRedisClient(rdb)

	// Right after the upload: as soon as asynq holds waiting tasks.
	var deleted []int
	var deletedAt []time.Time
	deleteWaiting := func(when string) {
		t.Helper()
		var n int
		waitUntil(t, 30*time.Second, "waiting tasks in asynq "+when, func() bool {
			n = deleteAllWaiting(t, inspector)
			return n > 0
		})
		deleted, deletedAt = append(deleted, n), append(deletedAt, time.Now())
		t.Logf("deleted %d waiting tasks %s", n, when)
	}
	deleteWaiting("right after the upload")
	waitUntil(t, time.Minute, "8 finished rows", func() bool {
		st, err := store.Status(t.Context(), id)
		must(t, err)
		return st.Finished >= 8
	})
	deleteWaiting("mid-campaign")

	// How long each batch took to be rebuilt, from its deletion, by the rebuilt counter.
	rebuiltAt := make([]time.Time, len(deleted))
	total := 0
	waitUntil(t, 3*time.Minute, "the campaign done", func() bool {
		st, err := store.Status(t.Context(), id)
		must(t, err)
		sum := 0
		for i, n := range deleted {
			sum += n
			if rebuiltAt[i].IsZero() && st.Rebuilt >= sum {
				rebuiltAt[i] = time.Now()
			}
		}
		total = st.Rebuilt
		return st.Done
	})
	sum := 0
	bound := rebuildGrace + rebuildEvery
	for i, n := range deleted {
		sum += n
		took := rebuiltAt[i].Sub(deletedAt[i])
		t.Logf("batch %d: %d tasks rebuilt %s after their deletion (bound: %s after each was given to asynq)", i+1, n, took.Round(100*time.Millisecond), bound)
		// Measured from the deletion, which comes after the task was given to asynq: the
		// bound holds, with 5 s for a reconcile pass and this poll under load.
		if took > bound+5*time.Second {
			t.Errorf("batch %d was rebuilt %s after its deletion; the bound is %s (grace %s + every %s)", i+1, took, bound, rebuildGrace, rebuildEvery)
		}
	}
	if total != sum {
		t.Errorf("status counts %d rebuilt attempts; %d tasks were deleted", total, sum)
	}

	checkDialedOnce(t, sim.Stats())
	checkScripted(t, reportRows(t, env, dialer, id), want)
	out, _ := runCommand(t, env, dialer, "status", id)
	if wantLine := fmt.Sprintf("rebuilt    %d attempts", sum); !strings.Contains(out, wantLine) {
		t.Errorf("dialer status does not say %q:\n%s", wantLine, out)
	}
}

// deleteAllWaiting deletes every pending, scheduled and retry task of every asynq queue
// and returns how many it deleted.
func deleteAllWaiting(t *testing.T, inspector *asynq.Inspector) int {
	t.Helper()
	queues, err := inspector.Queues()
	must(t, err)
	n := 0
	for _, q := range queues {
		for _, del := range []func(string) (int, error){inspector.DeleteAllPendingTasks, inspector.DeleteAllScheduledTasks, inspector.DeleteAllRetryTasks} {
			d, err := del(q)
			must(t, err)
			n += d
		}
	}
	return n
}
