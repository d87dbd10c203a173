package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/simulator"
)

// The server messages one call of the webhook throughput measure sends, in order: what a
// real answered call sends (webhooks/events/*), its queued status-update and any second
// conversation-update left out.
var hookEventTypes = [...]string{
	"status-update",       // ringing
	"status-update",       // in-progress
	"conversation-update", // hookMessages messages
	"end-of-call-report",  // with the analysis
}

// hookReport is the index in hookEventTypes of the end-of-call-report.
const hookReport = len(hookEventTypes) - 1

// hookMessages is how many transcript messages a call's conversation-update and
// end-of-call-report carry.
const hookMessages = 10

// hookTeam is the teamId of the generated calls.
const hookTeam = "86a4afaa3d30dc4be902e28c"

// hookLines are the transcript of every generated call, assistant first; %s is the contact's
// first name.
var hookLines = [hookMessages]string{
	"Hi %s, this is the clinic's assistant calling about your upcoming appointment.",
	"Hello, yes, speaking.",
	"You are booked with your doctor next week. Can you still make it?",
	"Yes, that works for me.",
	"Great. Would you like a reminder the day before, by text or by phone?",
	"A text would be best, thanks.",
	"Done. Please bring your insurance card and arrive ten minutes early.",
	"Should I bring the insurance card even if nothing changed?",
	"Yes, please bring it every time. Is there anything else I can help with?",
	"No, that's all. Thank you, goodbye!",
}

// isoMillis formats t as the API does: UTC with milliseconds, e.g. "2025-11-03T15:00:00.020Z".
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// contactE164 returns the E.164 form of contactNumber(i): +1, the area code, 555 and the line.
func contactE164(i int) string {
	return fmt.Sprintf("+1%d555%04d", areaCodes[i%len(areaCodes)], i/len(areaCodes))
}

// hookCallTimes are the instants of generated call n: created (and started), ringing,
// answered, ended, and its analysis ready (the end-of-call-report).
type hookCallTimes struct {
	created, ring, answer, end, report time.Time
}

// hookTimes returns the instants of a generated call whose result is r (seedResult), around
// its start and end.
func hookTimes(r campaign.Result) hookCallTimes {
	return hookCallTimes{
		created: r.StartedAt, ring: r.StartedAt.Add(time.Second), answer: r.StartedAt.Add(4 * time.Second),
		end: r.EndedAt, report: r.EndedAt.Add(3 * time.Second),
	}
}

// hookCostOf is the totalCost of generated call n in USD: 0.0100 to 0.0599.
func hookCostOf(n int) float64 { return float64(100+n%500) / 10000 }

// hookRecordingOf is the recording path of the generated call with id callID.
func hookRecordingOf(callID string) string { return "recordings/" + hookTeam + "/" + callID + ".wav" }

// wantHookResult is the result the receiver should record from generated call n's
// end-of-call-report (renderHookEvents): seedResult(n)'s call, analysis and end, with the
// report's cost and recording.
func wantHookResult(n int) campaign.Result {
	r := seedResult(n)
	r.Cost = strconv.FormatFloat(hookCostOf(n), 'f', -1, 64)
	r.Recording = hookRecordingOf(r.CallID)
	return r
}

