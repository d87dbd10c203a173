package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// asynq v0.26's recovery of a task whose worker died, none of which the dialer configures
// (see the command's doc comment for how they add up).
const (
	asynqLease        = 30 * time.Second       // internal/rdb.LeaseDuration
	asynqHeartbeat    = 5 * time.Second        // the heartbeater's interval, which extends leases
	recovererMargin   = 30 * time.Second       // recoverer.go: leases that ran out at least this long ago
	recovererInterval = time.Minute            // server.go: the recoverer's interval
	firstRetryMax     = 2 * time.Second        // queue's backoff for a first failure: 1–2 s
	forwarderInterval = time.Second            // queue.NewServer's DelayedTaskCheckInterval
	taskCheck         = 200 * time.Millisecond // queue.NewServer's TaskCheckInterval
)

// resumeBound and resumeFloor bound the time from a worker's death to another worker
// resuming its task.
const (
	resumeBound = asynqLease + recovererMargin + recovererInterval + firstRetryMax + forwarderInterval + taskCheck
	resumeFloor = asynqLease - asynqHeartbeat + recovererMargin
)

// longRun is one campaign of the long-call scenario: its simulator, workers and Redis.
type longRun struct {
	name  string
	id    string
	env   []string
	sim   *simulator.Server
	pool  *pool
	rdb   *redis.Client
	slots *ratelimit.Semaphore // only to read the leases of slots
	store *campaign.Store
	close func()
}

// startLongRun starts a simulator whose completed calls talk for talk, the campaign file
// (maxConcurrentCalls 1) with the given numbers and scripts in database db, and two workers
// named name-w1 and name-w2.
func (c *chaos) startLongRun(ctx context.Context, file lab.Campaign, db int, talk time.Duration, numbers []string, scripts [][]string) (_ *longRun, err error) {
	name := file.Name
	r := &longRun{name: name}
	var closers []func()
	r.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	script := map[string][]string{}
	for i, n := range numbers {
		script[n] = scripts[i]
	}
	r.sim, err = simulator.New(simulator.Config{
		APIKey: simAPIKey, Script: script, Seed: int64(c.cfg.seed),
		RingMin: time.Second, TalkMin: talk, AnalysisDelay: 500 * time.Millisecond,
	})
	if err != nil {
		return nil, err
	}
	apiURL, stopAPI, err := lab.ServeLoopback(r.sim, nil)
	if err != nil {
		return nil, fmt.Errorf("serve the simulator: %w", err)
	}
	closers = append(closers, stopAPI)

	dir := filepath.Join(c.Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	campaignPath, contactsPath := filepath.Join(dir, name+".yaml"), filepath.Join(dir, name+".csv")
	if err := file.Write(campaignPath); err != nil {
		return nil, err
	}
	var csv strings.Builder
	csv.WriteString("name,phone\n")
	for i, n := range numbers {
		fmt.Fprintf(&csv, "Patient %d,%s\n", i+1, n)
	}
	if err := os.WriteFile(contactsPath, []byte(csv.String()), 0o600); err != nil {
		return nil, err
	}

	r.env = lab.Env(c.redis.URL(db), apiURL, simAPIKey)
	r.rdb = c.redis.Client(db)
	r.slots = ratelimit.NewSemaphore(r.rdb, ratelimit.SemaphoreConfig{})
	closers = append(closers, func() { r.rdb.Close() })
	r.store = campaign.NewStore(r.rdb)
	r.pool = newPool(c.Worker, r.env, dir, name+"-w", 10, func(format string, args ...any) {
		c.Progress(name+": "+format, args...)
	})
	closers = append(closers, func() { _ = r.pool.stop(10 * time.Second) })
	if err := r.pool.start(2); err != nil {
		return nil, err
	}
	out, err := dialerCmd(ctx, c.Dialer, r.env, "upload", "--campaign", campaignPath, "--contacts", contactsPath)
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(out)
	if len(lines) == 0 {
		return nil, errors.New("dialer upload printed no campaign ID")
	}
	r.id = lines[len(lines)-1]
	return r, nil
}

// taskID is the dial task of attempt 1 of row 1, which is also its slot's holder.
func (r *longRun) taskID() string {
	return queue.DialTask{CampaignID: r.id, ContactID: 1, Attempt: 1}.TaskID()
}

// waitLive waits until row 1's first attempt has a live call and returns when it was seen
// live and which worker dialed it (from the workers' "dialing" log lines).
func (r *longRun) waitLive(ctx context.Context) (time.Time, string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		a, err := r.store.Attempt(ctx, r.id, 1, 1)
		if err != nil {
			return time.Time{}, "", err
		}
		if a.State == campaign.AttemptLive {
			at := time.Now()
			for _, w := range r.pool.procs() {
				if _, ok := logEvent(w.logPath, "dialing", r.taskID()); ok {
					return at, w.name, nil
				}
			}
			return time.Time{}, "", fmt.Errorf("%s: the call of %s is live, but no worker logged dialing it", r.name, r.taskID())
		}
		if time.Now().After(deadline) {
			return time.Time{}, "", fmt.Errorf("%s: no live call of %s after 2 minutes", r.name, r.taskID())
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return time.Time{}, "", err
		}
	}
}

