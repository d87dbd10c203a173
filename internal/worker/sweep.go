package worker

import (
	"context"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/callerid"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
)

// The bounds of one sweep: at most sweepCampaigns active campaigns (the next ones in turn at
// the next sweep), and at most sweepHolders holders of each key.
const (
	sweepCampaigns = 200
	sweepHolders   = 1000
)

// SweepLeaderKey is the Redis key of the lock whose holder sweeps (see SweepSlots): one
// worker process sweeps at a time.
const SweepLeaderKey = "dialer:sweeper:leader"

// SweepSlots frees, every SweepEvery until ctx is done, the concurrency slots whose attempt
// is recorded as finished, whatever happened to the release of the worker that held them:
// a worker killed between recording the result and giving the slot back, a release lost
// when Redis crashed (appendfsync everysec loses up to a second of writes), a release whose
// retries gave up. A finished attempt never takes a slot again, so freeing its slot is safe
// at any time. It sweeps the slots of the active campaigns (sweepCampaigns of them a pass,
// in turn), of every account, and of the capped caller IDs of those campaigns; each key's
// holders are read with their lease running (sweepHolders at most), and their attempts'
// states in one round trip. Run it in one process at a time (see SweepLeaderKey); running
// it in several only repeats the work.
func (h *Handler) SweepSlots(ctx context.Context) {
	for {
		if err := clock.Sleep(ctx, h.cfg.SweepEvery); err != nil {
			return
		}
		n, err := h.sweepOnce(ctx)
		if err != nil && ctx.Err() == nil {
			h.log.Warn("free the slots of finished attempts", "err", err)
		}
		if n > 0 {
			h.log.Info("freed the slots of finished attempts", "slots", n)
		}
	}
}

// sweepOnce does one pass of SweepSlots and returns how many slots it freed.
func (h *Handler) sweepOnce(ctx context.Context) (int, error) {
	store := h.cfg.Store
	ids, err := store.ActiveCampaigns(ctx)
	if err != nil {
		return 0, err
	}
	if len(ids) > sweepCampaigns {
		from := h.sweepFrom % len(ids)
		ids = append(ids[from:], ids[:from]...)[:sweepCampaigns]
		h.sweepFrom = from + sweepCampaigns
	}
	cs, err := store.Campaigns(ctx, ids)
	if err != nil {
		return 0, err
	}
	var keys []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for i, c := range cs {
		add(campaign.SlotsKey(ids[i]))
		if c == nil {
			continue
		}
		for _, cid := range c.File.CallerIDs() {
			if cid.MaxConcurrentCalls > 0 {
				add(callerid.SlotsKey(cid.ID))
			}
		}
	}
	if h.cfg.Accounts != nil {
		accts, err := h.cfg.Accounts.List(ctx)
		if err != nil {
			return 0, err
		}
		for _, a := range accts {
			add(account.SlotsKey(a.Name))
		}
	} else {
		add(account.SlotsKey(account.Default))
	}
	freed := 0
	for _, key := range keys {
		n, err := h.sweepKey(ctx, key)
		freed += n
		if err != nil {
			return freed, err
		}
	}
	return freed, nil
}

// sweepKey frees the slots of key whose holder's attempt is done, and returns how many.
func (h *Handler) sweepKey(ctx context.Context, key string) (int, error) {
	holders, err := h.cfg.Slots.Holders(ctx, key, sweepHolders)
	if err != nil || len(holders) == 0 {
		return 0, err
	}
	var refs []campaign.AttemptRef
	var names []string
	for _, holder := range holders {
		if ref, ok := campaign.ParseAttemptRef(holder); ok {
			refs = append(refs, ref)
			names = append(names, holder)
		}
	}
	states, err := h.cfg.Store.AttemptStates(ctx, refs)
	if err != nil {
		return 0, err
	}
	freed := 0
	for i, st := range states {
		if st != campaign.AttemptDone {
			continue
		}
		if err := h.cfg.Slots.Release(ctx, key, names[i]); err != nil {
			return freed, err
		}
		freed++
	}
	return freed, nil
}
