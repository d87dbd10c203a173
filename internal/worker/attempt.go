package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/window"
)

// attempt is one run of one dial task.
type attempt struct {
	h      *Handler
	c      *campaign.Campaign
	acct   *account.Account // the campaign's account
	api    CallAPI          // the client of the account's API key
	window *window.Window   // nil: dial any time
	ct     *campaign.Contact
	audit  campaign.Audit // why the dial is allowed, filled by the checks before it
	t      campaign.AttemptRef
	log    *slog.Logger
	probe  bool // this dial probes an API key Interactly refused (see checkKeyHold)
	sent   bool // a request of this dial reached for Interactly
	// turnAt is when turns last granted this dial its calls-per-second turns (the
	// monotonic clock: it measures how long ago, not a time of day).
	turnAt time.Time
	// counted is whether this dial was counted against its number's frequency cap.
	counted bool
}

// key identifies the attempt everywhere: asynq TaskID, slot holder, idempotency key.
func (a *attempt) key() string { return a.t.String() }

func (a *attempt) run(ctx context.Context) error {
	store := a.h.cfg.Store
	rec, err := store.Attempt(ctx, a.t)
	if err != nil {
		return err
	}
	switch rec.State {
	case campaign.AttemptDone:
		return a.followUp(ctx, rec.Result)
	case campaign.AttemptLive:
		return a.resume(ctx, rec.CallID, rec.CallerID)
	}
	// What follows sends requests to Interactly: none while it refuses the account's key.
	if err := a.checkKeyHold(ctx); err != nil {
		return err
	}
	defer a.returnProbe(ctx)
	switch rec.State {
	case campaign.AttemptDialing:
		// An earlier run claimed the attempt and may have placed the call before it died.
		a.sent = true
		call, err := a.api.FindCall(ctx, a.key(), rec.DialingAt)
		if err != nil {
			return fmt.Errorf("look up call of an interrupted dial: %w", err)
		}
		a.keyAccepted(ctx)
		if call != nil {
			a.log.Info("found the call of an interrupted dial", "call", call.ID)
			live, err := a.recordCall(ctx, call)
			if err != nil {
				return err
			}
			if !live {
				return a.recorded(ctx)
			}
			return a.resume(ctx, call.ID, rec.CallerID)
		}
		return a.dial(ctx, false)
	default:
		return a.dial(ctx, true)
	}
}

