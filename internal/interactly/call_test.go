package interactly

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTimeUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{"iso millis Z", `"2020-10-05T00:00:00.000Z"`, time.Date(2020, 10, 5, 0, 0, 0, 0, time.UTC)},
		{"iso no millis", `"2020-10-05T13:14:15Z"`, time.Date(2020, 10, 5, 13, 14, 15, 0, time.UTC)},
		{"iso micros", `"2020-10-05T13:14:15.123456Z"`, time.Date(2020, 10, 5, 13, 14, 15, 123456000, time.UTC)},
		{"iso offset", `"2020-10-05T18:44:15.500+05:30"`, time.Date(2020, 10, 5, 13, 14, 15, 500e6, time.UTC)},
		{"iso offset without colon", `"2020-10-05T18:44:15.500+0530"`, time.Date(2020, 10, 5, 13, 14, 15, 500e6, time.UTC)},
		{"iso without zone is UTC", `"2020-10-05T13:14:15.250"`, time.Date(2020, 10, 5, 13, 14, 15, 250e6, time.UTC)},
		{"space separator", `"2020-10-05 13:14:15.250Z"`, time.Date(2020, 10, 5, 13, 14, 15, 250e6, time.UTC)},
		{"epoch ms number", `1601903655123`, time.Date(2020, 10, 5, 13, 14, 15, 123e6, time.UTC)},
		{"epoch ms float", `1601903655123.5`, time.Date(2020, 10, 5, 13, 14, 15, 123500000, time.UTC)},
		{"epoch ms string", `"1601903655123"`, time.Date(2020, 10, 5, 13, 14, 15, 123e6, time.UTC)},
		{"epoch seconds", `1601903655`, time.Date(2020, 10, 5, 13, 14, 15, 0, time.UTC)},
		{"null", `null`, time.Time{}},
		{"empty string", `""`, time.Time{}},
		{"zero", `0`, time.Time{}},
		{"beyond int64 milliseconds", `1e300`, time.Time{}},
		{"beyond int64, negative", `-1e19`, time.Time{}},
		{"garbage string", `"yesterday"`, time.Time{}},
		{"object", `{"seconds": 1}`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				At Time `json:"at"`
			}
			if err := json.Unmarshal([]byte(`{"at":`+tt.in+`}`), &got); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !got.At.Equal(tt.want) {
				t.Errorf("got %v, want %v", got.At.Time, tt.want)
			}
		})
	}
}

func TestTimeMarshal(t *testing.T) {
	tests := []struct {
		name string
		in   Time
		want string
	}{
		{"utc millis", Time{time.Date(2020, 10, 5, 0, 0, 0, 0, time.UTC)}, `"2020-10-05T00:00:00.000Z"`},
		{"offset converted to UTC", Time{time.Date(2020, 10, 5, 5, 30, 0, 123456789, time.FixedZone("IST", 5*3600+1800))}, `"2020-10-05T00:00:00.123Z"`},
		{"zero is null", Time{}, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Marshal (-want +got):\n%s", diff)
			}
		})
	}
}

// getCallFinished is a finished call in the shape of the get-call reference
// page, with assistantCallDuration in milliseconds as real payloads have it.
const getCallFinished = `{
  "id": "CC-0c8b5d3e-4a4f-4f8e-9b3c-7a1d2e3f4a5b",
  "teamId": "65f1c2a3b4d5e6f708192a3b",
  "assistantId": "6601a2b3c4d5e6f708192a3c",
  "phoneNumberId": "3b1f6a2e-9c1d-4e7a-8f2b-5d6c7e8f9a0b",
  "direction": "outbound",
  "createdAt": "2025-03-14T09:26:53.000Z",
  "updatedAt": "2025-03-14T09:27:41.512Z",
  "startAt": "2025-03-14T09:26:58.204Z",
  "endAt": "2025-03-14T09:27:40.911Z",
  "customer": {"number": "+14155550123", "name": "Jane Doe"},
  "status": "finished",
  "phoneCallStatus": "completed",
  "phoneCallStatusReason": "Call is completed",
  "callEndTriggerBy": "assistant",
  "userNumber": "+14155550123",
  "assistantNumber": "+14155559876",
  "analysis": {
    "summary": "Jane confirmed her appointment on Friday.",
    "successEvaluation": "Good",
    "structuredData": {"confirmed": true, "callbackRequested": false},
    "outcome": null
  },
  "messages": [
    {"messageId": "m1", "role": "assistant", "text": "Hi Jane!", "timestamp": "2025-03-14T09:26:58.900Z"},
    {"messageId": "m2", "role": "user", "text": "Hello.", "timestamp": "2025-03-14T09:27:01.120Z"}
  ],
  "assistantCallDuration": 42707,
  "cost": {"callDuration": 42.7, "totalCost": 0.0712, "llmCost": 0.01, "twilioCost": 0.0098},
  "recording": {"s3Bucket": "interactly-recordings", "path": "calls/CC-0c8b5d3e.wav"},
  "monitor": {"controlUrl": "https://api-prod.interactly.ai/calls/v1/conversations/CC-0c8b5d3e-4a4f-4f8e-9b3c-7a1d2e3f4a5b/control"},
  "metadata": {"campaignId": "c123", "contact": 7, "idempotencyKey": "c123:7:1"},
  "phoneVendor": "twilio",
  "phoneVendorDetails": {"callSid": "CA0123"},
  "someFieldAddedLater": [1, 2, 3]
}`

func TestCallUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Call
	}{
		{
			name: "finished call as documented",
			in:   getCallFinished,
			want: Call{
				ID:                    "CC-0c8b5d3e-4a4f-4f8e-9b3c-7a1d2e3f4a5b",
				TeamID:                "65f1c2a3b4d5e6f708192a3b",
				AssistantID:           "6601a2b3c4d5e6f708192a3c",
				PhoneNumberID:         "3b1f6a2e-9c1d-4e7a-8f2b-5d6c7e8f9a0b",
				Direction:             "outbound",
				CreatedAt:             ms("2025-03-14T09:26:53.000Z"),
				UpdatedAt:             ms("2025-03-14T09:27:41.512Z"),
				StartAt:               ms("2025-03-14T09:26:58.204Z"),
				EndAt:                 ms("2025-03-14T09:27:40.911Z"),
				Customer:              Customer{Number: "+14155550123", Name: "Jane Doe"},
				Status:                CallFinished,
				PhoneCallStatus:       PhoneCompleted,
				PhoneCallStatusReason: "Call is completed",
				CallEndTriggerBy:      "assistant",
				UserNumber:            "+14155550123",
				AssistantNumber:       "+14155559876",
				Analysis: &Analysis{
					Summary:           "Jane confirmed her appointment on Friday.",
					SuccessEvaluation: "Good",
					StructuredData:    json.RawMessage(`{"confirmed": true, "callbackRequested": false}`),
				},
				Messages: []Message{
					{MessageID: "m1", Role: "assistant", Text: "Hi Jane!", Timestamp: ms("2025-03-14T09:26:58.900Z")},
					{MessageID: "m2", Role: "user", Text: "Hello.", Timestamp: ms("2025-03-14T09:27:01.120Z")},
				},
				AssistantCallDuration: 42707,
				Cost: &Cost{
					CallDuration: 42.7, TotalCost: 0.0712,
					Raw: json.RawMessage(`{"callDuration": 42.7, "totalCost": 0.0712, "llmCost": 0.01, "twilioCost": 0.0098}`),
				},
				Recording:   &Recording{S3Bucket: "interactly-recordings", Path: "calls/CC-0c8b5d3e.wav"},
				Monitor:     Monitor{ControlURL: "https://api-prod.interactly.ai/calls/v1/conversations/CC-0c8b5d3e-4a4f-4f8e-9b3c-7a1d2e3f4a5b/control"},
				Metadata:    map[string]any{"campaignId": "c123", "contact": float64(7), "idempotencyKey": "c123:7:1"},
				PhoneVendor: "twilio",
			},
		},
		{
			name: "connect response: queued, no endAt, no analysis",
			in: `{"id":"CC-1","teamId":"t","assistantId":"a","phoneNumberId":"p","direction":"outbound",
				"createdAt":"2025-03-14T09:26:53.000Z","updatedAt":"2025-03-14T09:26:53.000Z",
				"customer":{"number":"+14155550123"},"status":"queued","metadata":{"k":"v"},
				"phoneVendor":"bandwidth","phoneVendorDetails":{},
				"monitor":{"controlUrl":"https://api-prod.interactly.ai/calls/v1/convesations/CC-1/control"}}`,
			want: Call{
				ID: "CC-1", TeamID: "t", AssistantID: "a", PhoneNumberID: "p", Direction: "outbound",
				CreatedAt: ms("2025-03-14T09:26:53Z"), UpdatedAt: ms("2025-03-14T09:26:53Z"),
				Customer: Customer{Number: "+14155550123"}, Status: CallQueued,
				Metadata: map[string]any{"k": "v"}, PhoneVendor: "bandwidth",
				Monitor: Monitor{ControlURL: "https://api-prod.interactly.ai/calls/v1/convesations/CC-1/control"},
			},
		},
		{
			name: "finished paired with ringing, webhook-style epoch ms",
			in: `{"id":"CC-2","status":"finished","phoneCallStatus":"ringing",
				"startAt":1741944418204,"endAt":"1741944460911","callEndTriggerBy":"bot",
				"messages":[{"role":"assistant","text":"Hi","timestamp":1741944418900}]}`,
			want: Call{
				ID: "CC-2", Status: CallFinished, PhoneCallStatus: PhoneRinging,
				StartAt: ms("2025-03-14T09:26:58.204Z"), EndAt: ms("2025-03-14T09:27:40.911Z"),
				CallEndTriggerBy: "bot",
				Messages:         []Message{{Role: "assistant", Text: "Hi", Timestamp: ms("2025-03-14T09:26:58.900Z")}},
			},
		},
		{
			name: "successEvaluation as success, empty trigger, null endAt",
			in: `{"id":"CC-3","status":"ongoing","phoneCallStatus":"in-progress","endAt":null,
				"callEndTriggerBy":"","analysis":{"summary":"","successEvaluation":"success"}}`,
			want: Call{
				ID: "CC-3", Status: CallOngoing, PhoneCallStatus: PhoneInProgress,
				Analysis: &Analysis{SuccessEvaluation: "success"},
			},
		},
		{
			name: "successEvaluation as bool, numbers where strings expected",
			in: `{"id":12345,"status":"finished","phoneCallStatus":"completed","assistantCallDuration":"9000.4",
				"customer":{"number":14155550123},"analysis":{"summary":"ok","successEvaluation":true,"structuredData":null},
				"cost":{"callDuration":"9","totalCost":"0.02"}}`,
			want: Call{
				ID: "12345", Status: CallFinished, PhoneCallStatus: PhoneCompleted, AssistantCallDuration: 9000,
				Customer: Customer{Number: "14155550123"},
				Analysis: &Analysis{Summary: "ok", SuccessEvaluation: "true"},
				Cost:     &Cost{CallDuration: 9, TotalCost: 0.02, Raw: json.RawMessage(`{"callDuration":"9","totalCost":"0.02"}`)},
			},
		},
		{
			name: "successEvaluation as number, analysis not ready",
			in:   `{"id":"CC-4","analysis":{"successEvaluation":8},"phoneCallStatus":"voicemail","status":"archived"}`,
			want: Call{
				ID: "CC-4", Analysis: &Analysis{SuccessEvaluation: "8"},
				PhoneCallStatus: "voicemail", Status: "archived",
			},
		},
		{
			name: "analysis null and metadata not an object",
			in:   `{"id":"WC-5","analysis":null,"metadata":"none","monitor":null,"cost":null}`,
			want: Call{ID: "WC-5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Call
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, timeEqual); diff != "" {
				t.Errorf("Call (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallEnded(t *testing.T) {
	tests := []struct {
		name string
		call *Call
		want bool
	}{
		{"nil", nil, false},
		{"queued trying", &Call{Status: CallQueued, PhoneCallStatus: PhoneTrying}, false},
		{"ongoing in-progress", &Call{Status: CallOngoing, PhoneCallStatus: PhoneInProgress}, false},
		{"finished completed", &Call{Status: CallFinished, PhoneCallStatus: PhoneCompleted}, true},
		{"finished ringing", &Call{Status: CallFinished, PhoneCallStatus: PhoneRinging}, true},
		{"forwarded", &Call{Status: CallForwarded}, true},
		{"queued busy", &Call{Status: CallQueued, PhoneCallStatus: PhoneBusy}, true},
		{"no status no-answer", &Call{PhoneCallStatus: PhoneNoAnswer}, true},
		{"failed", &Call{PhoneCallStatus: PhoneFailed}, true},
		{"unknown values", &Call{Status: "paused", PhoneCallStatus: "canceled"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.call.Ended(); got != tt.want {
				t.Errorf("Ended() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnalysisReady(t *testing.T) {
	tests := []struct {
		name string
		in   *Analysis
		want bool
	}{
		{"nil", nil, false},
		{"empty until ready", &Analysis{}, false},
		{"structured data only", &Analysis{StructuredData: json.RawMessage(`{}`)}, false},
		{"evaluation", &Analysis{SuccessEvaluation: "Fair"}, true},
		{"summary", &Analysis{Summary: "Spoke with Jane."}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Ready(); got != tt.want {
				t.Errorf("Ready() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCallListUnmarshal(t *testing.T) {
	var got CallList
	in := `{"totalCount":"2","conversations":[{"id":"CC-1","status":"finished"},{"id":"CC-2","phoneCallStatus":"busy"}]}`
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	want := CallList{TotalCount: 2, Conversations: []Call{
		{ID: "CC-1", Status: CallFinished},
		{ID: "CC-2", PhoneCallStatus: PhoneBusy},
	}}
	if diff := cmp.Diff(want, got, timeEqual); diff != "" {
		t.Errorf("CallList (-want +got):\n%s", diff)
	}
}

func TestCallRoundTrip(t *testing.T) {
	var call Call
	if err := json.Unmarshal([]byte(getCallFinished), &call); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&call)
	if err != nil {
		t.Fatal(err)
	}
	var again Call
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	// Cost.Raw is not marshalled, so it comes back as the fields alone.
	again.Cost.Raw, call.Cost.Raw = nil, nil
	ignoreRawSpacing := cmp.Transformer("compact", func(r json.RawMessage) string {
		var v any
		if json.Unmarshal(r, &v) != nil {
			return string(r)
		}
		b, _ := json.Marshal(v)
		return string(b)
	})
	if diff := cmp.Diff(call, again, timeEqual, ignoreRawSpacing); diff != "" {
		t.Errorf("round trip (-first +second):\n%s", diff)
	}
}