// status reads `dialer status --json` of the run's campaign.
func (r *longRun) status(ctx context.Context, dialer string) (done bool, outcomes map[string]int, err error) {
	out, err := dialerCmd(ctx, dialer, r.env, "status", r.id, "--json")
	if err != nil {
		return false, nil, err
	}
	var st struct {
		Done     bool           `json:"done"`
		Outcomes map[string]int `json:"outcomes"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return false, nil, fmt.Errorf("dialer status --json: %w: %s", err, out)
	}
	return st.Done, st.Outcomes, nil
}

// dialsOf returns the simulator's dials whose metadata carries idempotency key key.
func (r *longRun) dialsOf(key string) []simulator.Dial {
	var out []simulator.Dial
	for _, d := range r.sim.Dials() {
		if k, _ := d.Metadata["idempotencyKey"].(string); k == key {
			out = append(out, d)
		}
	}
	return out
}

// logEvent returns the time of the first line of the worker log at path with message msg
// about task, and whether there is one. The time is the line's own time= field; it is zero
// when that cannot be read.
func logEvent(path, msg, task string) (time.Time, bool) {
	var at time.Time
	found := false
	_ = scanLog(path, func(l logLine) bool {
		if l.msg == msg && l.task == task {
			at, found = l.at, true
			return false
		}
		return true
	})
	return at, found
}

// logLine is what the chaos command reads of a worker's log line.
type logLine struct {
	at   time.Time // time=
	msg  string    // msg=, unquoted
	task string    // task=, "" when the line has none
}

// scanLog calls fn with each line of the worker log at path, as slog's text handler writes
// them, until fn returns false.
func scanLog(path string, fn func(logLine) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if !fn(parseLogLine(sc.Text())) {
			return nil
		}
	}
	return sc.Err()
}

// parseLogLine reads the time, msg and task fields of a slog text line.
func parseLogLine(line string) logLine {
	var l logLine
	if v, ok := strings.CutPrefix(line, "time="); ok {
		ts, _, _ := strings.Cut(v, " ")
		l.at, _ = time.Parse(time.RFC3339Nano, ts)
	}
	if _, v, ok := strings.Cut(line, " msg="); ok {
		if q, err := strconv.QuotedPrefix(v); err == nil {
			l.msg, _ = strconv.Unquote(q)
		} else {
			l.msg, _, _ = strings.Cut(v, " ")
		}
	}
	if _, v, ok := strings.Cut(line, " task="); ok {
		l.task, _, _ = strings.Cut(v, " ")
	}
	return l
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// holdResult is what case (a) saw.
type holdResult struct {
	holder        string
	call          simulator.Dial // the long call
	dials         int            // dials of its attempt
	leaseExtended int            // times its asynq lease moved while the call was live
	slotRenewed   int            // times its slot's lease moved while the call was live
	samples, held int            // slot samples before the call's end, and those held
	otherResumed  bool           // the other worker logged resuming it
	otherDialed   bool           // the other worker logged dialing it
	// before, during and after count the dials of the other contact, busy every time, by
	// when they began: before the long call, during it (never), after its end.
	before, during, after int
	firstAfter            time.Duration // from the long call's end to the first dial after it
	peakLive              int
	outcomes              map[string]int
	done                  bool
	unexpectedExit        []string // workers that exited by themselves, or not cleanly at the end
}

// holdCase runs case (a): a --hold-call call followed by a worker that lives, with a second
// contact waiting for the one slot. The second contact is busy every time and dialed twice,
// 1 s apart: whichever contact is dialed first, one of its dials falls due during the long
// call and must wait for the call's end.
func (c *chaos) holdCase(ctx context.Context) (*holdResult, error) {
	const name = "hold"
	file := lab.Campaign{Name: name, CPS: 1, MaxLive: 1, MaxAttempts: 2, RetryOn: []string{"busy"}, RetryDelay: time.Second,
		Poll: time.Second, AnalysisWait: 5 * time.Second}
	r, err := c.startLongRun(ctx, file, 2, c.cfg.holdCall,
		[]string{numberOf(0), numberOf(1)}, [][]string{{"completed"}, {"busy"}})
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &holdResult{}
	_, holder, err := r.waitLive(ctx)
	if err != nil {
		return nil, err
	}
	res.holder = holder
	task := r.taskID()
	c.Progress("%s: call of %s live, followed by %s; sampling its leases every 0.5 s for %s", name, task, holder, c.cfg.holdCall)
	dials := r.dialsOf(task)
	if len(dials) == 0 {
		return nil, fmt.Errorf("%s: the simulator has no dial of %s", name, task)
	}
	end := dials[0].EndAt
	var lastLease, lastSlot time.Time
	deadline := end.Add(2 * time.Minute)
	for {
		now := time.Now()
		if now.Before(end) {
			exp, ok, err := queue.TaskLease(ctx, r.rdb, task)
			if err != nil {
				return nil, err
			}
			if ok && !exp.Equal(lastLease) {
				if !lastLease.IsZero() {
					res.leaseExtended++
				}
				lastLease = exp
			}
			slotExp, held, err := r.slots.Lease(ctx, campaign.SlotsKey(r.id), task)
			if err != nil {
				return nil, err
			}
			// A sample only counts if the call was still live after it was read.
			if time.Now().Before(end) {
				res.samples++
				if held {
					res.held++
				}
			}
			if held && !slotExp.Equal(lastSlot) {
				if !lastSlot.IsZero() {
					res.slotRenewed++
				}
				lastSlot = slotExp
			}
		} else {
			done, outcomes, err := r.status(ctx, c.Dialer)
			if err == nil && done {
				res.done, res.outcomes = true, outcomes
				break
			}
			if now.After(deadline) {
				break
			}
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
	res.unexpectedExit = stopPool(r.pool)
	all := r.dialsOf(task)
	res.dials, res.call = len(all), all[0]
	res.peakLive = r.sim.Stats().PeakLiveCalls
	for _, d := range r.sim.Dials() {
		switch {
		case d.Number != numberOf(1):
		case d.At.Before(res.call.At):
			res.before++
		case d.At.Before(res.call.EndAt):
			res.during++
		default:
			if res.after == 0 {
				res.firstAfter = d.At.Sub(res.call.EndAt)
			}
			res.after++
		}
	}
	for _, w := range r.pool.procs() {
		if w.name == holder {
			continue
		}
		if _, ok := logEvent(w.logPath, "resuming live call", task); ok {
			res.otherResumed = true
		}
		if _, ok := logEvent(w.logPath, "dialing", task); ok {
			res.otherDialed = true
		}
	}
	return res, nil
}

// killResult is what case (b) saw.
type killResult struct {
	holder, resumer    string
	call               simulator.Dial
	dials              int
	liveAt, killAt     time.Time
	leaseAtKill        time.Time // when the task's asynq lease was to run out, as of the kill
	slotAtKill         time.Time // when the slot's lease was to run out, as of the kill
	recoveredAt        time.Time // the task left the active state: asynq's recoverer took it
	resumedAt          time.Time // "resuming live call" in another worker's log
	slotReheldAt       time.Time // the slot's lease moved past slotAtKill: renewed by the resumer
	slotFreedAt        time.Time // the slot's lease ran out first
	outcomes           map[string]int
	done               bool
	unexpectedExit     []string // workers that exited by themselves, or not cleanly at the end
	heldBeforeResuming bool     // the slot was held at every sample from the kill to the resume
}

// killCase runs case (b): the worker following a --kill-call call is killed with SIGKILL
// 10 s into it and replaced at once; it times asynq's recovery and the slot.
func (c *chaos) killCase(ctx context.Context) (*killResult, error) {
	const name = "kill"
	file := lab.Campaign{Name: name, CPS: 1, MaxLive: 1, MaxAttempts: 1, Poll: time.Second, AnalysisWait: 5 * time.Second}
	r, err := c.startLongRun(ctx, file, 3, c.cfg.killCall, []string{numberOf(2)}, [][]string{{"completed"}})
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &killResult{heldBeforeResuming: true}
	task := r.taskID()
	if res.liveAt, res.holder, err = r.waitLive(ctx); err != nil {
		return nil, err
	}
	c.Progress("%s: call of %s live, followed by %s; killing it in 10 s", name, task, res.holder)
	if err := sleepCtx(ctx, 10*time.Second); err != nil {
		return nil, err
	}
	lease, ok, err := queue.TaskLease(ctx, r.rdb, task)
	if err != nil || !ok {
		return nil, fmt.Errorf("%s: no asynq lease on %s before the kill (err %v)", name, task, err)
	}
	slot, held, err := r.slots.Lease(ctx, campaign.SlotsKey(r.id), task)
	if err != nil || !held {
		return nil, fmt.Errorf("%s: the slot of %s is not held before the kill (err %v)", name, task, err)
	}
	res.leaseAtKill, res.slotAtKill = lease, slot
	res.killAt = time.Now()
	if err := r.pool.kill(r.pool.byName(res.holder)); err != nil {
		return nil, err
	}
	repl, err := r.pool.startOne()
	if err != nil {
		return nil, err
	}
	c.Progress("%s: kill -9 %s; started %s; waiting for asynq to hand the task on (within ≈%s)", name, res.holder, repl.name, seconds(resumeBound))

	insp := asynq.NewInspectorFromRedisClient(r.rdb)
	dials := r.dialsOf(task)
	if len(dials) == 0 {
		return nil, fmt.Errorf("%s: the simulator has no dial of %s", name, task)
	}
	end := dials[0].EndAt
	deadline := maxTime(end, res.killAt.Add(resumeBound)).Add(2 * time.Minute)
	for {
		now := time.Now()
		if res.recoveredAt.IsZero() {
			info, err := insp.GetTaskInfo(queue.Name, task)
			if err == nil && info.State != asynq.TaskStateActive {
				res.recoveredAt = now
				c.Progress("%s: asynq recovered %s %s after the kill (now %s)", name, task, seconds(now.Sub(res.killAt)), info.State)
			}
		}
		if res.resumedAt.IsZero() {
			for _, w := range r.pool.procs() {
				if w.name == res.holder {
					continue
				}
				if at, ok := logEvent(w.logPath, "resuming live call", task); ok {
					res.resumedAt, res.resumer = at, w.name
					if at.IsZero() {
						res.resumedAt = now
					}
					c.Progress("%s: %s resumed the call %s after the kill", name, w.name, seconds(res.resumedAt.Sub(res.killAt)))
				}
			}
		}
		if res.slotReheldAt.IsZero() && res.slotFreedAt.IsZero() {
			exp, held, err := r.slots.Lease(ctx, campaign.SlotsKey(r.id), task)
			switch {
			case err != nil:
			case held && exp.After(res.slotAtKill):
				res.slotReheldAt = now
			case !held:
				res.slotFreedAt = now
				if res.resumedAt.IsZero() {
					res.heldBeforeResuming = false
				}
			}
		}
		if !res.resumedAt.IsZero() && now.After(end) {
			done, outcomes, err := r.status(ctx, c.Dialer)
			if err == nil && done {
				res.done, res.outcomes = true, outcomes
				break
			}
		}
		if now.After(deadline) {
			break
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
	insp.Close()
	res.unexpectedExit = stopPool(r.pool)
	all := r.dialsOf(task)
	res.dials, res.call = len(all), all[0]
	return res, nil
}

// stopPool stops p's workers and returns why any exited by themselves, or did not stop
// cleanly.
func stopPool(p *pool) []string {
	problems := p.unexpectedExits()
	for _, err := range p.stop(20 * time.Second) {
		problems = append(problems, err.Error())
	}
	return problems
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// longCall runs cases (a) and (b) side by side and prints their figures.
func (c *chaos) longCall(ctx context.Context, stdout io.Writer) error {
	c.Progress("long-call: (a) a %s call followed by a living worker, (b) the worker of a %s call killed 10 s into it; about %s",
		c.cfg.holdCall, c.cfg.killCall, minutes(max(c.cfg.holdCall, c.cfg.killCall+10*time.Second)+20*time.Second))
	var (
		wg         sync.WaitGroup
		hold       *holdResult
		kill       *killResult
		errA, errB error
	)
	wg.Go(func() { hold, errA = c.holdCase(ctx) })
	wg.Go(func() { kill, errB = c.killCase(ctx) })
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		return err
	}
	figs := longCallFigures(hold, kill)
	header := fmt.Sprintf("dialer long-call: asynq task lease %s (extended every %s), slot lease %s (renewed every %s); redis-server %s",
		asynqLease, asynqHeartbeat, slotLeaseDuration(), slotLeaseDuration()/3, c.redis.Version)
	if err := lab.PrintFigures(stdout, header, figs); err != nil {
		return err
	}
	var problems []string
	problems = append(problems, hold.unexpectedExit...)
	problems = append(problems, kill.unexpectedExit...)
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "\nproblems:\n  %s\n", strings.Join(problems, "\n  "))
	}
	if brokenFigures(figs) > 0 || len(problems) > 0 {
		return errBroken
	}
	return nil
}

// slotLeaseDuration is the concurrency slot's lease the workers use: the default.
func slotLeaseDuration() time.Duration { return ratelimit.SemaphoreConfig{}.WithDefaults().Lease }

// longCallFigures turns cases (a) and (b) into the results table.
func longCallFigures(a *holdResult, b *killResult) []lab.Figure {
	callLen := func(d simulator.Dial) string { return seconds(d.EndAt.Sub(d.At)) }
	since := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return seconds(t.Sub(b.killAt)) + " after the kill"
	}
	second := fmt.Sprintf("%d before, %d during, %d after it", a.before, a.during, a.after)
	if a.after > 0 {
		second += fmt.Sprintf(" (the first %s after its end)", seconds(a.firstAfter))
	}
	figs := []lab.Figure{
		{Measure: "(a) call length", Value: callLen(a.call), Note: "from Connect Call to the end the simulator planned for it; maxConcurrentCalls 1, two workers"},
		{Measure: "(a) asynq lease extensions", Value: fmt.Sprintf("%d (lease %s)", a.leaseExtended, asynqLease),
			Note: "times the task's expiry in asynq's lease set moved while the call was live: its worker's heartbeat, every 5 s"},
		{Measure: "(a) slot lease renewals", Value: fmt.Sprintf("%d (lease %s)", a.slotRenewed, slotLeaseDuration()),
			Note: "times the expiry of the task's slot moved while the call was live: the worker's KeepAlive, every Lease/3"},
		{Measure: "(a) slot held", Value: fmt.Sprintf("%d of %d samples", a.held, a.samples), Target: "all", Met: verdict(a.samples > 0 && a.held == a.samples),
			Note: "the task's lease in the campaign's slot set, unexpired by Redis time, every 0.5 s from the call being live to its end"},
		{Measure: "(a) dials of the attempt", Value: fmt.Sprint(a.dials), Target: "1", Met: verdict(a.dials == 1), Note: "in the simulator's dial log, by idempotency key"},
		{Measure: "(a) run by the other worker", Value: yesNo(a.otherResumed || a.otherDialed), Target: "no", Met: verdict(!a.otherResumed && !a.otherDialed),
			Note: fmt.Sprintf(`"resuming live call" or "dialing" for the task in a log other than %s's`, a.holder)},
		{Measure: "(a) the other contact's dials", Value: second, Target: "none during, 1 or 2 after", Met: verdict(a.during == 0 && a.after > 0),
			Note: "a contact of the same campaign, busy every time and dialed twice 1 s apart, so one of its dials falls due during the long call: it waits for the one slot"},
		{Measure: "(a) peak live calls", Value: fmt.Sprint(a.peakLive), Target: "≤ 1", Met: verdict(a.peakLive <= 1)},
		{Measure: "(a) outcomes", Value: formatOutcomes(a.outcomes), Target: "completed 1, busy 1",
			Met: verdict(a.done && a.outcomes["completed"] == 1 && a.outcomes["busy"] == 1 && len(a.outcomes) == 2)},

		{Measure: "(b) call length", Value: callLen(b.call), Note: fmt.Sprintf("killed %s into the call; a new worker started at once", seconds(b.killAt.Sub(b.liveAt)))},
		{Measure: "(b) asynq lease ran out", Value: since(b.leaseAtKill), Target: "≤ " + seconds(asynqLease), Met: boundVerdict(b.leaseAtKill, b.killAt, asynqLease),
			Note: "the task's expiry in asynq's lease set at the kill (whole seconds)"},
		{Measure: "(b) task recovered by asynq", Value: since(b.recoveredAt), Target: fmt.Sprintf("%s–%s", seconds(resumeFloor), seconds(resumeBound-forwarderInterval-taskCheck)),
			Met: boundVerdict(b.recoveredAt, b.killAt, resumeBound), Note: "first sample (every 0.25 s) where asynq no longer had the task active"},
		{Measure: "(b) call resumed", Value: since(b.resumedAt) + byWorker(b.resumer), Target: fmt.Sprintf("%s–%s", seconds(resumeFloor), seconds(resumeBound)),
			Met: boundVerdict(b.resumedAt, b.killAt, resumeBound), Note: `the time= of "resuming live call" for the task in another worker's log`},
		{Measure: "(b) resumed while the call was live", Value: yesNo(!b.resumedAt.IsZero() && b.resumedAt.Before(b.call.EndAt)), Target: "yes",
			Met: verdict(!b.resumedAt.IsZero() && b.resumedAt.Before(b.call.EndAt))},
		{Measure: "(b) slot lease left at the kill", Value: seconds(b.slotAtKill.Sub(b.killAt)), Target: fmt.Sprintf("%s–%s", seconds(slotLeaseDuration()*2/3), seconds(slotLeaseDuration())),
			Note: "the slot would have been free again this long after the kill had nobody resumed the call"},
	}
	slot := lab.Figure{Measure: "(b) slot re-held", Value: since(b.slotReheldAt) + byWorker(b.resumer), Target: "by the resume, before the lease runs out",
		Met: verdict(!b.slotReheldAt.IsZero() && b.heldBeforeResuming), Note: "first sample where the slot's expiry moved past its value at the kill"}
	if !b.slotFreedAt.IsZero() {
		slot.Value = "ran out " + since(b.slotFreedAt) + ", before the resume"
	}
	figs = append(figs, slot,
		lab.Figure{Measure: "(b) dials of the attempt", Value: fmt.Sprint(b.dials), Target: "1", Met: verdict(b.dials == 1), Note: "in the simulator's dial log, by idempotency key"},
		lab.Figure{Measure: "(b) outcome", Value: formatOutcomes(b.outcomes), Target: "completed 1", Met: verdict(b.done && b.outcomes["completed"] == 1 && len(b.outcomes) == 1)},
	)
	return figs
}

// boundVerdict is "met" when t came within bound of from, "over" otherwise (a finding
// about the bound, not a broken promise), and "BROKEN" when it never came.
func boundVerdict(t, from time.Time, bound time.Duration) string {
	switch {
	case t.IsZero():
		return verdict(false)
	case t.Sub(from) <= bound:
		return "met"
	}
	return "over"
}

// formatOutcomes writes outcome counts as "completed 1, busy 1", in the order of
// campaign.Outcomes; "none" when there are none.
func formatOutcomes(m map[string]int) string {
	var parts []string
	for _, o := range campaign.Outcomes {
		if n, ok := m[string(o)]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
	}
	for o, n := range m {
		if !slices.Contains(campaign.Outcomes, campaign.Outcome(o)) {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func byWorker(name string) string {
	if name == "" {
		return ""
	}
	return ", by " + name
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
