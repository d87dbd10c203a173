package campaign

import (
	"errors"
	"testing"
	"time"
)

func TestDeriveState(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		facts Facts
		want  State
	}{
		{"uploading", Facts{Upload: UploadInProgress, Rows: 0}, StateUploading},
		{"uploading and paused", Facts{Upload: UploadInProgress, Control: ControlPaused}, StateUploading},
		{"running", Facts{Upload: UploadComplete, Rows: 4, Finished: 2}, StateRunning},
		{"start ahead", Facts{Upload: UploadComplete, Rows: 4, StartAt: now.Add(time.Minute)}, StateScheduled},
		{"start reached", Facts{Upload: UploadComplete, Rows: 4, StartAt: now}, StateRunning},
		{"paused", Facts{Upload: UploadComplete, Control: ControlPaused, Rows: 4, Finished: 2}, StatePaused},
		{"paused before its start", Facts{Upload: UploadComplete, Control: ControlPaused, Rows: 4, StartAt: now.Add(time.Hour)}, StatePaused},
		{"canceling", Facts{Upload: UploadComplete, Control: ControlCanceled, Rows: 4, Finished: 3}, StateCanceling},
		{"done", Facts{Upload: UploadComplete, Rows: 4, Finished: 4}, StateDone},
		{"done while paused", Facts{Upload: UploadComplete, Control: ControlPaused, Rows: 4, Finished: 4}, StateDone},
		{"canceled", Facts{Upload: UploadComplete, Control: ControlCanceled, Rows: 4, Finished: 4}, StateCanceled},
		{"empty contact file", Facts{Upload: UploadComplete}, StateDone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeriveState(tt.facts, now); got != tt.want {
				t.Errorf("DeriveState(%+v) = %q, want %q", tt.facts, got, tt.want)
			}
		})
	}
}

func TestCheckAction(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	running := Facts{Upload: UploadComplete, Rows: 4, Finished: 1}
	paused := Facts{Upload: UploadComplete, Control: ControlPaused, Rows: 4, Finished: 1}
	canceling := Facts{Upload: UploadComplete, Control: ControlCanceled, Rows: 4, Finished: 1}
	done := Facts{Upload: UploadComplete, Rows: 4, Finished: 4}
	canceled := Facts{Upload: UploadComplete, Control: ControlCanceled, Rows: 4, Finished: 4}
	halfResumed := Facts{Upload: UploadComplete, Rows: 4, Finished: 1, Held: 2}
	scheduled := Facts{Upload: UploadComplete, Rows: 4, StartAt: now.Add(time.Hour)}
	tests := []struct {
		name    string
		facts   Facts
		action  Action
		want    string // "" when allowed
		wantErr error
	}{
		{"pause running", running, ActionPause, "", nil},
		{"pause scheduled", scheduled, ActionPause, "", nil},
		{"pause paused", paused, ActionPause, "campaign c1 is paused already; nothing to pause", ErrCampaignPaused},
		{"pause canceling", canceling, ActionPause, "campaign c1 is canceling; a cancel is final, there is nothing to pause", ErrCampaignCanceled},
		{"pause done", done, ActionPause, "campaign c1 is done; nothing to pause", ErrCampaignDone},
		{"resume paused", paused, ActionResume, "", nil},
		{"resume after a resume failed half way", halfResumed, ActionResume, "", nil},
		{"resume running", running, ActionResume, "campaign c1 is running, not paused; nothing to resume", ErrCampaignNotPaused},
		{"resume scheduled", scheduled, ActionResume, "campaign c1 is scheduled, not paused; nothing to resume", ErrCampaignNotPaused},
		{"resume done", done, ActionResume, "campaign c1 is done; nothing to resume", ErrCampaignDone},
		{"resume canceled", canceled, ActionResume, "campaign c1 is canceled; a cancel is final, there is nothing to resume", ErrCampaignCanceled},
		{"resume paused while uploading", Facts{Upload: UploadInProgress, Control: ControlPaused}, ActionResume, "", nil},
		{"pause paused while uploading", Facts{Upload: UploadInProgress, Control: ControlPaused}, ActionPause, "campaign c1 is paused already; nothing to pause", ErrCampaignPaused},
		{"resume uploading", Facts{Upload: UploadInProgress}, ActionResume, "campaign c1 is uploading, not paused; nothing to resume", ErrCampaignNotPaused},
		{"cancel running", running, ActionCancel, "", nil},
		{"cancel paused", paused, ActionCancel, "", nil},
		{"cancel canceling again", canceling, ActionCancel, "", nil},
		{"cancel done", done, ActionCancel, "campaign c1 is done; nothing to cancel", ErrCampaignDone},
		{"cancel canceled", canceled, ActionCancel, "campaign c1 is canceled already; nothing to cancel", ErrCampaignCanceled},
		{"edit running", running, ActionEdit, "", nil},
		{"edit paused", paused, ActionEdit, "", nil},
		{"edit scheduled", scheduled, ActionEdit, "", nil},
		{"edit done", done, ActionEdit, "campaign c1 is done; only a scheduled, running or paused campaign can be edited (retry its contacts to dial it again)", ErrCampaignDone},
		{"edit canceling", canceling, ActionEdit, "campaign c1 is canceling; a cancel is final, there is nothing to edit", ErrCampaignCanceled},
		{"edit uploading", Facts{Upload: UploadInProgress}, ActionEdit, "campaign c1 is uploading; edit it once its upload is complete", nil},
		{"retry done", done, ActionRetry, "", nil},
		{"retry running", running, ActionRetry, "", nil},
		{"retry paused", paused, ActionRetry, "", nil},
		{"retry canceled", canceled, ActionRetry, "campaign c1 is canceled; a cancel is final, there is nothing to retry", ErrCampaignCanceled},
		{"retry uploading", Facts{Upload: UploadInProgress}, ActionRetry, "campaign c1 is uploading; retry its contacts once its upload is complete", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAction("c1", tt.facts, tt.action, now)
			if tt.want == "" {
				if err != nil {
					t.Errorf("CheckAction = %v, want nil", err)
				}
				return
			}
			var se *StateError
			if !errors.As(err, &se) || err.Error() != tt.want || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("CheckAction = %v, want a *StateError %q matching %v", err, tt.want, tt.wantErr)
			}
		})
	}
}
