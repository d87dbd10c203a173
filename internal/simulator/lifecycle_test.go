package simulator

import (
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// snapshot is the part of a call object the lifecycle tests follow.
type snapshot struct {
	Status, PhoneCallStatus, Reason, Trigger string
	EndAt                                    string
	Duration                                 float64 // assistantCallDuration, ms
	Messages                                 int
	HasCost, HasRecording                    bool
	Analysis                                 any // nil, or the analysis object
}

func snap(v any) snapshot {
	str := func(k string) string { s, _ := field(v, k).(string); return s }
	msgs, _ := field(v, "messages").([]any)
	d, _ := field(v, "assistantCallDuration").(float64)
	return snapshot{
		Status: str("status"), PhoneCallStatus: str("phoneCallStatus"), Reason: str("phoneCallStatusReason"),
		Trigger: str("callEndTriggerBy"), EndAt: str("endAt"), Duration: d, Messages: len(msgs),
		HasCost: field(v, "cost") != nil, HasRecording: field(v, "recording") != nil,
		Analysis: field(v, "analysis"),
	}
}

func TestLifecycle(t *testing.T) {
	// Ring 2s (trying for the first fifth), talk 4s, analysis 500ms later.
	s, clock := mustServer(t, Config{
		RingMin: 2 * time.Second, RingMax: 2 * time.Second,
		TalkMin: 4 * time.Second, TalkMax: 4 * time.Second,
		AnalysisDelay: 500 * time.Millisecond, Seed: 7,
	})
	id := mustConnect(t, s, connectBody("+14155550123", "Jane Doe",
		map[string]string{"appointmentDate": "Friday 3pm", "clinic": "Main Street", "zeta": "unused"}, nil))
	end := isoTime(epoch.Add(6 * time.Second))
	tests := []struct {
		at   time.Duration
		want snapshot
	}{
		{0, snapshot{Status: "queued", PhoneCallStatus: "trying", Reason: "Call is being connected"}},
		{400 * time.Millisecond, snapshot{Status: "queued", PhoneCallStatus: "ringing", Reason: "Customer's phone is ringing"}},
		{1999 * time.Millisecond, snapshot{Status: "queued", PhoneCallStatus: "ringing", Reason: "Customer's phone is ringing"}},
		{2 * time.Second, snapshot{Status: "ongoing", PhoneCallStatus: "in-progress", Reason: "Call is in progress"}},
		{3500 * time.Millisecond, snapshot{Status: "ongoing", PhoneCallStatus: "in-progress", Reason: "Call is in progress", Messages: 2}},
		{6 * time.Second, snapshot{
			Status: "finished", PhoneCallStatus: "completed", Reason: "Call is completed", EndAt: end,
			Duration: 4000, Messages: 5, HasCost: true, HasRecording: true,
			Analysis: map[string]any{"summary": "", "successEvaluation": "", "structuredData": map[string]any{}},
		}},
	}
	var trigger string
	for _, tt := range tests {
		clock.Set(epoch.Add(tt.at))
		got := snap(serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil).body)
		trigger = got.Trigger
		if tt.want.Status == "finished" {
			tt.want.Trigger = trigger // drawn from assistant, user, bot
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("at +%s (-want +got):\n%s", tt.at, diff)
		}
	}
	if !slices.Contains([]string{"assistant", "user", "bot"}, trigger) {
		t.Errorf("callEndTriggerBy %q, want assistant, user or bot", trigger)
	}

	clock.Set(epoch.Add(6500 * time.Millisecond))
	got := serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil).body
	summary, _ := field(got, "analysis", "summary").(string)
	for _, want := range []string{"Jane Doe", "Friday 3pm", "Main Street"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q does not mention %q", summary, want)
		}
	}
	if eval := field(got, "analysis", "successEvaluation"); !slices.Contains([]any{"Excellent", "Good", "Fair", "Poor"}, eval) {
		t.Errorf("successEvaluation %v", eval)
	}
	structured, _ := field(got, "analysis", "structuredData").(map[string]any)
	if _, ok := structured["confirmed"].(bool); !ok {
		t.Errorf("structuredData %v has no boolean confirmed", structured)
	}
	if _, ok := structured["callbackRequested"].(bool); !ok {
		t.Errorf("structuredData %v has no boolean callbackRequested", structured)
	}
	if got := field(got, "updatedAt"); got != isoTime(epoch.Add(6500*time.Millisecond)) {
		t.Errorf("updatedAt %v, want the analysis time", got)
	}
}

