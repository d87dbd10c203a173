package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/notify"
)

// EditResult is what Edit did.
type EditResult struct {
	// Campaign is the campaign as edited.
	Campaign *campaign.Campaign
	// Changes lists each setting that changed, as "key: old -> new" with dotted keys
	// (rateLimit.callsPerSecond: 2 -> 0.5), in key order; empty when the edit changed nothing.
	Changes []string
	// Woken counts the attempts waiting for a calling window that a window change made due
	// now, to be judged under the new window.
	Woken int
	// DueAtEnd counts the attempts parked past an earlier endAt, now due at it.
	DueAtEnd int
}

// Edit changes campaign id's file with patch, a JSON merge patch of campaign.EditableKeys
// (see campaign.File.Patch): its limits, calling window, retry policy, endAt, priority and
// weight. The campaign must be scheduled, running or paused. Every worker and the feeder
// apply the new file within about a second (they compare the file's version); attempts
// waiting for a calling window are judged again under a changed one, and attempts parked
// past an endAt moved earlier become due at it. Calls already live are not touched.
//
// Errors: campaign.ErrCampaignNotFound; a *campaign.StateError for a campaign that cannot
// be edited; a *campaign.FileError naming the key that is wrong; ErrEndAtPassed for an
// endAt that has passed (to stop a campaign now, cancel it).
func (o *Operator) Edit(ctx context.Context, id string, patch map[string]any) (EditResult, error) {
	var res EditResult
	for range 5 {
		c, err := o.store.Campaign(ctx, id)
		if err != nil {
			return res, err
		}
		st, err := o.store.Status(ctx, id)
		if err != nil {
			return res, err
		}
		if err := campaign.CheckAction(id, campaign.FactsOf(c, st.Finished, st.Held), campaign.ActionEdit, o.cfg.Now()); err != nil {
			return res, err
		}
		nf, err := c.File.Patch(patch)
		if err != nil {
			return res, err
		}
		if _, ok := patch["endAt"]; ok && nf.EndAt != nil && !nf.EndAt.After(o.cfg.Now()) {
			return res, fmt.Errorf("endAt %s: %w", nf.EndAt.Format(time.RFC3339), ErrEndAtPassed)
		}
		changes, err := c.File.Changes(nf)
		if err != nil {
			return res, err
		}
		if len(changes) == 0 {
			res.Campaign = c
			return res, nil
		}
		v, err := o.store.SetFile(ctx, c, nf)
		if errors.Is(err, campaign.ErrEditConflict) {
			continue // someone else edited it meanwhile: apply the patch to theirs
		}
		if err != nil {
			return res, err
		}
		old := c.File
		c.File, c.Version, res.Campaign, res.Changes = *nf, v, c, changes
		if windowChanged(&old, nf) {
			if res.Woken, err = o.store.WakeWaiting(ctx, id, o.cfg.Now()); err != nil {
				return res, fmt.Errorf("campaign %s is changed, but its contacts waiting for the old window could not be woken: %w", id, err)
			}
		}
		if nf.EndAt != nil && (old.EndAt == nil || nf.EndAt.Before(*old.EndAt)) {
			if res.DueAtEnd, err = o.store.DueBy(ctx, id, *nf.EndAt); err != nil {
				return res, fmt.Errorf("campaign %s is changed, but its attempts parked past the new endAt could not be moved to it: %w", id, err)
			}
		}
		return res, nil
	}
	return res, fmt.Errorf("campaign %s: %w five times in a row; try again", id, campaign.ErrEditConflict)
}

// windowChanged reports whether a and b read contacts' calling windows differently.
func windowChanged(a, b *campaign.File) bool {
	ja, _ := json.Marshal([]any{a.CallingWindow, a.DefaultTimezone})
	jb, _ := json.Marshal([]any{b.CallingWindow, b.DefaultTimezone})
	return string(ja) != string(jb)
}

// Retry gives every contact of campaign id whose final outcome is one of outcomes one new
// attempt, due now (campaign.Store.Retry): beyond retry.maxAttempts, and not retried again
// by the file's policy. A done campaign runs again.
func (o *Operator) Retry(ctx context.Context, id string, outcomes []campaign.Outcome) (campaign.RetryResult, error) {
	return o.store.Retry(ctx, id, outcomes)
}

// Redial makes contact n of campaign id due for a dial now (campaign.Store.Redial): a new
// attempt for a finished contact, its waiting attempt moved to now for one in progress.
func (o *Operator) Redial(ctx context.Context, id string, n int) (campaign.RedialResult, error) {
	return o.store.Redial(ctx, id, n)
}

// Skip gives contact n of campaign id the outcome canceled without a dial
// (campaign.Store.Skip) and queues its notifications, and the campaign's when that was its
// last row.
func (o *Operator) Skip(ctx context.Context, id string, n int) error {
	res, err := o.store.Skip(ctx, id, n)
	if err != nil {
		return err
	}
	c, err := o.store.Campaign(ctx, id)
	if err != nil || c.File.Notify == nil {
		return err
	}
	notifier := notify.NewEnqueuer(o.ac, o.store)
	if err := notifier.ContactFinished(ctx, c, n); err != nil {
		return fmt.Errorf("contact %d is skipped, but its notification could not be queued: %w", n, err)
	}
	if res == campaign.FinalizedCampaign {
		return notifier.CampaignFinished(ctx, c)
	}
	return nil
}
