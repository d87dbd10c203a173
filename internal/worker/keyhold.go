package worker

import (
	"context"
	"errors"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
)

// KeyRefusedReason is the reason of a dial held because Interactly refuses its account's API
// key, as `dialer status` shows it.
const KeyRefusedReason = "held: API key refused"

// checkKeyHold holds the dial, as a *queue.RetryLaterError until the account's next probe,
// while Interactly refuses the account's API key (account.Store.CheckKeyHold): it goes back
// to the hopper without a request or a claim, so it spends no attempt. When this dial is the
// account's probe, it sets a.probe and lets the dial go. Without Config.Accounts there is no
// fleet-wide hold.
func (a *attempt) checkKeyHold(ctx context.Context) error {
	accts := a.h.cfg.Accounts
	if accts == nil {
		return nil
	}
	check, probeAt, err := accts.CheckKeyHold(ctx, a.acct.Name, a.h.now())
	switch {
	case err != nil:
		return err
	case check == account.KeyHeld:
		return &queue.RetryLaterError{In: probeAt.Sub(a.h.now()) + jitter(100*time.Millisecond), Reason: KeyRefusedReason}
	case check == account.KeyProbe:
		a.probe = true
		a.log.Info("probing whether Interactly accepts the account's API key again", "account", a.acct.Name)
	}
	return nil
}

// returnProbe lets another dial probe at once when this dial was the account's probe but
// stopped before sending anything (no slot free, outside its window, suppressed, …).
func (a *attempt) returnProbe(ctx context.Context) {
	if !a.probe || a.sent {
		return
	}
	if err := a.h.cfg.Accounts.ReturnProbe(context.WithoutCancel(ctx), a.acct.Name, a.h.now()); err != nil {
		a.log.Warn("hand the API key probe back", "err", err)
	}
}

// keyAccepted ends the account's key hold after Interactly accepted a request, when this
// dial was let through as the probe. Other dials need not ask: none goes while the account
// is held, so they cost no Redis read.
func (a *attempt) keyAccepted(ctx context.Context) {
	accts := a.h.cfg.Accounts
	if accts == nil || !a.probe {
		return
	}
	held, err := accts.KeyHoldOf(ctx, a.acct.Name)
	if err != nil || held == nil {
		return
	}
	if err := accts.ClearKeyHold(ctx, a.acct.Name); err != nil {
		a.log.Warn("end the API key hold", "err", err)
		return
	}
	a.h.log.Info("Interactly accepts the API key again; dialing resumes", "account", a.acct.Name, "held", a.h.now().Sub(held.Since).Round(time.Second).String())
}

// keyRefused holds account acct's dials in every worker after Interactly refused its API key
// with err (an *interactly.APIError, 401 or 403), and returns the *queue.RetryLaterError
// that parks this dial until the next probe. Every contact of the account would be refused
// alike, so none is given an outcome. The refusal is logged once, then at most once per
// account.KeyLogEvery across the fleet. Without Config.Accounts each worker holds its own
// dials for 30–45 s and logs each refusal.
func (h *Handler) keyRefused(ctx context.Context, acct *account.Account, err error) error {
	const msg = "Interactly refuses the API key; dialing is held until it is fixed, probing with one dial at a time"
	if h.cfg.Accounts == nil || acct == nil {
		h.log.Error(msg, "err", err)
		return &queue.RetryLaterError{In: jitter(30 * time.Second), Reason: KeyRefusedReason}
	}
	var apiErr *interactly.APIError
	errors.As(err, &apiErr)
	now := h.now()
	probeAt, log, herr := h.cfg.Accounts.RefuseKey(context.WithoutCancel(ctx), acct.Name, apiErr.Status, now)
	if herr != nil {
		h.log.Error(msg, "account", acct.Name, "err", err, "hold", herr)
		return &queue.RetryLaterError{In: jitter(30 * time.Second), Reason: KeyRefusedReason}
	}
	if log {
		h.log.Error(msg, "account", acct.Name, "key", acct.APIKeyEnv, "status", apiErr.Status, "err", err)
	}
	return &queue.RetryLaterError{In: max(probeAt.Sub(now), 0) + jitter(100*time.Millisecond), Reason: KeyRefusedReason}
}
