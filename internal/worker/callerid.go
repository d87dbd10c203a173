package worker

import (
	"context"
	"errors"
	"time"

	"github.com/dialerhq/dialer/internal/callerid"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/queue"
)

// CallerIDs picks the caller ID (phoneNumberId) of each dial from a campaign's pool and keeps
// the per-number concurrency leases of numbers that have a cap; *callerid.Picker implements
// it. holder is the attempt's dial task ID.
type CallerIDs interface {
	// Pick returns the caller ID for a dial of contactNumber (E.164) and, for a capped
	// number, holds a lease on one of its slots. It returns an error wrapping
	// callerid.ErrAllBusy when every number of the pool is at its cap.
	Pick(ctx context.Context, c *campaign.Campaign, contactNumber, holder string) (campaign.CallerID, error)
	// Hold counts a resumed live call against its number's cap again.
	Hold(ctx context.Context, c *campaign.Campaign, id, holder string) error
	// Release gives the number's slot back.
	Release(ctx context.Context, c *campaign.Campaign, id, holder string) error
	// KeepAlive renews the lease until stop is called or ctx ends.
	KeepAlive(ctx context.Context, c *campaign.Campaign, id, holder string) (stop func())
}

var _ CallerIDs = (*callerid.Picker)(nil)

// pickCallerID returns the caller ID of this dial; when every one is at its cap the dial is
// parked again (a *queue.RetryLaterError), not held. Without a CallerIDs (tests) it is the campaign's phoneNumberId, or the
// pool entry the contact and attempt numbers select, without caps.
func (a *attempt) pickCallerID(ctx context.Context) (string, error) {
	f := &a.c.File
	picker := a.h.cfg.CallerIDs
	if picker == nil {
		if len(f.PhoneNumberIDs) > 0 {
			return f.PhoneNumberIDs[(a.t.ContactID+a.t.Attempt)%len(f.PhoneNumberIDs)].ID, nil
		}
		return f.PhoneNumberID, nil
	}
	id, err := picker.Pick(ctx, a.c, a.ct.Number, a.key())
	if errors.Is(err, callerid.ErrAllBusy) {
		return "", &queue.RetryLaterError{In: jitter(200 * time.Millisecond), Reason: "every caller ID is at its concurrent-call cap"}
	}
	return id.ID, err
}

func (a *attempt) usesPool() bool { return a.h.cfg.CallerIDs != nil }

// releaseCallerID gives back caller ID id's slot; giveBack retries it when Redis fails.
func (a *attempt) releaseCallerID(ctx context.Context, id string) error {
	if !a.usesPool() || id == "" {
		return nil
	}
	return a.h.cfg.CallerIDs.Release(ctx, a.c, id, a.key())
}

func (a *attempt) holdCallerID(ctx context.Context, id string) error {
	if !a.usesPool() || id == "" {
		return nil
	}
	return a.h.cfg.CallerIDs.Hold(ctx, a.c, id, a.key())
}

func (a *attempt) keepCallerID(ctx context.Context, id string) (stop func()) {
	if !a.usesPool() || id == "" {
		return func() {}
	}
	return a.h.cfg.CallerIDs.KeepAlive(ctx, a.c, id, a.key())
}
