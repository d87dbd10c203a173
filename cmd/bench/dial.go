package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/redis/go-redis/v9"
)

// pollInterval is the dial campaigns' poll.interval: how often a worker asks Get Call about
// a live call, and so how late, on average half of it, a worker sees a call end.
const pollInterval = 200 * time.Millisecond

// analysisDelay is how long after a call ends the simulator fills in its analysis. A
// worker records a completed call only with its analysis, so it holds the call's
// concurrency slot until then.
const analysisDelay = 100 * time.Millisecond

// simAPIKey is the API key the simulator expects and the workers send.
const simAPIKey = "bench-key"

// dialScenario is one campaign of the dial benchmark and the calls the simulator makes of
// its dials. Every call is answered and completed, so every contact is dialed exactly once.
type dialScenario struct {
	name     string
	cps      float64 // rateLimit.callsPerSecond
	maxLive  int     // rateLimit.maxConcurrentCalls
	contacts int
	// ring and talk bound the simulated ring and conversation times, drawn uniformly.
	ring, talk [2]time.Duration
	// poll is the campaign's poll.interval: how often a worker asks Get Call about a live
	// call, and so how late, without webhooks, it sees the call end.
	poll time.Duration
}

// expected is how long the scenario should take at best: bound by the rate or by the cap.
func (sc dialScenario) expected() time.Duration {
	byRate := time.Duration(min(float64(sc.contacts)/sc.cps, 1e9) * float64(time.Second)) // at most ~31 years: no overflow
	meanCall := (sc.ring[0] + sc.ring[1] + sc.talk[0] + sc.talk[1]) / 2
	byCap := meanCall * time.Duration(sc.contacts) / time.Duration(sc.maxLive)
	return max(byRate, byCap)
}

// simConfig returns the simulator configuration of the scenario.
func (sc dialScenario) simConfig() simulator.Config {
	return simulator.Config{
		APIKey:  simAPIKey,
		Mix:     map[string]float64{simulator.OutcomeCompleted: 1},
		RingMin: sc.ring[0], RingMax: sc.ring[1],
		TalkMin: sc.talk[0], TalkMax: sc.talk[1],
		AnalysisDelay: analysisDelay,
		Seed:          1,
	}
}

// dialResult is what the simulator saw of one scenario.
type dialResult struct {
	dials []simulator.Dial
	stats simulator.Stats
	took  time.Duration // from the end of the upload to Status.Done
	id    string        // the campaign's ID
	// redisCommands and redisCPU are what Redis ran and spent (seconds) over the same time,
	// for every client.
	redisCommands int64
	redisCPU      float64
}

// simSwitch serves the API of the current simulator, so that one set of worker processes
// can dial campaigns against differently configured simulators in turn.
type simSwitch struct {
	cur atomic.Pointer[simulator.Server]
}

// ServeHTTP hands r to the current simulator, or answers 503 when there is none.
func (s *simSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sim := s.cur.Load()
	if sim == nil {
		http.Error(w, "no simulator yet", http.StatusServiceUnavailable)
		return
	}
	sim.ServeHTTP(w, r)
}

// workerEnv is the environment of worker processes dialing the simulator at apiURL with
// database db.
func (b *bench) workerEnv(db int, apiURL string) []string {
	return lab.Env(b.redis.url(db), apiURL, simAPIKey)
}

