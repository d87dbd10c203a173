package worker

import (
	"context"
	"errors"
	"slices"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
)

// adoptCampaigns is how many of the newest campaigns AdoptOrphans looks at.
const adoptCampaigns = 200

// AdoptOrphans adopts, every AdoptEvery until ctx is done, the live calls whose follower's
// lease ran out (campaign.Store.Orphans): their worker died (kill -9, a lost machine) or
// stopped. This process takes the lease and follows each such call to its end and
// follow-up, outside asynq, up to AdoptLimit at once. Without it a dead worker's calls wait
// for asynq's recovery of its tasks, about two minutes after the crash and then behind
// every task in the queue. The task itself, recovered later, finds the call followed or
// recorded and only does its follow-up. It looks at the newest 200 campaigns.
func (h *Handler) AdoptOrphans(ctx context.Context) {
	for {
		if err := clock.Sleep(ctx, jitter(h.cfg.AdoptEvery)); err != nil {
			return
		}
		if err := h.adoptOnce(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("look for calls to adopt", "err", err)
		}
	}
}

func (h *Handler) adoptOnce(ctx context.Context) error {
	free := h.cfg.AdoptLimit - int(h.adopting.Load())
	if free <= 0 {
		return nil
	}
	store := h.cfg.Store
	ids, err := store.CampaignIDs(ctx)
	if err != nil {
		return err
	}
	slices.Reverse(ids)
	ids = ids[:min(len(ids), adoptCampaigns)]
	now, err := store.RedisTime(ctx)
	if err != nil {
		return err
	}
	orphans, err := store.Orphans(ctx, ids, now, 0, free)
	if err != nil {
		return err
	}
	for _, ref := range orphans {
		if int(h.adopting.Load()) >= h.cfg.AdoptLimit {
			return nil
		}
		ok, err := store.Follow(ctx, ref, h.token)
		if err != nil {
			return err
		}
		if !ok {
			continue // another worker adopted it first
		}
		h.adopting.Add(1)
		go func() {
			defer h.adopting.Add(-1)
			h.adopt(ctx, ref)
		}()
	}
	return nil
}

// adopt follows the orphaned call of attempt ref, whose follower lease this Handler holds,
// to its end and follow-up, as its own task's run would.
func (h *Handler) adopt(ctx context.Context, ref campaign.AttemptRef) {
	log := h.log.With("task", ref.String(), "adopted", true)
	unfollow := func() {
		if err := h.cfg.Store.Unfollow(context.WithoutCancel(ctx), ref, h.token); err != nil {
			log.Warn("drop the follower lease", "err", err)
		}
	}
	cr, err := h.campaign(ctx, ref.CampaignID)
	if err != nil {
		log.Warn("adopt call: read campaign", "err", err)
		unfollow()
		return
	}
	ct, err := h.cfg.Store.Contact(ctx, ref.CampaignID, ref.ContactID)
	if err != nil {
		log.Warn("adopt call: read contact", "err", err)
		unfollow()
		return
	}
	rec, err := h.cfg.Store.Attempt(ctx, ref)
	if err != nil {
		log.Warn("adopt call: read attempt", "err", err)
		unfollow()
		return
	}
	acct, api, err := h.account(ctx, cr.c)
	if err != nil {
		log.Warn("adopt call: read account", "err", err)
		unfollow()
		return
	}
	a := &attempt{h: h, c: cr.c, acct: acct, api: api, window: cr.window, ct: ct, t: ref, log: log}
	switch {
	case ct.ID == 0 || ct.Outcome != "":
		unfollow()
		return
	case rec.State == campaign.AttemptDone:
		// A webhook recorded the call after its worker died: only the follow-up is left.
		err = a.followUp(ctx, rec.Result)
		unfollow()
	case rec.State == campaign.AttemptLive:
		log.Info("adopting a live call whose worker went quiet", "call", rec.CallID)
		err = a.resume(ctx, rec.CallID, rec.CallerID) // follow drops the lease when done
	default:
		unfollow()
		return
	}
	if err != nil && !errors.Is(err, errFinal) && !errors.Is(err, errHeld) && !isRetryLater(err) && ctx.Err() == nil {
		// The call's own task, recovered by asynq, takes over from here.
		log.Warn("adopted call not finished; its task will", "err", err)
	}
}
