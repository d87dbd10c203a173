package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
)

// The campaigns measure: several campaigns on one Interactly account (docs/many-campaigns.md).
const (
	// accountCap is the default account's callsPerSecond and maxConcurrentCalls in the
	// shares scenario: it binds, so the weights decide who dials.
	accountCap = 6
	// shareTolerance is how far, as a fraction of its target, each campaign's share of the
	// live calls may stray: ±10%.
	shareTolerance = 0.10
	// smallBesideLargeTarget is how many times its time alone the small campaign may take
	// beside the large one.
	smallBesideLargeTarget = 1.3
)

// sharesWeights are the weights of the shares scenario's campaigns, and sharesRows the
// rows of each: proportional, so that all three have work until near the end.
var (
	sharesWeights = []int{1, 2, 3}
	sharesRows    = []int{40, 80, 120}
)

// manyCall is the simulated call of the campaigns measure: rings 100–200 ms and talks
// 1.2–1.6 s, every call completed.
func manyCall(seed int64) simulator.Config {
	return simulator.Config{
		APIKey: simAPIKey, Seed: seed, Mix: map[string]float64{simulator.OutcomeCompleted: 1},
		RingMin: 100 * time.Millisecond, RingMax: 200 * time.Millisecond,
		TalkMin: 1200 * time.Millisecond, TalkMax: 1600 * time.Millisecond, AnalysisDelay: 50 * time.Millisecond,
	}
}

// benchCampaigns measures many campaigns on one account with built workers against the
// in-process simulator:
//   - small beside large: one worker (default concurrency) dials campaign S (30 rows, 5
//     calls/s, 5 live calls) alone, then again 5 s into campaign L (3,000 rows, 1 call/s,
//     2 live calls); the ratio of S's two times from upload to done;
//   - shares: the default account capped at 6 live calls and 6 calls per second, three
//     campaigns of weights 1, 2 and 3 dialed by --workers workers; each one's share of the
//     live calls while all three had work, and, from the simulator's dial log, the most
//     dials begun in any 1 s and the most live calls across the account.
func (b *bench) benchCampaigns(ctx context.Context) ([]lab.Figure, error) {
	alone, err := b.smallCampaign(ctx, false)
	if err != nil {
		return nil, err
	}
	beside, err := b.smallCampaign(ctx, true)
	if err != nil {
		return nil, err
	}
	ratio := beside.Seconds() / alone.Seconds()
	figs := []lab.Figure{{
		Measure: "small campaign beside a large one",
		Value:   fmt.Sprintf("%.2f× its time alone", ratio),
		Target:  fmt.Sprintf("≤ %g×", smallBesideLargeTarget),
		Met:     verdict(ratio <= smallBesideLargeTarget),
		Note: fmt.Sprintf("upload to done of 30 rows at 5 calls/s and 5 live calls: %.1f s alone, %.1f s uploaded 5 s into 3,000 rows at 1 call/s and 2 live calls; one worker, default concurrency, calls %s",
			alone.Seconds(), beside.Seconds(), manyCallLength),
	}}
	shares, err := b.sharedAccount(ctx)
	if err != nil {
		return nil, err
	}
	return append(figs, shares...), nil
}

// manyCallLength describes manyCall for the notes.
const manyCallLength = "1.3–1.8 s"

