package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
)

// broken is the met? column of a figure whose target was not met: a promise broken, which
// makes the run fail.
const broken = "BROKEN"

// invariant returns a figure that must be 0, with its verdict.
func invariant(measure string, n int, note string) lab.Figure {
	return lab.Figure{Measure: measure, Value: lab.Thousands(n), Target: "0", Met: verdict(n == 0), Note: note}
}

// verdict is the met? column: "met" or "BROKEN".
func verdict(ok bool) string { return lab.Verdict(ok, broken) }

// brokenFigures counts the figures whose target was not met.
func brokenFigures(figs []lab.Figure) int {
	n := 0
	for _, f := range figs {
		if f.Met == broken {
			n++
		}
	}
	return n
}

// seconds formats d in seconds with one decimal: "74.2 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

// minutes formats d as minutes and seconds, to the second: "4m12s".
func minutes(d time.Duration) string {
	return d.Round(time.Second).String()
}

// chaosFigures turns the runs into the results table and the problems found.
func (c *chaos) chaosFigures(contacts []contact, camps []chaosCampaign, res, base *runResult) ([]lab.Figure, []string) {
	cfg := c.cfg
	f := checkRun(camps, res.campaigns, res.dials)
	problems := f.problems
	for k, cr := range res.campaigns {
		if !cr.done {
			problems = append([]string{fmt.Sprintf("campaign %s (%s) was not done after --deadline %s", camps[k].file.Name, cr.id, cfg.deadline)}, problems...)
		}
	}
	if res.scheduleErr != nil {
		problems = append(problems, "the chaos schedule stopped: "+res.scheduleErr.Error())
	}
	problems = append(problems, res.unexpected...)
	for _, err := range res.stopErrs {
		problems = append(problems, err.Error())
	}

	downs := func(ds []time.Duration) string {
		if len(ds) == 0 {
			return "—"
		}
		parts := make([]string, len(ds))
		for i, d := range ds {
			parts[i] = seconds(d)
		}
		return "down " + strings.Join(parts, ", ")
	}
	down := downs(res.restarts)
	figs := []lab.Figure{
		{Measure: "workers killed (kill -9)", Value: fmt.Sprintf("%d of %d", res.kills, cfg.kills),
			Note: fmt.Sprintf("SIGKILL of a worker drawn at random every %s on average, each replaced at once; fewer than asked when the campaign was done first", cfg.killEvery)},
		{Measure: "Redis restarts", Value: fmt.Sprintf("%d of %d (%s)", len(res.restarts), cfg.restarts, down),
			Note: "SIGTERM, wait for exit, start again on the same data directory and port; down = from SIGTERM to the first PING answered, data loaded"},
		{Measure: "Redis crashes (kill -9)", Value: fmt.Sprintf("%d of %d (%s)", len(res.crashes), cfg.crashes, downs(res.crashes)),
			Note: fmt.Sprintf("SIGKILL, %s down, start again on the same data directory and port; down = from SIGKILL to the first PING answered", cfg.crashDown)},
	}
	exits := len(res.unexpected) + len(res.stopErrs)
	kinds := slices.Sorted(maps.Keys(res.stats.Faults))
	for _, k := range kinds {
		figs = append(figs, lab.Figure{Measure: "faults injected: " + faultName(k), Value: lab.Thousands(res.stats.Faults[k])})
	}
	requests := 0
	for _, n := range res.stats.Requests {
		requests += n
	}
	figs = append(figs,
		lab.Figure{Measure: "API requests", Value: fmt.Sprintf("%s (connect %s, get %s, list %s)", lab.Thousands(requests),
			lab.Thousands(res.stats.Requests["connect"]), lab.Thousands(res.stats.Requests["get"]), lab.Thousands(res.stats.Requests["list"])),
			Note: fmt.Sprintf("requests the simulator received; it answered --faults %g of them 429 or 5xx, --slow %g 3 s late and --lost %g of Connect Calls 504 after placing the call", cfg.faults, cfg.slow, cfg.lost)},
		lab.Figure{Measure: "dials", Value: fmt.Sprintf("%s (the scripts make %s)", lab.Thousands(res.stats.Dials), lab.Thousands(expectedDials(contacts))),
			Note: "calls the simulator created, lost answers included"},
		invariant("double dials", f.doubleDials, "dials beyond the first of one (contact, attempt), named by the dial's metadata campaignId, contactId and attempt, in the simulator's dial log"),
		invariant("stray dials", f.strayDials, "dials of another campaign, of a row not in the file, or of a number not the row's"),
		invariant("lost contacts", f.lost, "rows of `dialer report` with no final outcome (pending) when the campaign was done, or at --deadline"),
		invariant("contacts with a wrong outcome", f.wrong, "rows whose final outcome or attempts differ from what their script makes under retryOn busy, no-answer and maxAttempts 3"),
		invariant("attempts off the dial log", f.offLog, "rows whose attempts in `dialer report --attempts` are not each the call id and outcome of the attempt's one dial, or that were dialed more often than they count"),
	)
	figs = append(figs, limitFigures(cfg, res)...)
	figs = append(figs,
		invariant("worker exits not caused by a kill", exits, "workers that exited by themselves during the run (each was replaced), or did not exit 0 within 20 s of SIGTERM at its end"))
	if m := res.slots; m != nil {
		who, most := m.longest()
		longest := "none"
		if who != "" {
			longest = fmt.Sprintf("%s %.1f s", who, most)
		}
		figs = append(figs, lab.Figure{Measure: "slot-seconds held after the call ended", Value: fmt.Sprintf("%.1f by %d slots (peak %d at once, longest %s); %.1f more by killed workers' calls", m.held, len(m.byHolder), m.peak, longest, m.heldKilled),
			Target: fmt.Sprintf("≤ %g, one slot ≤ %g", slotBound, slotLongest), Met: verdict(m.held <= slotBound && most <= slotLongest),
			Note: fmt.Sprintf("the campaigns' slots sampled every %s (%d samples, %d while Redis was down), each counted while held more than %s after its call ended on the simulator; slots of calls whose worker was killed are counted apart (adoption and asynq's recovery free them); see slotBound", slotSampleEvery, m.samples, m.missed, slotGrace)})
	}
	var attempts []attemptRow
	for _, cr := range res.campaigns {
		attempts = append(attempts, cr.attempts...)
	}
	rec := recoveries(res.workers, attempts)
	figs = append(figs, lab.Figure{Measure: "interrupted attempts picked up", Value: rec.describe(),
		Note: fmt.Sprintf(`"resuming live call" and "found the call of an interrupted dial" in the workers' logs, each timed from the SIGKILL of the last worker that ran its task; a live call is adopted by another worker within its 30 s follower lease and one 10±5 s sweep, and any task is handed on by asynq within ≈%s (see the doc comment)`, seconds(resumeBound))})
	pause := longestPause(res.dials)
	if base != nil {
		pause += " (baseline " + longestPause(base.dials) + ")"
	}
	figs = append(figs, lab.Figure{Measure: "longest pause between dials", Value: pause,
		Note: "the widest gap between two dials in the simulator's log: a killed worker's slots stay taken until its calls are adopted or its tasks picked up again (or the slots' 3-minute leases run out), and while they fill the cap nothing is dialed"})
	took := minutes(res.took)
	if !res.done {
		took = "not done after " + minutes(res.took)
	}
	figs = append(figs, lab.Figure{Measure: "time to finish", Value: took,
		Note: "from the end of the first `dialer upload` until `dialer status --json` said every campaign done (polled every 0.5 s); a killed worker's live calls are adopted within about 45 s; its other tasks wait for asynq's recovery, 1–2 minutes"})
	switch {
	case base == nil:
		figs = append(figs, lab.Figure{Measure: "time without faults (baseline)", Value: "not run (--baseline)"})
	default:
		fb := checkRun(camps, base.campaigns, base.dials)
		limits := limitFigures(cfg, base)
		limitsBroken := brokenFigures(limits)
		for _, f := range limits {
			if f.Met == broken {
				problems = append(problems, fmt.Sprintf("baseline: %s %s, want %s", f.Measure, f.Value, f.Target))
			}
		}
		value := minutes(base.took)
		if !base.done {
			value = "not done after " + value
		}
		figs = append(figs,
			lab.Figure{Measure: "time without faults (baseline)", Value: value,
				Note: "the same campaigns first, on the same Redis (another database), without faults, kills or restart"},
			invariant("baseline: invariants broken", fb.broken()+limitsBroken+len(base.unexpected)+len(base.stopErrs), "the checks above, on the baseline run"))
		for _, p := range fb.problems {
			problems = append(problems, "baseline: "+p)
		}
		problems = append(problems, base.unexpected...)
		for _, err := range base.stopErrs {
			problems = append(problems, "baseline: "+err.Error())
		}
	}
	return figs, problems
}

