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

// wireConnected is Connect Call's response (api-reference/calls/connect); the other wire
// shapes are in wire.go.
type wireConnected struct {
	CallHead
	Customer           Customer       `json:"customer"`
	Status             string         `json:"status"`
	Metadata           map[string]any `json:"metadata"`
	PhoneVendor        string         `json:"phoneVendor"`
	PhoneVendorDetails map[string]any `json:"phoneVendorDetails"`
	Monitor            Monitor        `json:"monitor"`
}

// head renders the fields every call object begins with; updated is its updatedAt.
func (c *call) head(updated time.Time) CallHead {
	return CallHead{
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
		CallHead:           c.head(c.created),
		Customer:           Customer{Number: c.number, Name: c.name},
		Status:             "queued",
		Metadata:           c.metadataOrEmpty(),
		PhoneVendor:        "twilio",
		PhoneVendorDetails: map[string]any{"callSid": c.callSid},
		Monitor:            Monitor{ControlURL: control},
	}
}

// view renders the call as it stands at t; control is its
// monitor.controlUrl.
func (c *call) view(t time.Time, control string, analysisDelay time.Duration) CallObject {
	status, phone, reason := c.state(t)
	w := CallObject{
		CallHead:              c.head(c.updated(t, analysisDelay)),
		StartAt:               isoTime(c.created), // the phone leg starts when the call is placed
		Customer:              Customer{Number: c.number, Name: c.name},
		Status:                status,
		PhoneCallStatus:       phone,
		PhoneCallStatusReason: reason,
		UserNumber:            c.number,
		AssistantNumber:       c.assistantNumber,
		Messages:              []CallLine{},
		Monitor:               Monitor{ControlURL: control},
		Metadata:              c.metadataOrEmpty(),
		PhoneVendor:           "twilio",
		PhoneVendorDetails:    map[string]any{"callSid": c.callSid},
	}
	for _, m := range c.messages {
		if t.Before(m.at) || m.at.After(c.end) {
			continue
		}
		w.Messages = append(w.Messages, CallLine{MessageID: m.id, Role: m.role, Text: m.text, Timestamp: isoTime(m.at)})
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
	w.Recording = &Recording{S3Bucket: "interactly-call-recordings", Path: "recordings/" + c.teamID + "/" + c.id + ".wav"}
	w.Analysis = &Analysis{StructuredData: map[string]any{}}
	if !t.Before(c.end.Add(analysisDelay)) {
		w.Analysis = &Analysis{Summary: c.summary, SuccessEvaluation: c.evaluation, StructuredData: c.structured}
	}
	return w
}

func (c *call) metadataOrEmpty() map[string]any {
	if c.metadata == nil {
		return map[string]any{}
	}
	return c.metadata
}

func cost(talk time.Duration) *Cost {
	mins := talk.Minutes()
	c := &Cost{
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
