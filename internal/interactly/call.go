package interactly

import (
	"encoding/json"
)

// CallStatus is a call's lifecycle status, the "status" field of the call
// object (api-reference/calls/get-call). Values the reference does not list
// are kept as they came.
type CallStatus string

// The call statuses listed in api-reference/calls/get-call.
const (
	CallQueued    CallStatus = "queued"    // initiated, waiting to be answered
	CallOngoing   CallStatus = "ongoing"   // answered, the conversation is live
	CallForwarded CallStatus = "forwarded" // handed to another number; over for the assistant
	CallFinished  CallStatus = "finished"  // over
)

// PhoneCallStatus is the telephony leg's status, the "phoneCallStatus" field
// of the call object (api-reference/calls/get-call). Real payloads pair it
// inconsistently with CallStatus ("finished" with "ringing"). Values the
// reference does not list are kept as they came.
type PhoneCallStatus string

// The phone call statuses listed in api-reference/calls/get-call.
const (
	PhoneTrying     PhoneCallStatus = "trying"
	PhoneEarlyMedia PhoneCallStatus = "early-media"
	PhoneRinging    PhoneCallStatus = "ringing"
	PhoneInProgress PhoneCallStatus = "in-progress"
	PhoneBusy       PhoneCallStatus = "busy"
	PhoneNoAnswer   PhoneCallStatus = "no-answer"
	PhoneFailed     PhoneCallStatus = "failed"
	PhoneCompleted  PhoneCallStatus = "completed"
)

// Final reports whether s is one of the statuses that end a call:
// completed, busy, no-answer or failed (api-reference/calls/get-call).
func (s PhoneCallStatus) Final() bool {
	switch s {
	case PhoneCompleted, PhoneBusy, PhoneNoAnswer, PhoneFailed:
		return true
	}
	return false
}

// Customer is the person a call is placed to (api-reference/calls/connect).
// Number is E.164 ("+14155550123").
type Customer struct {
	Number string `json:"number"`
	Name   string `json:"name,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler, accepting a number as Number.
func (c *Customer) UnmarshalJSON(b []byte) error {
	var w struct {
		Number flexString `json:"number"`
		Name   flexString `json:"name"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil // a malformed customer must not make the call unreadable
	}
	*c = Customer{Number: string(w.Number), Name: string(w.Name)}
	return nil
}

// Call is the call object returned by Connect Call, Get Call and List Calls
// (api-reference/calls/connect, api-reference/calls/get-call). Connect Call
// fills only the identity fields, Status (queued), Metadata, PhoneVendor and
// Monitor; the rest appear as the call progresses. EndAt, Cost, Recording and
// Analysis are set only once the call is over, and Analysis stays empty for a
// while after that (see Analysis.Ready).
type Call struct {
	ID            string `json:"id"` // "CC-<uuid>" for phone calls; opaque
	TeamID        string `json:"teamId,omitempty"`
	AssistantID   string `json:"assistantId,omitempty"`
	PhoneNumberID string `json:"phoneNumberId,omitempty"`
	Direction     string `json:"direction,omitempty"` // "outbound" or "inbound"

	CreatedAt Time `json:"createdAt"`
	UpdatedAt Time `json:"updatedAt"`
	StartAt   Time `json:"startAt"` // when the call was answered
	EndAt     Time `json:"endAt"`   // zero until the call is over

	Customer              Customer        `json:"customer"`
	Status                CallStatus      `json:"status,omitempty"`
	PhoneCallStatus       PhoneCallStatus `json:"phoneCallStatus,omitempty"`
	PhoneCallStatusReason string          `json:"phoneCallStatusReason,omitempty"` // human-readable
	// CallEndTriggerBy is who hung up: documented "user" or "assistant";
	// real payloads also show "bot" and "".
	CallEndTriggerBy string `json:"callEndTriggerBy,omitempty"`
	UserNumber       string `json:"userNumber,omitempty"`      // E.164
	AssistantNumber  string `json:"assistantNumber,omitempty"` // E.164

	Analysis *Analysis `json:"analysis,omitempty"` // nil when the payload has none
	Messages []Message `json:"messages,omitempty"`
	// AssistantCallDuration is the conversation's length in milliseconds.
	AssistantCallDuration int64      `json:"assistantCallDuration,omitempty"`
	Cost                  *Cost      `json:"cost,omitempty"`
	Recording             *Recording `json:"recording,omitempty"`
	Monitor               Monitor    `json:"monitor"`
	// Metadata is the connect request's metadata, echoed back.
	Metadata    map[string]any `json:"metadata,omitempty"`
	PhoneVendor string         `json:"phoneVendor,omitempty"` // "twilio" or "bandwidth"
}

