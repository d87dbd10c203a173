package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// waitFor polls cond every 10 ms until it holds or 5 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Second, what, cond)
}

// watching reports whether an attempt of this process waits for the announcement of key's end.
func (e *ends) watching(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waiting[key] != nil
}

// A webhook's result reaches the worker following the call at once, although its poll
// interval is long and every Get Call fails.
func TestWebhookResultWakesTheWorker(t *testing.T) {
	api := newFakeAPI(interactly.PhoneBusy)
	api.live = true
	api.getErr = &interactly.APIError{Op: "get call", Status: 503, Retryable: true, Message: "unavailable"}
	// Not parallel: the result must reach the worker within a second.
	fx := setupOn(t, soleRedis(t), api, strings.Replace(testCampaign, "interval: 100ms", "interval: 1m", 1), nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go fx.h.ListenForEnds(ctx)
	// The subscription must be live before the result is announced: a miss would cost a minute.
	waitFor(t, "the worker's subscription to ended attempts", func() bool {
		return fx.rdb.PubSubNumSub(t.Context(), campaign.EndedChannel).Val()[campaign.EndedChannel] > 0
	})

	done := make(chan error, 1)
	go func() { done <- fx.process(t, 1) }()
	// The worker follows the live call once it watches for its end: an announcement made
	// between the call's record and the watch would wait for the minute's poll.
	ref := campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}
	waitFor(t, "the worker to follow the live call", func() bool { return fx.h.ends.watching(ref.String()) })
	r := campaign.Result{Outcome: campaign.OutcomeBusy, CallID: "CC-1", PhoneCallStatus: "busy", EndedAt: testutil.Now()}
	sent := testutil.Now()
	if status, err := fx.store.RecordResult(t.Context(), ref, "CC-1", r, true); err != nil || status != campaign.Recorded {
		t.Fatalf("RecordResult = %v, %v", status, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if took := testutil.Now().Sub(sent); took > time.Second {
			t.Errorf("the worker took %s to learn of the result", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not learn of the webhook's result")
	}
	if n, _ := fx.h.cfg.Slots.Count(t.Context(), campaign.SlotsKey(fx.c.ID)); n != 0 {
		t.Errorf("slots held after the end = %d", n)
	}
	if len(fx.enq.tasks) != 1 || !strings.HasPrefix(fx.enq.tasks[0], fx.c.ID+":1:2@") {
		t.Errorf("follow-up = %v, want attempt 2 (busy is retried)", fx.enq.tasks)
	}
}

// pauseAndDial pauses fx's campaign and runs the first dial task of its contact, which the
// pause holds.
func (fx *fixture) pauseAndDial(t *testing.T) {
	t.Helper()
	if err := fx.store.Pause(t.Context(), fx.c.ID); err != nil {
		t.Fatal(err)
	}
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
}

func TestPauseHoldsAndResumeRequeues(t *testing.T) {
	api := newFakeAPI(interactly.PhoneCompleted)
	fx := setup(t, api)
	fx.pauseAndDial(t)
	if len(api.connects) != 0 {
		t.Fatalf("dialed %d times while paused", len(api.connects))
	}
	if held, _ := fx.store.Held(t.Context(), fx.c.ID); held != 1 {
		t.Fatalf("held = %d, want 1", held)
	}
	if rec, _ := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}); rec.State != campaign.AttemptNew {
		t.Errorf("a held attempt is %q, want unclaimed", rec.State)
	}
	enq := &fakeEnqueuer{}
	n, err := fx.store.Resume(t.Context(), fx.c.ID, enq)
	if err != nil || n != 1 || len(enq.tasks) != 1 || !strings.HasPrefix(enq.tasks[0], fx.c.ID+":1:1@") {
		t.Fatalf("resume = %d, %v, enqueued %v", n, err, enq.tasks)
	}
	if held, _ := fx.store.Held(t.Context(), fx.c.ID); held != 0 {
		t.Errorf("held after resume = %d", held)
	}
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if ct := fx.contact(t); ct.Outcome != campaign.OutcomeCompleted || len(api.connects) != 1 {
		t.Errorf("after resume: outcome %q, %d dials", ct.Outcome, len(api.connects))
	}
}

// A paused campaign refuses the claim itself, so a dial that passed the first look at the
// control before the pause still does not start.
func TestClaimRefusedWhilePaused(t *testing.T) {
	fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
	if err := fx.store.Pause(t.Context(), fx.c.ID); err != nil {
		t.Fatal(err)
	}
	ok, err := fx.store.ClaimAttempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}, "w", campaign.Audit{})
	if ok || !errors.Is(err, campaign.ErrCampaignPaused) {
		t.Errorf("claim while paused = %v, %v; want ErrCampaignPaused", ok, err)
	}
}

