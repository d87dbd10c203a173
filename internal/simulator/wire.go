package simulator

// The wire shapes the simulator sends: Get Call's response and a List Calls entry
// (api-reference/calls/get-call, list-calls) and the server messages it POSTs
// (webhooks/events/*). They are written from the reference rather than shared with the
// client (package interactly), so that a misreading in one does not hide in the other;
// other stand-ins for Interactly, such as cmd/bench's generated webhooks, render with them.
// Timestamps are ISO 8601 UTC strings with milliseconds unless a field says epoch ms.

// EventBody is the body of one server message POST: {"message": ...}.
type EventBody struct {
	Message EventMessage `json:"message"`
}

// EventMessage is a server message: its type (status-update, conversation-update,
// end-of-call-report), when it was sent, the call as Get Call would show it at that time,
// and, in an end-of-call-report, the analysis, end, cost and recording beside the call.
type EventMessage struct {
	Type      string         `json:"type"`
	Timestamp int64          `json:"timestamp"` // epoch ms
	Call      CallObject     `json:"call"`
	Assistant EventAssistant `json:"assistant"`
	Phone     EventPhone     `json:"phone"`
	Customer  Customer       `json:"customer"`
	// Analysis is {} but in an end-of-call-report of an answered call.
	Analysis any `json:"analysis"`
	// Messages is the transcript ([]EventLine), in conversation-update and
	// end-of-call-report only.
	Messages  any        `json:"messages,omitempty"`
	EndAt     string     `json:"endAt,omitempty"`
	Cost      *Cost      `json:"cost,omitempty"`
	Recording *Recording `json:"recording,omitempty"`
}

// EventAssistant is a server message's assistant: its ID.
type EventAssistant struct {
	ID string `json:"id"`
}

// EventPhone is a server message's phone number: the phoneNumberId and the number calls
// come from.
type EventPhone struct {
	ID     string `json:"id"`
	Number string `json:"number"`
}

// EventLine is a transcript entry of a server message; its timestamp is epoch ms, where
// the call object's (CallLine) is an ISO string.
type EventLine struct {
	MessageID string `json:"messageId"`
	Role      string `json:"role"` // "assistant" or "user"
	Text      string `json:"text"`
	Timestamp int64  `json:"timestamp"` // epoch ms
}

// Customer is the person called: the number in E.164 and the name, if any.
type Customer struct {
	Number string `json:"number"`
	Name   string `json:"name,omitempty"`
}

// Monitor holds a call's controlUrl, where Call Control requests go.
type Monitor struct {
	ControlURL string `json:"controlUrl"`
}

// CallHead is what every call object begins with, in Connect Call's response as in Get
// Call's; embedded first, its fields keep that place in the JSON.
type CallHead struct {
	ID            string `json:"id"`
	TeamID        string `json:"teamId"`
	AssistantID   string `json:"assistantId"`
	PhoneNumberID string `json:"phoneNumberId"`
	Direction     string `json:"direction"` // "outbound"
	CreatedAt     string `json:"createdAt"`
	UpdatedAt     string `json:"updatedAt"`
}

// CallObject is Get Call's response, a List Calls entry and the call of a server message.
type CallObject struct {
	CallHead
	StartAt               string         `json:"startAt"`
	EndAt                 string         `json:"endAt,omitempty"` // only once ended
	Customer              Customer       `json:"customer"`
	Status                string         `json:"status"`
	PhoneCallStatus       string         `json:"phoneCallStatus"`
	PhoneCallStatusReason string         `json:"phoneCallStatusReason"`
	CallEndTriggerBy      string         `json:"callEndTriggerBy"`
	UserNumber            string         `json:"userNumber"`
	AssistantNumber       string         `json:"assistantNumber"`
	Analysis              any            `json:"analysis,omitempty"` // nil, *Analysis, or {} in an end-of-call-report
	Messages              []CallLine     `json:"messages"`
	AssistantCallDuration int64          `json:"assistantCallDuration"` // milliseconds
	Cost                  *Cost          `json:"cost,omitempty"`
	Recording             *Recording     `json:"recording,omitempty"`
	Monitor               Monitor        `json:"monitor"`
	Metadata              map[string]any `json:"metadata"`
	PhoneVendor           string         `json:"phoneVendor"`
	PhoneVendorDetails    map[string]any `json:"phoneVendorDetails"`
}

// Analysis is an answered call's analysis once it is ready.
type Analysis struct {
	Summary           string         `json:"summary"`
	SuccessEvaluation string         `json:"successEvaluation"`
	StructuredData    map[string]any `json:"structuredData"`
}

// CallLine is a transcript entry of a call object; its timestamp is an ISO string.
type CallLine struct {
	MessageID string `json:"messageId"`
	Role      string `json:"role"` // "assistant" or "user"
	Text      string `json:"text"`
	Timestamp string `json:"timestamp"`
}

// Cost is what an ended call cost: its talk time in seconds and the total and per-part
// costs in USD.
type Cost struct {
	CallDuration  float64 `json:"callDuration"` // seconds
	TotalCost     float64 `json:"totalCost"`    // USD
	TelephonyCost float64 `json:"telephonyCost"`
	LLMCost       float64 `json:"llmCost"`
	STTCost       float64 `json:"sttCost"`
	TTSCost       float64 `json:"ttsCost"`
}

// Recording is where an answered call's recording is stored.
type Recording struct {
	S3Bucket string `json:"s3Bucket"`
	Path     string `json:"path"`
}