// dial checks startAt, endAt, the campaign's control and the contact's calling window, takes
// a concurrency slot of the campaign and its account and a caller ID (never waiting for
// them), takes a calls-per-second turn (waiting at most TokenWait), checks the window again,
// the suppression lists and the frequency cap, claims the attempt if claim is set (a paused
// or canceled campaign refuses the claim in the same step), and places the call.
func (a *attempt) dial(ctx context.Context, claim bool) error {
	cfg := &a.h.cfg
	// Before its due time, before startAt, after endAt, while paused, or outside the
	// contact's calling window, the task waits, or ends, without taking a slot.
	if err := firstErr(ctx, a.checkDue, a.checkStart, a.checkEnd, a.checkControl, a.checkWindow); err != nil {
		return err
	}
	// No dial waits for a slot: the feeder gives workers only the dials their campaign and
	// account have room for, and one that finds none (a race, a share that shrank) is
	// parked again, due now.
	ok, err := a.takeSlots(ctx)
	if err != nil {
		return fmt.Errorf("take a concurrency slot: %w", err)
	}
	if !ok {
		return &queue.RetryLaterError{In: 0, Reason: "no concurrency slot free"}
	}
	placed := false
	defer func() {
		if !placed {
			// No call holds the slot: give it back, also when ctx is done.
			a.giveBack(ctx, true, "")
		}
	}()
	callerID, err := a.pickCallerID(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if !placed {
			a.giveBack(ctx, false, callerID)
		}
	}()
	a.audit.CallerID = callerID
	// The calls-per-second token comes before the last checks, so that the checks stand as
	// close to the send as they can, and so that a pause during a long wait for a token
	// still stops the dial.
	if ok, err := a.takeTurn(ctx); err != nil {
		return err
	} else if !ok {
		return &queue.RetryLaterError{In: 0, Reason: "calls-per-second turn not free"}
	}
	if err := firstErr(ctx, a.checkEnd, a.checkWindow, a.checkSuppressed, a.checkFrequency); err != nil {
		return err
	}
	if claim {
		ok, err := cfg.Store.ClaimAttempt(ctx, a.t, cfg.Name, a.audit)
		if err != nil {
			return a.stopped(ctx, err)
		}
		if !ok {
			// Another delivery of this task claimed it between our read and now.
			return &queue.RetryLaterError{In: 5 * time.Second, Reason: "attempt claimed by another run"}
		}
	} else if err := a.checkControl(ctx); err != nil {
		return err
	}
	a.log.Info("dialing", "number", a.number(), "attempt", a.t.Attempt)
	req := a.request(callerID)
	// Every send takes a calls-per-second token: the first took it above, and the client's
	// own retries take theirs here. So does a first send whose token went stale in the
	// checks and the claim (a loaded machine, a slow Redis): a turn holds its limit only if
	// the dial goes out at about the moment it was granted (see turns), and the headroom's
	// slack is shared by this delay and the way to Interactly. A retry follows an ambiguous
	// failure, so a call may exist: a token that Redis cannot give now is waited for
	// (untilRedisAnswers), since failing the run would keep the slots held with nobody
	// following that call.
	first := true
	req.Pace = func(ctx context.Context) error {
		if first {
			first = false
			stale := time.Since(a.turnAt)
			if stale <= cfg.staleTurn() {
				return nil
			}
			a.log.Debug("calls-per-second turn went stale before the send; taking fresh turns", "after", stale)
		}
		return a.untilRedisAnswers(ctx, "take a calls-per-second turn to send Connect Call", a.paceRetry)
	}
	// The client's retries can take many seconds, with the slots held and the call perhaps
	// placed: each is logged, so that a dial slow to start can be told apart.
	req.OnRetry = func(err error, wait time.Duration) {
		a.log.Warn("connect call failed; trying again", "in", wait, "err", err)
	}
	cfg.Metrics.Dial(a.c.ID)
	// From the send on, a call may exist although ConnectCall fails: an answer lost, or ctx
	// ended mid-request. So the slots stay held (the task's next run looks the call up and
	// holds them again, or their leases run out), unless Interactly refused the request.
	placed = true
	a.sent = true
	call, err := a.api.ConnectCall(ctx, req)
	if err == nil {
		a.keyAccepted(ctx)
	}
	if err != nil {
		if refused(err) != nil {
			placed = false // refused: no call
			a.uncount(ctx)
		}
		if refusedKey(err) {
			// No call was placed: the attempt is not spent (ProcessTask holds the account).
			worker := ""
			if claim {
				worker = cfg.Name
			}
			if _, uerr := cfg.Store.Unclaim(context.WithoutCancel(ctx), a.t, worker); uerr != nil {
				a.log.Warn("undo the claim of a dial refused with the API key", "err", uerr)
			}
		}
		if apiErr := refusedForGood(err); apiErr != nil {
			// Interactly refused this call for good: the contact's outcome is error.
			a.log.Warn("call refused", "status", apiErr.Status, "err", apiErr)
			r := campaign.Result{Outcome: campaign.OutcomeError, StartedAt: a.h.now(), Error: apiErr.Error()}
			r, err := a.finish(ctx, r)
			if err != nil {
				return err
			}
			return a.followUp(ctx, r)
		}
		return fmt.Errorf("connect call: %w", err)
	}
	live, err := a.recordCall(ctx, call)
	if err != nil {
		return err
	}
	if !live {
		// A webhook recorded the call's end before we recorded its start.
		a.release(ctx, callerID)
		return a.recorded(ctx)
	}
	if _, err := cfg.Store.Follow(ctx, a.t, a.h.token); err != nil {
		a.log.Warn("take the follower lease", "err", err) // only adoption after a crash needs it
	}
	return a.follow(ctx, call.ID, callerID)
}