// smallCampaign runs the small-beside-large scenario once, in a flushed database with one
// fresh worker, and returns how long the small campaign took from its upload to done.
func (b *bench) smallCampaign(ctx context.Context, withLarge bool) (time.Duration, error) {
	label := "campaigns: small alone"
	if withLarge {
		label = "campaigns: small beside large"
	}
	rdb, err := b.redis.open(ctx, dbCampaigns)
	if err != nil {
		return 0, err
	}
	defer rdb.Close()
	_, apiURL, stopAPI, err := serveSimulator(manyCall(5))
	if err != nil {
		return 0, err
	}
	defer stopAPI()
	pool, err := startWorkers(b.Worker, 1, b.workerEnv(dbCampaigns, apiURL))
	if err != nil {
		return 0, err
	}
	defer pool.Stop(10 * time.Second)
	store := campaign.NewStore(rdb)
	if withLarge {
		b.Progress("%s: uploading L, 3,000 rows at 1 call/s and 2 live calls", label)
		large, err := b.runUploadFrom(ctx, lab.Campaign{Name: "bench-large", CPS: 1, MaxLive: 2, Poll: pollInterval, AnalysisWait: time.Second}, 0, 3000, dbCampaigns)
		if err != nil {
			return 0, err
		}
		if err := waitFor(ctx, 30*time.Second, "the large campaign dialing", func() (bool, error) {
			st, err := store.Status(ctx, large.id)
			return err == nil && st.Attempts >= 2, err
		}); err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
	b.Progress("%s: uploading S, 30 rows at 5 calls/s and 5 live calls", label)
	began := time.Now()
	small, err := b.runUploadFrom(ctx, lab.Campaign{Name: "bench-small", CPS: 5, MaxLive: 5, Poll: pollInterval, AnalysisWait: time.Second}, 5000, 30, dbCampaigns)
	if err != nil {
		return 0, err
	}
	if err := b.waitDone(ctx, label, store, small.id, 2*time.Minute, pool); err != nil {
		return 0, err
	}
	took := time.Since(began)
	b.Progress("%s: done in %s", label, took.Round(10*time.Millisecond))
	return took, nil
}

// sharedAccount runs the shares scenario and returns its figures.
func (b *bench) sharedAccount(ctx context.Context) ([]lab.Figure, error) {
	const label = "campaigns: shares"
	rdb, err := b.redis.open(ctx, dbCampaigns)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	limit := strconv.Itoa(accountCap)
	if _, err := b.runDialer(ctx, dbCampaigns, "account", "set", "default", "--cps", limit, "--max-calls", limit); err != nil {
		return nil, err
	}
	var ids []string
	first := 0
	for i, w := range sharesWeights {
		b.Progress("%s: uploading %d rows of weight %d", label, sharesRows[i], w)
		spec := lab.Campaign{Name: fmt.Sprintf("bench-weight-%d", w), CPS: accountCap, MaxLive: accountCap, Poll: pollInterval,
			AnalysisWait: time.Second, Extra: fmt.Sprintf("weight: %d\n", w)}
		u, err := b.runUploadFrom(ctx, spec, first, sharesRows[i], dbCampaigns)
		if err != nil {
			return nil, err
		}
		first += sharesRows[i]
		ids = append(ids, u.id)
	}
	sim, apiURL, stopAPI, err := serveSimulator(manyCall(11))
	if err != nil {
		return nil, err
	}
	defer stopAPI()
	b.Progress("%s: %d worker processes, account capped at %d live calls and %d calls/s", label, b.cfg.workers, accountCap, accountCap)
	pool, err := startWorkers(b.Worker, b.cfg.workers, b.workerEnv(dbCampaigns, apiURL))
	if err != nil {
		return nil, err
	}
	defer pool.Stop(10 * time.Second)
	store := campaign.NewStore(rdb)
	for _, id := range ids {
		if err := b.waitDone(ctx, label, store, id, 5*time.Minute, pool); err != nil {
			return nil, err
		}
	}
	dials := sim.Dials()
	stats := sim.Stats()
	doubles := 0
	for _, n := range stats.DialsByKey {
		doubles += max(n-1, 0)
	}
	if stats.Dials != first {
		return nil, fmt.Errorf("%s: %d dials, want one per row: %d", label, stats.Dials, first)
	}

	// The shares while all three had work: from the first dial plus 2 s (the first calls
	// fill the cap as they come) to the first campaign's last dial.
	byCampaign := map[string][]simulator.Dial{}
	for _, d := range dials {
		id, _ := d.Metadata["campaignId"].(string)
		byCampaign[id] = append(byCampaign[id], d)
	}
	from, to := dials[0].At.Add(2*time.Second), dials[len(dials)-1].At
	for _, id := range ids {
		to = minTime(to, dialTimes(byCampaign[id])[len(byCampaign[id])-1])
	}
	live := make([]float64, len(ids))
	total := 0.0
	for i, id := range ids {
		live[i] = meanLive(byCampaign[id], from, to)
		total += live[i]
	}
	weights := 0
	for _, w := range sharesWeights {
		weights += w
	}
	var got []string
	met := true
	for i, w := range sharesWeights {
		want := float64(w) / float64(weights)
		share := live[i] / total
		got = append(got, fmt.Sprintf("%.1f%%", 100*share))
		met = met && share >= want*(1-shareTolerance) && share <= want*(1+shareTolerance)
	}
	return []lab.Figure{{
		Measure: "live-call shares of weights 1:2:3",
		Value:   strings.Join(got, " : "),
		Target:  "16.7% : 33.3% : 50.0% (each ±10%)",
		Met:     verdict(met),
		Note: fmt.Sprintf("each campaign's mean live calls ÷ all three's, from the simulator's dial log over %.0f s while all three had work (first dial + 2 s to the first campaign's last dial); %d, %d and %d rows, account capped at %d live calls, %d workers, calls %s",
			to.Sub(from).Seconds(), sharesRows[0], sharesRows[1], sharesRows[2], accountCap, b.cfg.workers, manyCallLength),
	}, {
		Measure: fmt.Sprintf("account: most dials in any 1 s at callsPerSecond %d", accountCap),
		Value:   fmt.Sprint(stats.MaxDialsInOneSecond),
		Target:  fmt.Sprintf("≤ %d", accountCap),
		Met:     verdict(stats.MaxDialsInOneSecond <= accountCap),
		Note:    fmt.Sprintf("most Connect Calls the simulator received in any window [t, t+1s) across the three campaigns and %d worker processes", b.cfg.workers),
	}, {
		Measure: fmt.Sprintf("account: peak live calls at maxConcurrentCalls %d", accountCap),
		Value:   fmt.Sprint(stats.PeakLiveCalls),
		Target:  fmt.Sprintf("≤ %d", accountCap),
		Met:     verdict(stats.PeakLiveCalls <= accountCap),
		Note:    "most calls live at one instant in the simulator's dial log, across the three campaigns",
	}, {
		Measure: "campaigns: double dials",
		Value:   fmt.Sprintf("%d of %d dials", doubles, stats.Dials),
		Target:  "0",
		Met:     verdict(doubles == 0),
		Note:    "dials beyond the first of one idempotency key in the shares scenario",
	}}, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// waitFor polls ok every 100 ms until it holds, fails, or timeout passes (an error naming
// what).
func waitFor(ctx context.Context, timeout time.Duration, what string, ok func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := ok()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// serveSimulator serves a new simulator of cfg on a free loopback port and returns it, its
// URL and a stop function that closes both.
func serveSimulator(cfg simulator.Config) (*simulator.Server, string, func(), error) {
	sim, err := simulator.New(cfg)
	if err != nil {
		return nil, "", nil, err
	}
	apiURL, stopAPI, err := lab.ServeLoopback(sim, nil)
	if err != nil {
		sim.Close()
		return nil, "", nil, fmt.Errorf("serve the simulator: %w", err)
	}
	return sim, apiURL, func() { stopAPI(); sim.Close() }, nil
}
