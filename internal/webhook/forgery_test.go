package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// forgeryRig is a campaign of five contacts whose first attempts stand in every state a
// report can meet:
//
//	contact 1: live, call CC-1
//	contact 2: done, call CC-2, with its analysis
//	contact 3: dialing, no call id yet (Connect Call not answered)
//	contact 4: done, call CC-4, without analysis (a later report of CC-4 may add it)
//	contact 5: never dialed
type forgeryRig struct {
	rdb   *redis.Client
	store *campaign.Store
	h     *Handler
	id    string
}

func newForgeryRig(tb testing.TB) *forgeryRig {
	tb.Helper()
	rdb, _ := redistest.Setup(tb, 13)
	store := campaign.NewStore(rdb)
	h, err := New(Config{Store: store, Secret: secret})
	if err != nil {
		tb.Fatal(err)
	}
	r := &forgeryRig{rdb: rdb, store: store, h: h}
	r.reset(tb)
	return r
}

// reset empties the database and seeds the campaign afresh.
func (r *forgeryRig) reset(tb testing.TB) {
	tb.Helper()
	ctx := tb.Context()
	if err := r.rdb.FlushDB(ctx).Err(); err != nil {
		tb.Fatal(err)
	}
	csv := "phone\n+14155550101\n+14155550102\n+14155550103\n+14155550104\n+14155550105\n"
	c := upload(tb, r.store, "retry: {maxAttempts: 2, retryOn: [busy]}\n", csv)
	r.id = c.ID
	ref := func(n int) campaign.AttemptRef {
		return campaign.AttemptRef{CampaignID: c.ID, ContactID: n, Attempt: 1}
	}
	call := func(n int, id string) {
		if live, err := r.store.RecordCall(ctx, ref(n), id, "", time.Now()); err != nil || !live {
			tb.Fatalf("record call %s = %v, %v", id, live, err)
		}
	}
	for n := 1; n <= 4; n++ {
		campaigntest.Claim(tb, r.store, ref(n), "w")
	}
	call(1, "CC-1")
	call(2, "CC-2")
	campaigntest.Finish(tb, r.store, ref(2), campaign.Result{Outcome: campaign.OutcomeCompleted, CallID: "CC-2", Summary: "Real.", SuccessEvaluation: "Good"})
	call(4, "CC-4")
	campaigntest.Finish(tb, r.store, ref(4), campaign.Result{Outcome: campaign.OutcomeCompleted, CallID: "CC-4"})
}

