package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/window"
)

// attempt is one run of one dial task.
type attempt struct {
	h      *Handler
	c      *campaign.Campaign
	window *window.Window // nil: dial any time
	ct     *campaign.Contact
	audit  campaign.Audit // why the dial is allowed, filled by the checks before it
	t      queue.DialTask
	log    *slog.Logger
}

// key identifies the attempt everywhere: asynq TaskID, slot holder, idempotency key.
func (a *attempt) key() string { return a.t.TaskID() }

func (a *attempt) run(ctx context.Context) error {
	store := a.h.cfg.Store
	rec, err := store.Attempt(ctx, a.t.CampaignID, a.t.ContactID, a.t.Attempt)
	if err != nil {
		return err
	}
	switch rec.State {
	case campaign.AttemptDone:
		return a.followUp(ctx, rec.Result)
	case campaign.AttemptLive:
		a.log.Info("resuming live call", "call", rec.CallID)
		return a.resume(ctx, rec.CallID)
	case campaign.AttemptDialing:
		// An earlier run claimed the attempt and may have placed the call before it died.
		call, err := a.h.cfg.API.FindCall(ctx, a.key(), rec.DialingAt)
		if err != nil {
			return fmt.Errorf("look up call of an interrupted dial: %w", err)
		}
		if call != nil {
			a.log.Info("found the call of an interrupted dial", "call", call.ID)
			if err := store.RecordCall(ctx, a.t.CampaignID, a.t.ContactID, a.t.Attempt, call.ID, call.Monitor.ControlURL, startOf(call)); err != nil {
				return err
			}
			return a.resume(ctx, call.ID)
		}
		return a.dial(ctx, false)
	default:
		return a.dial(ctx, true)
	}
}

// dial checks startAt and the calling window, takes a slot, checks the window again, the
// suppression lists and the frequency cap, claims the attempt if claim is set, and places
// the call, taking a calls-per-second token before each send.
func (a *attempt) dial(ctx context.Context, claim bool) error {
	cfg := &a.h.cfg
	// Before startAt, or outside the contact's calling window, the task waits without
	// taking a slot.
	if err := a.checkStart(); err != nil {
		return err
	}
	if err := a.checkWindow(ctx); err != nil {
		return err
	}
	slotsKey := campaign.SlotsKey(a.c.ID)
	waitCtx, cancel := context.WithTimeout(ctx, cfg.SlotWait)
	_, err := cfg.Slots.Acquire(waitCtx, slotsKey, a.key(), a.c.File.RateLimit.MaxConcurrentCalls)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return &queue.RetryLaterError{In: jitter(2 * time.Second), Reason: "no concurrency slot free"}
		}
		return fmt.Errorf("take a concurrency slot: %w", err)
	}
	placed := false
	defer func() {
		if !placed {
			// No call holds the slot: give it back, also when ctx is done.
			_ = cfg.Slots.Release(context.WithoutCancel(ctx), slotsKey, a.key())
		}
	}()
	// Waiting for the slot took time: look again, just before the dial.
	if err := a.checkWindow(ctx); err != nil {
		return err
	}
	if err := a.checkSuppressed(ctx); err != nil {
		return err
	}
	if err := a.checkFrequency(ctx); err != nil {
		return err
	}
	if claim {
		ok, err := cfg.Store.ClaimAttempt(ctx, a.t.CampaignID, a.t.ContactID, a.t.Attempt, cfg.Name, a.audit)
		if err != nil {
			return err
		}
		if !ok {
			// Another delivery of this task claimed it between our read and now.
			return &queue.RetryLaterError{In: 5 * time.Second, Reason: "attempt claimed by another run"}
		}
	}
	a.log.Info("dialing", "number", a.number(), "attempt", a.t.Attempt)
	req := a.request()
	// Every send takes a calls-per-second token, the client's own retries included.
	rate := a.c.File.RateLimit.CallsPerSecond * (1 - cfg.RateHeadroom)
	req.Pace = func(ctx context.Context) error {
		_, err := cfg.Limiter.Wait(ctx, campaign.RateKey(a.c.ID), rate)
		return err
	}
	call, err := cfg.API.ConnectCall(ctx, req)
	if err != nil {
		var apiErr *interactly.APIError
		if errors.As(err, &apiErr) && !apiErr.Retryable && !refusedKey(err) {
			// Interactly refused this call for good: the contact's outcome is error.
			a.log.Warn("call refused", "status", apiErr.Status, "err", apiErr)
			r := campaign.Result{Outcome: campaign.OutcomeError, StartedAt: a.h.now(), Error: apiErr.Error()}
			if err := a.finish(ctx, r); err != nil {
				return err
			}
			return a.followUp(ctx, r)
		}
		return fmt.Errorf("connect call: %w", err)
	}
	placed = true
	if err := cfg.Store.RecordCall(ctx, a.t.CampaignID, a.t.ContactID, a.t.Attempt, call.ID, call.Monitor.ControlURL, startOf(call)); err != nil {
		return err
	}
	return a.follow(ctx, call.ID)
}

