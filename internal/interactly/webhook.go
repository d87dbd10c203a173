package interactly

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Server message types (webhooks/events/*).
const (
	EventStatusUpdate       = "status-update"       // each status change of a call
	EventEndOfCallReport    = "end-of-call-report"  // once per call, when it is over
	EventConversationUpdate = "conversation-update" // the whole history, at each change
	EventHang               = "hang"                // the assistant was silent for 5 s or more
	EventError              = "error"               // an LLM or STT provider failed
)

// SecretHeader is the header that carries the assistant server's secret, a plain shared
// value compared as is (webhooks/server-url).
const SecretHeader = "x-interactly-secret"

// ServerMessage is one webhook event ("server message"), the "message" object of the body
// Interactly POSTs to an assistant's server URL (webhooks/server-url, webhooks/events/*):
//
//	{"message": {"type": "end-of-call-report", "timestamp": 1732000000000, "call": {...},
//	             "analysis": {...}, "endAt": "...", "cost": {...}, "recording": {...}}}
//
// Fields an event type does not carry are zero. Decoding is as lenient as Call's.
type ServerMessage struct {
	// Type is one of the Event constants, or a type this package does not know, as it came.
	Type string
	// Timestamp is when Interactly sent the event (epoch milliseconds on the wire).
	Timestamp Time
	// Call is the call as it stands, its metadata (campaign, contact, attempt) included.
	// Never nil after ParseServerMessage.
	Call *Call
	// Analysis is the end-of-call-report's analysis. In real payloads it is filled here while
	// Call.Analysis stays empty.
	Analysis *Analysis
	// EndAt, Cost and Recording are the end-of-call-report's own copies; see FinalCall.
	EndAt     Time
	Cost      *Cost
	Recording *Recording
	// Messages is the conversation so far (conversation-update, end-of-call-report).
	Messages []Message
	// Error is the error event's payload, as it came; nil for other types.
	Error json.RawMessage
}

// ErrNotServerMessage is wrapped by ParseServerMessage when a JSON body is not a server
// message: no "message" object, or one without a "type".
var ErrNotServerMessage = errors.New("not an Interactly server message")

// ParseServerMessage decodes a webhook body. It returns a *json.SyntaxError (or another
// encoding/json error) for malformed JSON and an error wrapping ErrNotServerMessage for JSON
// that is not a server message.
func ParseServerMessage(body []byte) (*ServerMessage, error) {
	var env struct {
		Message *struct {
			Type      flexString      `json:"type"`
			Timestamp Time            `json:"timestamp"`
			Call      *Call           `json:"call"`
			Analysis  *Analysis       `json:"analysis"`
			EndAt     Time            `json:"endAt"`
			Cost      *Cost           `json:"cost"`
			Recording *Recording      `json:"recording"`
			Messages  []Message       `json:"messages"`
			Error     json.RawMessage `json:"error"`
		} `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrNotServerMessage)
	}
	m := env.Message
	if m == nil {
		return nil, fmt.Errorf("%w: no \"message\" object", ErrNotServerMessage)
	}
	if m.Type == "" {
		return nil, fmt.Errorf("%w: the message has no \"type\"", ErrNotServerMessage)
	}
	sm := &ServerMessage{
		Type: string(m.Type), Timestamp: m.Timestamp, Call: m.Call, Analysis: m.Analysis,
		EndAt: m.EndAt, Cost: m.Cost, Recording: m.Recording, Messages: m.Messages,
		Error: rawObject(m.Error),
	}
	if sm.Call == nil {
		sm.Call = &Call{}
	}
	return sm, nil
}

// FinalCall is the call as an end-of-call-report describes it: Call, with the message's own
// analysis, endAt, cost, recording and messages filling what the call object lacks
// (real payloads fill message.analysis and leave message.call.analysis empty).
func (m *ServerMessage) FinalCall() *Call {
	c := *m.Call
	if !c.Analysis.Ready() && m.Analysis != nil {
		c.Analysis = m.Analysis
	}
	if c.EndAt.IsZero() {
		c.EndAt = m.EndAt
	}
	if c.Cost == nil {
		c.Cost = m.Cost
	}
	if c.Recording == nil {
		c.Recording = m.Recording
	}
	if len(c.Messages) == 0 {
		c.Messages = m.Messages
	}
	return &c
}