// Ended reports whether the call is over: Status is finished or forwarded,
// or PhoneCallStatus is completed, busy, no-answer or failed
// (api-reference/calls/get-call). Either field alone is enough, because
// samples pair them inconsistently.
func (c *Call) Ended() bool {
	if c == nil {
		return false
	}
	return c.Status == CallFinished || c.Status == CallForwarded || c.PhoneCallStatus.Final()
}

// UnmarshalJSON implements json.Unmarshaler leniently; see the package
// documentation.
func (c *Call) UnmarshalJSON(b []byte) error {
	var w struct {
		ID                    flexString `json:"id"`
		TeamID                flexString `json:"teamId"`
		AssistantID           flexString `json:"assistantId"`
		PhoneNumberID         flexString `json:"phoneNumberId"`
		Direction             flexString `json:"direction"`
		CreatedAt             Time       `json:"createdAt"`
		UpdatedAt             Time       `json:"updatedAt"`
		StartAt               Time       `json:"startAt"`
		EndAt                 Time       `json:"endAt"`
		Customer              Customer   `json:"customer"`
		Status                flexString `json:"status"`
		PhoneCallStatus       flexString `json:"phoneCallStatus"`
		PhoneCallStatusReason flexString `json:"phoneCallStatusReason"`
		CallEndTriggerBy      flexString `json:"callEndTriggerBy"`
		UserNumber            flexString `json:"userNumber"`
		AssistantNumber       flexString `json:"assistantNumber"`
		Analysis              *Analysis  `json:"analysis"`
		Messages              []Message  `json:"messages"`
		AssistantCallDuration flexInt    `json:"assistantCallDuration"`
		Cost                  *Cost      `json:"cost"`
		Recording             *Recording `json:"recording"`
		Monitor               Monitor    `json:"monitor"`
		Metadata              flexMap    `json:"metadata"`
		PhoneVendor           flexString `json:"phoneVendor"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Call{
		ID:                    string(w.ID),
		TeamID:                string(w.TeamID),
		AssistantID:           string(w.AssistantID),
		PhoneNumberID:         string(w.PhoneNumberID),
		Direction:             string(w.Direction),
		CreatedAt:             w.CreatedAt,
		UpdatedAt:             w.UpdatedAt,
		StartAt:               w.StartAt,
		EndAt:                 w.EndAt,
		Customer:              w.Customer,
		Status:                CallStatus(w.Status),
		PhoneCallStatus:       PhoneCallStatus(w.PhoneCallStatus),
		PhoneCallStatusReason: string(w.PhoneCallStatusReason),
		CallEndTriggerBy:      string(w.CallEndTriggerBy),
		UserNumber:            string(w.UserNumber),
		AssistantNumber:       string(w.AssistantNumber),
		Analysis:              w.Analysis,
		Messages:              w.Messages,
		AssistantCallDuration: int64(w.AssistantCallDuration),
		Cost:                  w.Cost,
		Recording:             w.Recording,
		Monitor:               w.Monitor,
		Metadata:              w.Metadata,
		PhoneVendor:           string(w.PhoneVendor),
	}
	return nil
}

// Analysis is the post-call analysis (api-reference/calls/get-call,
// webhooks/events/end-of-call-report). The API fills it some time after the
// call ends; until then Summary and SuccessEvaluation are "".
type Analysis struct {
	Summary string `json:"summary"`
	// SuccessEvaluation is the assistant's verdict: "success" in samples,
	// "Excellent", "Good", "Fair" or "Poor" with a descriptive rubric, and
	// sometimes a JSON boolean or number, which arrives here as its text
	// ("true", "8").
	SuccessEvaluation string `json:"successEvaluation"`
	// StructuredData is the object extracted by the assistant's JSON schema,
	// as it came; nil when absent or null.
	StructuredData json.RawMessage `json:"structuredData,omitempty"`
	Outcome        json.RawMessage `json:"outcome,omitempty"`    // shape undocumented; nil when absent
	Guardrails     json.RawMessage `json:"guardrails,omitempty"` // shape undocumented; nil when absent
}

// Ready reports whether the analysis has been filled in: the API sends
// empty strings until it is (api-reference/calls/get-call).
func (a *Analysis) Ready() bool {
	return a != nil && (a.Summary != "" || a.SuccessEvaluation != "")
}

// UnmarshalJSON implements json.Unmarshaler, reading SuccessEvaluation from
// a string, a boolean or a number.
func (a *Analysis) UnmarshalJSON(b []byte) error {
	var w struct {
		Summary           flexString      `json:"summary"`
		SuccessEvaluation flexString      `json:"successEvaluation"`
		StructuredData    json.RawMessage `json:"structuredData"`
		Outcome           json.RawMessage `json:"outcome"`
		Guardrails        json.RawMessage `json:"guardrails"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil // an unreadable analysis is treated as an empty one
	}
	*a = Analysis{
		Summary:           string(w.Summary),
		SuccessEvaluation: string(w.SuccessEvaluation),
		StructuredData:    rawObject(w.StructuredData),
		Outcome:           rawObject(w.Outcome),
		Guardrails:        rawObject(w.Guardrails),
	}
	return nil
}

