package worker

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
)

// The mapping from Interactly's view of a call to the dialer's own (campaign.Result,
// campaign.Outcome) lives here, beside its callers in the worker and the webhook receiver,
// so that package campaign does not depend on the vendor's client.

// ResultOf maps an ended call, as Get Call or an end-of-call-report shows it, to an attempt
// result. A call that did not complete says why in Error: Interactly's phoneCallStatusReason
// (the carrier's cause, such as "Customer's line is busy"), or that Interactly gave none.
func ResultOf(call *interactly.Call) campaign.Result {
	r := campaign.Result{
		Outcome:         OutcomeOf(call),
		CallID:          call.ID,
		StartedAt:       StartOf(call),
		EndedAt:         call.EndAt.Time,
		PhoneCallStatus: string(call.PhoneCallStatus),
		EndedBy:         call.CallEndTriggerBy,
	}
	if r.Outcome != campaign.OutcomeCompleted {
		r.Error = call.PhoneCallStatusReason
		if r.Error == "" {
			r.Error = fmt.Sprintf("Interactly gave no reason (status %q, phoneCallStatus %q)", call.Status, call.PhoneCallStatus)
		}
	}
	if an := call.Analysis; an != nil {
		r.Summary = an.Summary
		r.SuccessEvaluation = an.SuccessEvaluation
		if len(an.StructuredData) > 0 && string(an.StructuredData) != "null" && string(an.StructuredData) != "{}" {
			if b, err := json.Marshal(an.StructuredData); err == nil {
				r.StructuredData = string(b)
			}
		}
	}
	if call.Cost != nil && call.Cost.TotalCost != 0 {
		r.Cost = strconv.FormatFloat(call.Cost.TotalCost, 'f', -1, 64)
	}
	if call.Recording != nil {
		r.Recording = call.Recording.Path
	}
	return r
}

// OutcomeOf maps Interactly's two status fields of an ended call to an outcome. A forwarded
// call is forwarded; a final phoneCallStatus decides next; a call that is finished with no
// final phoneCallStatus (the reference shows "finished" beside "ringing") counts as
// completed, because retrying a call that may have been answered would call a person twice.
func OutcomeOf(call *interactly.Call) campaign.Outcome {
	if call.Status == interactly.CallForwarded {
		return campaign.OutcomeForwarded
	}
	switch call.PhoneCallStatus {
	case interactly.PhoneBusy:
		return campaign.OutcomeBusy
	case interactly.PhoneNoAnswer:
		return campaign.OutcomeNoAnswer
	case interactly.PhoneFailed:
		return campaign.OutcomeFailed
	}
	return campaign.OutcomeCompleted
}

// StartOf is when call began: its startAt, else its createdAt.
func StartOf(call *interactly.Call) time.Time {
	if !call.StartAt.IsZero() {
		return call.StartAt.Time
	}
	return call.CreatedAt.Time
}
