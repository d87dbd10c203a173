package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/redis/go-redis/v9"
)

// Targets of the API measure.
const (
	apiRateTarget = 2000                  // status reads per second
	apiP99Target  = 50 * time.Millisecond // their p99 latency
)

// apiCPS is the dial rate of the campaign the API measure reads while it dials.
const apiCPS = 20

// benchAPI measures the operator API of a built `dialer serve` while --workers workers dial
// a campaign at 20 calls per second: --api-clients keep-alive clients (200) read the
// campaign's status (GET /api/v1/campaigns/{id} with a read token) for --api-seconds, first
// as fast as they are answered (the most requests per second, and what serve and Redis
// spend on each: serve's CPU, Redis's commands and CPU beyond the dialing's, measured for
// 5 s before), then paced at 2,000 requests per second in all (the latency at that rate).
func (b *bench) benchAPI(ctx context.Context) ([]lab.Figure, error) {
	rdb, done, err := b.openScratch(ctx, dbAPI, "api")
	if err != nil {
		return nil, err
	}
	defer done()

	sc := dialScenario{
		name: "bench-api", cps: apiCPS, maxLive: 100, contacts: apiCPS * int(b.cfg.apiDuration/time.Second+30),
		ring: [2]time.Duration{300 * time.Millisecond, 600 * time.Millisecond},
		talk: [2]time.Duration{500 * time.Millisecond, 1500 * time.Millisecond},
		poll: pollInterval,
	}
	_, apiURL, stopAPI, err := serveSimulator(sc.simConfig())
	if err != nil {
		return nil, err
	}
	defer stopAPI()

	token, _, err := auth.NewStore(rdb).Create(ctx, auth.CreateOptions{Name: "bench", Scope: auth.ScopeRead})
	if err != nil {
		return nil, err
	}
	b.Progress("api: starting dialer serve")
	srv, err := startServe(ctx, b.Dialer, b.redis.url(dbAPI), newSecret())
	if err != nil {
		return nil, err
	}
	defer srv.stop(15 * time.Second)

	b.Progress("api: uploading %d contacts at callsPerSecond %d; starting %d workers", sc.contacts, apiCPS, b.cfg.workers)
	u, err := b.runUpload(ctx, lab.Campaign{Name: sc.name, CPS: sc.cps, MaxLive: sc.maxLive, Poll: sc.poll, AnalysisWait: 2 * time.Second}, sc.contacts, dbAPI)
	if err != nil {
		return nil, err
	}
	pool, err := startWorkers(b.Worker, b.cfg.workers, b.workerEnv(dbAPI, apiURL))
	if err != nil {
		return nil, err
	}
	defer pool.Stop(10 * time.Second)
	store := campaign.NewStore(rdb)
	if err := waitAttempts(ctx, store, u.id, apiCPS, 30*time.Second); err != nil {
		return nil, err
	}

	// Redis's own load from the dialing, before the clients start.
	const baseline = 5 * time.Second
	b.Progress("api: measuring Redis under the dialing alone for %s", baseline)
	base, err := sampleRedis(ctx, rdb, baseline)
	if err != nil {
		return nil, err
	}

	b.Progress("api: %d clients reading the campaign's status for %s", b.cfg.apiClients, b.cfg.apiDuration)
	attempts0, err := store.Status(ctx, u.id)
	if err != nil {
		return nil, err
	}
	cpu0, ok := procCPU(srv.pid())
	if !ok {
		return nil, fmt.Errorf("read the CPU time of dialer serve (pid %d)", srv.pid())
	}
	r0, err := redisCounters(ctx, rdb)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	lat, failures, err := readStatus(ctx, srv.url("/api/v1/campaigns/"+u.id), token, b.cfg.apiClients, b.cfg.apiDuration, 0)
	took := time.Since(start)
	if err != nil {
		return nil, err
	}
	cpu1, _ := procCPU(srv.pid())
	r1, err := redisCounters(ctx, rdb)
	if err != nil {
		return nil, err
	}
	attempts1, err := store.Status(ctx, u.id)
	if err != nil {
		return nil, err
	}
	if attempts1.Done {
		return nil, fmt.Errorf("api: campaign %s finished during the measure; it should still be dialing", u.id)
	}
	if failures > 0 {
		return nil, fmt.Errorf("api: %d status reads did not answer 200", failures)
	}

	b.Progress("api: %d clients reading at %d requests/s in all for %s", b.cfg.apiClients, apiRateTarget, b.cfg.apiDuration)
	paced, pacedFailures, err := readStatus(ctx, srv.url("/api/v1/campaigns/"+u.id), token, b.cfg.apiClients, b.cfg.apiDuration, float64(apiRateTarget)/float64(b.cfg.apiClients))
	if err != nil {
		return nil, err
	}
	if pacedFailures > 0 {
		return nil, fmt.Errorf("api: %d paced status reads did not answer 200", pacedFailures)
	}
	pacedRate := float64(len(paced)) / b.cfg.apiDuration.Seconds()

	n := len(lat)
	rate := float64(n) / took.Seconds()
	l := summarize(paced)
	most := summarize(lat)
	seconds := took.Seconds()
	extraCmds := float64(r1.commands-r0.commands) - base.commandsPerSec*seconds
	extraCPU := (r1.cpu - r0.cpu) - base.cpuPerSec*seconds
	dials := attempts1.Attempts - attempts0.Attempts
	b.Progress("api: %d reads in %s; %d dials meanwhile", n, took.Round(10*time.Millisecond), dials)
	if logs := srv.logLines(); len(logs) > 0 {
		b.Progress("api: dialer serve logged %d warnings or errors; the first: %s; the last: %s", len(logs), logs[0], logs[len(logs)-1])
	}
	return []lab.Figure{
		{
			Measure: "api: status reads, most",
			Value:   fmt.Sprintf("%s req/s (%d clients; %s)", lab.Thousands(int(rate)), b.cfg.apiClients, most),
			Target:  fmt.Sprintf("≥ %s req/s", lab.Thousands(apiRateTarget)),
			Met:     verdict(rate >= apiRateTarget),
			Note: fmt.Sprintf("GET /api/v1/campaigns/{id} with a read bearer token from %d keep-alive clients, each sending as soon as its last answer is read, for %s, against the built dialer serve, while %d workers dial the campaign at %d calls/s (%d dials meanwhile); the clients run on the same machine",
				b.cfg.apiClients, b.cfg.apiDuration, b.cfg.workers, apiCPS, dials),
		},
		{
			Measure: fmt.Sprintf("api: status read latency at %s req/s", lab.Thousands(apiRateTarget)),
			Value:   fmt.Sprintf("%s (%s req/s sent)", l, lab.Thousands(int(pacedRate))),
			Target:  "p99 < " + targetMillis(apiP99Target),
			Met:     verdict(l.p99 < apiP99Target && pacedRate >= 0.95*apiRateTarget),
			Note:    fmt.Sprintf("the same clients, each sending every %s (a late answer delays its next request), for %s: request sent to answer read, at the client", time.Duration(float64(b.cfg.apiClients)/apiRateTarget*float64(time.Second)), b.cfg.apiDuration),
		},
		{
			Measure: "api: dialer serve CPU per request",
			Value:   fmt.Sprintf("%.0f µs", float64(cpu1-cpu0)/float64(time.Microsecond)/float64(n)),
			Note:    "serve's user+system CPU time over the measure (/proc) divided by the requests: token check, status read, JSON",
		},
		{
			Measure: "api: Redis per request",
			Value:   fmt.Sprintf("%.1f commands, %.0f µs CPU", extraCmds/float64(n), extraCPU*1e6/float64(n)),
			Note:    fmt.Sprintf("INFO total_commands_processed and used_cpu over the measure, less the dialing's own rate measured for %s before it, divided by the requests", baseline),
		},
	}, nil
}