// renderHookEvents returns the bodies of the server messages of call n (contact n, attempt
// 1) of campaign id, one per hookEventTypes, as Interactly would POST them: the call of
// seedResult(n), answered, hookMessages messages long, completed, with its analysis (a
// summary of about 200 characters and structured data) in the end-of-call-report.
func renderHookEvents(id string, n int) [len(hookEventTypes)][]byte {
	r := seedResult(n)
	at := hookTimes(r)
	rec := contactRecord(n-1, make([]string, len(contactHeader)))
	customer := simulator.Customer{Number: contactE164(n - 1), Name: rec[0]}
	assistantNumber := "+14155551743"
	lines := make([]simulator.CallLine, hookMessages)
	entries := make([]simulator.EventLine, hookMessages)
	step := at.end.Sub(at.answer) / (hookMessages + 1)
	for i := range hookMessages {
		t := at.answer.Add(time.Duration(i+1) * step)
		role, text := "assistant", hookLines[i]
		if i%2 == 1 {
			role = "user"
		}
		if i == 0 {
			text = fmt.Sprintf(text, rec[0])
		}
		msgID := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", n, i, n%0xfff, i, uint64(n)*2654435761)
		lines[i] = simulator.CallLine{MessageID: msgID, Role: role, Text: text, Timestamp: isoMillis(t)}
		entries[i] = simulator.EventLine{MessageID: msgID, Role: role, Text: text, Timestamp: t.UnixMilli()}
	}
	call := simulator.CallObject{
		CallHead: simulator.CallHead{
			ID: r.CallID, TeamID: hookTeam, AssistantID: "678a253ca6d866573043502e", PhoneNumberID: "5f7b1b1b1b1b1b1b1b1b1b1b",
			Direction: "outbound", CreatedAt: isoMillis(at.created),
		},
		StartAt:  isoMillis(at.created),
		Customer: customer, UserNumber: customer.Number, AssistantNumber: assistantNumber,
		Messages: []simulator.CallLine{},
		Monitor:  simulator.Monitor{ControlURL: "https://api.interactly.ai/calls/v1/conversations/" + r.CallID + "/control"},
		Metadata: map[string]any{
			"campaignId": id, "contactId": n, "attempt": 1,
			"idempotencyKey": id + ":" + strconv.Itoa(n) + ":1",
		},
		PhoneVendor:        "twilio",
		PhoneVendorDetails: map[string]any{"callSid": fmt.Sprintf("CA%032x", uint64(n)*2654435761)},
	}
	message := func(typ string, t time.Time) simulator.EventMessage {
		return simulator.EventMessage{
			Type: typ, Timestamp: t.UnixMilli(),
			Assistant: simulator.EventAssistant{ID: call.AssistantID}, Phone: simulator.EventPhone{ID: call.PhoneNumberID, Number: assistantNumber},
			Customer: customer, Analysis: map[string]any{},
		}
	}
	var out [len(hookEventTypes)][]byte
	encode := func(i int, m simulator.EventMessage) {
		b, err := json.Marshal(simulator.EventBody{Message: m})
		if err != nil {
			panic(fmt.Sprintf("bench: encode %s: %v", m.Type, err)) // only plain values in it
		}
		out[i] = b
	}

	call.UpdatedAt, call.Status, call.PhoneCallStatus, call.PhoneCallStatusReason = isoMillis(at.ring), "ringing", "ringing", "Call is ringing"
	m := message(hookEventTypes[0], at.ring)
	m.Call = call
	encode(0, m)

	call.UpdatedAt, call.Status, call.PhoneCallStatus, call.PhoneCallStatusReason = isoMillis(at.answer), "ongoing", "in-progress", "Call is in progress"
	m = message(hookEventTypes[1], at.answer)
	m.Call = call
	encode(1, m)

	last := at.answer.Add(hookMessages * step)
	call.UpdatedAt, call.Messages = isoMillis(last), lines
	m = message(hookEventTypes[2], last)
	m.Call, m.Messages = call, entries
	encode(2, m)

	cost := &simulator.Cost{CallDuration: at.end.Sub(at.answer).Seconds(), TotalCost: hookCostOf(n)}
	recording := &simulator.Recording{S3Bucket: "interactly-call-recordings", Path: hookRecordingOf(r.CallID)}
	call.UpdatedAt, call.EndAt = isoMillis(at.report), isoMillis(at.end)
	call.Status, call.PhoneCallStatus, call.PhoneCallStatusReason = "finished", "completed", "Call is completed"
	call.CallEndTriggerBy, call.AssistantCallDuration = r.EndedBy, at.end.Sub(at.answer).Milliseconds()
	// Real reports carry the filled analysis beside the call, and the call's own empty.
	call.Analysis, call.Cost, call.Recording = map[string]any{}, cost, recording
	m = message(hookEventTypes[hookReport], at.report)
	m.Call, m.Messages = call, entries
	analysis := simulator.Analysis{Summary: r.Summary, SuccessEvaluation: r.SuccessEvaluation}
	if err := json.Unmarshal([]byte(r.StructuredData), &analysis.StructuredData); err != nil {
		panic(fmt.Sprintf("bench: the structured data of call %d: %v", n, err)) // seedResult writes it
	}
	m.Analysis = analysis
	m.EndAt, m.Cost, m.Recording = isoMillis(at.end), cost, recording
	encode(hookReport, m)
	return out
}