// snapshot reads every key of the database with its value; the campaign's texts hash, which
// holds the analysis of every attempt, one field an attempt, is read as one key a field,
// named "dialer:{C}:texts N:A".
func (r *forgeryRig) snapshot(tb testing.TB) map[string]string {
	tb.Helper()
	ctx := tb.Context()
	keys, err := r.rdb.Keys(ctx, "*").Result()
	if err != nil {
		tb.Fatal(err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		var v any
		switch typ := r.rdb.Type(ctx, k).Val(); typ {
		case "hash":
			if strings.HasSuffix(k, "}:texts") {
				for f, val := range r.rdb.HGetAll(ctx, k).Val() {
					out[k+" "+f] = val
				}
				continue
			}
			v = r.rdb.HGetAll(ctx, k).Val()
		case "set":
			m := r.rdb.SMembers(ctx, k).Val()
			slices.Sort(m)
			v = m
		case "zset":
			v = r.rdb.ZRangeWithScores(ctx, k, 0, -1).Val()
		case "string":
			v = r.rdb.Get(ctx, k).Val()
		default:
			v = typ
		}
		b, _ := json.Marshal(v)
		out[k] = string(b)
	}
	return out
}

// post hands body to the receiver with the right secret.
func (r *forgeryRig) post(body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/interactly", strings.NewReader(string(body)))
	req.Header.Set(interactly.SecretHeader, secret)
	rr := httptest.NewRecorder()
	r.h.ServeHTTP(rr, req)
	return rr
}

// forged builds a server message from the fuzzer's choices: its type, call id (callPick
// picks one of the rig's calls, no id at all, or the fuzzed text), campaign (the rig's or
// another), contact, attempt and phoneCallStatus.
func (r *forgeryRig) forged(kind, callPick, campaignPick uint8, callText string, contact, attempt int, phone string) []byte {
	call := map[string]any{"status": "finished", "phoneCallStatus": phone, "analysis": map[string]any{}}
	switch callPick % 8 {
	case 0: // no id: the forgery of the issue
	case 1, 2, 3, 4:
		call["id"] = fmt.Sprintf("CC-%d", callPick%8)
	case 5:
		call["id"] = "CC-made-up"
	default:
		call["id"] = callText
	}
	id := r.id
	switch campaignPick % 4 {
	case 1:
		id = "zzzz"
	case 2:
		id = ""
	}
	call["metadata"] = map[string]any{"campaignId": id, "contactId": contact, "attempt": attempt}
	typ := interactly.EventEndOfCallReport
	if kind%4 == 1 {
		typ = interactly.EventStatusUpdate
		call["status"] = "ended"
	}
	msg := map[string]any{"message": map[string]any{
		"type": typ, "timestamp": 1795000000000, "call": call,
		"analysis": map[string]any{"summary": "FORGED", "successEvaluation": "Excellent"},
		"endAt":    "2026-11-21T10:00:30.000Z",
	}}
	b, _ := json.Marshal(msg)
	return b
}

// checkOnlyItsAttemptChanged fails unless every key the message changed is allowed to: the
// attempt (its contact, and its field of the texts hash) that was dialed with the message's
// call id, the live set, or
// the early-report key of the attempt that is dialing without a call id. Then it checks that
// a report waiting for contact 3's call id cannot finish it with another call.
func (r *forgeryRig) checkOnlyItsAttemptChanged(t *testing.T, before, after map[string]string, body []byte) {
	t.Helper()
	callID := ""
	if msg, err := interactly.ParseServerMessage(body); err == nil {
		callID = msg.Call.ID
	}
	tag := "dialer:{" + r.id + "}:"
	allowed := map[string]bool{tag + "live": true, tag + "early:3:1": true}
	for n := 1; n <= 5; n++ {
		if callID != "" && callID == fmt.Sprintf("CC-%d", n) && n != 3 {
			allowed[fmt.Sprintf("%sattempt:%d:1", tag, n)] = true
			allowed[fmt.Sprintf("%scontact:%d", tag, n)] = true
			allowed[fmt.Sprintf("%stexts %d:1", tag, n)] = true
		}
	}
	for k, v := range after {
		if before[k] != v && !allowed[k] {
			t.Errorf("%s changed by %s\nbefore: %s\nafter:  %s", k, body, before[k], v)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok && !allowed[k] {
			t.Errorf("%s deleted by %s", k, body)
		}
	}
	// Contact 3's call turns out to be CC-3: a report of any other call must not finish it.
	live, err := r.store.RecordCall(t.Context(), campaign.AttemptRef{CampaignID: r.id, ContactID: 3, Attempt: 1}, "CC-3", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !live && callID != "CC-3" {
		t.Errorf("a report of call %q finished contact 3, dialed as CC-3: %s", callID, body)
	}
}

// FuzzForgedReports is the property of the receiver with the right secret: whatever body it
// gets, no attempt that was not dialed with the body's call id changes, no contact of such an
// attempt changes, and no key is created but the one that keeps a report of a dialing
// attempt until its call id is known. A raw body starting with '{' is posted as it is;
// otherwise the body is built from the other arguments (see forged).
//
// go test -run '^$' -fuzz FuzzForgedReports -fuzztime 60s ./internal/webhook/
func FuzzForgedReports(f *testing.F) {
	// The forgeries of issue 15: no call id (for a live, a dialed-and-done, a new contact
	// and an attempt beyond maxAttempts), a made-up id, another contact's call, an unknown
	// campaign and contact; and the legitimate report of each call.
	for _, s := range []struct {
		kind, callPick, campaignPick uint8
		contact, attempt             int
		phone                        string
	}{
		{0, 0, 0, 1, 1, "busy"}, {0, 0, 0, 5, 1, "completed"}, {0, 0, 0, 2, 3, "busy"},
		{0, 0, 0, 3, 1, "busy"}, {0, 5, 0, 1, 1, "busy"}, {0, 1, 0, 2, 1, "busy"},
		{0, 1, 0, 1, 2, "busy"}, {0, 0, 1, 1, 1, "busy"}, {0, 1, 0, 9, 1, "busy"},
		{0, 2, 0, 2, 1, "busy"}, {0, 4, 0, 4, 1, "completed"}, {0, 1, 0, 1, 1, "completed"},
		{0, 5, 0, 3, 1, "busy"}, {0, 3, 0, 3, 1, "no-answer"}, {1, 0, 0, 1, 1, "completed"},
		{0, 6, 0, 1, 1, "busy"}, {0, 4, 0, 2, 1, "completed"},
	} {
		f.Add([]byte(nil), s.kind, s.callPick, s.campaignPick, "CC-1 ", s.contact, s.attempt, s.phone)
	}
	f.Add([]byte(`{"message":{"type":"end-of-call-report","call":{"id":"CC-1","metadata":{"campaignId":"zzzz","contactId":1,"attempt":1}}}}`),
		uint8(0), uint8(0), uint8(0), "", 0, 0, "")
	r := newForgeryRig(f)
	f.Fuzz(func(t *testing.T, raw []byte, kind, callPick, campaignPick uint8, callText string, contact, attempt int, phone string) {
		body := raw
		if len(raw) == 0 || raw[0] != '{' {
			body = r.forged(kind, callPick, campaignPick, callText, contact, attempt, phone)
		} else {
			// A raw body names the rig's campaign where it says "C".
			body = []byte(strings.ReplaceAll(string(raw), `"campaignId":"C"`, `"campaignId":"`+r.id+`"`))
		}
		before := r.snapshot(t)
		rr := r.post(body)
		if rr.Code != http.StatusOK && rr.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %s: %s", rr.Code, body, rr.Body)
		}
		r.checkOnlyItsAttemptChanged(t, before, r.snapshot(t), body)
		r.reset(t)
	})
}

// The legitimate paths the property leaves open still record: the live call's report, the
// missing analysis of a done call, and a report that comes before its call id is recorded.
func TestReportsOfTheDialedCallRecord(t *testing.T) {
	r := newForgeryRig(t)
	ctx := t.Context()
	post := func(contact int, call, phone string) {
		t.Helper()
		body := fmt.Sprintf(`{"message":{"type":"end-of-call-report","call":{"id":%q,"status":"finished","phoneCallStatus":%q,"metadata":{"campaignId":%q,"contactId":%d,"attempt":1}},"analysis":{"summary":"S-%s"}}}`,
			call, phone, r.id, contact, call)
		if rr := r.post([]byte(body)); rr.Code != http.StatusOK {
			t.Fatalf("%s: status %d %s", call, rr.Code, rr.Body)
		}
	}
	post(1, "CC-1", "busy")
	post(4, "CC-4", "completed")
	post(3, "CC-3", "no-answer")
	post(3, "CC-forged", "busy") // kept too, but under its own call id
	if live, err := r.store.RecordCall(ctx, campaign.AttemptRef{CampaignID: r.id, ContactID: 3, Attempt: 1}, "CC-3", "", time.Now()); err != nil || live {
		t.Fatalf("RecordCall of CC-3 after its report = %v, %v; want false (done)", live, err)
	}
	for n, want := range map[int]campaign.Result{
		1: {Outcome: campaign.OutcomeBusy, Summary: "S-CC-1", CallID: "CC-1"},
		3: {Outcome: campaign.OutcomeNoAnswer, Summary: "S-CC-3", CallID: "CC-3"},
		4: {Outcome: campaign.OutcomeCompleted, Summary: "S-CC-4", CallID: "CC-4"},
	} {
		rec, err := r.store.Attempt(ctx, campaign.AttemptRef{CampaignID: r.id, ContactID: n, Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		if rec.State != campaign.AttemptDone || rec.Result.Outcome != want.Outcome || rec.Result.Summary != want.Summary || rec.CallID != want.CallID {
			t.Errorf("contact %d: %s %+v, want done %+v", n, rec.State, rec.Result, want)
		}
		ct, _ := r.store.Contact(ctx, r.id, n)
		if ct.Last.Summary != want.Summary {
			t.Errorf("contact %d row summary %q, want %q", n, ct.Last.Summary, want.Summary)
		}
	}
	if n := r.rdb.Exists(ctx, "dialer:{"+r.id+"}:early:3:1").Val(); n != 0 {
		t.Errorf("the early report key outlived RecordCall")
	}
}

// A message without a call id is refused and counted, before anything is read from Redis.
func TestReportWithoutCallIDIsRefusedAndCounted(t *testing.T) {
	r := newForgeryRig(t)
	m := &countingMetrics{}
	r.h.cfg.Metrics = m
	for _, typ := range []string{interactly.EventEndOfCallReport, interactly.EventStatusUpdate} {
		body := fmt.Sprintf(`{"message":{"type":%q,"call":{"status":"ended","phoneCallStatus":"completed","metadata":{"campaignId":%q,"contactId":1,"attempt":1}}}}`, typ, r.id)
		rr := r.post([]byte(body))
		if rr.Code != http.StatusBadRequest || !strings.Contains(rr.Body.String(), "message.call.id") {
			t.Errorf("%s without call id: %d %s; want 400 naming message.call.id", typ, rr.Code, rr.Body)
		}
	}
	if got := m.rejected["no_call_id"]; got != 2 {
		t.Errorf("rejected{no_call_id} = %d, want 2 (all: %v)", got, m.rejected)
	}
}

type countingMetrics struct{ rejected map[string]int }

func (m *countingMetrics) WebhookEvent(string) {}
func (m *countingMetrics) WebhookRejected(reason string) {
	if m.rejected == nil {
		m.rejected = map[string]int{}
	}
	m.rejected[reason]++
}
func (m *countingMetrics) WebhookRecordLatency(time.Duration) {}