func TestCancel(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	t.Run("before the dial", func(t *testing.T) {
		api := newFakeAPI(interactly.PhoneCompleted)
		fx := setup(t, api)
		var finished []int
		n, err := fx.store.Cancel(t.Context(), fx.c.ID, fx.enq, func(n int, done bool) error {
			finished = append(finished, n)
			if !done {
				t.Errorf("contact %d canceled, campaign not done; it has one contact", n)
			}
			return nil
		})
		if err != nil || n != 1 || len(finished) != 1 {
			t.Fatalf("cancel = %d, %v (%v)", n, err, finished)
		}
		fx.endsUndialed(t, campaign.OutcomeCanceled)
		if err := fx.store.Pause(t.Context(), fx.c.ID); !errors.Is(err, campaign.ErrCampaignCanceled) {
			t.Errorf("pause of a canceled campaign = %v", err)
		}
	})
	t.Run("while paused", func(t *testing.T) {
		// A dial held by the pause is queued again, so a worker settles it.
		api := newFakeAPI(interactly.PhoneCompleted)
		fx := setup(t, api)
		fx.pauseAndDial(t)
		if _, err := fx.store.Cancel(t.Context(), fx.c.ID, fx.enq, nil); err != nil {
			t.Fatal(err)
		}
		held, _ := fx.store.Held(t.Context(), fx.c.ID)
		if held != 0 || len(fx.enq.tasks) != 1 || !strings.HasPrefix(fx.enq.tasks[0], fx.c.ID+":1:1@") {
			t.Errorf("after cancel: %d held, enqueued %v; want none held and the held dial queued again", held, fx.enq.tasks)
		}
		fx.endsUndialed(t, campaign.OutcomeCanceled)
	})
	t.Run("during the call", func(t *testing.T) {
		// The call ends busy after the cancel: no retry, the contact is canceled.
		api := newFakeAPI(interactly.PhoneBusy)
		fx := setup(t, api)
		api.onGet = func(int) {
			if _, err := fx.store.Cancel(context.Background(), fx.c.ID, fx.enq, nil); err != nil {
				t.Error(err)
			}
		}
		if err := fx.process(t, 1); err != nil {
			t.Fatal(err)
		}
		ct := fx.contact(t)
		if ct.Outcome != campaign.OutcomeCanceled || ct.Last.Outcome != campaign.OutcomeBusy || len(fx.enq.tasks) != 0 {
			t.Errorf("outcome %q (last attempt %q), follow-ups %v; want canceled, busy, none", ct.Outcome, ct.Last.Outcome, fx.enq.tasks)
		}
	})
}

func TestEndAt(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	t.Run("passed", func(t *testing.T) {
		api := newFakeAPI(interactly.PhoneCompleted)
		past := testutil.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		fx := setupWith(t, api, testCampaign+"endAt: "+past+"\n", nil)
		fx.endsUndialed(t, campaign.OutcomeExpired)
	})
	t.Run("retry after it", func(t *testing.T) {
		api := newFakeAPI(interactly.PhoneBusy)
		soon := testutil.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
		// The fake's calls end a minute after callStart, an hour ago: a retry 48h after that
		// is after endAt, 10 minutes from now.
		yaml := strings.Replace(testCampaign, "delay: 30m", "delay: 48h", 1)
		fx := setupWith(t, api, yaml+"endAt: "+soon+"\n", nil)
		if err := fx.process(t, 1); err != nil {
			t.Fatal(err)
		}
		if ct := fx.contact(t); ct.Outcome != campaign.OutcomeExpired || len(fx.enq.tasks) != 0 {
			t.Errorf("outcome %q, follow-ups %v; want expired, none", ct.Outcome, fx.enq.tasks)
		}
	})
}

func TestCallerIDPoolRotates(t *testing.T) {
	api := newFakeAPI(interactly.PhoneBusy, interactly.PhoneCompleted)
	yaml := strings.Replace(testCampaign, "phoneNumberId: num-1", "phoneNumberIds: [num-a, num-b]", 1)
	fx := setupWith(t, api, yaml, nil)
	for a := 1; a <= 2; a++ {
		if err := fx.process(t, a); err != nil {
			t.Fatal(err)
		}
	}
	if len(api.connects) != 2 || api.connects[0].PhoneNumberID == api.connects[1].PhoneNumberID {
		t.Fatalf("caller IDs %q, %q: want the two numbers of the pool", api.connects[0].PhoneNumberID, api.connects[1].PhoneNumberID)
	}
	rec, _ := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 2})
	if rec.CallerID != api.connects[1].PhoneNumberID {
		t.Errorf("attempt 2 records caller ID %q, dialed from %q", rec.CallerID, api.connects[1].PhoneNumberID)
	}
}
