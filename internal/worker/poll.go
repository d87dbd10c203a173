package worker

import (
	"context"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
)

// How a worker follows a live call to its end: polling Get Call every poll.interval, woken
// early when a webhook announces the end, then waiting for the analysis.

// maxRefusedPolls is how many permanent refusals of Get Call in a row (a 404 for the call
// just placed, say) end the attempt with outcome error.
const maxRefusedPolls = 10

// awaitEnd looks at call callID every poll.interval, and at once when its end is announced,
// until it is over: done reports that a webhook recorded the attempt's result (call is then
// nil); otherwise call is the ended call as Get Call shows it. Each look reads the attempt's
// record first, the first look too: an announcement made before the caller began watching
// (between RecordCall and ends.watch) is missed, and its result must not wait a poll
// interval. A missed announcement costs one interval at most. Retryable Get Call
// failures are retried, each read within one interval's budget (see getCall), until ctx
// ends, and the task's timeout bounds the whole. After maxRefusedPolls permanent refusals
// in a row it returns the last one, an *interactly.APIError.
func (a *attempt) awaitEnd(ctx context.Context, callID string, ended <-chan struct{}) (call *interactly.Call, done bool, err error) {
	refused := 0
	if done, err := a.isRecordedYet(ctx); done || err != nil {
		return nil, done, err
	}
	for now := true; ; {
		if !now {
			if err := a.wait(ctx, ended); err != nil {
				return nil, false, err
			}
			if done, err := a.isRecordedYet(ctx); done || err != nil {
				return nil, done, err
			}
		}
		call, woke, err := a.getCall(ctx, callID, ended)
		if woke {
			// A status-update said the call is over, or a report came: look again now.
			if done, err := a.isRecordedYet(ctx); done || err != nil {
				return nil, done, err
			}
			now = true
			continue
		}
		now = false
		switch apiErr := refusedForGood(err); {
		case err != nil && ctx.Err() != nil:
			return nil, false, ctx.Err()
		case apiErr != nil:
			if refused++; refused >= maxRefusedPolls {
				return nil, false, apiErr
			}
			a.log.Warn("get call refused", "call", callID, "err", err)
		case err != nil:
			refused = 0
			a.log.Warn("get call", "call", callID, "err", err)
		case call.Ended():
			return call, false, nil
		default:
			refused = 0
		}
	}
}

// getCall reads call id, giving the read up when the attempt's end is announced meanwhile
// (woke): a webhook's result must not wait for a slow or failing read. The client retries a
// failing read for one poll interval at most (interactly.WithRetryBudget), not for its own
// budget of minutes: the next read, one interval on, is the retry, and a backoff or a 429's
// Retry-After must not keep a worker from seeing that the call ended (and so hold its slot).
func (a *attempt) getCall(ctx context.Context, id string, ended <-chan struct{}) (call *interactly.Call, woke bool, err error) {
	gctx, cancel := context.WithCancel(interactly.WithRetryBudget(ctx, a.c.File.Poll.Interval.D()))
	watched := make(chan bool, 1)
	go func() {
		select {
		case <-ended:
			cancel()
			watched <- true
		case <-gctx.Done():
			watched <- false
		}
	}()
	call, err = a.api.GetCall(gctx, id)
	cancel()
	if <-watched && ctx.Err() == nil {
		return nil, true, nil
	}
	return call, false, err
}

// wait returns after poll.interval, or sooner when the attempt's end is announced.
func (a *attempt) wait(ctx context.Context, ended <-chan struct{}) error {
	t := time.NewTimer(a.c.File.Poll.Interval.D())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isRecordedYet is isRecorded for a call being followed: when Redis cannot be read it reports
// false, and only ctx's end is an error. The call is then followed by Get Call alone, so
// that its end is seen and its slots given back (retried until Redis answers) as soon as it
// ends, instead of failing the task and leaving the slots held until the task runs again.
func (a *attempt) isRecordedYet(ctx context.Context) (bool, error) {
	done, err := a.isRecorded(ctx)
	if err != nil && ctx.Err() == nil {
		a.log.Warn("read the attempt's record; following the call by Get Call meanwhile", "err", err)
		return false, nil
	}
	return done, err
}

// isRecorded reports whether the attempt's result is recorded (by a webhook).
func (a *attempt) isRecorded(ctx context.Context) (bool, error) {
	state, err := a.h.cfg.Store.AttemptState(ctx, a.t)
	if err != nil {
		return false, err
	}
	return state == campaign.AttemptDone, nil
}

// awaitAnalysis reads an ended call every poll.interval until its analysis is filled in (for
// a completed call; others have none to wait for) or poll.analysisWait has passed, and
// returns the last read; or it returns done when a webhook recorded the attempt's result
// meanwhile (an end-of-call-report carries the analysis). Failed reads keep the one before.
func (a *attempt) awaitAnalysis(ctx context.Context, call *interactly.Call, ended <-chan struct{}) (*interactly.Call, bool, error) {
	deadline := a.h.now().Add(a.c.File.Poll.AnalysisWait.D())
	for awaitingAnalysis(call) && a.h.now().Before(deadline) {
		if err := a.wait(ctx, ended); err != nil {
			return nil, false, err
		}
		if done, err := a.isRecorded(ctx); done || err != nil {
			return nil, done, err
		}
		next, woke, err := a.getCall(ctx, call.ID, ended)
		switch {
		case woke:
			if done, err := a.isRecorded(ctx); done || err != nil {
				return nil, done, err
			}
		case err != nil && ctx.Err() != nil:
			return nil, false, ctx.Err()
		case err != nil:
			a.log.Warn("get call", "call", call.ID, "err", err)
		default:
			call = next
		}
	}
	return call, false, nil
}

func awaitingAnalysis(call *interactly.Call) bool {
	return OutcomeOf(call) == campaign.OutcomeCompleted && !call.Analysis.Ready()
}
