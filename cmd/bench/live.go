package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/redis/go-redis/v9"
)

// liveScenario is one run of the live Measure: one worker process holding about calls live
// calls (their length set by sim), measured over a steady window once they are all up. A
// variant, such as webhookLive where the worker also learns of ends from webhooks, is another
// liveScenario in benchLive's list: another campaign file (campaign.Extra), other worker
// flags, another simulator configuration, a `dialer serve` receiving the webhooks.
type liveScenario struct {
	// name names the campaign and starts each figure, e.g. "live".
	name string
	// calls is the campaign's maxConcurrentCalls: the live calls the worker should hold.
	calls int
	// ramp is how long dialing calls calls takes at the campaign's callsPerSecond.
	ramp time.Duration
	// window is how long the steady state is measured.
	window time.Duration
	// campaign is the campaign file; its name, cps and maxLive are set from the above.
	campaign lab.Campaign
	// workerArgs are the worker's flags beyond --name and --log-level.
	workerArgs []string
	// sim configures the simulator the worker dials.
	sim simulator.Config
	// how says in one line how the worker learns that a call ended, for the figures' notes.
	how string
	// webhooks runs a `dialer serve` on the campaign's database and has the simulator post
	// its server messages there (sim.Webhooks is set then).
	webhooks bool
}

// liveWindow is how long the live measure's steady state is measured.
const liveWindow = time.Minute

// liveRamp is how long the live measure's campaign takes to dial its first calls calls.
const liveRamp = 20 * time.Second

// pollingLive is the live scenario of a worker that polls Get Call every 5 s (the campaign
// file's default) for each of --live-calls calls, run with --concurrency 10% above them.
func (b *bench) pollingLive() liveScenario {
	calls, talk := b.cfg.liveCalls, b.cfg.liveTalk
	return liveScenario{
		name: "live", calls: calls, ramp: liveRamp, window: liveWindow,
		campaign:   lab.Campaign{Poll: 5 * time.Second, AnalysisWait: 30 * time.Second},
		workerArgs: []string{"--concurrency", strconv.Itoa(calls + max(calls/10, 10))},
		sim: simulator.Config{
			APIKey:  simAPIKey,
			Mix:     map[string]float64{simulator.OutcomeCompleted: 1},
			RingMin: time.Second, RingMax: 2 * time.Second,
			TalkMin: talk - 5*time.Second, TalkMax: talk + 5*time.Second,
			AnalysisDelay: 500 * time.Millisecond,
			Seed:          1,
		},
		how: "Get Call every poll.interval 5s",
	}
}

// webhookLive is pollingLive with webhooks: a running `dialer serve` receives the
// simulator's server messages, so that the worker learns of each call's end at once, and
// still polls every 5 s.
func (b *bench) webhookLive() liveScenario {
	sc := b.pollingLive()
	sc.name = "live-webhooks"
	sc.webhooks = true
	sc.how = "Get Call every poll.interval 5s, and webhooks to a running dialer serve"
	return sc
}

// contacts is how many contacts keep sc's worker busy until the window ends: the first
// calls calls, and the ones that replace them over the ramp, the window and a margin.
func (sc liveScenario) contacts() int {
	talk := (sc.sim.TalkMin + sc.sim.TalkMax + sc.sim.RingMin + sc.sim.RingMax) / 2
	more := float64(sc.calls) * (sc.ramp + sc.window + time.Minute).Seconds() / talk.Seconds()
	return sc.calls + int(math.Ceil(more))
}

