package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/simulator"
)

// simAPIKey is the API key the simulator expects and the workers send.
const simAPIKey = "chaos-key"

// The simulated calls of the chaos campaign: short, so the run takes minutes.
const (
	ringMin, ringMax = 500 * time.Millisecond, 1500 * time.Millisecond
	talkMin, talkMax = 1 * time.Second, 2 * time.Second
	analysisDelay    = 200 * time.Millisecond
	slowDelay        = 3 * time.Second
)

// runSpec is one run of the chaos campaign.
type runSpec struct {
	name     string // "baseline" or "faults"; names its progress lines and its directory of logs and reports
	db       int    // the Redis database it runs in
	faults   simulator.Faults
	kills    int
	restarts int
	crashes  int
}

// runResult is what one run of the campaign did and left.
type runResult struct {
	id           string
	took         time.Duration // from the end of the upload until status said done (or the deadline)
	done         bool
	kills        int
	killLog      []string        // "w2 → w4", in order
	restarts     []time.Duration // how long Redis did not answer, each restart
	crashes      []time.Duration // how long Redis did not answer, each kill -9
	slots        *slotMeter      // slots held after their calls ended
	scheduleErr  error           // a kill or restart that failed
	statusErrors int             // `dialer status` calls that failed (Redis down)
	report       []reportRow
	attempts     []attemptRow
	dials        []simulator.Dial
	stats        simulator.Stats
	procs        []*proc  // every worker of the run, killed ones included
	unexpected   []string // workers that exited by themselves
	stopErrs     []error  // workers that did not stop cleanly at the end
}

// chaos runs the chaos scenario: the baseline if asked, then the campaign with faults,
// kills and restarts, and prints the figures.
func (c *chaos) chaos(ctx context.Context, stdout io.Writer) error {
	cfg := c.cfg
	contacts, err := plan(cfg.contacts, cfg.seed)
	if err != nil {
		return err
	}
	file := lab.Campaign{
		Name: "chaos", CPS: cfg.cps, MaxLive: cfg.maxLive,
		MaxAttempts: maxAttempts, RetryOn: retryOn, RetryDelay: retryDelay,
		Poll: 250 * time.Millisecond, AnalysisWait: 3 * time.Second,
	}
	campaignPath := filepath.Join(c.Dir, "chaos.yaml")
	contactsPath := filepath.Join(c.Dir, "chaos.csv")
	if err := file.Write(campaignPath); err != nil {
		return err
	}
	if err := writeContacts(contactsPath, contacts); err != nil {
		return err
	}
	c.Progress("%d contacts, %d dials expected; %d workers at --concurrency %d; callsPerSecond %g, maxConcurrentCalls %d",
		len(contacts), expectedDials(contacts), cfg.workers, cfg.concurrency, cfg.cps, cfg.maxLive)

	var base *runResult
	if cfg.baseline {
		base, err = c.runCampaign(ctx, contacts, campaignPath, contactsPath, runSpec{name: "baseline", db: 0})
		if err != nil {
			return err
		}
	}
	faults := simulator.Faults{
		RateLimited: cfg.faults / 2, ServerError: cfg.faults / 2,
		Slow: cfg.slow, SlowDelay: slowDelay, LostResponse: cfg.lost,
	}
	res, err := c.runCampaign(ctx, contacts, campaignPath, contactsPath, runSpec{
		name: "faults", db: 1, faults: faults, kills: cfg.kills, restarts: cfg.restarts, crashes: cfg.crashes,
	})
	if err != nil {
		return err
	}

	figs, problems := c.chaosFigures(contacts, res, base)
	header := fmt.Sprintf("dialer chaos: %s contacts, %d worker processes (--concurrency %d), callsPerSecond %g, maxConcurrentCalls %d; redis-server %s (appendonly yes, appendfsync everysec); %d CPUs, %s",
		lab.Thousands(len(contacts)), cfg.workers, cfg.concurrency, cfg.cps, cfg.maxLive, c.redis.Version, runtime.NumCPU(), runtime.Version())
	if err := lab.PrintFigures(stdout, header, figs); err != nil {
		return err
	}
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "\nproblems (%d):\n", len(problems))
		for i, p := range problems {
			if i == 30 {
				fmt.Fprintf(stdout, "  … and %d more\n", len(problems)-i)
				break
			}
			fmt.Fprintf(stdout, "  %s\n", strings.ReplaceAll(p, "\n", "\n  "))
		}
	}
	if brokenFigures(figs) > 0 {
		return errBroken
	}
	return nil
}