// resume counts an already placed call against the cap again and follows it.
func (a *attempt) resume(ctx context.Context, callID string) error {
	if err := a.h.cfg.Slots.Hold(ctx, campaign.SlotsKey(a.c.ID), a.key()); err != nil {
		return fmt.Errorf("hold the slot of call %s: %w", callID, err)
	}
	return a.follow(ctx, callID)
}

// follow polls call callID until it is over and gives the slot back at once (the line is
// free; waiting for the analysis needs no slot), then waits for the analysis, records the
// result and does the follow-up. When ctx ends while the call is live the slot stays held
// (its lease runs out unless a new run of the task resumes the call) and nothing is recorded.
func (a *attempt) follow(ctx context.Context, callID string) error {
	cfg := &a.h.cfg
	slotsKey := campaign.SlotsKey(a.c.ID)
	stop := cfg.Slots.KeepAlive(ctx, slotsKey, a.key())
	call, err := a.pollEnd(ctx, callID)
	stop()
	var apiErr *interactly.APIError
	refused := errors.As(err, &apiErr) && !apiErr.Retryable && !refusedKey(err)
	if err != nil && !refused {
		return err
	}
	if err := cfg.Slots.Release(ctx, slotsKey, a.key()); err != nil {
		a.log.Warn("release slot", "err", err) // its lease runs out anyway
	}
	if err := cfg.Store.CallEnded(ctx, a.t.CampaignID, a.t.ContactID, a.t.Attempt); err != nil {
		return err
	}
	var r campaign.Result
	if refused {
		r = campaign.Result{Outcome: campaign.OutcomeError, CallID: callID, Error: "the call's result cannot be read: " + apiErr.Error()}
	} else {
		if call, err = a.awaitAnalysis(ctx, call); err != nil {
			return err
		}
		r = resultOf(call)
	}
	a.log.Info("call ended", "call", callID, "outcome", r.Outcome, "phoneCallStatus", r.PhoneCallStatus)
	if err := a.finish(ctx, r); err != nil {
		return err
	}
	return a.followUp(ctx, r)
}

// maxRefusedPolls is how many permanent refusals of Get Call in a row (a 404 for the call
// just placed, say) end the attempt with outcome error.
const maxRefusedPolls = 10

// pollEnd calls Get Call every poll.interval until the call is over. Retryable failures are
// retried (the client retries each read within its own budget, too) until ctx ends, and the
// task's timeout bounds the whole. After maxRefusedPolls permanent refusals in a row it
// returns the last one, an *interactly.APIError.
func (a *attempt) pollEnd(ctx context.Context, callID string) (*interactly.Call, error) {
	refused := 0
	for {
		call, err := a.h.cfg.API.GetCall(ctx, callID)
		var apiErr *interactly.APIError
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &apiErr) && !apiErr.Retryable && !refusedKey(err):
			if refused++; refused >= maxRefusedPolls {
				return nil, apiErr
			}
			a.log.Warn("get call refused", "call", callID, "err", err)
		case err != nil:
			refused = 0
			a.log.Warn("get call", "call", callID, "err", err)
		case call.Ended():
			return call, nil
		default:
			refused = 0
		}
		if err := sleep(ctx, a.c.File.Poll.Interval.D()); err != nil {
			return nil, err
		}
	}
}

// awaitAnalysis reads an ended call every poll.interval until its analysis is filled in (for
// a completed call; others have none to wait for) or poll.analysisWait has passed, and
// returns the last read. Failed reads keep the one before.
func (a *attempt) awaitAnalysis(ctx context.Context, call *interactly.Call) (*interactly.Call, error) {
	deadline := a.h.now().Add(a.c.File.Poll.AnalysisWait.D())
	for awaitingAnalysis(call) && a.h.now().Before(deadline) {
		if err := sleep(ctx, a.c.File.Poll.Interval.D()); err != nil {
			return nil, err
		}
		next, err := a.h.cfg.API.GetCall(ctx, call.ID)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			a.log.Warn("get call", "call", call.ID, "err", err)
		default:
			call = next
		}
	}
	return call, nil
}

