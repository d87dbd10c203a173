package main

import (
	"testing"

	"github.com/dialerhq/dialer/internal/campaign"
)

// TestWaitingOf: the reason status and list give for waiting attempts, in the order the
// checks run; the calling window shows only when nothing else holds the campaign.
func TestWaitingOf(t *testing.T) {
	tests := []struct {
		name string
		st   campaign.Status
		want string
	}{
		{"nothing waits", campaign.Status{State: campaign.StateRunning}, ""},
		{"done", campaign.Status{Done: true, WaitingForWindow: 3, Control: campaign.ControlPaused}, ""},
		{"paused", campaign.Status{Control: campaign.ControlPaused, WaitingForWindow: 3, Hold: "API key refused"}, "paused"},
		{"held", campaign.Status{Hold: "API key refused", WaitingForWindow: 3}, "held: API key refused"},
		{"share", campaign.Status{Share: &campaign.Share{Waiting: "account cap"}, WaitingForWindow: 3}, "account cap"},
		{"calling window", campaign.Status{WaitingForWindow: 3, Share: &campaign.Share{Slots: 5}}, "calling window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := waitingOf(&tt.st); got != tt.want {
				t.Errorf("waitingOf = %q, want %q", got, tt.want)
			}
		})
	}
}