// waitAttempts waits until campaign id has begun at least n attempts.
func waitAttempts(ctx context.Context, store *campaign.Store, id string, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		st, err := store.Status(ctx, id)
		if err != nil {
			return err
		}
		if st.Attempts >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("campaign %s began %d attempts within %s, want %d", id, st.Attempts, within, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// redisRate is Redis's load per second over a window.
type redisRate struct{ commandsPerSec, cpuPerSec float64 }

// sampleRedis measures Redis's commands and CPU per second over d.
func sampleRedis(ctx context.Context, rdb *redis.Client, d time.Duration) (redisRate, error) {
	r0, err := redisCounters(ctx, rdb)
	if err != nil {
		return redisRate{}, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return redisRate{}, ctx.Err()
	case <-time.After(d):
	}
	r1, err := redisCounters(ctx, rdb)
	if err != nil {
		return redisRate{}, err
	}
	s, used := time.Since(start).Seconds(), r1.since(r0)
	return redisRate{commandsPerSec: float64(used.commands) / s, cpuPerSec: used.cpu / s}, nil
}

// readStatus has clients goroutines GET url with token for d, each perSecond times a second
// (as soon as its last answer was read when perSecond is 0), and returns every request's
// latency and how many did not answer 200.
func readStatus(ctx context.Context, url, token string, clients int, d time.Duration, perSecond float64) ([]time.Duration, int, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	failures := 0
	var wg sync.WaitGroup
	var every time.Duration
	if perSecond > 0 {
		every = time.Duration(float64(time.Second) / perSecond)
	}
	for i := range clients {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			// Paced clients start spread over one period, so their requests do not come in bursts.
			next := time.Now().Add(every * time.Duration(i) / time.Duration(clients))
			for ctx.Err() == nil {
				if every > 0 {
					select {
					case <-ctx.Done():
						continue
					case <-time.After(time.Until(next)):
					}
					next = next.Add(every)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			failures += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(all) == 0 {
		return nil, failures, fmt.Errorf("no status read answered within %s", d)
	}
	slices.Sort(all)
	return all, failures, nil
}
