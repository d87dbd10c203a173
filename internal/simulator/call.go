package simulator

import (
	"math"
	"time"
)

// timeLayout is the REST timestamp format: ISO-8601, UTC, milliseconds
// (api-reference/calls/get-call).
const timeLayout = "2006-01-02T15:04:05.000Z"

func isoTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// Per-minute prices behind the cost object. Interactly publishes none; these
// are plausible magnitudes.
const (
	priceTelephony = 0.0140
	priceLLM       = 0.0200
	priceSTT       = 0.0100
	priceTTS       = 0.0150
)

// call is one simulated call: its request and the timeline drawn when it was
// created. What a client sees is rendered from it at read time (view).
type call struct {
	id              string
	account         string // the name of the account whose key created it
	teamID          string
	assistantID     string
	phoneNumberID   string
	direction       string
	number, name    string
	assistantNumber string
	metadata        map[string]any
	vars            map[string]string
	callSid         string

	created  time.Time
	ringAt   time.Time // ringing starts; zero when the call fails first
	answerAt time.Time // zero when never answered
	end      time.Time // planned, or when call control ended it
	outcome  string    // final phoneCallStatus
	trigger  string    // callEndTriggerBy once ended
	reason   string    // phoneCallStatusReason once ended
	// forwarded is set by a forward control; the status is then
	// "forwarded" rather than "finished".
	forwarded bool

	messages   []message // sorted by time; shown once their time has come, if not after end
	summary    string
	evaluation string
	structured map[string]any

	// base is the scheme and host the call was created through, for the
	// controlUrl of the call objects its server messages carry.
	base string
	// hook is what its server messages have announced so far.
	hook hookState
}

type message struct {
	id, role, text string
	at             time.Time
}

func (c *call) ended(t time.Time) bool    { return !t.Before(c.end) }
func (c *call) answered(t time.Time) bool { return !c.answerAt.IsZero() && !t.Before(c.answerAt) }

// state is the call's status, phoneCallStatus and reason at t.
func (c *call) state(t time.Time) (status, phone, reason string) {
	switch {
	case c.ended(t) && c.forwarded:
		return "forwarded", c.outcome, c.reason
	case c.ended(t):
		return "finished", c.outcome, c.reason
	case c.answered(t):
		return "ongoing", "in-progress", "Call is in progress"
	case !c.ringAt.IsZero() && !t.Before(c.ringAt):
		return "queued", "ringing", "Customer's phone is ringing"
	}
	return "queued", "trying", "Call is being connected"
}

// updated is when the call object last changed, as of t.
func (c *call) updated(t time.Time, analysisDelay time.Duration) time.Time {
	u := c.created
	for _, m := range []time.Time{c.ringAt, c.answerAt, c.end} {
		if !m.IsZero() && !t.Before(m) && m.After(u) {
			u = m
		}
	}
	if ready := c.end.Add(analysisDelay); !c.answerAt.IsZero() && !t.Before(ready) {
		u = ready
	}
	return u
}

// The wire shapes of api-reference/calls/connect and api-reference/calls/get-call,
// written from the reference rather than shared with the client, so that a
// misreading in one does not hide in the other.
type (
	wireCustomer struct {
		Number string `json:"number"`
		Name   string `json:"name,omitempty"`
	}
	wireMonitor struct {
		ControlURL string `json:"controlUrl"`
	}
	// wireCallHead is what every call object begins with, in Connect Call's response as in
	// Get Call's; embedded first, its fields keep that place in the JSON.
	wireCallHead struct {
		ID            string `json:"id"`
		TeamID        string `json:"teamId"`
		AssistantID   string `json:"assistantId"`
		PhoneNumberID string `json:"phoneNumberId"`
		Direction     string `json:"direction"`
		CreatedAt     string `json:"createdAt"`
		UpdatedAt     string `json:"updatedAt"`
	}
	// wireConnected is Connect Call's response.
	wireConnected struct {
		wireCallHead
		Customer           wireCustomer   `json:"customer"`
		Status             string         `json:"status"`
		Metadata           map[string]any `json:"metadata"`
		PhoneVendor        string         `json:"phoneVendor"`
		PhoneVendorDetails map[string]any `json:"phoneVendorDetails"`
		Monitor            wireMonitor    `json:"monitor"`
	}
	// wireCall is Get Call's response and a List Calls entry.
	wireCall struct {
		wireCallHead
		StartAt               string         `json:"startAt"`
		EndAt                 string         `json:"endAt,omitempty"` // only once ended
		Customer              wireCustomer   `json:"customer"`
		Status                string         `json:"status"`
		PhoneCallStatus       string         `json:"phoneCallStatus"`
		PhoneCallStatusReason string         `json:"phoneCallStatusReason"`
		CallEndTriggerBy      string         `json:"callEndTriggerBy"`
		UserNumber            string         `json:"userNumber"`
		AssistantNumber       string         `json:"assistantNumber"`
		Analysis              any            `json:"analysis,omitempty"` // nil, *wireAnalysis, or {} in an end-of-call-report
		Messages              []wireMessage  `json:"messages"`
		AssistantCallDuration int64          `json:"assistantCallDuration"` // milliseconds
		Cost                  *wireCost      `json:"cost,omitempty"`
		Recording             *wireRecording `json:"recording,omitempty"`
		Monitor               wireMonitor    `json:"monitor"`
		Metadata              map[string]any `json:"metadata"`
		PhoneVendor           string         `json:"phoneVendor"`
		PhoneVendorDetails    map[string]any `json:"phoneVendorDetails"`
	}
	wireAnalysis struct {
		Summary           string         `json:"summary"`
		SuccessEvaluation string         `json:"successEvaluation"`
		StructuredData    map[string]any `json:"structuredData"`
	}
	wireMessage struct {
		MessageID string `json:"messageId"`
		Role      string `json:"role"`
		Text      string `json:"text"`
		Timestamp string `json:"timestamp"`
	}
	wireCost struct {
		CallDuration  float64 `json:"callDuration"` // seconds
		TotalCost     float64 `json:"totalCost"`    // USD
		TelephonyCost float64 `json:"telephonyCost"`
		LLMCost       float64 `json:"llmCost"`
		STTCost       float64 `json:"sttCost"`
		TTSCost       float64 `json:"ttsCost"`
	}
	wireRecording struct {
		S3Bucket string `json:"s3Bucket"`
		Path     string `json:"path"`
	}
)