// benchDial runs the dial-rate and the concurrency campaigns, one after the other, with
// --workers worker processes against the in-process simulator, and measures from the
// simulator's dial log how well each limit is used and kept.
func (b *bench) benchDial(ctx context.Context) ([]lab.Figure, error) {
	rate := dialScenario{
		name: "bench-rate", cps: 20, maxLive: 200, contacts: b.cfg.dialContacts,
		ring: [2]time.Duration{300 * time.Millisecond, 600 * time.Millisecond},
		talk: [2]time.Duration{500 * time.Millisecond, 1500 * time.Millisecond},
		poll: pollInterval,
	}
	capped := b.cappedScenario("bench-cap", pollInterval)

	rdb, err := b.redis.open(ctx, dbDial)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()

	sw := &simSwitch{}
	apiURL, stopAPI, err := lab.ServeLoopback(sw, nil)
	if err != nil {
		return nil, fmt.Errorf("serve the simulator: %w", err)
	}
	defer stopAPI()

	b.Progress("dial: starting %d worker processes", b.cfg.workers)
	pool, err := startWorkers(b.Worker, b.cfg.workers, b.workerEnv(dbDial, apiURL))
	if err != nil {
		return nil, err
	}
	defer pool.Stop(10 * time.Second)

	results := map[string]*dialResult{}
	for _, sc := range []dialScenario{rate, capped} {
		sim, err := simulator.New(sc.simConfig())
		if err != nil {
			return nil, err
		}
		res, err := b.dialCampaign(ctx, "dial", rdb, dbDial, sw, sim, pool, sc, 2*time.Second)
		if err != nil {
			return nil, err
		}
		results[sc.name] = res
	}
	b.Progress("dial: stopping the workers (SIGTERM)")
	if err := errors.Join(pool.Stop(20 * time.Second)...); err != nil {
		return nil, err
	}
	if logs := pool.LogLines(); len(logs) > 0 {
		b.Progress("dial: the workers logged %d warnings or errors; the first: %s", len(logs), logs[0])
	}

	figs, err := rateFigures(rate, results[rate.name], b.cfg.workers)
	if err != nil {
		return nil, err
	}
	capFigs, err := capFigures(capped, results[capped.name])
	if err != nil {
		return nil, err
	}
	figs = append(figs, capFigs...)

	doubles, dials := 0, 0
	for _, res := range results {
		dials += res.stats.Dials
		for _, n := range res.stats.DialsByKey {
			if n > 1 {
				doubles += n - 1
			}
		}
	}
	figs = append(figs, lab.Figure{
		Measure: "double dials",
		Value:   fmt.Sprintf("%d of %s dials", doubles, lab.Thousands(dials)),
		Target:  "0",
		Met:     verdict(doubles == 0),
		Note:    "dials beyond the first of one idempotency key (campaign:contact:attempt) on the simulator, both campaigns",
	})
	return figs, nil
}

// cappedScenario is the concurrency scenario: --cap-contacts contacts, at most 20 calls of
// 2–4 s live at once, callsPerSecond 50 so that only the cap binds, poll.interval poll.
func (b *bench) cappedScenario(name string, poll time.Duration) dialScenario {
	return dialScenario{
		name: name, cps: 50, maxLive: 20, contacts: b.cfg.capContacts,
		ring: [2]time.Duration{500 * time.Millisecond, 1000 * time.Millisecond},
		talk: [2]time.Duration{1500 * time.Millisecond, 3000 * time.Millisecond},
		poll: poll,
	}
}

// dialCampaign uploads scenario sc's campaign into database db (rdb) with poll.analysisWait
// analysisWait, has sw serve sim, and waits until the workers of pool have finished it. It
// returns what sim saw and what Redis ran and spent meanwhile. label starts its progress
// lines. It does not Close sim.
func (b *bench) dialCampaign(ctx context.Context, label string, rdb *redis.Client, db int, sw *simSwitch, sim *simulator.Server, pool *lab.Pool, sc dialScenario, analysisWait time.Duration) (*dialResult, error) {
	sw.cur.Store(sim)
	b.Progress("%s: %s: %d contacts, callsPerSecond %g, maxConcurrentCalls %d, poll.interval %s (about %s)",
		label, sc.name, sc.contacts, sc.cps, sc.maxLive, sc.poll, sc.expected().Round(time.Second))
	u, err := b.runUpload(ctx, lab.Campaign{Name: sc.name, CPS: sc.cps, MaxLive: sc.maxLive, Poll: sc.poll, AnalysisWait: analysisWait}, sc.contacts, db)
	if err != nil {
		return nil, err
	}
	if err := checkUploaded(ctx, rdb, u.id, sc.contacts, false); err != nil {
		return nil, err
	}
	start := time.Now()
	redis0, err := redisCounters(ctx, rdb)
	if err != nil {
		return nil, err
	}
	// Without webhooks a call holds its slot until the next Get Call sees it over.
	timeout := 3*max(sc.expected(), time.Duration(sc.contacts)*(sc.ring[1]+sc.talk[1]+sc.poll)/time.Duration(sc.maxLive)) + 30*time.Second
	if err := b.waitDone(ctx, label, campaign.NewStore(rdb), u.id, timeout, pool); err != nil {
		return nil, fmt.Errorf("%s: %w", sc.name, err)
	}
	res := &dialResult{dials: sim.Dials(), stats: sim.Stats(), took: time.Since(start), id: u.id}
	redis1, err := redisCounters(ctx, rdb)
	if err != nil {
		return nil, err
	}
	used := redis1.since(redis0)
	res.redisCommands, res.redisCPU = used.commands, used.cpu
	if res.stats.Dials < sc.contacts {
		return nil, fmt.Errorf("%s: campaign done after %d dials, want at least %d", sc.name, res.stats.Dials, sc.contacts)
	}
	b.Progress("%s: %s: done in %s", label, sc.name, res.took.Round(100*time.Millisecond))
	return res, nil
}