// chaosFigures turns the runs into the results table and the problems found.
func (c *chaos) chaosFigures(contacts []contact, res, base *runResult) ([]lab.Figure, []string) {
	cfg := c.cfg
	f := check(res.id, contacts, res.report, res.attempts, res.dials)
	problems := f.problems
	if !res.done {
		problems = append([]string{fmt.Sprintf("the campaign was not done after --deadline %s", cfg.deadline)}, problems...)
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
		lab.Figure{Measure: "peak live calls", Value: lab.Thousands(res.stats.PeakLiveCalls), Target: fmt.Sprintf("≤ %d", cfg.maxLive), Met: verdict(res.stats.PeakLiveCalls <= cfg.maxLive),
			Note: "most calls live at one instant on the simulator, a call being live from its creation to its end"},
		invariant("worker exits not caused by a kill", exits, "workers that exited by themselves during the run (each was replaced), or did not exit 0 within 20 s of SIGTERM at its end"),
		lab.Figure{Measure: "most dials begun in any 1 s", Value: lab.Thousands(res.stats.MaxDialsInOneSecond), Target: fmt.Sprintf("≤ %g", cfg.cps), Met: rateVerdict(res.stats.MaxDialsInOneSecond, cfg.cps),
			Note: "reported, not checked: on a loaded 2-core machine arrival jitter can put one dial too many in a window; cmd/bench measures the rate"},
	)
	if m := res.slots; m != nil {
		who, most := m.longest()
		longest := "none"
		if who != "" {
			longest = fmt.Sprintf("%s %.1f s", who, most)
		}
		figs = append(figs, lab.Figure{Measure: "slot-seconds held after the call ended", Value: fmt.Sprintf("%.1f by %d slots (peak %d at once, longest %s); %.1f more by killed workers' calls", m.held, len(m.byHolder), m.peak, longest, m.heldKilled),
			Target: fmt.Sprintf("≤ %g, one slot ≤ %g", slotBound, slotLongest), Met: verdict(m.held <= slotBound && most <= slotLongest),
			Note: fmt.Sprintf("the campaign's slots sampled every %s (%d samples, %d while Redis was down), each counted while held more than %s after its call ended on the simulator; slots of calls whose worker was killed are counted apart (adoption and asynq's recovery free them); see slotBound", slotSampleEvery, m.samples, m.missed, slotGrace)})
	}
	rec := recoveries(res.procs, res.attempts)
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
		Note: "from the end of `dialer upload` until `dialer status --json` said done (polled every 0.5 s); a killed worker's live calls are adopted within about 45 s; its other tasks wait for asynq's recovery, 1–2 minutes"})
	switch {
	case base == nil:
		figs = append(figs, lab.Figure{Measure: "time without faults (baseline)", Value: "not run (--baseline)"})
	default:
		fb := check(base.id, contacts, base.report, base.attempts, base.dials)
		value := minutes(base.took)
		if !base.done {
			value = "not done after " + value
		}
		figs = append(figs,
			lab.Figure{Measure: "time without faults (baseline)", Value: value,
				Note: "the same campaign first, on the same Redis (another database), without faults, kills or restart"},
			invariant("baseline: invariants broken", fb.broken()+len(base.unexpected)+len(base.stopErrs), "the checks above, on the baseline run"))
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

// rateVerdict is the verdict of the most dials in a second: "met", or "over" without
// counting as broken.
func rateVerdict(most int, cps float64) string {
	if float64(most) <= cps {
		return "met"
	}
	return "over"
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

// runCampaign dials the campaign once, per spec, in its own database: a simulator
// scripted for contacts, --workers workers, the upload, the kills and restarts of spec
// while it dials, the wait until it is done, its reports and the simulator's dial log.
func (c *chaos) runCampaign(ctx context.Context, contacts []contact, campaignPath, contactsPath string, spec runSpec) (*runResult, error) {
	cfg := c.cfg
	sim, err := simulator.New(simulator.Config{
		APIKey: simAPIKey, Script: scriptOf(contacts), Seed: int64(cfg.seed),
		RingMin: ringMin, RingMax: ringMax, TalkMin: talkMin, TalkMax: talkMax,
		AnalysisDelay: analysisDelay, Faults: spec.faults,
	})
	if err != nil {
		return nil, err
	}
	apiURL, stopAPI, err := lab.ServeLoopback(sim, nil)
	if err != nil {
		return nil, fmt.Errorf("serve the simulator: %w", err)
	}
	defer stopAPI()

	env := lab.Env(c.redis.URL(spec.db), apiURL, simAPIKey)
	logDir := filepath.Join(c.Dir, spec.name)
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return nil, err
	}
	p := newPool(c.Worker, env, logDir, "w", cfg.concurrency, func(format string, args ...any) {
		c.Progress(spec.name+": "+format, args...)
	})
	stopped := false
	defer func() {
		if !stopped {
			_ = p.stop(10 * time.Second)
		}
	}()
	if err := p.start(cfg.workers); err != nil {
		return nil, err
	}

	out, err := dialerCmd(ctx, c.Dialer, env, "upload", "--campaign", campaignPath, "--contacts", contactsPath)
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(out)
	if len(lines) == 0 {
		return nil, errors.New("dialer upload printed no campaign ID")
	}
	res := &runResult{id: lines[len(lines)-1]}
	start := time.Now()
	c.Progress("%s: campaign %s uploaded; dialing with %d kills and %d Redis restarts to come", spec.name, res.id, spec.kills, spec.restarts)

	schedCtx, stopSchedule := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.schedule(ctx, schedCtx, p, spec, res) })
	rdb := c.redis.Client(spec.db)
	defer rdb.Close()
	res.slots = &slotMeter{slots: ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{}), store: campaign.NewStore(rdb), id: res.id, sim: sim, killed: p.killed}
	wg.Go(func() { res.slots.run(schedCtx) })
	err = c.waitDone(ctx, env, spec.name, res, start)
	stopSchedule()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if !res.done {
		c.Progress("%s: not done after --deadline %s; reading what there is", spec.name, cfg.deadline)
	} else {
		c.Progress("%s: done in %s", spec.name, minutes(res.took))
	}

	reportPath := filepath.Join(logDir, "report.csv")
	attemptsPath := filepath.Join(logDir, "attempts.csv")
	if _, err := dialerCmd(ctx, c.Dialer, env, "report", res.id, "--raw", "--out", reportPath); err != nil {
		return nil, err
	}
	if _, err := dialerCmd(ctx, c.Dialer, env, "report", res.id, "--raw", "--attempts", "--out", attemptsPath); err != nil {
		return nil, err
	}
	stopped = true
	res.stopErrs = p.stop(20 * time.Second)
	res.unexpected, res.procs = p.unexpectedExits(), p.procs()
	res.dials, res.stats = sim.Dials(), sim.Stats()
	if res.report, err = readFile(reportPath, readReport); err != nil {
		return nil, err
	}
	if res.attempts, err = readFile(attemptsPath, readAttempts); err != nil {
		return nil, err
	}
	return res, nil
}

