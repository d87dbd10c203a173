package main

import (
	"context"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/simulator"
)

// The slot-seconds measure: how long the campaign's concurrency slots stay held after the
// calls holding them have ended, which is dialing capacity lost.
const (
	// slotSampleEvery is how often the slots are looked at.
	slotSampleEvery = 250 * time.Millisecond
	// slotGrace is how long after its call ends a slot may stay held without counting: the
	// worker learns of the end at its next poll (every 250 ms), later when that Get Call is
	// one the simulator answers 3 s late or with a 429 or 5xx.
	slotGrace = 5 * time.Second
	// slotBound is the most slot-seconds the measure may count in a run, and slotLongest the
	// most one slot may count. A Redis crash (kill -9, 5 s down) costs the slots of the calls
	// that end while Redis is down: their releases are retried (every 250 ms doubling to 5 s)
	// until Redis answers, so each is free within about 5 s of Redis coming back, which counts
	// a few seconds past the grace. (A kill -9 of the process loses nothing appendfsync
	// everysec has written; only a crash of the machine loses its last second.) Without those
	// retries, a slot whose release failed stayed held until the task ran again, or its
	// 3-minute lease ran out: 243 slot-seconds in one run, 69.6 (one slot 28.7 s) in another,
	// but only 11.3 in a third, when asynq ran the failed tasks again soon.
	slotBound   = 60.0
	slotLongest = 10.0
)

// slotMeter samples the campaigns' slots while they dial, and adds up the slot-seconds held
// more than slotGrace after the holder's call ended on the simulator. A holder whose call has
// not been created yet (a dial waiting for its turn, or in flight) does not count. A holder
// whose worker was killed (the worker following its call, else the one that claimed it) is
// counted apart: its call waits for adoption or asynq's recovery, which the other figures
// measure.
type slotMeter struct {
	slots  *ratelimit.Semaphore
	store  *campaign.Store
	ids    []string // the campaigns
	sim    *simulator.Server
	killed func() map[string]bool // names of the workers killed so far

	held       float64            // slot-seconds held after the call ended, by attempts of live workers
	heldKilled float64            // the same, by attempts of killed workers
	peak       int                // most such slots at one sample (live workers)
	byHolder   map[string]float64 // held, by holder
	samples    int
	missed     int // samples Redis did not answer (down)
}

// run samples every slotSampleEvery until ctx ends.
func (m *slotMeter) run(ctx context.Context) {
	last := time.Now()
	clock.Every(ctx, slotSampleEvery, func() bool {
		now := time.Now()
		// A sample taken late (a loaded machine) counts the time since the last, up to 1 s;
		// the time Redis is down is not counted, only what stays held after it is back.
		dt := min(now.Sub(last), time.Second).Seconds()
		if err := m.sample(ctx, now, dt); err != nil {
			if ctx.Err() != nil {
				return false
			}
			m.missed++
		} else {
			m.samples++
		}
		last = now
		return true
	})
}

// sample looks at the slots once, at now, counting each slot held after its call dt seconds.
func (m *slotMeter) sample(ctx context.Context, now time.Time, dt float64) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var holders []string
	for _, id := range m.ids {
		hs, err := m.slots.Holders(ctx, campaign.SlotsKey(id), 1000)
		if err != nil {
			return err
		}
		holders = append(holders, hs...)
	}
	ended := map[campaign.AttemptRef]bool{}
	for _, d := range m.sim.Dials() {
		if k, ok := campaign.AttemptFromMetadata(d.Metadata); ok && now.Sub(d.EndAt) > slotGrace {
			ended[k] = true
		}
	}
	var late []string
	var refs []campaign.AttemptRef
	for _, h := range holders {
		if k, ok := campaign.ParseAttemptRef(h); ok && ended[k] {
			late = append(late, h)
			refs = append(refs, k)
		}
	}
	if len(late) == 0 {
		return nil
	}
	who, err := m.store.Answering(ctx, refs)
	if err != nil {
		return err
	}
	killed := m.killed()
	n := 0
	for i, h := range late {
		if killed[who[i]] {
			m.heldKilled += dt
			continue
		}
		m.held += dt
		if m.byHolder == nil {
			m.byHolder = map[string]float64{}
		}
		m.byHolder[h] += dt
		n++
	}
	m.peak = max(m.peak, n)
	return nil
}

// longest returns the holder that counted the most slot-seconds, and how many.
func (m *slotMeter) longest() (string, float64) {
	var who string
	var most float64
	for h, v := range m.byHolder {
		if v > most || (v == most && h < who) {
			who, most = h, v
		}
	}
	return who, most
}
