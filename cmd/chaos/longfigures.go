package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
)

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