// benchLive runs each live scenario in turn.
func (b *bench) benchLive(ctx context.Context) ([]lab.Figure, error) {
	var figs []lab.Figure
	for _, sc := range []liveScenario{b.pollingLive(), b.webhookLive()} {
		f, err := b.runLive(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		figs = append(figs, f...)
	}
	return figs, nil
}

// liveSample is what the live measure reads at one instant.
type liveSample struct {
	at            time.Time
	workerCPU     time.Duration // the worker process's user + system CPU time
	benchCPU      time.Duration // this process's (the simulator's) user + system CPU time
	serveCPU      time.Duration // dialer serve's user + system CPU time; 0 without webhooks
	cpuOK         bool          // whether workerCPU, benchCPU and serveCPU are known
	redisCommands int64         // INFO stats total_commands_processed
	redisCPU      float64       // INFO cpu used_cpu_user + used_cpu_sys, seconds
	gets          int           // Get Call requests the simulator has served
	conns         int64         // connections the simulator has accepted
	hooks         int           // server messages the simulator has delivered (answered 2xx)
}

// sample reads a liveSample of the worker with process id pid, of dialer serve with process
// id servePID (0: none), of sim and of conns, the connections the simulator accepted.
func (b *bench) sample(ctx context.Context, rdb *redis.Client, pid, servePID int, sim *simulator.Server, conns *atomic.Int64) (liveSample, error) {
	s := liveSample{at: time.Now()}
	ok3 := true
	var ok1, ok2 bool
	s.workerCPU, ok1 = procCPU(pid)
	s.benchCPU, ok2 = procCPU(os.Getpid())
	if servePID != 0 {
		s.serveCPU, ok3 = procCPU(servePID)
	}
	s.cpuOK = ok1 && ok2 && ok3
	r, err := redisCounters(ctx, rdb)
	if err != nil {
		return s, err
	}
	s.redisCommands, s.redisCPU = r.commands, r.cpu
	st := sim.Stats()
	s.gets = st.Requests["get"]
	for _, n := range st.Webhooks.Sent {
		s.hooks += n
	}
	s.conns = conns.Load()
	return s, nil
}

// liveNow returns how many of dials are live at t: begun at or before it, ended after it.
func liveNow(dials []simulator.Dial, t time.Time) int {
	n := 0
	for _, d := range dials {
		if !d.At.After(t) && (d.EndAt.IsZero() || d.EndAt.After(t)) {
			n++
		}
	}
	return n
}

// runLive runs one live scenario: it uploads sc.contacts() contacts with `dialer upload`,
// starts one worker process against an in-process simulator (and with sc.webhooks a
// `dialer serve` receiving the simulator's server messages), waits until sc.calls calls
// are live (or sc.ramp and 30 s have passed), then measures over sc.window the worker's CPU
// and RSS, serve's CPU, and what Redis ran and spent, and stops the worker.
func (b *bench) runLive(ctx context.Context, sc liveScenario) ([]lab.Figure, error) {
	rdb, done, err := b.openScratch(ctx, dbLive, sc.name)
	if err != nil {
		return nil, err
	}
	defer done()

	simCfg := sc.sim
	servePID := 0
	if sc.webhooks {
		secret := newSecret()
		b.Progress("%s: starting dialer serve", sc.name)
		srv, err := startServe(ctx, b.Dialer, b.redis.url(dbLive), secret)
		if err != nil {
			return nil, err
		}
		defer srv.stop(15 * time.Second)
		servePID = srv.pid()
		simCfg.Webhooks = simulator.WebhookConfig{URL: srv.url(webhookPath), Secret: secret, Client: pooledClient()}
	}
	sim, err := simulator.New(simCfg)
	if err != nil {
		return nil, err
	}
	defer sim.Close()      // before serve stops: no webhook is then posted to a stopped serve
	var conns atomic.Int64 // connections the worker opened to the API
	apiURL, stopAPI, err := lab.ServeLoopback(sim, func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("serve the simulator: %w", err)
	}
	defer stopAPI()

	spec := sc.campaign
	spec.Name = "bench-" + sc.name
	spec.MaxLive = sc.calls
	spec.CPS = math.Ceil(float64(sc.calls) / sc.ramp.Seconds())
	contacts := sc.contacts()
	b.Progress("%s: uploading %s contacts: maxConcurrentCalls %d, callsPerSecond %g, calls of %s–%s",
		sc.name, lab.Thousands(contacts), spec.MaxLive, spec.CPS, sc.sim.RingMin+sc.sim.TalkMin, sc.sim.RingMax+sc.sim.TalkMax)
	u, err := b.runUpload(ctx, spec, contacts, dbLive)
	if err != nil {
		return nil, err
	}
	if err := checkUploaded(ctx, rdb, u.id, contacts, false); err != nil {
		return nil, err
	}

	b.Progress("%s: starting one worker %v", sc.name, sc.workerArgs)
	pool, err := startWorkers(b.Worker, 1, b.workerEnv(dbLive, apiURL), sc.workerArgs...)
	if err != nil {
		return nil, err
	}
	defer pool.Stop(10 * time.Second)
	pid := pool.Workers()[0].Pid

	// The ramp: until every slot holds a call, or it is clear that they will not.
	target := int(math.Ceil(0.98 * float64(sc.calls)))
	deadline := time.Now().Add(sc.ramp + 30*time.Second)
	rampFrom := time.Now()
	for {
		live := liveNow(sim.Dials(), time.Now())
		if live >= target {
			b.Progress("%s: %d calls live after %s", sc.name, live, time.Since(rampFrom).Round(100*time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			b.Progress("%s: only %d calls live after %s; measuring anyway", sc.name, live, time.Since(rampFrom).Round(time.Second))
			break
		}
		if err := b.pause(ctx, pool, time.Second); err != nil {
			return nil, err
		}
	}

	b.Progress("%s: measuring over %s", sc.name, sc.window)
	s0, err := b.sample(ctx, rdb, pid, servePID, sim, &conns)
	if err != nil {
		return nil, err
	}
	var rss, peakRSS int64
	rssOK := true
	minLive := math.MaxInt
	for end := s0.at.Add(sc.window); time.Now().Before(end); {
		if err := b.pause(ctx, pool, min(time.Second, time.Until(end))); err != nil {
			return nil, err
		}
		minLive = min(minLive, liveNow(sim.Dials(), time.Now()))
		cur, peak, ok := procRSS(pid)
		rss, peakRSS, rssOK = cur, max(peakRSS, peak), rssOK && ok
	}
	s1, err := b.sample(ctx, rdb, pid, servePID, sim, &conns)
	if err != nil {
		return nil, err
	}
	st, err := campaign.NewStore(rdb).Status(ctx, u.id)
	if err != nil {
		return nil, err
	}
	dials := sim.Dials()
	stats := sim.Stats()
	if err := checkHooks(sc.name, stats.Webhooks); err != nil {
		return nil, err
	}

	// Stopping, asynq warns once for each task it hands back: only what came before counts.
	if logs := pool.LogLines(); len(logs) > 0 {
		b.Progress("%s: the worker logged %d warnings or errors; the first: %s", sc.name, len(logs), logs[0])
	}
	b.Progress("%s: stopping the worker (SIGTERM; it hands %d live calls back to the queue)", sc.name, st.LiveCalls)
	if err := errors.Join(pool.Stop(30 * time.Second)...); err != nil {
		return nil, err
	}
	res := liveResult{
		meanLive: meanLive(dials, s0.at, s1.at), minLive: minLive, peakLive: stats.PeakLiveCalls,
		rss: rss, peakRSS: peakRSS, rssOK: rssOK,
	}
	for _, d := range dials {
		if !d.At.Before(s0.at) && d.At.Before(s1.at) {
			res.dials++
		}
	}
	return liveFigures(sc, spec, s0, s1, res), nil
}

// liveResult is what the live measure saw over its window beyond the two samples.
type liveResult struct {
	meanLive          float64 // time-weighted mean of calls live on the simulator
	minLive, peakLive int     // fewest live at a once-a-second look; most at any instant, ramp included
	dials             int     // calls begun in the window, replacing those that ended
	rss, peakRSS      int64   // the worker's VmRSS at the end and its VmHWM, bytes
	rssOK             bool
}

// liveFigures turns one live run into figures.
func liveFigures(sc liveScenario, spec lab.Campaign, s0, s1 liveSample, r liveResult) []lab.Figure {
	secs := s1.at.Sub(s0.at).Seconds()
	workerCores := (s1.workerCPU - s0.workerCPU).Seconds() / secs
	benchCores := (s1.benchCPU - s0.benchCPU).Seconds() / secs
	redisCores := (s1.redisCPU - s0.redisCPU) / secs
	opsPerSec := float64(s1.redisCommands-s0.redisCommands) / secs
	getsPerSec := float64(s1.gets-s0.gets) / secs
	connsPerSec := float64(s1.conns-s0.conns) / secs
	p := sc.name + ": "
	setup := fmt.Sprintf("one worker (%v), maxConcurrentCalls %d, callsPerSecond %g, calls of %s–%s (ring and talk), %s; measured over %.0f s once the calls were up",
		sc.workerArgs, spec.MaxLive, spec.CPS, sc.sim.RingMin+sc.sim.TalkMin, sc.sim.RingMax+sc.sim.TalkMax, sc.how, secs)
	figs := []lab.Figure{{
		Measure: p + "calls live during the window",
		Value:   fmt.Sprintf("%.0f mean, %d least", r.meanLive, r.minLive),
		Target:  fmt.Sprintf("≤ %d at peak", sc.calls),
		Met:     verdict(r.peakLive <= sc.calls),
		Note: fmt.Sprintf("calls live on the simulator (created, not yet ended): time-weighted mean over the window and the fewest at a once-a-second look; peak %d over the whole run. %s",
			r.peakLive, setup),
	}}
	cpu := lab.Figure{Measure: p + "worker CPU", Value: "n/a (Linux only)",
		Note: "user + system time of the worker process (/proc/PID/stat utime + stime) over the window ÷ its length"}
	perCore := lab.Figure{Measure: p + "live calls one worker core carries", Value: "n/a (Linux only)",
		Note: "mean live calls ÷ the worker's CPU share above, were its CPU the only limit"}
	if s0.cpuOK && s1.cpuOK {
		cpu.Value = fmt.Sprintf("%.1f%% of a core", 100*workerCores)
		role := "serving the simulator"
		if sc.webhooks {
			role = "serving the simulator and posting its server messages"
		}
		cpu.Note += fmt.Sprintf("; meanwhile this bench process, %s, used %.1f%%", role, 100*benchCores)
		perCore.Value = "≈ " + lab.Thousands(int(r.meanLive/workerCores))
	}
	rss := lab.Figure{Measure: p + "worker RSS", Value: "n/a (Linux only)",
		Note: "VmRSS of the worker process at the end of the window, and its peak VmHWM; MB of 10^6 bytes"}
	if r.rssOK {
		rss.Value = fmt.Sprintf("%.1f MB (peak %.1f MB)", float64(r.rss)/1e6, float64(r.peakRSS)/1e6)
	}
	// Calls longer than the window leave no dial in it to share the cost among.
	perDial, dialsPerCore := "no dial attempts", "no dials/s"
	if r.dials > 0 {
		perDial = fmt.Sprintf("%.0f per dial attempt", opsPerSec*secs/float64(r.dials))
		dialsPerCore = lab.Thousands(int(float64(r.dials)/secs/redisCores)) + " dials/s"
	}
	figs = append(figs, cpu, rss, perCore)
	if sc.webhooks {
		serve := lab.Figure{Measure: p + "dialer serve CPU", Value: "n/a (Linux only)",
			Note: "user + system time of the dialer serve process receiving the simulator's server messages (/proc/PID/stat) over the window ÷ its length"}
		if s0.cpuOK && s1.cpuOK {
			serve.Value = fmt.Sprintf("%.1f%% of a core for %.0f events/s", 100*(s1.serveCPU-s0.serveCPU).Seconds()/secs, float64(s1.hooks-s0.hooks)/secs)
			serve.Note += "; events/s are the status-updates, conversation-updates and end-of-call-reports it answered 2xx in the window ÷ its length"
		}
		figs = append(figs, serve)
	}
	figs = append(figs, lab.Figure{
		Measure: p + "API connections opened",
		Value:   fmt.Sprintf("%.0f/s for %.0f Get Calls/s", connsPerSec, getsPerSec),
		Note:    "TCP connections the simulator accepted over the window ÷ its length, beside the Get Call requests it served: a connection for each request is one TCP (and, against the real API, TLS) handshake each",
	}, lab.Figure{
		Measure: p + "Redis commands",
		Value:   fmt.Sprintf("%s/s: %.2f per live call per second, %s", lab.Thousands(int(opsPerSec)), opsPerSec/r.meanLive, perDial),
		Note: fmt.Sprintf("INFO stats total_commands_processed over the window ÷ its length, every client's: the worker's asynq heartbeats, lease extensions and polling, slot leases, the records of the calls that ended and began in the window, this bench's INFO reads; per dial attempt is all of it ÷ the %d calls begun in the window",
			r.dials),
	}, lab.Figure{
		Measure: p + "Redis CPU",
		Value:   fmt.Sprintf("%.1f%% of a core: ≈ %s live calls or %s per core", 100*redisCores, lab.Thousands(int(r.meanLive/redisCores)), dialsPerCore),
		Note:    "INFO cpu used_cpu_user + used_cpu_sys over the window ÷ its length; the live calls of this length one Redis core serves is mean live calls ÷ that share, and the dials/s the calls begun per second ÷ that share (the two are one fleet: live calls = dials/s × call length)",
	})
	return figs
}

// pause waits d, and fails when ctx ends or the worker exits first.
func (b *bench) pause(ctx context.Context, pool *lab.Pool, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-pool.Exited():
		return fmt.Errorf("the worker exited:\n%s", strings.Join(pool.LogLines(), "\n"))
	case <-t.C:
		return nil
	}
}