// stopped handles a claim refused because an operator paused or canceled the campaign.
func (a *attempt) stopped(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, campaign.ErrCampaignPaused):
		// Hold the task while it is paused; if it was resumed in the meantime, try again soon.
		if err := a.checkControl(ctx); err != nil {
			return err
		}
		return &queue.RetryLaterError{In: time.Second, Reason: "campaign resumed while this dial was held back"}
	case errors.Is(err, campaign.ErrCampaignCanceled):
		return a.finalize(ctx, campaign.OutcomeCanceled, "")
	case errors.Is(err, campaign.ErrContactFinished):
		a.log.Info("contact finished before its dial (skipped); not dialing")
		return errFinal
	}
	return err
}

// resume takes the lease on following an already placed call, counts it against the caps
// again and follows it. When another worker holds the lease (it adopted the call), the task
// comes back later, for the follow-up once that worker has recorded the call.
func (a *attempt) resume(ctx context.Context, callID, callerID string) error {
	var ok bool
	err := a.untilRedisAnswers(ctx, "take the lease on following call "+callID, func(ctx context.Context) (err error) {
		ok, err = a.h.cfg.Store.Follow(ctx, a.t, a.h.token)
		return err
	})
	if err != nil {
		return err
	}
	if !ok {
		return &queue.RetryLaterError{In: campaign.FollowLease, Reason: "another worker follows call " + callID}
	}
	a.log.Info("resuming live call", "call", callID)
	if err := a.untilRedisAnswers(ctx, "hold the slot of call "+callID, a.holdSlots); err != nil {
		return fmt.Errorf("hold the slot of call %s: %w", callID, err)
	}
	if err := a.untilRedisAnswers(ctx, "hold the caller ID of call "+callID, func(ctx context.Context) error {
		return a.holdCallerID(ctx, callerID)
	}); err != nil {
		return fmt.Errorf("hold caller ID of call %s: %w", callID, err)
	}
	return a.follow(ctx, callID, callerID)
}

// follow waits for call callID to end, learning it from a webhook (announced on
// campaign.EndedChannel, or found in the attempt's record) or by polling Get Call, whichever
// comes first, and gives the slots back at once (the line is free; waiting for the analysis
// needs none). Then it waits for the analysis, records the result and does the follow-up.
// When ctx ends while the call is live the slots stay held (their leases run out unless a
// new run of the task resumes the call) and nothing is recorded.
func (a *attempt) follow(ctx context.Context, callID, callerID string) error {
	cfg := &a.h.cfg
	ended, unwatch := a.h.ends.watch(a.key())
	defer unwatch()
	stopFollowing := a.keepFollowing(ctx)
	defer stopFollowing()
	stop := a.keepSlots(ctx)
	stopCallerID := a.keepCallerID(ctx, callerID)
	call, done, err := a.awaitEnd(ctx, callID, ended)
	stop()
	stopCallerID()
	apiErr := refusedForGood(err)
	refused := apiErr != nil
	if err != nil && !refused {
		return err
	}
	a.release(ctx, callerID)
	if done {
		return a.recorded(ctx)
	}
	if err := cfg.Store.CallEnded(ctx, a.t); err != nil {
		return err
	}
	var r campaign.Result
	if refused {
		r = a.unreadable(ctx, callID, apiErr)
	} else {
		cfg.Metrics.PollFallback(a.c.ID)
		if call, done, err = a.awaitAnalysis(ctx, call, ended); err != nil {
			return err
		}
		if done {
			return a.recorded(ctx)
		}
		r = ResultOf(call)
	}
	r, err = a.finish(ctx, r)
	if err != nil {
		return err
	}
	a.log.Info("call ended", "call", callID, "outcome", r.Outcome, "phoneCallStatus", r.PhoneCallStatus)
	return a.followUp(ctx, r)
}