func awaitingAnalysis(call *interactly.Call) bool {
	if resultOf(call).Outcome != campaign.OutcomeCompleted {
		return false
	}
	an := call.Analysis
	return an == nil || (an.Summary == "" && an.SuccessEvaluation == "")
}

// finish records the attempt's result.
func (a *attempt) finish(ctx context.Context, r campaign.Result) error {
	return a.h.cfg.Store.FinishAttempt(ctx, a.t.CampaignID, a.t.ContactID, a.t.Attempt, r)
}

// followUp schedules the next attempt when r's outcome is retried and attempts remain, and
// otherwise records r's outcome as the contact's final one. Both steps are idempotent: the
// next task's TaskID exists once, and the outcome is set once.
func (a *attempt) followUp(ctx context.Context, r campaign.Result) error {
	cfg := &a.h.cfg
	retry := a.c.File.Retry
	if retries(a.c, r.Outcome) && a.t.Attempt < retry.MaxAttempts {
		from := r.EndedAt
		if from.IsZero() {
			from = a.h.now()
		}
		at := from.Add(retry.Delay.D())
		next := a.t.Attempt + 1
		if err := cfg.Enqueuer.EnqueueDial(ctx, a.t.CampaignID, a.t.ContactID, next, at); err != nil {
			return err
		}
		a.log.Info("next attempt scheduled", "attempt", next, "at", at.UTC().Format(time.RFC3339))
		return cfg.Store.ScheduleNext(ctx, a.t.CampaignID, a.t.ContactID, next, at)
	}
	_, err := cfg.Store.Finalize(ctx, a.t.CampaignID, a.t.ContactID, r.Outcome, "")
	return err
}

// request builds the Connect Call request: the campaign's assistantOverrides with the
// contact's columns merged over its dynamicVariables, and the campaign's metadata with the
// campaign, contact and attempt over it.
func (a *attempt) request() *interactly.ConnectCallRequest {
	f := &a.c.File
	row := campaign.Row{Fields: a.ct.Fields}
	overrides := f.AssistantOverridesFor(row.DynamicVariables(a.c.Header))

	metadata := maps.Clone(f.Metadata)
	if metadata == nil {
		metadata = map[string]any{}
	}
	metadata["campaignId"] = a.c.ID
	metadata["contactId"] = a.ct.ID
	metadata["attempt"] = a.t.Attempt

	return &interactly.ConnectCallRequest{
		Direction:          "outbound",
		PhoneNumberID:      f.PhoneNumberID,
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

// resultOf maps a finished call to an attempt result.
func resultOf(call *interactly.Call) campaign.Result {
	r := campaign.Result{
		Outcome:         outcomeOf(call),
		CallID:          call.ID,
		StartedAt:       startOf(call),
		EndedAt:         call.EndAt.Time,
		PhoneCallStatus: string(call.PhoneCallStatus),
		EndedBy:         call.CallEndTriggerBy,
	}
	if an := call.Analysis; an != nil {
		r.Summary = an.Summary
		r.SuccessEvaluation = an.SuccessEvaluation
		if len(an.StructuredData) > 0 && string(an.StructuredData) != "null" && string(an.StructuredData) != "{}" {
			if b, err := json.Marshal(an.StructuredData); err == nil {
				r.StructuredData = string(b)
			}
		}
	}
	return r
}

// outcomeOf maps Interactly's two status fields to an outcome. A forwarded call is
// forwarded; a final phoneCallStatus decides next; a call that is finished with no final
// phoneCallStatus (the reference shows "finished" beside "ringing") counts as completed,
// because retrying a call that may have been answered would call a person twice.
func outcomeOf(call *interactly.Call) campaign.Outcome {
	if call.Status == interactly.CallForwarded {
		return campaign.OutcomeForwarded
	}
	switch call.PhoneCallStatus {
	case interactly.PhoneBusy:
		return campaign.OutcomeBusy
	case interactly.PhoneNoAnswer:
		return campaign.OutcomeNoAnswer
	case interactly.PhoneFailed:
		return campaign.OutcomeFailed
	}
	return campaign.OutcomeCompleted
}

func startOf(call *interactly.Call) time.Time {
	if !call.StartAt.IsZero() {
		return call.StartAt.Time
	}
	return call.CreatedAt.Time
}
