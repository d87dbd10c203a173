package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/dialerhq/dialer/internal/clock"
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

// runSpec is one run of the chaos campaigns.
type runSpec struct {
	name     string // "baseline" or "faults"; names its progress lines and its directory of logs and reports
	db       int    // the Redis database it runs in
	faults   simulator.Faults
	kills    int
	restarts int
	crashes  int
}

// chaosCampaign is one campaign of the chaos scenario: its file and its share of the
// contacts, numbered from 1 in its own contact file.
type chaosCampaign struct {
	file         lab.Campaign
	contacts     []contact
	campaignPath string
	contactsPath string
}

// campaignRun is what one run did with one campaign.
type campaignRun struct {
	id       string
	done     bool
	report   []reportRow
	attempts []attemptRow
}

// runResult is what one run of the campaigns did and left.
type runResult struct {
	campaigns    []campaignRun // in the order of the chaosCampaigns
	took         time.Duration // from the workers' start until status said every campaign done (or the deadline)
	done         bool          // every campaign done
	kills        int
	killLog      []string        // "w2 → w4", in order
	restarts     []time.Duration // how long Redis did not answer, each restart
	crashes      []time.Duration // how long Redis did not answer, each kill -9
	slots        *slotMeter      // slots held after their calls ended
	scheduleErr  error           // a kill or restart that failed
	statusErrors int             // `dialer status` calls that failed (Redis down)
	dials        []simulator.Dial
	stats        simulator.Stats
	workers      []lab.PoolWorker // every worker of the run, killed ones included
	unexpected   []string         // workers that exited by themselves
	stopErrs     []error          // workers that did not stop cleanly at the end
}

// ids returns the campaign IDs of the run, in order.
func (r *runResult) ids() []string {
	out := make([]string, len(r.campaigns))
	for i, cr := range r.campaigns {
		out[i] = cr.id
	}
	return out
}