// unreadable is the result of call callID, which Get Call refuses for good with apiErr. A
// 404 for a call this attempt placed may mean the API lost track of it (a restart), not that
// it failed: List Calls is asked once more by the attempt's idempotency key, and an ended
// call found there gives the result. Otherwise the outcome is error, and its text says what
// was tried.
func (a *attempt) unreadable(ctx context.Context, callID string, apiErr *interactly.APIError) campaign.Result {
	failed := func(msg string) campaign.Result {
		return campaign.Result{Outcome: campaign.OutcomeError, CallID: callID, Error: msg}
	}
	if apiErr.Status != http.StatusNotFound {
		return failed("the call's result cannot be read: " + apiErr.Error())
	}
	since := a.h.now().Add(-24 * time.Hour)
	if rec, err := a.h.cfg.Store.Attempt(ctx, a.t); err == nil && !rec.DialingAt.IsZero() {
		since = rec.DialingAt
	}
	call, err := a.h.cfg.API.FindCall(ctx, a.key(), since)
	switch {
	case err != nil:
		return failed(fmt.Sprintf("Get Call answered 404 for call %s (%v), and looking it up by idempotency key %s with List Calls failed too: %v", callID, apiErr, a.key(), err))
	case call == nil:
		return failed(fmt.Sprintf("Get Call answered 404 for call %s (%v), and List Calls found no call with idempotency key %s either", callID, apiErr, a.key()))
	case !call.Ended():
		return failed(fmt.Sprintf("Get Call answered 404 for call %s (%v); List Calls found it by idempotency key %s, not ended (status %s)", callID, apiErr, a.key(), call.Status))
	}
	a.log.Info("Get Call answered 404; the call was found by its idempotency key", "call", callID, "found", call.ID)
	return ResultOf(call)
}

// keepFollowing renews this run's lease on following the call every FollowLease/3 until
// stop is called, which drops the lease: the call is recorded, or this worker is stopping
// and another may adopt the call at once.
func (a *attempt) keepFollowing(ctx context.Context) (stop func()) {
	store := a.h.cfg.Store
	// stop ends the renewals, but not a renewal in flight: it runs on ctx.
	renewing, done := context.WithCancel(ctx)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		clock.Every(renewing, campaign.FollowLease/3, func() bool {
			ok, err := store.Follow(ctx, a.t, a.h.token)
			if err == nil && !ok {
				a.log.Warn("another worker adopted the call while this one followed it; both follow it now")
			}
			return true
		})
	}()
	return func() {
		done()
		<-exited
		if err := store.Unfollow(context.WithoutCancel(ctx), a.t, a.h.token); err != nil {
			a.log.Warn("drop the follower lease", "err", err) // it runs out anyway
		}
	}
}

// release gives back the attempt's concurrency slots and caller ID. What Redis refuses (it
// is unreachable) is retried in the background until it answers (see retryRelease).
func (a *attempt) release(ctx context.Context, callerID string) {
	a.giveBack(ctx, true, callerID)
}

// giveBack gives back the attempt's concurrency slots when slots is set, and caller ID
// callerID unless it is "" (or the campaign does not use a capped pool). A release Redis
// refuses is retried in the background until Redis answers, not left to its lease: a call
// that ends while Redis is unreachable would otherwise keep its slot for the rest of its
// lease (3 minutes), and the campaign would dial below its cap that long after Redis is back.
func (a *attempt) giveBack(ctx context.Context, slots bool, callerID string) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if slots {
		if err = a.releaseSlots(ctx); err == nil {
			slots = false
		}
	}
	if callerID != "" {
		if cerr := a.releaseCallerID(ctx, callerID); cerr == nil {
			callerID = ""
		} else {
			err = errors.Join(err, cerr)
		}
	}
	if slots || callerID != "" {
		a.log.Warn("release slot; retrying until Redis answers", "err", err)
		go a.retryRelease(ctx, slots, callerID)
	}
}

