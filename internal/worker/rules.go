package worker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/queue"
)

// Suppression tells whether a number is on a suppression (do-not-call) list that a campaign
// obeys; *suppression.List implements it.
type Suppression interface {
	Suppressed(ctx context.Context, campaignID, number string) (bool, error)
}

// firstErr runs checks in order, each with ctx, and returns the first error without running
// the checks after it: those may have effects (checkFrequency counts the dial) that a
// contact the failed check finalized or parked must not have.
func firstErr(ctx context.Context, checks ...func(context.Context) error) error {
	for _, check := range checks {
		if err := check(ctx); err != nil {
			return err
		}
	}
	return nil
}

// errNeverOpen is the outcome error of a contact whose zones share no open hour.
const errNeverOpen = "its time zones never share an open calling window; give it one zone in the timezone column"

// checkWindow returns nil when a's contact may be called now. Otherwise it records that the
// contact waits and returns a *queue.RetryLaterError due when its window next opens; or, for
// a contact that can never be called inside the window, records outcome error and returns
// errFinal.
func (a *attempt) checkWindow(ctx context.Context) error {
	w := a.window
	if w == nil {
		a.audit.Window = "none"
		return nil
	}
	row := contactcsv.Row{Fields: a.ct.Fields}
	zones, source, err := a.c.File.ContactZones(a.ct.Number, row.DynamicVariables(a.c.Header))
	if err != nil {
		return a.finalize(ctx, campaign.OutcomeError, err.Error())
	}
	now := a.h.now()
	if w.OpenIn(now, zones) {
		local := make([]string, len(zones))
		for i, z := range zones {
			local[i] = now.In(z).Format(time.RFC3339)
		}
		a.audit.Window, a.audit.Zones, a.audit.ZoneSource = w.String(), zoneNames(zones), source
		a.audit.LocalTime = strings.Join(local, ",")
		return nil
	}
	next := w.NextOpening(now, zones)
	if next.IsZero() {
		return a.finalize(ctx, campaign.OutcomeError, errNeverOpen)
	}
	if err := a.h.cfg.Store.WaitForWindow(ctx, a.t.CampaignID, a.t.ContactID, next); err != nil {
		return err
	}
	a.log.Info("outside the calling window", "zones", zoneNames(zones), "from", source, "opens", next.UTC().Format(time.RFC3339))
	return &queue.RetryLaterError{In: next.Sub(now), Reason: "outside the contact's calling window " + w.String()}
}

// checkDue returns a *queue.RetryLaterError for the rest of the wait when the task runs
// before the time its attempt was scheduled for (retry.delay after the previous attempt's
// end), and nil from then on. asynq keeps a task's due time in whole seconds, so it can run
// a task up to a second early; this check keeps retry.delay to the nanosecond.
func (a *attempt) checkDue(context.Context) error {
	if a.ct.NextAttempt != a.t.Attempt || a.ct.NextAt.IsZero() {
		return nil
	}
	if wait := a.ct.NextAt.Sub(a.h.now()); wait > 0 {
		return &queue.RetryLaterError{In: wait, Reason: fmt.Sprintf("attempt %d is due at %s", a.t.Attempt, a.ct.NextAt.UTC().Format(time.RFC3339Nano))}
	}
	return nil
}

// checkStart returns a *queue.RetryLaterError due at the campaign's startAt while it lies
// ahead, and nil from then on.
func (a *attempt) checkStart(context.Context) error {
	start := a.c.File.StartAt
	if start == nil {
		return nil
	}
	if wait := start.Sub(a.h.now()); wait > 0 {
		return &queue.RetryLaterError{In: wait, Reason: "the campaign starts at " + start.UTC().Format(time.RFC3339)}
	}
	return nil
}

// uncount takes this dial back from its number's frequency count: Interactly refused the
// request, so the dial reached nobody. A failure is logged; the count then expires with
// the cap's window.
func (a *attempt) uncount(ctx context.Context) {
	if !a.counted {
		return
	}
	if err := a.h.cfg.Frequency.Release(context.WithoutCancel(ctx), a.ct.Number, a.key()); err != nil {
		a.log.Warn("take a refused dial back from the frequency count", "err", err)
		return
	}
	a.counted = false
}

