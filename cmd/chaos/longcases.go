package main

import (
	"context"
	"fmt"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/hibiken/asynq"
)

// holdResult is what case (a) saw.
type holdResult struct {
	longEnd
	holder        string
	leaseExtended int  // times its asynq lease moved while the call was live
	slotRenewed   int  // times its slot's lease moved while the call was live
	samples, held int  // slot samples before the call's end, and those held
	otherResumed  bool // the other worker logged resuming it
	otherDialed   bool // the other worker logged dialing it
	// before, during and after count the dials of the other contact, busy every time, by
	// when they began: before the long call, during it (never), after its end.
	before, during, after int
	firstAfter            time.Duration // from the long call's end to the first dial after it
	peakLive              int
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
		} else if r.pollDone(ctx, c.Dialer, &res.longEnd) || now.After(deadline) {
			break
		}
		if err := clock.Sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
	r.finish(task, &res.longEnd)
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
	for _, w := range r.pool.Workers() {
		if w.Name == holder {
			continue
		}
		if _, ok := logEvent(w.LogPath, "resuming live call", task); ok {
			res.otherResumed = true
		}
		if _, ok := logEvent(w.LogPath, "dialing", task); ok {
			res.otherDialed = true
		}
	}
	return res, nil
}

// killResult is what case (b) saw.
type killResult struct {
	longEnd
	holder, resumer    string
	liveAt, killAt     time.Time
	leaseAtKill        time.Time // when the task's asynq lease was to run out, as of the kill
	slotAtKill         time.Time // when the slot's lease was to run out, as of the kill
	recoveredAt        time.Time // the task left the active state: asynq's recoverer took it
	resumedAt          time.Time // "resuming live call" in another worker's log
	slotReheldAt       time.Time // the slot's lease moved past slotAtKill: renewed by the resumer
	slotFreedAt        time.Time // the slot's lease ran out first
	heldBeforeResuming bool      // the slot was held at every sample from the kill to the resume
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
	if err := clock.Sleep(ctx, 10*time.Second); err != nil {
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
	if err := r.pool.Kill(res.holder); err != nil {
		return nil, err
	}
	repl, err := r.pool.StartOne()
	if err != nil {
		return nil, err
	}
	c.Progress("%s: kill -9 %s; started %s; waiting for asynq to hand the task on (within ≈%s)", name, res.holder, repl, seconds(resumeBound))

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
			for _, w := range r.pool.Workers() {
				if w.Name == res.holder {
					continue
				}
				if at, ok := logEvent(w.LogPath, "resuming live call", task); ok {
					res.resumedAt, res.resumer = at, w.Name
					if at.IsZero() {
						res.resumedAt = now
					}
					c.Progress("%s: %s resumed the call %s after the kill", name, w.Name, seconds(res.resumedAt.Sub(res.killAt)))
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
		if !res.resumedAt.IsZero() && now.After(end) && r.pollDone(ctx, c.Dialer, &res.longEnd) {
			break
		}
		if now.After(deadline) {
			break
		}
		if err := clock.Sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
	insp.Close()
	r.finish(task, &res.longEnd)
	return res, nil
}
