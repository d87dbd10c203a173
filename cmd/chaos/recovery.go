package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
)

// recovery is how interrupted attempts were picked up again in a run.
type recovery struct {
	// afterKill are the times from the SIGKILL of the last worker that ran an attempt's
	// task to another worker resuming its call or finding the call of its interrupted dial.
	afterKill []time.Duration
	// otherwise counts attempts picked up with no kill before (their task had failed, say
	// while Redis restarted).
	otherwise int
}

// describe summarises r in one cell: "26 after a kill: median 1m5s, longest 4m58s; 3 after an error".
func (r recovery) describe() string {
	if len(r.afterKill) == 0 && r.otherwise == 0 {
		return "none"
	}
	d := slices.Sorted(slices.Values(r.afterKill))
	s := fmt.Sprintf("%d after a kill", len(d))
	if len(d) > 0 {
		s += fmt.Sprintf(": median %s, longest %s", minutes(d[len(d)/2]), minutes(d[len(d)-1]))
	}
	if r.otherwise > 0 {
		s += fmt.Sprintf("; %d after an error", r.otherwise)
	}
	return s
}

// recoveries reads the workers' logs for attempts picked up again ("resuming live call",
// "found the call of an interrupted dial") and times each from the SIGKILL of the last
// worker that had run the attempt's task before: its claimer (from the attempt report) or
// a worker that picked it up earlier.
func recoveries(workers []lab.PoolWorker, attempts []attemptRow) recovery {
	type pickup struct {
		at     time.Time
		task   string
		worker string
	}
	var ups []pickup
	killedAt := map[string]time.Time{}
	for _, w := range workers {
		if !w.KilledAt.IsZero() {
			killedAt[w.Name] = w.KilledAt
		}
		_ = scanLog(w.LogPath, func(l logLine) bool {
			if l.msg == "resuming live call" || l.msg == "found the call of an interrupted dial" {
				ups = append(ups, pickup{at: l.at, task: l.task, worker: w.Name})
			}
			return true
		})
	}
	slices.SortFunc(ups, func(a, b pickup) int { return a.at.Compare(b.at) })
	ran := map[campaign.AttemptRef][]string{} // attempt → workers that ran its task, claimer first
	for _, a := range attempts {
		ran[campaign.AttemptRef{CampaignID: a.campaign, ContactID: a.row, Attempt: a.attempt}] = []string{a.worker}
	}
	var r recovery
	for _, u := range ups {
		k, ok := campaign.ParseAttemptRef(u.task)
		if !ok {
			continue
		}
		var last time.Time
		for _, name := range ran[k] {
			if k := killedAt[name]; k.Before(u.at) && k.After(last) {
				last = k
			}
		}
		if last.IsZero() {
			r.otherwise++
		} else {
			r.afterKill = append(r.afterKill, u.at.Sub(last))
		}
		ran[k] = append(ran[k], u.worker)
	}
	return r
}

// longestPause returns the widest gap between two consecutive dials, or "—" for fewer
// than two.
func longestPause(dials []simulator.Dial) string {
	if len(dials) < 2 {
		return "—"
	}
	at := make([]time.Time, len(dials))
	for i, d := range dials {
		at[i] = d.At
	}
	slices.SortFunc(at, time.Time.Compare)
	var widest time.Duration
	for i := 1; i < len(at); i++ {
		widest = max(widest, at[i].Sub(at[i-1]))
	}
	return seconds(widest)
}
