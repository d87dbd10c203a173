package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
)

// accountTTL is how long a Handler trusts an account it read: `dialer account set` takes
// effect in every worker within it.
const accountTTL = 5 * time.Second

type cachedAccount struct {
	a  *account.Account
	at time.Time
}

// account returns the account of campaign c and the API client of its key. An account that
// is not set, or whose key's environment variable this process lacks, holds the dial
// (a *queue.RetryLaterError): every contact of the account would fail alike.
func (h *Handler) account(ctx context.Context, c *campaign.Campaign) (*account.Account, CallAPI, error) {
	name := c.File.Account
	if name == "" {
		name = account.Default
	}
	if h.cfg.Accounts == nil {
		return &account.Account{Name: name, APIKeyEnv: account.DefaultAPIKeyEnv}, h.cfg.API, nil
	}
	var acct *account.Account
	if v, ok := h.accounts.Load(name); ok && time.Since(v.(cachedAccount).at) < accountTTL {
		acct = v.(cachedAccount).a
	} else {
		a, err := h.cfg.Accounts.Get(ctx, name)
		if errors.Is(err, account.ErrNotFound) {
			h.log.Error("campaign names an account that is not set; its dials are held", "campaign", c.ID, "err", err)
			return nil, nil, &queue.RetryLaterError{In: jitter(30 * time.Second), Reason: err.Error()}
		}
		if err != nil {
			return nil, nil, err
		}
		h.accounts.Store(name, cachedAccount{a: a, at: time.Now()})
		acct = a
	}
	if acct.APIKeyEnv == account.DefaultAPIKeyEnv || h.cfg.APIFor == nil {
		return acct, h.cfg.API, nil
	}
	api, err := h.cfg.APIFor(acct.APIKeyEnv)
	if err != nil {
		h.log.Error("no API client for the account; its dials are held", "account", acct.Name, "err", err)
		return nil, nil, &queue.RetryLaterError{In: jitter(30 * time.Second), Reason: fmt.Sprintf("account %s: %v", acct.Name, err)}
	}
	return acct, api, nil
}

// takeSlots takes a live-call slot of the attempt's campaign and, when its account caps
// live calls, of the account, without waiting: it reports false when either is full (and
// then holds neither).
func (a *attempt) takeSlots(ctx context.Context) (bool, error) {
	cfg := &a.h.cfg
	ok, err := cfg.Slots.TryAcquire(ctx, campaign.SlotsKey(a.c.ID), a.key(), a.c.File.RateLimit.MaxConcurrentCalls)
	if err != nil || !ok {
		return false, err
	}
	if n := a.acct.MaxConcurrentCalls; n > 0 {
		ok, err = cfg.Slots.TryAcquire(ctx, account.SlotsKey(a.acct.Name), a.key(), n)
		if err != nil || !ok {
			_ = cfg.Slots.Release(context.WithoutCancel(ctx), campaign.SlotsKey(a.c.ID), a.key())
			return false, err
		}
	}
	return true, nil
}

// holdSlots counts the attempt's live call against its campaign's and account's caps
// whatever they say (see ratelimit.Semaphore.Hold).
func (a *attempt) holdSlots(ctx context.Context) error {
	if err := a.h.cfg.Slots.Hold(ctx, campaign.SlotsKey(a.c.ID), a.key()); err != nil {
		return err
	}
	if a.acct.MaxConcurrentCalls > 0 {
		return a.h.cfg.Slots.Hold(ctx, account.SlotsKey(a.acct.Name), a.key())
	}
	return nil
}

// releaseSlots gives back the attempt's campaign and account slots.
func (a *attempt) releaseSlots(ctx context.Context) error {
	err := a.h.cfg.Slots.Release(ctx, campaign.SlotsKey(a.c.ID), a.key())
	if a.acct.MaxConcurrentCalls > 0 {
		err = errors.Join(err, a.h.cfg.Slots.Release(ctx, account.SlotsKey(a.acct.Name), a.key()))
	}
	return err
}

// keepSlots renews the attempt's slot leases until stop is called.
func (a *attempt) keepSlots(ctx context.Context) (stop func()) {
	stopCampaign := a.h.cfg.Slots.KeepAlive(ctx, campaign.SlotsKey(a.c.ID), a.key())
	if a.acct.MaxConcurrentCalls <= 0 {
		return stopCampaign
	}
	stopAccount := a.h.cfg.Slots.KeepAlive(ctx, account.SlotsKey(a.acct.Name), a.key())
	return func() { stopCampaign(); stopAccount() }
}

// takeTurn takes the dial's calls-per-second turns (see turns), waiting at most TokenWait
// in all: the feeder gives workers a campaign's dials about when their turns come. It
// reports false when a turn does not come in time; the dial is then parked again.
func (a *attempt) takeTurn(ctx context.Context) (bool, error) {
	cfg := &a.h.cfg
	wctx, cancel := context.WithTimeout(ctx, cfg.TokenWait)
	defer cancel()
	waited, err := a.turns(wctx)
	cfg.Metrics.RateLimitWait(a.c.ID, waited)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("wait for a calls-per-second turn: %w", err)
	}
	return true, nil
}

// turns takes the dial's calls-per-second turns, its campaign's and, when the account caps
// calls per second, its account's, at one instant (ratelimit.Limiter.WaitAll), waiting as
// long as ctx allows, and returns how long it waited. Every send of Connect Call takes them:
// the first through takeTurn, a retried one through paceRetry.
//
// A turn holds its limit only if the dial is sent at about the moment it was granted (the
// headroom leaves 25 ms a second). Taken one after the other, the first turn went stale in
// the queue for the second: with the account's first, an account of 15 calls/s saw 16
// dials in one second (cmd/chaos's fault-free baseline); with the campaign's first, a
// campaign of 8 saw 9. Taken together, neither waits for the other.
func (a *attempt) turns(ctx context.Context) (waited time.Duration, err error) {
	cfg := &a.h.cfg
	turns := []ratelimit.Turn{{Key: campaign.RateKey(a.c), CPS: a.rate()}}
	if a.acct.CallsPerSecond > 0 {
		turns = append(turns, ratelimit.Turn{Key: account.RateKey(a.acct.Name), CPS: a.acct.CallsPerSecond * (1 - cfg.RateHeadroom)})
	}
	waited, err = cfg.Limiter.WaitAll(ctx, turns...)
	if err == nil {
		a.turnAt = time.Now()
	}
	return waited, err
}

// staleTurn is how old a dial's calls-per-second turns may be when it is sent: half the
// slack the headroom leaves in every second (12.5 ms by default), the other half left for
// the way to Interactly.
func (c *Config) staleTurn() time.Duration {
	return time.Duration(c.RateHeadroom / 2 * float64(time.Second))
}

// rate is the campaign's own calls per second, less the headroom.
func (a *attempt) rate() float64 {
	return a.c.File.RateLimit.CallsPerSecond * (1 - a.h.cfg.RateHeadroom)
}