// checkFrequency counts this dial against the number's frequency cap across campaigns (the
// campaign's frequencyCap, else the worker's default), and returns a *queue.RetryLaterError
// due when the cap allows a dial again if it does not now. Taking again for the same
// attempt does not count twice.
func (a *attempt) checkFrequency(ctx context.Context) error {
	cfg := &a.h.cfg
	cap := cfg.DefaultFrequencyCap
	if fc := a.c.File.FrequencyCap; fc != nil {
		c := fc.Cap()
		cap = &c
	}
	if cap == nil || cfg.Frequency == nil {
		a.audit.Frequency = "no cap"
		return nil
	}
	res, err := cfg.Frequency.Take(ctx, a.ct.Number, a.key(), *cap)
	if err != nil {
		return fmt.Errorf("check frequency cap: %w", err)
	}
	if res.Allowed {
		a.counted = true
		a.audit.Frequency = fmt.Sprintf("%d of %d in %s", res.Count, cap.MaxCalls, cap.Per)
		return nil
	}
	a.log.Info("frequency cap reached; waiting", "number", a.number(), "dials", res.Count, "until", res.RetryAt.UTC().Format(time.RFC3339))
	return &queue.RetryLaterError{
		In:     max(time.Until(res.RetryAt), time.Second),
		Reason: fmt.Sprintf("the number had %d dials in the last %s (frequency cap)", res.Count, cap.Per),
	}
}

// checkSuppressed returns nil when a's number is on no suppression list; otherwise it
// records the outcome suppressed and returns errFinal.
func (a *attempt) checkSuppressed(ctx context.Context) error {
	sup := a.h.cfg.Suppression
	if sup == nil {
		a.audit.Suppression = "not checked"
		return nil
	}
	suppressed, err := sup.Suppressed(ctx, a.t.CampaignID, a.ct.Number)
	if err != nil {
		return fmt.Errorf("check suppression lists: %w", err)
	}
	if !suppressed {
		a.audit.Suppression = "not suppressed"
		return nil
	}
	a.log.Info("suppressed; not dialing", "number", a.number())
	return a.finalize(ctx, campaign.OutcomeSuppressed, campaign.SuppressedReason)
}

// checkEnd returns nil before the campaign's endAt; from then on it records the outcome
// expired and returns errFinal.
func (a *attempt) checkEnd(ctx context.Context) error {
	end := a.c.File.EndAt
	if end == nil || a.h.now().Before(*end) {
		return nil
	}
	return a.finalize(ctx, campaign.OutcomeExpired, expiredReason(*end))
}

func expiredReason(end time.Time) string {
	return "the campaign's endAt " + end.UTC().Format(time.RFC3339) + " passed before the contact could be called"
}

// checkControl returns nil while the campaign runs. While it is paused it holds the task
// (the campaign's Resume enqueues it again) and returns errHeld; once it is canceled it
// records the outcome canceled and returns errFinal.
func (a *attempt) checkControl(ctx context.Context) error {
	ctl, err := a.h.cfg.Store.HoldIfPaused(ctx, a.t)
	if err != nil {
		return err
	}
	switch ctl {
	case campaign.ControlPaused:
		a.log.Info("campaign paused; holding the dial until it resumes")
		return errHeld
	case campaign.ControlCanceled:
		return a.finalize(ctx, campaign.OutcomeCanceled, "")
	}
	return nil
}

// finalize records outcome o with reason why as the contact's final one and returns
// errFinal, which ends the task without a dial.
func (a *attempt) finalize(ctx context.Context, o campaign.Outcome, why string) error {
	if err := a.h.finalize(ctx, a.c, a.t.ContactID, o, why); err != nil {
		return err
	}
	return errFinal
}

// errFinal ends a task whose contact got its final outcome without a dial.
var errFinal = fmt.Errorf("contact finished without a dial")

// errHeld ends a task of a paused campaign; the campaign holds its attempt for Resume.
var errHeld = fmt.Errorf("campaign paused; attempt held")

func zoneNames(zones []*time.Location) string {
	names := make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.String()
	}
	return strings.Join(names, ",")
}