// Message is one turn of a call's transcript (api-reference/calls/get-call).
// Role is "user" (the customer) or "assistant". Timestamp is ISO in REST
// payloads and epoch milliseconds in webhooks; Time reads both.
type Message struct {
	MessageID string `json:"messageId,omitempty"`
	Role      string `json:"role"`
	Text      string `json:"text"`
	Timestamp Time   `json:"timestamp"`
}

// UnmarshalJSON implements json.Unmarshaler leniently.
func (m *Message) UnmarshalJSON(b []byte) error {
	var w struct {
		MessageID flexString `json:"messageId"`
		Role      flexString `json:"role"`
		Text      flexString `json:"text"`
		Timestamp Time       `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil
	}
	*m = Message{MessageID: string(w.MessageID), Role: string(w.Role), Text: string(w.Text), Timestamp: w.Timestamp}
	return nil
}

// Cost is what a call cost, present once it is over
// (api-reference/calls/get-call). The per-vendor breakdown is not
// documented, so the whole object is kept in Raw.
type Cost struct {
	CallDuration float64         `json:"callDuration"` // seconds
	TotalCost    float64         `json:"totalCost"`    // USD
	Raw          json.RawMessage `json:"-"`            // the whole cost object as it came
}

// UnmarshalJSON implements json.Unmarshaler, accepting numeric strings and
// keeping the whole object in Raw.
func (c *Cost) UnmarshalJSON(b []byte) error {
	var w struct {
		CallDuration flexFloat `json:"callDuration"`
		TotalCost    flexFloat `json:"totalCost"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil
	}
	*c = Cost{CallDuration: float64(w.CallDuration), TotalCost: float64(w.TotalCost), Raw: rawObject(b)}
	return nil
}

// Recording says where a call's recording is stored, present once it is
// over (api-reference/calls/get-call).
type Recording struct {
	S3Bucket string `json:"s3Bucket"`
	Path     string `json:"path"`
}

// Monitor holds the URLs for watching and steering a live call
// (api-reference/calls/get-call, api-reference/calls/control).
type Monitor struct {
	// ControlURL is where Call Control requests are posted; use it as
	// given (one published sample misspells the path as "convesations").
	ControlURL string `json:"controlUrl,omitempty"`
}

// CallList is one page of List Calls (api-reference/calls/list-calls).
// TotalCount counts every call in the date range, across pages.
type CallList struct {
	TotalCount    int    `json:"totalCount"`
	Conversations []Call `json:"conversations"`
}

// UnmarshalJSON implements json.Unmarshaler, accepting a numeric string as
// TotalCount.
func (l *CallList) UnmarshalJSON(b []byte) error {
	var w struct {
		TotalCount    flexInt `json:"totalCount"`
		Conversations []Call  `json:"conversations"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*l = CallList{TotalCount: int(w.TotalCount), Conversations: w.Conversations}
	return nil
}