// rateFigures measures the dial-rate scenario: the rate achieved and the most dials in any
// second.
func rateFigures(sc dialScenario, res *dialResult, workers int) ([]lab.Figure, error) {
	at := dialTimes(res.dials)
	achieved := achievedRate(at)
	window := res.stats.MaxDialsInOneSecond
	limit := int(math.Floor(sc.cps))
	opsPerDial := float64(res.redisCommands) / float64(len(at))
	opsPerCPUSecond := float64(res.redisCommands) / res.redisCPU
	return []lab.Figure{{
		Measure: fmt.Sprintf("dial rate at callsPerSecond %g", sc.cps),
		Value:   fmt.Sprintf("%.2f dials/s (%.1f%%)", achieved, 100*achieved/sc.cps),
		Target:  fmt.Sprintf("≥ %.2f dials/s (95%%)", 0.95*sc.cps),
		Met:     verdict(achieved >= 0.95*sc.cps),
		Note: fmt.Sprintf("(dials − 1) ÷ (last − first dial) on the simulator; %d contacts, %d worker processes, calls %s, maxConcurrentCalls %d so only the rate binds",
			len(at), workers, callLength(sc), sc.maxLive),
	}, {
		Measure: "Redis operations per dial attempt",
		Value:   fmt.Sprintf("%.0f", opsPerDial),
		Target:  "—",
		Met:     "",
		Note: fmt.Sprintf("INFO stats total_commands_processed over the dial-rate campaign (%s commands in %.0f s) ÷ its dials: every client's, %d workers' with asynq's polling and leases, and this bench's status reads",
			lab.Thousands(int(res.redisCommands)), res.took.Seconds(), workers),
	}, {
		Measure: "Redis CPU per dial attempt",
		Value:   fmt.Sprintf("%.2f ms", 1000*res.redisCPU/float64(len(at))),
		Target:  "—",
		Met:     "",
		Note:    "INFO cpu used_cpu_user + used_cpu_sys over the same time ÷ its dials",
	}, {
		Measure: "largest fleet one Redis serves",
		Value:   fmt.Sprintf("≈ %s dials/s per Redis core", lab.Thousands(int(opsPerCPUSecond/opsPerDial))),
		Target:  "—",
		Met:     "",
		Note: fmt.Sprintf("the operations one Redis core ran per second of its CPU over the same time (%s) ÷ the operations per dial attempt: the dial rate, across every worker, at which one core is busy; Redis runs commands on one core",
			lab.Thousands(int(opsPerCPUSecond))),
	}, {
		Measure: "most dials in any 1 s window",
		Value:   fmt.Sprint(window),
		Target:  fmt.Sprintf("≤ %d", limit),
		Met:     verdict(window <= limit),
		Note:    "most Connect Calls the simulator received in any window [t, t+1s) of the dial-rate campaign",
	}}, nil
}

