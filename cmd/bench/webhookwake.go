package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/redis/go-redis/v9"
)

// The wake-up and slots measures of the webhook bench (benchWebhooks): how soon a worker
// acts on a call's end-of-call-report, and how busy the concurrency cap is kept while work
// waits, polling only and with webhooks.

// wakeContacts is the size of the wake-up measure's campaign.
const wakeContacts = 200

// reportClock forwards server messages to target and notes when each end-of-call-report
// arrived, by contact: the moment the simulator sent it, give or take a loopback hop.
type reportClock struct {
	target string
	client *http.Client
	now    func() time.Time // the clock arrivals are read from; nil: time.Now
	mu     sync.Mutex
	sent   map[int]time.Time // contact → when its attempt 1's end-of-call-report arrived
}

// ServeHTTP notes the time, forwards the body and the secret header to target, and answers
// with target's status and body; 502 when target cannot be reached.
func (p *reportClock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	now := p.now
	if now == nil {
		now = time.Now
	}
	at := now()
	if err != nil {
		http.Error(w, "read the body", http.StatusBadRequest)
		return
	}
	var peek struct {
		Message struct {
			Type string `json:"type"`
			Call struct {
				Metadata struct {
					ContactID json.Number `json:"contactId"`
				} `json:"metadata"`
			} `json:"call"`
		} `json:"message"`
	}
	if json.Unmarshal(body, &peek) == nil && peek.Message.Type == interactly.EventEndOfCallReport {
		if n, err := strconv.Atoi(peek.Message.Call.Metadata.ContactID.String()); err == nil {
			p.mu.Lock()
			p.sent[n] = at
			p.mu.Unlock()
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	req.Header.Set(interactly.SecretHeader, r.Header.Get(interactly.SecretHeader))
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, "forward to dialer serve failed", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// sentAt returns when contact n's end-of-call-report arrived.
func (p *reportClock) sentAt(n int) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.sent[n]
	return t, ok
}

// webhookWakeup measures how soon a worker acts on an end-of-call-report: one worker dials
// a campaign of wakeContacts contacts at poll.interval 30s (so that only webhooks end calls
// quickly) against the simulator, whose server messages reach serve through a reportClock.
// For each contact it takes the time from its report's arrival at the clock to the
// finished_at the worker's follow-up wrote on the contact.
func (b *bench) webhookWakeup(ctx context.Context, rdb *redis.Client, srv *serveProc, secret string, sw *simSwitch, apiURL string) ([]lab.Figure, error) {
	clock := &reportClock{target: srv.url(webhookPath), client: pooledClient(), sent: map[int]time.Time{}}
	clockURL, stopClock, err := lab.ServeLoopback(clock, nil)
	if err != nil {
		return nil, fmt.Errorf("serve the report clock: %w", err)
	}
	defer stopClock()

	sc := dialScenario{
		name: "bench-wake", cps: 50, maxLive: 50, contacts: wakeContacts,
		ring: [2]time.Duration{500 * time.Millisecond, 1000 * time.Millisecond},
		talk: [2]time.Duration{1000 * time.Millisecond, 2000 * time.Millisecond},
		poll: 30 * time.Second,
	}
	cfg := sc.simConfig()
	// The analysis comes well after the call's final status-update, which has the worker
	// read the call and give its slot back: the report then finds it waiting for the analysis.
	cfg.AnalysisDelay = 300 * time.Millisecond
	cfg.Webhooks = simulator.WebhookConfig{URL: clockURL + webhookPath, Secret: secret, Client: pooledClient()}
	sim, err := simulator.New(cfg)
	if err != nil {
		return nil, err
	}
	defer sim.Close()

	b.Progress("webhooks: starting one worker")
	pool, err := startWorkers(b.Worker, 1, b.workerEnv(dbWebhook, apiURL))
	if err != nil {
		return nil, err
	}
	defer pool.Stop(10 * time.Second)
	res, err := b.dialCampaign(ctx, "webhooks", rdb, dbWebhook, sw, sim, pool, sc, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(pool.Stop(20 * time.Second)...); err != nil {
		return nil, err
	}
	sim.Close()
	if err := checkHooks(sc.name, sim.Stats().Webhooks); err != nil {
		return nil, err
	}

	finished := make([]*redis.StringCmd, sc.contacts+1)
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for n := 1; n <= sc.contacts; n++ {
			finished[n] = p.HGet(ctx, seedContactKey(res.id, n), "finished_at")
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read finished_at of campaign %s: %w", res.id, err)
	}
	var lat []time.Duration
	early := 0
	for n := 1; n <= sc.contacts; n++ {
		sent, ok := clock.sentAt(n)
		if !ok {
			return nil, fmt.Errorf("%s: no end-of-call-report of contact %d reached dialer serve", sc.name, n)
		}
		at, err := time.Parse(time.RFC3339Nano, finished[n].Val())
		if err != nil {
			return nil, fmt.Errorf("%s: contact %d finished_at %q: %v", sc.name, n, finished[n].Val(), err)
		}
		d := at.Sub(sent)
		if d < 0 {
			early++
		}
		lat = append(lat, d)
	}
	l := summarize(lat)
	return []lab.Figure{{
		Measure: "webhooks: end-of-call-report to the worker's follow-up",
		Value:   l.String(),
		Target:  "p99 < " + targetMillis(wakeTarget),
		Met:     verdict(l.p99 < wakeTarget),
		Note: fmt.Sprintf("for each of %d calls dialed by one worker at poll.interval %s (so only webhooks end calls early; maxConcurrentCalls %d, calls %s), the time from its end-of-call-report reaching a forwarding proxy in front of dialer serve to the contact's finished_at, written by the worker's follow-up after serve recorded the result and announced it; the worker gave the slot back earlier, at the call's final status-update, %s before the report; %d of %d finished before their report arrived (negative: Get Call after the status-update already showed the analysis)",
			l.n, sc.poll, sc.maxLive, callLength(sc), cfg.AnalysisDelay, early, l.n),
	}}, nil
}

// webhookSlots runs the concurrency scenario of the dial measure (cappedScenario) twice with
// poll.interval 5s and --workers workers: polling only, then with the simulator's webhooks
// going to serve. It reports, for each, the mean share of the cap busy with calls while work
// waited, and the campaign's wall time.
func (b *bench) webhookSlots(ctx context.Context, rdb *redis.Client, srv *serveProc, secret string, sw *simSwitch, apiURL string) ([]lab.Figure, error) {
	b.Progress("webhooks: starting %d worker processes", b.cfg.workers)
	pool, err := startWorkers(b.Worker, b.cfg.workers, b.workerEnv(dbWebhook, apiURL))
	if err != nil {
		return nil, err
	}
	defer pool.Stop(10 * time.Second)
	const poll = 5 * time.Second
	var figs []lab.Figure
	var took [2]time.Duration
	for i, hooks := range []bool{false, true} {
		name, how := "bench-cap-polling", "polling every "+poll.String()
		if hooks {
			name, how = "bench-cap-webhooks", "webhooks, and polling every "+poll.String()
		}
		sc := b.cappedScenario(name, poll)
		cfg := sc.simConfig()
		if hooks {
			cfg.Webhooks = simulator.WebhookConfig{URL: srv.url(webhookPath), Secret: secret, Client: pooledClient()}
		}
		sim, err := simulator.New(cfg)
		if err != nil {
			return nil, err
		}
		res, err := b.dialCampaign(ctx, "webhooks", rdb, dbWebhook, sw, sim, pool, sc, 30*time.Second)
		sim.Close()
		if err != nil {
			return nil, err
		}
		if err := checkHooks(name, sim.Stats().Webhooks); err != nil {
			return nil, err
		}
		at := dialTimes(res.dials)
		if len(at) < 2 {
			return nil, fmt.Errorf("%s: %d dials, too few to measure", sc.name, len(at))
		}
		mean := meanLive(res.dials, at[0], at[len(at)-1])
		share := mean / float64(sc.maxLive)
		took[i] = res.took
		f := lab.Figure{
			Measure: "webhooks: cap busy while work waited, " + how,
			Value:   fmt.Sprintf("%.1f%% (%.1f of %d); campaign %.1f s", 100*share, mean, sc.maxLive, res.took.Seconds()),
			Note: fmt.Sprintf("time-weighted mean of calls live on the simulator over the %.1f s from the first dial to the start of the last, ÷ maxConcurrentCalls %d; %d contacts, calls %s, %d worker processes; campaign is upload to done",
				at[len(at)-1].Sub(at[0]).Seconds(), sc.maxLive, sc.contacts, callLength(sc), b.cfg.workers),
		}
		if hooks {
			f.Target, f.Met = fmt.Sprintf("≥ %.0f%%", 100*busyTarget), verdict(share >= busyTarget)
			f.Note += fmt.Sprintf("; %.0f%% of the polling campaign's time", 100*took[1].Seconds()/took[0].Seconds())
		} else {
			f.Note += "; a call's slot stays taken until the next Get Call sees it over, up to one interval after its end"
		}
		figs = append(figs, f)
	}
	b.Progress("webhooks: stopping the workers (SIGTERM)")
	if err := errors.Join(pool.Stop(20 * time.Second)...); err != nil {
		return nil, err
	}
	if logs := pool.LogLines(); len(logs) > 0 {
		b.Progress("webhooks: the workers logged %d warnings or errors; the first: %s", len(logs), logs[0])
	}
	return figs, nil
}
