package worker

import (
	"errors"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/suppression"
)

func TestSuppressedAfterUploadIsNeverDialed(t *testing.T) {
	// The number was not on the list at upload; it is added to the real global list in
	// Redis before its dial comes up.
	fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
	list := suppression.New(fx.rdb)
	fx.h.cfg.Suppression = list
	if _, err := list.Add(t.Context(), "+14155550101"); err != nil {
		t.Fatal(err)
	}
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	ct := fx.contact(t)
	if ct.Outcome != campaign.OutcomeSuppressed || ct.Last.Error != campaign.SuppressedReason || ct.Attempts != 0 {
		t.Errorf("outcome %q (%q) after %d attempts; want suppressed after 0", ct.Outcome, ct.Last.Error, ct.Attempts)
	}
	if len(fx.api.connects) != 0 {
		t.Error("dialed a suppressed number")
	}
}

const windowCampaign = testCampaign + `
defaultTimezone: America/New_York
callingWindow:
  days: [mon, tue, wed, thu, fri]
  start: "09:00"
  end: "21:00"
  timezone: contact
`

func TestCallingWindow(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	pacific, _ := time.LoadLocation("America/Los_Angeles")
	tests := []struct {
		name string
		now  time.Time // the contact is +1 415: Pacific
		want time.Time // when the window opens; zero: open now
	}{
		{"inside", time.Date(2026, 11, 20, 10, 0, 0, 0, pacific), time.Time{}},
		{"early morning: noon in New York, 08:30 in San Francisco", time.Date(2026, 11, 20, 8, 30, 0, 0, pacific), time.Date(2026, 11, 20, 9, 0, 0, 0, pacific)},
		{"Friday night waits for Monday", time.Date(2026, 11, 20, 21, 0, 0, 0, pacific), time.Date(2026, 11, 23, 9, 0, 0, 0, pacific)},
		// Sunday March 8, 2026 the clocks go forward; Monday 09:00 is PDT.
		{"across the spring change", time.Date(2026, 3, 7, 12, 0, 0, 0, pacific), time.Date(2026, 3, 9, 9, 0, 0, 0, pacific)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setupWith(t, newFakeAPI(interactly.PhoneCompleted), windowCampaign, nil)
			fx.h.now = func() time.Time { return tt.now }
			err := fx.process(t, 1)
			var later *queue.RetryLaterError
			if tt.want.IsZero() {
				if err != nil || len(fx.api.connects) != 1 {
					t.Fatalf("inside the window: err %v, %d dials; want nil, 1", err, len(fx.api.connects))
				}
				return
			}
			if !errors.As(err, &later) {
				t.Fatalf("err = %v, want a *queue.RetryLaterError", err)
			}
			if got := tt.now.Add(later.In); !got.Equal(tt.want) {
				t.Errorf("retried at %s, want %s", got.In(pacific), tt.want)
			}
			if len(fx.api.connects) != 0 {
				t.Error("dialed outside the calling window")
			}
			st, err := fx.store.Status(t.Context(), fx.c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.WaitingForWindow != 1 || !st.NextWindowAt.Equal(tt.want) {
				t.Errorf("status: %d waiting, next window %s; want 1, %s", st.WaitingForWindow, st.NextWindowAt, tt.want)
			}
			// Once the window opens, the dial goes ahead and the contact stops waiting.
			fx.h.now = func() time.Time { return tt.want }
			if err := fx.process(t, 1); err != nil || len(fx.api.connects) != 1 {
				t.Fatalf("at the opening: err %v, %d dials; want nil, 1", err, len(fx.api.connects))
			}
			if st, _ := fx.store.Status(t.Context(), fx.c.ID); st.WaitingForWindow != 0 {
				t.Errorf("%d contacts still waiting after the dial", st.WaitingForWindow)
			}
		})
	}
}

func TestFrequencyCapAcrossCampaigns(t *testing.T) {
	yaml := testCampaign + "frequencyCap: {maxCalls: 1, per: 24h}\n"
	fx := setupWith(t, newFakeAPI(interactly.PhoneCompleted), yaml, nil)
	if err := fx.process(t, 1); err != nil || len(fx.api.connects) != 1 {
		t.Fatalf("first campaign: err %v, %d dials; want nil, 1", err, len(fx.api.connects))
	}
	// A second campaign holding the same number, in the same Redis.
	other := uploadTestContacts(t, fx.store, &fx.c.File)
	err := fx.processOf(t, other.ID, 1)
	var later *queue.RetryLaterError
	if !errors.As(err, &later) || later.In < 23*time.Hour {
		t.Fatalf("second campaign: err = %v, want a wait of about 24h", err)
	}
	if len(fx.api.connects) != 1 {
		t.Errorf("%d dials to one number under a cap of 1 per 24h", len(fx.api.connects))
	}
}

func TestStartAt(t *testing.T) {
	start := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	fx := setupWith(t, newFakeAPI(interactly.PhoneCompleted), testCampaign+"startAt: "+start.Format(time.RFC3339)+"\n", nil)
	fx.h.now = func() time.Time { return start.Add(-time.Hour) }
	var later *queue.RetryLaterError
	if err := fx.process(t, 1); !errors.As(err, &later) || later.In != time.Hour {
		t.Fatalf("an hour before startAt: err = %v, want a wait of 1h", err)
	}
	fx.h.now = func() time.Time { return start }
	if err := fx.process(t, 1); err != nil || len(fx.api.connects) != 1 {
		t.Fatalf("at startAt: err %v, %d dials; want nil, 1", err, len(fx.api.connects))
	}
}

// TestEarlyRetryIsHandedBack runs attempt 2 before the time it was scheduled for, as asynq
// may (it keeps due times in whole seconds), and checks that the worker hands it back for
// the rest of the wait and dials it once it is due.
func TestEarlyRetryIsHandedBack(t *testing.T) {
	api := newFakeAPI(interactly.PhoneBusy, interactly.PhoneCompleted)
	fx := setup(t, api)
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	due := callStart.Add(31*time.Minute + 1800*time.Millisecond)
	if err := fx.store.ScheduleNext(t.Context(), fx.c.ID, 1, 2, due); err != nil {
		t.Fatal(err)
	}
	fx.h.now = func() time.Time { return due.Add(-700 * time.Millisecond) }
	err := fx.process(t, 2)
	var later *queue.RetryLaterError
	if !errors.As(err, &later) || later.In != 700*time.Millisecond || len(api.connects) != 1 {
		t.Fatalf("early run: err %v, %d Connect Calls; want a hand-back for 700ms and no second dial", err, len(api.connects))
	}
	fx.h.now = func() time.Time { return due }
	if err := fx.process(t, 2); err != nil {
		t.Fatal(err)
	}
	if ct := fx.contact(t); len(api.connects) != 2 || ct.Outcome != campaign.OutcomeCompleted {
		t.Errorf("at its due time: %d Connect Calls, outcome %q; want 2, completed", len(api.connects), ct.Outcome)
	}
}