// releaseRetryFor bounds the retries of a release that failed: by then the lease (3 minutes
// by default) has run out, and the slot is free anyway.
const releaseRetryFor = 3 * time.Minute

// retryRelease gives back the attempt's slots (when slots is set) and caller ID callerID
// (unless "") again, backing off as backoff does, until each release succeeds or
// releaseRetryFor has passed.
func (a *attempt) retryRelease(ctx context.Context, slots bool, callerID string) {
	ctx, cancel := context.WithTimeout(ctx, releaseRetryFor)
	defer cancel()
	err := backoff(ctx, func() bool {
		if slots && a.releaseSlots(ctx) == nil {
			slots = false
		}
		if callerID != "" && a.releaseCallerID(ctx, callerID) == nil {
			callerID = ""
		}
		return !slots && callerID == ""
	})
	if err != nil {
		a.log.Warn("gave up releasing the slot; its lease runs out on its own")
		return
	}
	a.log.Info("slot released once Redis answered again")
}

// backoff calls try after 250ms, then after waits doubling up to 5s, until try reports true
// (backoff returns nil) or ctx ends (it returns ctx.Err()).
func backoff(ctx context.Context, try func() bool) error {
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		if err := clock.Sleep(ctx, wait); err != nil {
			return err
		}
		if try() {
			return nil
		}
	}
}

// liveRetryFor bounds the retries of untilRedisAnswers. Redis unreachable for longer ends
// them sooner: asynq cancels a run whose lease it cannot renew for 30 s.
const liveRetryFor = time.Minute

// untilRedisAnswers runs step, a Redis step a placed call needs before it is followed
// (recording its id, taking the lease on following it, holding its slots again), and runs it
// again while it fails (see backoff), until it succeeds, ctx ends or liveRetryFor has passed;
// it returns step's last error. A step Redis refuses for want of memory is not retried
// (redisconn.IsFull: ProcessTask holds the work). A failed step would end the run with the
// call's slots held and nobody following the call: while Redis is unreachable asynq cannot
// schedule the task's retry (asynq v0.26 retries that move with a context it has already
// canceled), so the task waits for its asynq lease to run out and be recovered, 1–2 minutes,
// and the slots stay held that long after the call ended.
func (a *attempt) untilRedisAnswers(ctx context.Context, what string, step func(context.Context) error) error {
	err := step(ctx)
	if err == nil || ctx.Err() != nil || redisconn.IsFull(err) {
		return err
	}
	a.log.Warn(what+"; retrying until Redis answers", "err", err)
	rctx, cancel := context.WithTimeout(ctx, liveRetryFor)
	defer cancel()
	if backoff(rctx, func() bool {
		err = step(ctx)
		return err == nil || redisconn.IsFull(err)
	}) == nil && err == nil {
		a.log.Info(what + ": done once Redis answered again")
	}
	return err
}

// paceRetry takes the calls-per-second turns (see turns) for a retried send of Connect
// Call, waiting for each as long as ctx allows.
func (a *attempt) paceRetry(ctx context.Context) error {
	_, err := a.turns(ctx)
	return err
}

// recordCall records the id of call, which this attempt placed (see campaign.Store.RecordCall),
// retrying until Redis answers (see untilRedisAnswers). It reports false when the attempt's
// result is recorded already.
func (a *attempt) recordCall(ctx context.Context, call *interactly.Call) (live bool, err error) {
	err = a.untilRedisAnswers(ctx, "record call "+call.ID, func(ctx context.Context) (err error) {
		live, err = a.h.cfg.Store.RecordCall(ctx, a.t, call.ID, call.Monitor.ControlURL, StartOf(call))
		return err
	})
	return live, err
}

