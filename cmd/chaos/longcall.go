package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/simulator"
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
	pool  *lab.Pool
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
	closers = append(closers, func() { _ = r.pool.Stop(10 * time.Second) })
	if err := r.pool.Start(2); err != nil {
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
	return campaign.AttemptRef{CampaignID: r.id, ContactID: 1, Attempt: 1}.String()
}

// waitLive waits until row 1's first attempt has a live call and returns when it was seen
// live and which worker dialed it (from the workers' "dialing" log lines).
func (r *longRun) waitLive(ctx context.Context) (time.Time, string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		a, err := r.store.Attempt(ctx, campaign.AttemptRef{CampaignID: r.id, ContactID: 1, Attempt: 1})
		if err != nil {
			return time.Time{}, "", err
		}
		if a.State == campaign.AttemptLive {
			at := time.Now()
			for _, w := range r.pool.Workers() {
				if _, ok := logEvent(w.LogPath, "dialing", r.taskID()); ok {
					return at, w.Name, nil
				}
			}
			return time.Time{}, "", fmt.Errorf("%s: the call of %s is live, but no worker logged dialing it", r.name, r.taskID())
		}
		if time.Now().After(deadline) {
			return time.Time{}, "", fmt.Errorf("%s: no live call of %s after 2 minutes", r.name, r.taskID())
		}
		if err := clock.Sleep(ctx, 100*time.Millisecond); err != nil {
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

// longEnd is how a long-call case ended, recorded alike in both cases.
type longEnd struct {
	call           simulator.Dial // the long call
	dials          int            // dials of its attempt
	outcomes       map[string]int // the campaign's outcomes, once done
	done           bool           // dialer status said the campaign done
	unexpectedExit []string       // workers that exited by themselves, or not cleanly at the end
}

// pollDone asks dialer status whether the run's campaign is done and, when it is, records
// that and its outcomes in end. A status that fails counts as not done yet.
func (r *longRun) pollDone(ctx context.Context, dialer string, end *longEnd) bool {
	done, outcomes, err := r.status(ctx, dialer)
	if err == nil && done {
		end.done, end.outcomes = true, outcomes
	}
	return end.done
}

// finish ends the run's case: it stops the workers, noting in end those that exited by
// themselves or did not stop cleanly, and records the dials of task, the first being the
// long call.
func (r *longRun) finish(task string, end *longEnd) {
	end.unexpectedExit = stopPool(r.pool)
	all := r.dialsOf(task)
	end.dials, end.call = len(all), all[0]
}

// stopPool stops p's workers and returns why any exited by themselves, or did not stop
// cleanly.
func stopPool(p *lab.Pool) []string {
	problems := p.UnexpectedExits()
	for _, err := range p.Stop(20 * time.Second) {
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
