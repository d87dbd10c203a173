package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestResultBeforeTheWatchIsNotMissed records a webhook's result for a live call before the
// worker begins following it (between RecordCall and ends.watch, where the announcement is
// lost), with Get Call failing and the poll interval a minute: awaitEnd must find the result
// in the attempt's record at its first look, not a minute later.
func TestResultBeforeTheWatchIsNotMissed(t *testing.T) {
	api := newFakeAPI(interactly.PhoneBusy)
	api.live = true
	api.getErr = &interactly.APIError{Op: "get call", Status: 503, Retryable: true, Message: "unavailable"}
	fx := setupWith(t, api, strings.Replace(testCampaign, "interval: 100ms", "interval: 1m", 1), nil)
	ref := campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}
	ctx := t.Context()
	campaigntest.Claim(t, fx.store, ref, "w")
	if live, err := fx.store.RecordCall(ctx, ref, "CC-1", "", testutil.Now()); err != nil || !live {
		t.Fatalf("RecordCall = %v, %v", live, err)
	}
	r := campaign.Result{Outcome: campaign.OutcomeBusy, CallID: "CC-1", PhoneCallStatus: "busy", EndedAt: testutil.Now()}
	if status, err := fx.store.RecordResult(ctx, ref, "CC-1", r, true); err != nil || status != campaign.Recorded {
		t.Fatalf("RecordResult = %v, %v", status, err)
	}

	a := &attempt{h: fx.h, c: fx.c, api: api, t: ref, log: fx.h.log}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	call, done, err := a.awaitEnd(ctx, "CC-1", make(chan struct{})) // never announced
	if err != nil || !done || call != nil {
		t.Errorf("awaitEnd = %v, %v, %v; want the recorded result found at once (done)", call, done, err)
	}
}