// chaos runs the chaos scenario: the baseline if asked, then the campaigns with faults,
// kills and restarts, and prints the figures.
func (c *chaos) chaos(ctx context.Context, stdout io.Writer) error {
	cfg := c.cfg
	contacts, err := plan(cfg.contacts, cfg.seed)
	if err != nil {
		return err
	}
	camps, err := c.writeCampaigns(contacts)
	if err != nil {
		return err
	}
	c.Progress("%d contacts in %d campaigns, %d dials expected; %d workers at --concurrency %d; each campaign callsPerSecond %g, maxConcurrentCalls %d; the account %g and %d",
		len(contacts), len(camps), expectedDials(contacts), cfg.workers, cfg.concurrency, cfg.cps, cfg.maxLive, cfg.acctCPS, cfg.acctMaxLive)

	var base *runResult
	if cfg.baseline {
		base, err = c.runCampaigns(ctx, contacts, camps, runSpec{name: "baseline", db: 0})
		if err != nil {
			return err
		}
	}
	faults := simulator.Faults{
		RateLimited: cfg.faults / 2, ServerError: cfg.faults / 2,
		Slow: cfg.slow, SlowDelay: slowDelay, LostResponse: cfg.lost,
	}
	res, err := c.runCampaigns(ctx, contacts, camps, runSpec{
		name: "faults", db: 1, faults: faults, kills: cfg.kills, restarts: cfg.restarts, crashes: cfg.crashes,
	})
	if err != nil {
		return err
	}

	figs, problems := c.chaosFigures(contacts, camps, res, base)
	header := fmt.Sprintf("dialer chaos: %s contacts in %d campaigns on one account (each callsPerSecond %g, maxConcurrentCalls %d; the account %g and %d), %d worker processes (--concurrency %d); redis-server %s (appendonly yes, appendfsync everysec); %d CPUs, %s",
		lab.Thousands(len(contacts)), len(camps), cfg.cps, cfg.maxLive, cfg.acctCPS, cfg.acctMaxLive, cfg.workers, cfg.concurrency, c.redis.Version, runtime.NumCPU(), runtime.Version())
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

// writeCampaigns splits contacts evenly among --campaigns campaigns, in order, and writes
// each one's campaign file and contact file into the temporary directory. Each campaign
// has --cps and --max-concurrent of its own, on the default account; their weights are
// 1, 2, 3, 1, …, so the account's limits are shared unevenly.
func (c *chaos) writeCampaigns(contacts []contact) ([]chaosCampaign, error) {
	n := c.cfg.campaigns
	camps := make([]chaosCampaign, n)
	for k := range camps {
		part := slices.Clone(contacts[k*len(contacts)/n : (k+1)*len(contacts)/n])
		for i := range part {
			part[i].row = i + 1
		}
		name := fmt.Sprintf("chaos-%d", k+1)
		cc := chaosCampaign{
			file: lab.Campaign{
				Name: name, CPS: c.cfg.cps, MaxLive: c.cfg.maxLive,
				MaxAttempts: maxAttempts, RetryOn: retryOn, RetryDelay: retryDelay,
				Poll: 250 * time.Millisecond, AnalysisWait: 3 * time.Second,
				Extra: fmt.Sprintf("weight: %d\n", k%3+1),
			},
			contacts:     part,
			campaignPath: filepath.Join(c.Dir, name+".yaml"),
			contactsPath: filepath.Join(c.Dir, name+".csv"),
		}
		if err := cc.file.Write(cc.campaignPath); err != nil {
			return nil, err
		}
		if err := writeContacts(cc.contactsPath, part); err != nil {
			return nil, err
		}
		camps[k] = cc
	}
	return camps, nil
}

// runCampaigns dials the campaigns once, per spec, in their own database: the account's
// limits set, a simulator scripted for contacts (all the campaigns' rows), --workers
// workers, the uploads, the kills and restarts of spec while they dial, the wait until
// every campaign is done, their reports and the simulator's dial log.
func (c *chaos) runCampaigns(ctx context.Context, contacts []contact, camps []chaosCampaign, spec runSpec) (*runResult, error) {
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
	if _, err := dialerCmd(ctx, c.Dialer, env, "account", "set", "default",
		"--cps", strconv.FormatFloat(cfg.acctCPS, 'f', -1, 64), "--max-calls", strconv.Itoa(cfg.acctMaxLive)); err != nil {
		return nil, err
	}
	p := newPool(c.Worker, env, logDir, "w", cfg.concurrency, func(format string, args ...any) {
		c.Progress(spec.name+": "+format, args...)
	})
	stopped := false
	defer func() {
		if !stopped {
			_ = p.Stop(10 * time.Second)
		}
	}()
	if err := p.Start(cfg.workers); err != nil {
		return nil, err
	}

	res := &runResult{campaigns: make([]campaignRun, len(camps))}
	var start time.Time
	for k, cc := range camps {
		out, err := dialerCmd(ctx, c.Dialer, env, "upload", "--campaign", cc.campaignPath, "--contacts", cc.contactsPath)
		if err != nil {
			return nil, err
		}
		lines := strings.Fields(out)
		if len(lines) == 0 {
			return nil, errors.New("dialer upload printed no campaign ID")
		}
		res.campaigns[k].id = lines[len(lines)-1]
		if k == 0 {
			start = time.Now()
		}
	}
	c.Progress("%s: campaigns %s uploaded; dialing with %d kills and %d Redis restarts to come", spec.name, strings.Join(res.ids(), ", "), spec.kills, spec.restarts)

	schedCtx, stopSchedule := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.schedule(ctx, schedCtx, p, spec, res) })
	rdb := c.redis.Client(spec.db)
	defer rdb.Close()
	res.slots = &slotMeter{slots: ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{}), store: campaign.NewStore(rdb), ids: res.ids(), sim: sim, killed: p.Killed}
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

	for k := range res.campaigns {
		cr := &res.campaigns[k]
		reportPath := filepath.Join(logDir, camps[k].file.Name+"-report.csv")
		attemptsPath := filepath.Join(logDir, camps[k].file.Name+"-attempts.csv")
		if _, err := dialerCmd(ctx, c.Dialer, env, "report", cr.id, "--raw", "--out", reportPath); err != nil {
			return nil, err
		}
		if _, err := dialerCmd(ctx, c.Dialer, env, "report", cr.id, "--raw", "--attempts", "--out", attemptsPath); err != nil {
			return nil, err
		}
		if cr.report, err = readFile(reportPath, readReport); err != nil {
			return nil, err
		}
		if cr.attempts, err = readFile(attemptsPath, readAttempts); err != nil {
			return nil, err
		}
		for i := range cr.attempts {
			cr.attempts[i].campaign = cr.id
		}
	}
	stopped = true
	res.stopErrs = p.Stop(20 * time.Second)
	res.unexpected, res.workers = p.UnexpectedExits(), p.Workers()
	res.dials, res.stats = sim.Dials(), sim.Stats()
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
func (c *chaos) schedule(ctx, schedCtx context.Context, p *lab.Pool, spec runSpec, res *runResult) {
	rng := rand.New(rand.NewPCG(c.cfg.seed, 0x5ced))
	for i, ev := range events(spec.kills, spec.restarts, spec.crashes) {
		wait := c.cfg.killEvery/2 + time.Duration(rng.Int64N(int64(c.cfg.killEvery)))
		if i == 0 {
			wait = max(wait, c.cfg.chaosAfter)
		}
		if clock.Sleep(schedCtx, wait) != nil {
			return
		}
		switch ev {
		case "kill":
			killed, repl, err := killRandom(p, rng)
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

// waitDone polls `dialer status --json` of each campaign not yet done every 0.5 s until
// every one is done or --deadline passes since start, and sets res.done, each campaign's
// done and res.took. Failed status calls (Redis restarting) are counted and retried. It
// reports progress every 10 s and returns an error only when ctx ends.
func (c *chaos) waitDone(ctx context.Context, env []string, name string, res *runResult, start time.Time) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	sts := make([]statusJSON, len(res.campaigns))
	for {
		left := 0
		for k := range res.campaigns {
			cr := &res.campaigns[k]
			if cr.done {
				continue
			}
			out, err := dialerCmd(ctx, c.Dialer, env, "status", cr.id, "--json")
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				res.statusErrors++
			default:
				if err := json.Unmarshal([]byte(out), &sts[k]); err != nil {
					return fmt.Errorf("dialer status --json: %w: %s", err, out)
				}
				cr.done = sts[k].Done
			}
			if !cr.done {
				left++
			}
		}
		if left == 0 {
			res.done, res.took = true, time.Since(start)
			return nil
		}
		if time.Since(start) > c.cfg.deadline {
			res.took = time.Since(start)
			return nil
		}
		if time.Since(lastReport) >= 10*time.Second {
			var sum statusJSON
			for _, st := range sts {
				sum.Finished, sum.Total, sum.LiveCalls, sum.Attempts = sum.Finished+st.Finished, sum.Total+st.Total, sum.LiveCalls+st.LiveCalls, sum.Attempts+st.Attempts
			}
			c.Progress("%s: %d of %d rows finished (%d of %d campaigns done), %d live calls, %d attempts, %s",
				name, sum.Finished, sum.Total, len(sts)-left, len(sts), sum.LiveCalls, sum.Attempts, minutes(time.Since(start)))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
