package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

const testSecret = "whsec-test-7d41c0"

// hookReq is one server message a hookReceiver got.
type hookReq struct {
	header http.Header
	msg    map[string]any // the body's "message"
}

func (h hookReq) typ() string    { s, _ := h.msg["type"].(string); return s }
func (h hookReq) callID() string { s, _ := field(h.msg, "call", "id").(string); return s }
func (h hookReq) str(path ...string) string {
	s, _ := field(h.msg, path...).(string)
	return s
}

// hookReceiver is a webhook endpoint that records every post.
type hookReceiver struct {
	url string

	mu     sync.Mutex
	got    []hookReq
	answer func(typ string) int // the status to answer; nil answers 200
	hold   chan struct{}        // when set, each post waits for it to be closed
}

func newHookReceiver(tb testing.TB) *hookReceiver {
	tb.Helper()
	r := &hookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct {
			Message map[string]any `json:"message"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Message == nil {
			tb.Errorf("webhook body is not {\"message\": {...}}: %v: %s", err, body)
		}
		h := hookReq{header: req.Header.Clone(), msg: env.Message}
		r.mu.Lock()
		hold, answer := r.hold, r.answer
		r.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-req.Context().Done():
				return
			}
		}
		r.mu.Lock()
		r.got = append(r.got, h)
		r.mu.Unlock()
		status := http.StatusOK
		if answer != nil {
			status = answer(h.typ())
		}
		w.WriteHeader(status)
	}))
	tb.Cleanup(srv.Close)
	r.url = srv.URL + "/webhooks"
	return r
}

func (r *hookReceiver) events() []hookReq {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// of returns the events of call id, in arrival order.
func (r *hookReceiver) of(id string) []hookReq {
	var out []hookReq
	for _, h := range r.events() {
		if h.callID() == id {
			out = append(out, h)
		}
	}
	return out
}

// waitFor polls until done holds for the events received, or fails after 10s.
func (r *hookReceiver) waitFor(tb testing.TB, what string, done func([]hookReq) bool) []hookReq {
	tb.Helper()
	var got []hookReq
	if !testutil.Eventually(10*time.Second, func() bool { got = r.events(); return done(got) }) {
		tb.Fatalf("timed out waiting for %s; got %d events: %v", what, len(got), summarize(got))
	}
	return got
}

// waitReport waits for call id's end-of-call-report and returns its events.
func (r *hookReceiver) waitReport(tb testing.TB, id string) []hookReq {
	tb.Helper()
	r.waitFor(tb, "the end-of-call-report of "+id, func(got []hookReq) bool {
		return slices.ContainsFunc(got, func(h hookReq) bool { return h.callID() == id && h.typ() == EventEndOfCallReport })
	})
	return r.of(id)
}

// summarize shows events as "type/status/phoneCallStatus".
func summarize(evs []hookReq) []string {
	out := make([]string, len(evs))
	for i, h := range evs {
		out[i] = h.typ() + "/" + h.str("call", "status") + "/" + h.str("call", "phoneCallStatus")
	}
	return out
}

// mustHookServer is mustServer with webhooks to r, closed at the end of the test.
func mustHookServer(tb testing.TB, cfg Config, r *hookReceiver) (*Server, *testutil.Clock) {
	tb.Helper()
	cfg.Webhooks.URL = r.url
	s, clock := mustServer(tb, cfg)
	tb.Cleanup(func() { s.Close() })
	return s, clock
}

// waitSettled polls until s has no event due and waiting for its post.
func waitSettled(tb testing.TB, s *Server) Stats {
	tb.Helper()
	var st Stats
	if !testutil.Eventually(10*time.Second, func() bool { s.dispatch(); st = s.Stats(); return st.Webhooks.Pending == 0 }) {
		tb.Fatalf("webhooks still pending after 10s: %+v", st.Webhooks)
	}
	return st
}

// TestWebhooksOfACompletedCall follows one answered call on the real clock,
// checking every event's type, order and fields.
func TestWebhooksOfACompletedCall(t *testing.T) {
	r := newHookReceiver(t)
	s, _ := mustHookServer(t, Config{
		Now:     time.Now,
		RingMin: 20 * time.Millisecond, TalkMin: 100 * time.Millisecond, AnalysisDelay: 30 * time.Millisecond,
		Webhooks: WebhookConfig{Secret: testSecret},
	}, r)
	id := mustConnect(t, s, connectBody("+14155550123", "Jane Doe",
		map[string]string{"appointmentDate": "Friday 3pm"}, map[string]any{"campaignId": "c1", "contactRow": 7}))
	evs := r.waitReport(t, id)

	want := []string{
		"status-update/queued/trying",
		"status-update/queued/ringing",
		"status-update/ongoing/in-progress",
		"conversation-update/ongoing/in-progress",
		"conversation-update/ongoing/in-progress",
		"conversation-update/ongoing/in-progress",
		"conversation-update/ongoing/in-progress",
		"conversation-update/ongoing/in-progress",
		"status-update/finished/completed",
		"end-of-call-report/finished/completed",
	}
	if diff := cmp.Diff(want, summarize(evs)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	var last float64
	for i, h := range evs {
		if got := h.header.Get(SecretHeader); got != testSecret {
			t.Errorf("event %d: %s = %q, want the secret", i, SecretHeader, got)
		}
		if ct := h.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("event %d: Content-Type %q", i, ct)
		}
		ts, ok := h.msg["timestamp"].(float64)
		if !ok || ts < last || ts < 1e12 {
			t.Errorf("event %d: timestamp %v is not epoch ms at or after %v", i, h.msg["timestamp"], last)
		}
		last = ts
		if field(h.msg, "call", "metadata", "campaignId") != "c1" || field(h.msg, "call", "metadata", "contactRow") != float64(7) {
			t.Errorf("event %d: call.metadata %v, want the connect request's", i, field(h.msg, "call", "metadata"))
		}
		if h.str("customer", "number") != "+14155550123" || h.str("assistant", "id") != "6601a2b3c4d5e6f708192a3c" ||
			h.str("phone", "id") != "3b1f6a2e-9c1d-4e7a-8f2b-5d6c7e8f9a0b" || !strings.HasPrefix(h.str("phone", "number"), "+1415555") {
			t.Errorf("event %d: customer %v, assistant %v, phone %v", i, h.msg["customer"], h.msg["assistant"], h.msg["phone"])
		}
		if got := h.str("call", "monitor", "controlUrl"); got != "http://sim.test/calls/v1/conversations/"+id+"/control" {
			t.Errorf("event %d: controlUrl %q", i, got)
		}
	}
	for i, h := range evs[3:8] {
		msgs, _ := h.msg["messages"].([]any)
		callMsgs, _ := field(h.msg, "call", "messages").([]any)
		if len(msgs) != i+1 || len(callMsgs) != i+1 {
			t.Errorf("conversation-update %d: %d messages, call.messages %d; want %d", i, len(msgs), len(callMsgs), i+1)
			continue
		}
		m := msgs[i]
		if _, ok := field(m, "timestamp").(float64); !ok || field(m, "text") == "" || field(m, "messageId") == "" {
			t.Errorf("conversation-update %d: message %v, want messageId, role, text and an epoch-ms timestamp", i, m)
		}
		if _, ok := field(callMsgs[i], "timestamp").(string); !ok {
			t.Errorf("conversation-update %d: call.messages timestamp %v, want an ISO string as Get Call has", i, field(callMsgs[i], "timestamp"))
		}
	}

	report := evs[len(evs)-1]
	if s, _ := field(report.msg, "analysis", "summary").(string); !strings.Contains(s, "Jane Doe") {
		t.Errorf("report analysis.summary %q", s)
	}
	if field(report.msg, "analysis", "successEvaluation") == "" || field(report.msg, "analysis", "structuredData", "confirmed") == nil {
		t.Errorf("report analysis %v, want it filled", report.msg["analysis"])
	}
	if diff := cmp.Diff(map[string]any{}, field(report.msg, "call", "analysis")); diff != "" {
		t.Errorf("report call.analysis (-want +got), want it empty as in real payloads:\n%s", diff)
	}
	if endAt := report.str("endAt"); endAt == "" || endAt != report.str("call", "endAt") {
		t.Errorf("report endAt %q, call.endAt %q", endAt, report.str("call", "endAt"))
	}
	for _, k := range []string{"cost", "recording"} {
		if report.msg[k] == nil || field(report.msg, "call", k) == nil {
			t.Errorf("report %s = %v, call.%s = %v; want both", k, report.msg[k], k, field(report.msg, "call", k))
		}
	}
	if msgs, _ := report.msg["messages"].([]any); len(msgs) != 5 {
		t.Errorf("report has %d messages, want the transcript's 5", len(msgs))
	}
	// Until the report, message.analysis is {}.
	if diff := cmp.Diff(map[string]any{}, evs[8].msg["analysis"]); diff != "" {
		t.Errorf("final status-update analysis (-want +got):\n%s", diff)
	}

	st := waitSettled(t, s)
	wantSent := map[string]int{EventStatusUpdate: 4, EventConversationUpdate: 5, EventEndOfCallReport: 1}
	if diff := cmp.Diff(wantSent, st.Webhooks.Sent); diff != "" {
		t.Errorf("Stats.Webhooks.Sent (-want +got):\n%s", diff)
	}
	resp := serve(t, s, http.MethodGet, "/_simulator/stats", nil, "")
	if got := field(resp.body, "webhooks", "sent", EventConversationUpdate); got != float64(5) {
		t.Errorf("/_simulator/stats webhooks.sent = %v", field(resp.body, "webhooks", "sent"))
	}
	if strings.Contains(resp.raw, testSecret) {
		t.Error("/_simulator/stats shows the webhook secret")
	}
}

// TestWebhooksFollowTheFakeClock: with a fake Config.Now, events go out
// when the clock reaches them, stamped with simulated times.
func TestWebhooksFollowTheFakeClock(t *testing.T) {
	r := newHookReceiver(t)
	s, clock := mustHookServer(t, Config{
		RingMin: 2 * time.Second, TalkMin: 4 * time.Second, AnalysisDelay: 500 * time.Millisecond,
	}, r)
	id := mustConnect(t, s, connectBody("+14155550123", "Jane Doe", nil, nil))
	r.waitFor(t, "the queued status-update", func(got []hookReq) bool { return len(got) == 1 })
	if st := waitSettled(t, s); st.Webhooks.Sent[EventStatusUpdate] != 1 || len(r.events()) != 1 {
		t.Fatalf("before the clock moved: %d events, stats %+v", len(r.events()), st.Webhooks)
	}
	if h := r.events()[0]; h.header.Get(SecretHeader) != "" {
		t.Errorf("no secret is configured, yet %s = %q", SecretHeader, h.header.Get(SecretHeader))
	}

	clock.Set(epoch.Add(2 * time.Second)) // answered
	r.waitFor(t, "in-progress", func(got []hookReq) bool { return len(got) == 3 })
	clock.Set(epoch.Add(time.Hour))
	evs := r.waitReport(t, id)
	var got []int64
	for _, h := range evs {
		ts, _ := h.msg["timestamp"].(float64)
		got = append(got, int64(ts)-epoch.UnixMilli())
	}
	// Ringing after a fifth of the ring, answer at 2s, five lines over 4s, end at 6s.
	want := []int64{0, 400, 2000, 2400, 3200, 4000, 4800, 5600, 6000, 6500}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event times, ms after the dial (-want +got):\n%s\nevents %v", diff, summarize(evs))
	}
}

// TestWebhooksOfUnansweredCalls: busy, no-answer and failed calls announce
// their statuses and a report with an empty analysis, and no conversation.
func TestWebhooksOfUnansweredCalls(t *testing.T) {
	r := newHookReceiver(t)
	s, clock := mustHookServer(t, Config{Script: map[string][]string{
		"+14155550101": {OutcomeBusy}, "+14155550102": {OutcomeNoAnswer}, "+14155550103": {OutcomeFailed},
	}}, r)
	tests := []struct {
		number string
		want   []string
	}{
		{"+14155550101", []string{"status-update/queued/trying", "status-update/queued/ringing", "status-update/finished/busy", "end-of-call-report/finished/busy"}},
		{"+14155550102", []string{"status-update/queued/trying", "status-update/queued/ringing", "status-update/finished/no-answer", "end-of-call-report/finished/no-answer"}},
		{"+14155550103", []string{"status-update/queued/trying", "status-update/finished/failed", "end-of-call-report/finished/failed"}},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		ids[i] = mustConnect(t, s, connectBody(tt.number, "", nil, nil))
	}
	clock.Set(epoch.Add(time.Hour))
	for i, tt := range tests {
		evs := r.waitReport(t, ids[i])
		if diff := cmp.Diff(tt.want, summarize(evs)); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", tt.number, diff)
		}
		report := evs[len(evs)-1]
		if diff := cmp.Diff(map[string]any{}, report.msg["analysis"]); diff != "" {
			t.Errorf("%s: report analysis (-want +got):\n%s", tt.number, diff)
		}
		if report.msg["recording"] != nil || report.msg["cost"] == nil || report.str("endAt") == "" {
			t.Errorf("%s: report recording %v, cost %v, endAt %q", tt.number, report.msg["recording"], report.msg["cost"], report.str("endAt"))
		}
	}
}

// TestWebhooksOfCallControl: say, end and forward are announced at once,
// including the final events of a call they end.
func TestWebhooksOfCallControl(t *testing.T) {
	tests := []struct {
		name     string
		answered bool
		wait     time.Duration // after the events before control, before it
		controls []map[string]any
		want     []string // after the events before control
		reason   string
	}{
		{
			name: "say then end", answered: true, wait: time.Second,
			controls: []map[string]any{{"type": "say", "message": "Please hold."}, {"type": "end"}},
			want: []string{"conversation-update/ongoing/in-progress", "status-update/finished/completed",
				"end-of-call-report/finished/completed"},
			reason: "Call was ended through call control",
		},
		{
			name: "forward", answered: true, wait: time.Second,
			controls: []map[string]any{{"type": "forward", "message": "+14155550199"}},
			want: []string{"conversation-update/forwarded/completed", "status-update/forwarded/completed",
				"end-of-call-report/forwarded/completed"},
			reason: "Call was forwarded to +14155550199",
		},
		{
			name:     "end while ringing",
			wait:     500 * time.Millisecond, // answered at 2s
			controls: []map[string]any{{"type": "end"}},
			want:     []string{"status-update/finished/no-answer", "end-of-call-report/finished/no-answer"},
			reason:   "Call was ended before it was answered",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newHookReceiver(t)
			s, clock := mustHookServer(t, Config{RingMin: 2 * time.Second, TalkMin: time.Hour, AnalysisDelay: 500 * time.Millisecond}, r)
			id := mustConnect(t, s, connectBody("+14155550123", "Jane Doe", nil, nil))
			before := 2 // queued, ringing
			clock.Set(epoch.Add(time.Second))
			if tt.answered {
				clock.Set(epoch.Add(2 * time.Second))
				before = 3
			}
			r.waitFor(t, "the events before control", func(got []hookReq) bool { return len(got) == before })
			clock.Advance(tt.wait)
			for _, body := range tt.controls {
				if resp := serve(t, s, http.MethodPost, "/calls/v1/conversations/"+id+"/control", body); resp.status != http.StatusOK {
					t.Fatalf("control %v: %d %s", body, resp.status, resp.raw)
				}
				clock.Advance(100 * time.Millisecond)
			}
			// The final status goes out at once; the report when the clock reaches the analysis.
			r.waitFor(t, "the final status-update", func(got []hookReq) bool {
				return slices.ContainsFunc(got, func(h hookReq) bool { return h.typ() == EventStatusUpdate && h.str("call", "endAt") != "" })
			})
			clock.Advance(500 * time.Millisecond)
			evs := r.waitReport(t, id)
			if diff := cmp.Diff(tt.want, summarize(evs[before:])); diff != "" {
				t.Errorf("events after control (-want +got):\n%s", diff)
			}
			final := evs[len(evs)-2]
			if got := final.str("call", "phoneCallStatusReason"); got != tt.reason {
				t.Errorf("final reason %q, want %q", got, tt.reason)
			}
			if tt.name == "say then end" {
				msgs, _ := evs[before].msg["messages"].([]any)
				if len(msgs) != 1 || field(msgs[0], "text") != "Please hold." {
					t.Errorf("conversation-update after say: messages %v", msgs)
				}
			}
			st := s.Stats()
			for _, body := range tt.controls {
				if st.Controls[body["type"].(string)] != 1 {
					t.Errorf("Stats.Controls %v, want one %s", st.Controls, body["type"])
				}
			}
		})
	}
}

// TestWebhookLoss: the loss share is roughly honoured, repeatable for a
// seed, leaves outcomes alone, and each call's events still arrive in order.
func TestWebhookLoss(t *testing.T) {
	const calls = 40
	run := func(t *testing.T, loss float64) (Stats, []Dial, *hookReceiver) {
		r := newHookReceiver(t)
		s, clock := mustHookServer(t, Config{
			Mix:      map[string]float64{OutcomeCompleted: 2, OutcomeBusy: 1, OutcomeNoAnswer: 1, OutcomeFailed: 1},
			Seed:     42,
			Webhooks: WebhookConfig{Loss: loss},
		}, r)
		for i := range calls {
			mustConnect(t, s, connectBody(fmt.Sprintf("+1415555%04d", i), "", nil, nil))
		}
		clock.Set(epoch.Add(time.Hour))
		return waitSettled(t, s), s.Dials(), r
	}
	st, dials, r := run(t, 0.5)
	want := 0
	perOutcome := map[string]int{OutcomeCompleted: 10, OutcomeBusy: 4, OutcomeNoAnswer: 4, OutcomeFailed: 3}
	for _, d := range dials {
		want += perOutcome[d.Outcome]
	}
	sent, lost := 0, 0
	for _, n := range st.Webhooks.Sent {
		sent += n
	}
	for _, n := range st.Webhooks.Lost {
		lost += n
	}
	if sent+lost != want || len(r.events()) != sent {
		t.Fatalf("%d sent + %d lost, receiver got %d; want %d events in all", sent, lost, len(r.events()), want)
	}
	if share := float64(lost) / float64(want); share < 0.35 || share > 0.65 {
		t.Errorf("lost %d of %d (%.2f), want about half", lost, want, share)
	}
	for _, d := range dials {
		var last float64
		for _, h := range r.of(d.CallID) {
			ts := h.msg["timestamp"].(float64)
			if ts < last {
				t.Errorf("call %s: events out of order: %v", d.CallID, summarize(r.of(d.CallID)))
				break
			}
			last = ts
		}
	}

	again, againDials, _ := run(t, 0.5)
	if diff := cmp.Diff(st.Webhooks.Lost, again.Webhooks.Lost); diff != "" {
		t.Errorf("the same seed lost other events (-first +second):\n%s", diff)
	}
	_, lossless, _ := run(t, 0)
	outcomes := func(ds []Dial) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.CallID+" "+d.Outcome)
		}
		return out
	}
	if diff := cmp.Diff(outcomes(lossless), outcomes(againDials)); diff != "" {
		t.Errorf("webhook loss changed outcomes (-lossless +lossy):\n%s", diff)
	}
}

// TestWebhookFailures: non-2xx answers and timeouts count as failed, once
// each (no retries), and say why without the secret.
func TestWebhookFailures(t *testing.T) {
	r := newHookReceiver(t)
	r.answer = func(typ string) int {
		if typ == EventStatusUpdate {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	}
	s, clock := mustHookServer(t, Config{Script: map[string][]string{"+14155550101": {OutcomeFailed}},
		Webhooks: WebhookConfig{Secret: testSecret}}, r)
	id := mustConnect(t, s, connectBody("+14155550101", "", nil, nil))
	clock.Set(epoch.Add(time.Hour))
	r.waitReport(t, id)
	st := waitSettled(t, s)
	want := WebhookStats{
		Sent:      map[string]int{EventEndOfCallReport: 1},
		Lost:      map[string]int{},
		Failed:    map[string]int{EventStatusUpdate: 2},
		LastError: "status-update: POST " + r.url + ": 503 Service Unavailable",
	}
	if diff := cmp.Diff(want, st.Webhooks); diff != "" {
		t.Errorf("Stats.Webhooks (-want +got):\n%s", diff)
	}
	if n := len(r.events()); n != 3 {
		t.Errorf("receiver got %d posts, want 3: failures are not retried", n)
	}
}

// TestWebhooksDoNotBlockTheAPI: while the receiver hangs, the API answers;
// a post that outlives Timeout fails; Close cancels the rest.
func TestWebhooksDoNotBlockTheAPI(t *testing.T) {
	r := newHookReceiver(t)
	r.hold = make(chan struct{})
	s, clock := mustHookServer(t, Config{Webhooks: WebhookConfig{Timeout: 100 * time.Millisecond}}, r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			resp := serve(t, s, http.MethodPost, "/calls/v1/conversations/connect", connectBody(fmt.Sprintf("+1415555%04d", i), "", nil, nil))
			id, _ := field(resp.body, "id").(string)
			if resp.status != http.StatusCreated {
				t.Errorf("connect: %d %s", resp.status, resp.raw)
			}
			if resp := serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil); resp.status != http.StatusOK {
				t.Errorf("get: %d", resp.status)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the API did not answer while the webhook receiver hung")
	}
	// Each call's queued status-update times out; nothing else is due yet.
	if !testutil.Eventually(10*time.Second, func() bool { return s.Stats().Webhooks.Failed[EventStatusUpdate] >= 20 }) {
		t.Fatalf("stats %+v, want 20 timed-out status-updates", s.Stats().Webhooks)
	}
	if got := s.Stats().Webhooks.LastError; !strings.Contains(got, "no answer within 100ms") {
		t.Errorf("LastError %q", got)
	}

	// More events are due; Close drops them and cancels the posts in flight.
	clock.Set(epoch.Add(time.Hour))
	s.dispatch()
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while posts hung")
	}
	s.Close() // again: harmless
	if st := s.Stats(); st.Webhooks.Pending != 0 || st.Webhooks.Sent[EventStatusUpdate] != 0 {
		t.Errorf("after Close: %+v", st.Webhooks)
	}
	mustConnect(t, s, connectBody("+14155559999", "", nil, nil)) // still served
	close(r.hold)
}

// TestWebhooksWhileGetCallFails: with every Get Call failing, the final
// events still arrive, so a dialer can finish on webhooks alone.
func TestWebhooksWhileGetCallFails(t *testing.T) {
	r := newHookReceiver(t)
	s, clock := mustHookServer(t, Config{Faults: Faults{GetCallError: 1}}, r)
	id := mustConnect(t, s, connectBody("+14155550123", "Jane Doe", nil, nil))
	clock.Set(epoch.Add(time.Hour))
	for range 20 {
		if resp := serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil); resp.status != http.StatusServiceUnavailable {
			t.Fatalf("get with GetCallError 1: %d", resp.status)
		}
	}
	evs := r.waitReport(t, id)
	if got := summarize(evs[len(evs)-2:]); !slices.Equal(got, []string{"status-update/finished/completed", "end-of-call-report/finished/completed"}) {
		t.Errorf("last events %v", got)
	}
	if st := s.Stats(); st.Faults["get-error"] != 20 {
		t.Errorf("get errors %d, want 20", st.Faults["get-error"])
	}
}

// TestControlTypo: the controlUrl is published misspelt, and control is
// accepted on both spellings.
func TestControlTypo(t *testing.T) {
	r := newHookReceiver(t)
	s, _ := mustHookServer(t, Config{ControlTypo: true}, r)
	resp := serve(t, s, http.MethodPost, "/calls/v1/conversations/connect", connectBody("+14155550123", "", nil, nil))
	id, _ := field(resp.body, "id").(string)
	want := "http://sim.test/calls/v1/convesations/" + id + "/control"
	if got := field(resp.body, "monitor", "controlUrl"); got != want {
		t.Errorf("connect controlUrl %v, want %s", got, want)
	}
	if got := field(serve(t, s, http.MethodGet, "/calls/v1/conversations/"+id, nil).body, "monitor", "controlUrl"); got != want {
		t.Errorf("get controlUrl %v, want %s", got, want)
	}
	evs := r.waitFor(t, "the queued status-update", func(got []hookReq) bool { return len(got) == 1 })
	if got := evs[0].str("call", "monitor", "controlUrl"); got != want {
		t.Errorf("webhook controlUrl %q, want %s", got, want)
	}
	if resp := serve(t, s, http.MethodPost, strings.TrimPrefix(want, "http://sim.test"), map[string]any{"type": "end"}); resp.status != http.StatusOK {
		t.Errorf("end on the misspelt path: %d %s", resp.status, resp.raw)
	}
	if resp := serve(t, s, http.MethodPost, "/calls/v1/conversations/"+id+"/control", map[string]any{"type": "end"}); resp.status != http.StatusOK {
		t.Errorf("end on the documented path: %d %s", resp.status, resp.raw)
	}
	if got := s.Stats().Controls["end"]; got != 2 {
		t.Errorf("Controls[end] = %d, want 2", got)
	}
	for _, bad := range []struct{ method, path string }{
		{http.MethodGet, "/calls/v1/convesations/" + id},
		{http.MethodPost, "/calls/v1/convesations/connect"},
	} {
		if resp := serve(t, s, bad.method, bad.path, map[string]any{}); resp.status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404: only control takes the misspelling", bad.method, bad.path, resp.status)
		}
	}

	// Without ControlTypo the documented spelling is published and both are accepted.
	plain, _ := mustServer(t, Config{})
	id = mustConnect(t, plain, connectBody("+14155550123", "", nil, nil))
	if resp := serve(t, plain, http.MethodPost, "/calls/v1/convesations/"+id+"/control", map[string]any{"type": "end"}); resp.status != http.StatusOK {
		t.Errorf("end on the misspelt path without ControlTypo: %d %s", resp.status, resp.raw)
	}
}

func TestWebhookConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		w    WebhookConfig
		want string // "" for valid
	}{
		{name: "none", w: WebhookConfig{}},
		{name: "full", w: WebhookConfig{URL: "https://hooks.example/x", Secret: testSecret, Loss: 1, Timeout: time.Second}},
		{name: "relative URL", w: WebhookConfig{URL: "/webhooks"}, want: "Config.Webhooks.URL"},
		{name: "not http", w: WebhookConfig{URL: "ftp://hooks.example"}, want: "Config.Webhooks.URL"},
		{name: "loss above 1", w: WebhookConfig{URL: "http://h.example", Loss: 1.5}, want: "Config.Webhooks.Loss 1.5"},
		{name: "negative timeout", w: WebhookConfig{URL: "http://h.example", Timeout: -time.Second}, want: "Config.Webhooks.Timeout"},
		{name: "secret with a newline", w: WebhookConfig{URL: "http://h.example", Secret: testSecret + "\r\nX: y"}, want: "Config.Webhooks.Secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{APIKey: testKey, Webhooks: tt.w})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New: %v, want an error naming %s", err, tt.want)
			case err != nil && strings.Contains(err.Error(), testSecret):
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}
