package worker

import (
	"testing"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
)

// TestResultOfSaysWhy: a call that did not complete carries Interactly's reason into the
// report's error cell, or says that Interactly gave none; a completed call has no error.
func TestResultOfSaysWhy(t *testing.T) {
	tests := []struct {
		name string
		call interactly.Call
		want campaign.Result // Outcome and Error are compared
	}{
		{
			name: "failed with a reason",
			call: interactly.Call{Status: interactly.CallFinished, PhoneCallStatus: interactly.PhoneFailed, PhoneCallStatusReason: "Call failed: the carrier could not connect the number"},
			want: campaign.Result{Outcome: campaign.OutcomeFailed, Error: "Call failed: the carrier could not connect the number"},
		},
		{
			name: "busy with a reason",
			call: interactly.Call{Status: interactly.CallFinished, PhoneCallStatus: interactly.PhoneBusy, PhoneCallStatusReason: "Customer's line is busy"},
			want: campaign.Result{Outcome: campaign.OutcomeBusy, Error: "Customer's line is busy"},
		},
		{
			name: "failed without a reason",
			call: interactly.Call{Status: interactly.CallFinished, PhoneCallStatus: interactly.PhoneFailed},
			want: campaign.Result{Outcome: campaign.OutcomeFailed, Error: `Interactly gave no reason (status "finished", phoneCallStatus "failed")`},
		},
		{
			name: "completed",
			call: interactly.Call{Status: interactly.CallFinished, PhoneCallStatus: interactly.PhoneCompleted, PhoneCallStatusReason: "Call is completed"},
			want: campaign.Result{Outcome: campaign.OutcomeCompleted},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResultOf(&tt.call)
			if got.Outcome != tt.want.Outcome || got.Error != tt.want.Error {
				t.Errorf("ResultOf = outcome %q, error %q; want %q, %q", got.Outcome, got.Error, tt.want.Outcome, tt.want.Error)
			}
		})
	}
}
