package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/redis/go-redis/v9"
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
	// slotBound is the most slot-seconds the measure may count in a run. A Redis crash
	// (kill -9, appendfsync everysec, 5 s down) costs (a) the releases of calls that end while
	// Redis is down, retried until it answers, a few seconds each; (b) the releases Redis lost
	// in the second before the crash, whose attempts' results it lost too: their calls are
	// adopted once their 30 s follower lease runs out (then the next 10±5 s sweep), about
	// 30–45 s each, for the few calls that end in that second. Without the retried releases and
	// the sweeper, every slot whose release failed stays held until its 3-minute lease runs out.
	slotBound = 600.0
)

// slotMeter samples one campaign's slots while it dials, and adds up the slot-seconds held
// more than slotGrace after the holder's call ended on the simulator. A holder whose call has
// not been created yet (a dial waiting for its turn, or in flight) does not count. A holder
// whose worker was killed (the worker following its call, else the one that claimed it) is
// counted apart: its call waits for adoption or asynq's recovery, which the other figures
// measure.
type slotMeter struct {
	rdb    *redis.Client
	id     string
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
	t := time.NewTicker(slotSampleEvery)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		// A sample taken late (a loaded machine) counts the time since the last, up to 1 s;
		// the time Redis is down is not counted, only what stays held after it is back.
		dt := min(now.Sub(last), time.Second).Seconds()
		if err := m.sample(ctx, now, dt); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.missed++
		} else {
			m.samples++
		}
		last = now
	}
}

// sample looks at the slots once, at now, counting each slot held after its call dt seconds.
func (m *slotMeter) sample(ctx context.Context, now time.Time, dt float64) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	rt, err := m.rdb.Time(ctx).Result()
	if err != nil {
		return err
	}
	holders, err := m.rdb.ZRangeByScore(ctx, campaign.SlotsKey(m.id), &redis.ZRangeBy{Min: "(" + strconv.FormatInt(rt.UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return err
	}
	ended := map[dialKey]bool{}
	for _, d := range m.sim.Dials() {
		if k, ok := metaKey(d.Metadata); ok && now.Sub(d.EndAt) > slotGrace {
			ended[k] = true
		}
	}
	var late []string
	for _, h := range holders {
		if k, ok := taskKey(h); ok && ended[k] {
			late = append(late, h)
		}
	}
	if len(late) == 0 {
		return nil
	}
	// Who answers for each: the worker following its call, else the one that claimed it.
	pipe := m.rdb.Pipeline()
	follower := make([]*redis.StringCmd, len(late))
	claimer := make([]*redis.StringCmd, len(late))
	for i, h := range late {
		na := strings.TrimPrefix(h, m.id+":")
		follower[i] = pipe.HGet(ctx, "dialer:{"+m.id+"}:follower", na)
		n, a, _ := strings.Cut(na, ":")
		claimer[i] = pipe.HGet(ctx, "dialer:{"+m.id+"}:attempt:"+n+":"+a, "worker")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	killed := m.killed()
	n := 0
	for i := range late {
		w, _, _ := strings.Cut(follower[i].Val(), "/")
		if w == "" {
			w = claimer[i].Val()
		}
		if killed[w] {
			m.heldKilled += dt
			continue
		}
		m.held += dt
		if m.byHolder == nil {
			m.byHolder = map[string]float64{}
		}
		m.byHolder[late[i]] += dt
		n++
	}
	m.peak = max(m.peak, n)
	return nil
}

// metaKey reads the contact and attempt of a dial from its metadata.
func metaKey(md map[string]any) (dialKey, bool) {
	row, ok1 := metaInt(md["contactId"])
	a, ok2 := metaInt(md["attempt"])
	return dialKey{row, a}, ok1 && ok2
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