// capFigures measures the concurrency scenario: the peak of live calls, and the mean of
// live calls while work was waiting as a share of the cap.
func capFigures(sc dialScenario, res *dialResult) ([]lab.Figure, error) {
	at := dialTimes(res.dials)
	if len(at) < 2 {
		return nil, fmt.Errorf("%s: %d dials, too few to measure", sc.name, len(at))
	}
	from, to := at[0], at[len(at)-1]
	mean := meanLive(res.dials, from, to)
	share := mean / float64(sc.maxLive)
	return []lab.Figure{{
		Measure: fmt.Sprintf("peak live calls at maxConcurrentCalls %d", sc.maxLive),
		Value:   fmt.Sprint(res.stats.PeakLiveCalls),
		Target:  fmt.Sprintf("≤ %d", sc.maxLive),
		Met:     verdict(res.stats.PeakLiveCalls <= sc.maxLive),
		Note: fmt.Sprintf("most calls live at one instant on the simulator, a call being live from Connect Call to its end; %d contacts, calls %s, callsPerSecond %g so the cap binds",
			len(at), callLength(sc), sc.cps),
	}, {
		Measure: "mean live calls while work waited",
		Value:   fmt.Sprintf("%.1f (%.1f%% of %d)", mean, 100*share, sc.maxLive),
		Target:  fmt.Sprintf("≥ %.1f (90%%)", 0.9*float64(sc.maxLive)),
		Met:     verdict(share >= 0.9),
		Note: fmt.Sprintf("time-weighted mean of live calls over the %.1f s from the first dial to the start of the last; the rest is slot time around calls: claim, token and Connect Call before, and up to one Get Call interval (%s) after, until the end is seen",
			to.Sub(from).Seconds(), sc.poll),
	}}, nil
}

// callLength describes the length of a scenario's calls, ring plus talk.
func callLength(sc dialScenario) string {
	lo, hi := sc.ring[0]+sc.talk[0], sc.ring[1]+sc.talk[1]
	return trimFloat(lo.Seconds()) + "–" + trimFloat(hi.Seconds()) + " s"
}

// waitDone polls the status of campaign id until it is done. It fails when timeout
// passes first, when a worker exits, or when ctx ends. It reports progress every 5 s, in
// lines that start with label.
func (b *bench) waitDone(ctx context.Context, label string, store *campaign.Store, id string, timeout time.Duration, pool *lab.Pool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		st, err := store.Status(ctx, id)
		if err != nil {
			return err
		}
		if st.Done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("campaign %s not done after %s: %d of %d finished, %d live calls, %d attempts\nworker logs:\n%s",
				id, timeout.Round(time.Second), st.Finished, st.Total, st.LiveCalls, st.Attempts, strings.Join(pool.LogLines(), "\n"))
		}
		if time.Since(lastReport) >= 5*time.Second {
			b.Progress("%s: %d of %d finished, %d live calls", label, st.Finished, st.Total, st.LiveCalls)
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-pool.Exited():
			return fmt.Errorf("a worker exited while campaign %s was dialing:\n%s", id, strings.Join(pool.LogLines(), "\n"))
		case <-tick.C:
		}
	}
}

// dialTimes returns when each dial began, in order.
func dialTimes(dials []simulator.Dial) []time.Time {
	at := make([]time.Time, len(dials))
	for i, d := range dials {
		at[i] = d.At
	}
	slices.SortFunc(at, time.Time.Compare)
	return at
}

// achievedRate returns the dials per second between the first and the last of at (sorted):
// len(at)−1 intervals over the time they span. It returns 0 for fewer than two dials.
func achievedRate(at []time.Time) float64 {
	if len(at) < 2 {
		return 0
	}
	span := at[len(at)-1].Sub(at[0])
	if span <= 0 {
		return math.Inf(1)
	}
	return float64(len(at)-1) / span.Seconds()
}

// meanLive returns the time-weighted mean number of calls live over [from, to], a call
// being live over [At, EndAt): the total overlap of the calls with the window divided by
// its length. A zero EndAt counts as still live at to. It returns 0 for an empty window.
func meanLive(dials []simulator.Dial, from, to time.Time) float64 {
	if !to.After(from) {
		return 0
	}
	var total time.Duration
	for _, d := range dials {
		end := d.EndAt
		if end.IsZero() || end.After(to) {
			end = to
		}
		start := d.At
		if start.Before(from) {
			start = from
		}
		if end.After(start) {
			total += end.Sub(start)
		}
	}
	return total.Seconds() / to.Sub(from).Seconds()
}

// startWorkers starts n worker processes of bin with env and the flags args, named bench-w1,
// bench-w2, …, logging warnings and errors only, in memory (lab.Pool.LogLines). When one
// cannot be started, it stops those started and returns the error.
func startWorkers(bin string, n int, env []string, args ...string) (*lab.Pool, error) {
	p := lab.NewPool(lab.PoolConfig{Bin: bin, Env: env, Prefix: "bench-w", Args: append([]string{"--log-level", "warn"}, args...)})
	if err := p.Start(n); err != nil {
		p.Stop(10 * time.Second)
		return nil, err
	}
	return p, nil
}