// recorded does the follow-up of an attempt whose result a webhook recorded.
func (a *attempt) recorded(ctx context.Context) error {
	rec, err := a.h.cfg.Store.Attempt(ctx, a.t)
	if err != nil {
		return err
	}
	if rec.State != campaign.AttemptDone {
		return fmt.Errorf("attempt %s: expected a recorded result, found state %q", a.key(), rec.State)
	}
	a.log.Info("call ended (webhook)", "call", rec.CallID, "outcome", rec.Result.Outcome, "phoneCallStatus", rec.Result.PhoneCallStatus)
	return a.followUp(ctx, rec.Result)
}

// finish records the attempt's result and returns the one that stands: r, or the result a
// webhook recorded first.
func (a *attempt) finish(ctx context.Context, r campaign.Result) (campaign.Result, error) {
	return a.h.cfg.Store.FinishAttempt(ctx, a.t, r)
}

// followUp schedules the next attempt when r's outcome is retried and attempts remain, and
// otherwise records r's outcome as the contact's final one. A canceled campaign, or a next
// attempt due after the campaign's endAt, ends the contact canceled or expired instead. Both
// steps are idempotent: the next task's TaskID exists once, and the outcome is set once.
func (a *attempt) followUp(ctx context.Context, r campaign.Result) error {
	cfg := &a.h.cfg
	// The call may have lasted minutes: decide under the retry policy and endAt in force now.
	if cr, err := a.h.campaign(ctx, a.c.ID); err == nil {
		a.c = cr.c
	}
	retry := a.c.File.Retry
	if !retries(a.c, r.Outcome) || a.t.Attempt >= retry.MaxAttempts {
		return a.h.finalize(ctx, a.c, a.t.ContactID, r.Outcome, "")
	}
	ctl, err := cfg.Store.Control(ctx, a.c.ID)
	if err != nil {
		return err
	}
	if ctl == campaign.ControlCanceled {
		return a.h.finalize(ctx, a.c, a.t.ContactID, campaign.OutcomeCanceled, "")
	}
	from := r.EndedAt
	if from.IsZero() {
		from = a.h.now()
	}
	at := from.Add(retry.Delay.D())
	if end := a.c.File.EndAt; end != nil && !at.Before(*end) {
		return a.h.finalize(ctx, a.c, a.t.ContactID, campaign.OutcomeExpired, expiredReason(*end))
	}
	next := a.t.Attempt + 1
	if err := cfg.Enqueuer.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: a.t.CampaignID, ContactID: a.t.ContactID, Attempt: next}, at); err != nil {
		return err
	}
	a.log.Info("next attempt scheduled", "attempt", next, "at", at.UTC().Format(time.RFC3339))
	return cfg.Store.ScheduleNext(ctx, a.t.CampaignID, a.t.ContactID, next, at)
}

// request builds the Connect Call request: the campaign's assistantOverrides with the
// contact's columns merged over its dynamicVariables, and the campaign's metadata with the
// attempt (campaign.AttemptRef.PutMetadata: campaignId, contactId, attempt) over it.
func (a *attempt) request(callerID string) *interactly.ConnectCallRequest {
	f := &a.c.File
	row := contactcsv.Row{Fields: a.ct.Fields}
	overrides := f.AssistantOverridesFor(row.DynamicVariables(a.c.Header))

	metadata := maps.Clone(f.Metadata)
	if metadata == nil {
		metadata = map[string]any{}
	}
	a.t.PutMetadata(metadata)

	return &interactly.ConnectCallRequest{
		Direction:          "outbound",
		PhoneNumberID:      callerID,
		AssistantID:        f.AssistantID,
		Customer:           interactly.Customer{Number: a.ct.Number, Name: a.ct.Name},
		AssistantOverrides: overrides,
		Metadata:           metadata,
		IdempotencyKey:     a.key(),
	}
}

func (a *attempt) number() string {
	if a.h.cfg.LogPII {
		return a.ct.Number
	}
	return mask(a.ct.Number)
}