// readFile opens path and reads it with read.
func readFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return read(f)
}

// events returns the order of the chaos events of a run: "kill" kills times, with
// "restart" restarts times spread evenly among them (restart j after j·kills/(restarts+1)
// kills), then "crash" crashes times.
func events(kills, restarts, crashes int) []string {
	var ev []string
	j := 1
	for k := 0; k <= kills; k++ {
		for ; j <= restarts && j*kills/(restarts+1) == k; j++ {
			ev = append(ev, "restart")
		}
		if k < kills {
			ev = append(ev, "kill")
		}
	}
	for range crashes {
		ev = append(ev, "crash")
	}
	return ev
}

// schedule kills workers and restarts Redis as spec says, one event every --kill-every
// (jittered; the first no sooner than --chaos-after), until the events run out or schedCtx ends (the campaign is done). A restart
// once begun runs to its end on ctx.
func (c *chaos) schedule(ctx, schedCtx context.Context, p *pool, spec runSpec, res *runResult) {
	rng := rand.New(rand.NewPCG(c.cfg.seed, 0x5ced))
	for i, ev := range events(spec.kills, spec.restarts, spec.crashes) {
		wait := c.cfg.killEvery/2 + time.Duration(rng.Int64N(int64(c.cfg.killEvery)))
		if i == 0 {
			wait = max(wait, c.cfg.chaosAfter)
		}
		t := time.NewTimer(wait)
		select {
		case <-schedCtx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		switch ev {
		case "kill":
			killed, repl, err := p.killRandom(rng)
			if err != nil {
				res.scheduleErr = err
				return
			}
			res.kills++
			res.killLog = append(res.killLog, killed+" → "+repl)
			c.Progress("%s: kill -9 %s; started %s (%d of %d)", spec.name, killed, repl, res.kills, spec.kills)
		case "restart":
			c.Progress("%s: restarting redis-server (SIGTERM)", spec.name)
			down, err := c.redis.Restart(ctx)
			if err != nil {
				res.scheduleErr = err
				return
			}
			res.restarts = append(res.restarts, down)
			c.Progress("%s: redis-server back after %s", spec.name, seconds(down))
		case "crash":
			c.Progress("%s: kill -9 redis-server; starting it again in %s", spec.name, c.cfg.crashDown)
			down, err := c.redis.Crash(ctx, c.cfg.crashDown)
			if err != nil {
				res.scheduleErr = err
				return
			}
			res.crashes = append(res.crashes, down)
			c.Progress("%s: redis-server back after %s", spec.name, seconds(down))
		}
	}
}

// statusJSON is what waitDone reads of `dialer status --json`.
type statusJSON struct {
	Total     int  `json:"total"`
	Finished  int  `json:"finished"`
	LiveCalls int  `json:"liveCalls"`
	Attempts  int  `json:"attempts"`
	Done      bool `json:"done"`
}

// waitDone polls `dialer status --json` every 0.5 s until the campaign is done or
// --deadline passes since start, and sets res.done and res.took. Failed status calls
// (Redis restarting) are counted and retried. It reports progress every 10 s and returns
// an error only when ctx ends.
func (c *chaos) waitDone(ctx context.Context, env []string, name string, res *runResult, start time.Time) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	var st statusJSON
	for {
		out, err := dialerCmd(ctx, c.Dialer, env, "status", res.id, "--json")
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			res.statusErrors++
		default:
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				return fmt.Errorf("dialer status --json: %w: %s", err, out)
			}
			if st.Done {
				res.done, res.took = true, time.Since(start)
				return nil
			}
		}
		if time.Since(start) > c.cfg.deadline {
			res.took = time.Since(start)
			return nil
		}
		if time.Since(lastReport) >= 10*time.Second {
			c.Progress("%s: %d of %d rows finished, %d live calls, %d attempts, %s", name, st.Finished, st.Total, st.LiveCalls, st.Attempts, minutes(time.Since(start)))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

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
func recoveries(procs []*proc, attempts []attemptRow) recovery {
	type pickup struct {
		at     time.Time
		task   string
		worker string
	}
	var ups []pickup
	killedAt := map[string]time.Time{}
	for _, w := range procs {
		if !w.killedAt.IsZero() {
			killedAt[w.name] = w.killedAt
		}
		_ = scanLog(w.logPath, func(l logLine) bool {
			if l.msg == "resuming live call" || l.msg == "found the call of an interrupted dial" {
				ups = append(ups, pickup{at: l.at, task: l.task, worker: w.name})
			}
			return true
		})
	}
	slices.SortFunc(ups, func(a, b pickup) int { return a.at.Compare(b.at) })
	ran := map[dialKey][]string{} // attempt → workers that ran its task, claimer first
	for _, a := range attempts {
		ran[dialKey{a.row, a.attempt}] = []string{a.worker}
	}
	var r recovery
	for _, u := range ups {
		k, ok := taskKey(u.task)
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

// taskKey reads the contact and attempt of a dial task ID, "campaign:contact:attempt".
func taskKey(task string) (dialKey, bool) {
	parts := strings.Split(task, ":")
	if len(parts) != 3 {
		return dialKey{}, false
	}
	row, err1 := strconv.Atoi(parts[1])
	a, err2 := strconv.Atoi(parts[2])
	return dialKey{row, a}, err1 == nil && err2 == nil
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