var (
	isoMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	callID    = regexp.MustCompile(`^CC-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	objectID  = regexp.MustCompile(`^[0-9a-f]{24}$`)
)

// TestShapes checks the connect response and a finished call field by
// field against the reference.
func TestShapes(t *testing.T) {
	s, clock := mustServer(t, Config{AnalysisDelay: -1})
	meta := map[string]any{"campaignId": "c1", "contact": float64(7), "idempotencyKey": "c1:7:1"}
	resp := serve(t, s, http.MethodPost, "/calls/v1/conversations/connect", connectBody("+14155550123", "Jane Doe", nil, meta))
	if resp.status != http.StatusCreated {
		t.Fatalf("connect: %d %s", resp.status, resp.raw)
	}
	c := resp.body.(map[string]any)
	id, _ := c["id"].(string)
	if !callID.MatchString(id) {
		t.Errorf("id %q is not CC-<uuid v4>", id)
	}
	if team, _ := c["teamId"].(string); !objectID.MatchString(team) {
		t.Errorf("teamId %q is not an ObjectId", team)
	}
	for _, k := range []string{"createdAt", "updatedAt"} {
		if v, _ := c[k].(string); !isoMillis.MatchString(v) {
			t.Errorf("%s %q is not ISO with millis", k, v)
		}
	}
	want := map[string]any{
		"assistantId":        "6601a2b3c4d5e6f708192a3c",
		"phoneNumberId":      "3b1f6a2e-9c1d-4e7a-8f2b-5d6c7e8f9a0b",
		"direction":          "outbound",
		"customer":           map[string]any{"number": "+14155550123", "name": "Jane Doe"},
		"status":             "queued",
		"metadata":           meta,
		"phoneVendor":        "twilio",
		"monitor":            map[string]any{"controlUrl": "http://sim.test/calls/v1/conversations/" + id + "/control"},
		"id":                 id,
		"teamId":             c["teamId"],
		"createdAt":          c["createdAt"],
		"updatedAt":          c["updatedAt"],
		"phoneVendorDetails": c["phoneVendorDetails"],
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("connect response (-want +got):\n%s", diff)
	}

	clock.Advance(time.Minute)
	done := serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil).body.(map[string]any)
	for _, k := range []string{"createdAt", "updatedAt", "startAt", "endAt"} {
		if v, _ := done[k].(string); !isoMillis.MatchString(v) {
			t.Errorf("%s %q is not ISO with millis", k, v)
		}
	}
	for _, m := range done["messages"].([]any) {
		if v, _ := field(m, "timestamp").(string); !isoMillis.MatchString(v) {
			t.Errorf("message timestamp %q is not ISO with millis", v)
		}
		if field(m, "messageId") == "" || !slices.Contains([]any{"user", "assistant"}, field(m, "role")) {
			t.Errorf("message %v", m)
		}
	}
	if done["userNumber"] != "+14155550123" || !e164.MatchString(done["assistantNumber"].(string)) {
		t.Errorf("userNumber %v assistantNumber %v", done["userNumber"], done["assistantNumber"])
	}
	dur := done["assistantCallDuration"].(float64)
	if secs := field(done, "cost", "callDuration").(float64); math.Abs(secs*1000-dur) > 0.5 || dur < 2000 || dur > 5000 {
		t.Errorf("assistantCallDuration %vms, cost.callDuration %vs", dur, secs)
	}
	if total, _ := field(done, "cost", "totalCost").(float64); total <= 0 {
		t.Errorf("cost.totalCost %v", field(done, "cost"))
	}
	if field(done, "recording", "s3Bucket") == "" || !strings.HasSuffix(field(done, "recording", "path").(string), id+".wav") {
		t.Errorf("recording %v", done["recording"])
	}
}

func TestUnansweredOutcomes(t *testing.T) {
	const number = "+14155550100"
	s, clock := mustServer(t, Config{
		Script:  map[string][]string{number: {"busy", "no-answer", "failed", "completed"}},
		Mix:     map[string]float64{"failed": 1}, // Script wins for scripted numbers
		RingMin: 2 * time.Second, RingMax: 2 * time.Second,
	})
	tests := []struct {
		outcome string
		reason  string
		endsIn  time.Duration
	}{
		{"busy", "Customer's line is busy", 2 * time.Second},
		{"no-answer", "Customer did not answer", 2 * time.Second},
		{"failed", "Call failed: the carrier could not connect the number", 400 * time.Millisecond},
		{"completed", "Call is completed", 0}, // ends after talk; checked below
		{"completed", "Call is completed", 0}, // past the end the last one repeats
	}
	for i, tt := range tests {
		clock.Set(epoch.Add(time.Duration(i) * time.Hour))
		start := clock.Now()
		id := mustConnect(t, s, connectBody(number, "Sam", nil, nil))
		if tt.endsIn > 0 {
			clock.Set(start.Add(tt.endsIn - time.Millisecond))
			if got := snap(serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil).body); got.EndAt != "" {
				t.Errorf("dial %d: ended early: %+v", i+1, got)
			}
			clock.Set(start.Add(tt.endsIn))
		} else {
			clock.Advance(time.Minute)
		}
		got := snap(serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil).body)
		want := snapshot{Status: "finished", PhoneCallStatus: tt.outcome, Reason: tt.reason, EndAt: isoTime(start.Add(tt.endsIn)), HasCost: true}
		if tt.outcome == "completed" {
			want = got // only the outcome matters here; TestLifecycle covers the rest
			want.PhoneCallStatus = "completed"
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dial %d (-want +got):\n%s", i+1, diff)
		}
	}
	other := mustConnect(t, s, connectBody("+14155550199", "", nil, nil))
	clock.Advance(time.Minute)
	if got := snap(serve(t, s, http.MethodGet, "/calls/v1/conversations/"+other, nil).body); got.PhoneCallStatus != "failed" {
		t.Errorf("unscripted number: %s, want failed from Mix", got.PhoneCallStatus)
	}
	if got := s.Stats().DialsByNumber; got[number] != 5 || got["+14155550199"] != 1 {
		t.Errorf("DialsByNumber %v", got)
	}
}

func TestControl(t *testing.T) {
	cfg := Config{
		RingMin: 2 * time.Second, RingMax: 2 * time.Second,
		TalkMin: 10 * time.Second, TalkMax: 10 * time.Second,
		AnalysisDelay: time.Second,
	}
	type step struct {
		at      time.Duration
		typ     string
		message string
		want    int // status
	}
	tests := []struct {
		name  string
		steps []step
		after time.Duration // when to read the call
		want  snapshot
	}{
		{
			name:  "end while ringing",
			steps: []step{{1 * time.Second, "end", "", 200}, {1500 * time.Millisecond, "end", "", 200}},
			after: 5 * time.Second,
			want: snapshot{Status: "finished", PhoneCallStatus: "no-answer", Reason: "Call was ended before it was answered",
				EndAt: isoTime(epoch.Add(time.Second)), HasCost: true},
		},
		{
			name:  "end while talking",
			steps: []step{{5 * time.Second, "end", "", 200}, {6 * time.Second, "say", "hello?", 400}},
			after: 5500 * time.Millisecond,
			want: snapshot{Status: "finished", PhoneCallStatus: "completed", Reason: "Call was ended through call control",
				Trigger: "assistant", EndAt: isoTime(epoch.Add(5 * time.Second)), Duration: 3000, Messages: 2,
				HasCost: true, HasRecording: true,
				Analysis: map[string]any{"summary": "", "successEvaluation": "", "structuredData": map[string]any{}}},
		},
		{
			name:  "say while ringing is refused, say while talking is added",
			steps: []step{{time.Second, "say", "too early", 400}, {2500 * time.Millisecond, "say", "Please hold.", 200}, {3 * time.Second, "dtmf", "1", 200}},
			after: 3 * time.Second,
			want:  snapshot{Status: "ongoing", PhoneCallStatus: "in-progress", Reason: "Call is in progress", Messages: 2},
		},
		{
			name:  "forward",
			steps: []step{{4 * time.Second, "forward", "+14155550999", 200}, {5 * time.Second, "forward", "+14155550999", 400}},
			after: 4 * time.Second,
			want: snapshot{Status: "forwarded", PhoneCallStatus: "completed", Reason: "Call was forwarded to +14155550999",
				Trigger: "assistant", EndAt: isoTime(epoch.Add(4 * time.Second)), Duration: 2000, Messages: 1,
				HasCost: true, HasRecording: true,
				Analysis: map[string]any{"summary": "", "successEvaluation": "", "structuredData": map[string]any{}}},
		},
		{
			name:  "sms while ringing",
			steps: []step{{time.Second, "sms", "See you Friday", 200}},
			after: time.Second,
			want:  snapshot{Status: "queued", PhoneCallStatus: "ringing", Reason: "Customer's phone is ringing"},
		},
		{
			name:  "unknown type",
			steps: []step{{time.Second, "hangup", "", 422}},
			after: time.Second,
			want:  snapshot{Status: "queued", PhoneCallStatus: "ringing", Reason: "Customer's phone is ringing"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := mustServer(t, cfg)
			id := mustConnect(t, s, connectBody("+14155550123", "Jane Doe", nil, nil))
			for _, st := range tt.steps {
				clock.Set(epoch.Add(st.at))
				resp := serve(t, s, http.MethodPost, "/calls/v1/conversations/"+id+"/control", map[string]any{"type": st.typ, "message": st.message})
				if resp.status != st.want {
					t.Errorf("%s at +%s: %d %s, want %d", st.typ, st.at, resp.status, resp.raw, st.want)
				}
				if st.want == 200 {
					want := map[string]any{"message": "Call controlled successfully.", "data": map[string]any{"success": true}}
					if diff := cmp.Diff(want, resp.body); diff != "" {
						t.Errorf("control response (-want +got):\n%s", diff)
					}
				}
			}
			clock.Set(epoch.Add(tt.after))
			got := snap(serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil).body)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("call (-want +got):\n%s", diff)
			}
			if d := s.Dials()[0]; tt.want.EndAt != "" && (isoTime(d.EndAt) != tt.want.EndAt || d.Outcome != tt.want.PhoneCallStatus) {
				t.Errorf("dial log: outcome %s end %s, want %s %s", d.Outcome, isoTime(d.EndAt), tt.want.PhoneCallStatus, tt.want.EndAt)
			}
		})
	}
}

func TestSayAppearsInTranscript(t *testing.T) {
	s, clock := mustServer(t, Config{RingMin: time.Second, TalkMin: 10 * time.Second})
	id := mustConnect(t, s, connectBody("+14155550123", "Jane Doe", nil, nil))
	clock.Set(epoch.Add(1500 * time.Millisecond))
	if resp := serve(t, s, http.MethodPost, "/calls/v1/conversations/"+id+"/control", map[string]any{"type": "say", "message": "Please hold."}); resp.status != 200 {
		t.Fatalf("say: %d %s", resp.status, resp.raw)
	}
	clock.Advance(time.Hour)
	msgs := field(serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil).body, "messages").([]any)
	var texts []string
	for _, m := range msgs {
		texts = append(texts, field(m, "text").(string))
	}
	if len(texts) != 6 || texts[0] != "Please hold." {
		t.Errorf("transcript %q, want the said line first of 6", texts)
	}
}

func TestTopicKeys(t *testing.T) {
	vars := map[string]string{
		"First Name": "Maria", "Last Name": "Gonzalez", "phone": "(415) 555-0101", "clinic_phone": "(415) 555-0100",
		"nickname": "Mari", "preferred": "Maria", "appointment_date": "2025-11-03", "clinic": "Mission Bay",
	}
	got := topicKeys(vars, "Maria")
	want := []string{"appointment_date", "clinic"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("topicKeys (-want +got):\n%s", diff)
	}
}