// limitFigures checks the account's and each campaign's limits on the simulator's dial log:
// the most calls live at one instant, and the most dials begun in any window [t, t+1s),
// across every worker process. A call is live from its creation to the end the simulator
// gave it, which comes before the worker learns of it and frees its slot, so the log never
// shows more live calls than slots were held.
func limitFigures(cfg config, res *runResult) []lab.Figure {
	acctRate := int(math.Floor(cfg.acctCPS))
	rate := int(math.Floor(cfg.cps))
	byCampaign, _ := dialsOf(res.ids(), res.dials)
	peaks, rates := make([]string, len(byCampaign)), make([]string, len(byCampaign))
	peaksMet, ratesMet := true, true
	for k, ds := range byCampaign {
		p, r := simulator.PeakLiveCalls(ds), simulator.MaxDialsIn(ds, time.Second)
		peaks[k], rates[k] = strconv.Itoa(p), strconv.Itoa(r)
		peaksMet = peaksMet && p <= cfg.maxLive
		ratesMet = ratesMet && r <= rate
	}
	return []lab.Figure{
		{Measure: "account: peak live calls", Value: lab.Thousands(res.stats.PeakLiveCalls),
			Target: fmt.Sprintf("≤ %d", cfg.acctMaxLive), Met: verdict(res.stats.PeakLiveCalls <= cfg.acctMaxLive),
			Note: fmt.Sprintf("most calls live at one instant on the simulator across the %d campaigns, a call being live from its creation to its end; the account's maxConcurrentCalls (--account-max-concurrent) is below the campaigns' sum (%d)", len(byCampaign), len(byCampaign)*cfg.maxLive)},
		{Measure: "account: most dials begun in any 1 s", Value: lab.Thousands(res.stats.MaxDialsInOneSecond),
			Target: fmt.Sprintf("≤ %d", acctRate), Met: verdict(res.stats.MaxDialsInOneSecond <= acctRate),
			Note: fmt.Sprintf("most Connect Calls the simulator created in any window [t, t+1s) across the %d campaigns; the account's callsPerSecond (--account-cps) is below the campaigns' sum (%g); the closest %d dials in a row spanned %s (under 1 s would break it)",
				len(byCampaign), float64(len(byCampaign))*cfg.cps, acctRate+1, closest(res.dials, acctRate))},
		{Measure: "campaigns: peak live calls", Value: strings.Join(peaks, ", "), Target: fmt.Sprintf("each ≤ %d", cfg.maxLive), Met: verdict(peaksMet),
			Note: "each campaign's own maxConcurrentCalls still binds beneath the account's"},
		{Measure: "campaigns: most dials begun in any 1 s", Value: strings.Join(rates, ", "), Target: fmt.Sprintf("each ≤ %d", rate), Met: verdict(ratesMet),
			Note: "each campaign's own callsPerSecond still binds beneath the account's"},
	}
}

// closest returns the shortest time from the first to the last of n+1 dials in a row, by
// their start, as "1.023 s"; "—" when there are not that many. n+1 dials begin within one
// window [t, t+1s) exactly when it is under a second.
func closest(dials []simulator.Dial, n int) string {
	at := make([]time.Time, len(dials))
	for i, d := range dials {
		at[i] = d.At
	}
	slices.SortFunc(at, time.Time.Compare)
	if len(at) < n+1 {
		return "—"
	}
	least := at[n].Sub(at[0])
	for i := n + 1; i < len(at); i++ {
		least = min(least, at[i].Sub(at[i-n]))
	}
	return strconv.FormatFloat(least.Seconds(), 'f', 3, 64) + " s"
}

// faultName describes a simulator fault counter.
func faultName(k string) string {
	switch k {
	case "429":
		return "429 Too Many Requests"
	case "5xx":
		return "500/502/503"
	case "slow":
		return "answered 3 s late"
	case "lost":
		return "504 after placing the call"
	case "get-error":
		return "Get Call 503"
	}
	return k
}