// head renders the fields every call object begins with; updated is its updatedAt.
func (c *call) head(updated time.Time) wireCallHead {
	return wireCallHead{
		ID:            c.id,
		TeamID:        c.teamID,
		AssistantID:   c.assistantID,
		PhoneNumberID: c.phoneNumberID,
		Direction:     c.direction,
		CreatedAt:     isoTime(c.created),
		UpdatedAt:     isoTime(updated),
	}
}

// connected renders Connect Call's response; control is its monitor.controlUrl.
func (c *call) connected(control string) wireConnected {
	return wireConnected{
		wireCallHead:       c.head(c.created),
		Customer:           wireCustomer{Number: c.number, Name: c.name},
		Status:             "queued",
		Metadata:           c.metadataOrEmpty(),
		PhoneVendor:        "twilio",
		PhoneVendorDetails: map[string]any{"callSid": c.callSid},
		Monitor:            wireMonitor{ControlURL: control},
	}
}

// view renders the call as it stands at t; control is its
// monitor.controlUrl.
func (c *call) view(t time.Time, control string, analysisDelay time.Duration) wireCall {
	status, phone, reason := c.state(t)
	w := wireCall{
		wireCallHead:          c.head(c.updated(t, analysisDelay)),
		StartAt:               isoTime(c.created), // the phone leg starts when the call is placed
		Customer:              wireCustomer{Number: c.number, Name: c.name},
		Status:                status,
		PhoneCallStatus:       phone,
		PhoneCallStatusReason: reason,
		UserNumber:            c.number,
		AssistantNumber:       c.assistantNumber,
		Messages:              []wireMessage{},
		Monitor:               wireMonitor{ControlURL: control},
		Metadata:              c.metadataOrEmpty(),
		PhoneVendor:           "twilio",
		PhoneVendorDetails:    map[string]any{"callSid": c.callSid},
	}
	for _, m := range c.messages {
		if t.Before(m.at) || m.at.After(c.end) {
			continue
		}
		w.Messages = append(w.Messages, wireMessage{MessageID: m.id, Role: m.role, Text: m.text, Timestamp: isoTime(m.at)})
	}
	if !c.ended(t) {
		return w
	}
	w.EndAt = isoTime(c.end)
	w.CallEndTriggerBy = c.trigger
	var talk time.Duration
	if !c.answerAt.IsZero() {
		talk = c.end.Sub(c.answerAt)
	}
	w.AssistantCallDuration = talk.Milliseconds()
	w.Cost = cost(talk)
	if c.answerAt.IsZero() {
		return w
	}
	w.Recording = &wireRecording{S3Bucket: "interactly-call-recordings", Path: "recordings/" + c.teamID + "/" + c.id + ".wav"}
	w.Analysis = &wireAnalysis{StructuredData: map[string]any{}}
	if !t.Before(c.end.Add(analysisDelay)) {
		w.Analysis = &wireAnalysis{Summary: c.summary, SuccessEvaluation: c.evaluation, StructuredData: c.structured}
	}
	return w
}

func (c *call) metadataOrEmpty() map[string]any {
	if c.metadata == nil {
		return map[string]any{}
	}
	return c.metadata
}

func cost(talk time.Duration) *wireCost {
	mins := talk.Minutes()
	c := &wireCost{
		CallDuration:  round(talk.Seconds(), 3),
		TelephonyCost: round(mins*priceTelephony, 4),
		LLMCost:       round(mins*priceLLM, 4),
		STTCost:       round(mins*priceSTT, 4),
		TTSCost:       round(mins*priceTTS, 4),
	}
	c.TotalCost = round(c.TelephonyCost+c.LLMCost+c.STTCost+c.TTSCost, 4)
	return c
}

func round(f float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(f*p) / p
}
