package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/redis/go-redis/v9"
)

const secret = "whsec-test-1234"

type fixture struct {
	rdb   *redis.Client
	store *campaign.Store
	c     *campaign.Campaign
	srv   *httptest.Server
}

type discard struct{}

func (discard) EnqueueDial(context.Context, campaign.AttemptRef, time.Time) error { return nil }

func setup(t testing.TB) *fixture {
	t.Helper()
	rdb, _ := redistest.Setup(t, 13)
	return seed(t, rdb, "phone,name\n+14155550101,Ann\n+14155550102,Bob\n")
}

// seed uploads a campaign of the contact file csv to rdb and serves a Handler on it.
func seed(t testing.TB, rdb *redis.Client, csv string) *fixture {
	t.Helper()
	store := campaign.NewStore(rdb)
	c := upload(t, store, "", csv)
	h, err := New(Config{Store: store, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{rdb: rdb, store: store, c: c, srv: srv}
}

// upload stores a campaign of the contact file csv (its numbers in column phone) in store,
// with the campaign file's keys extra (YAML lines) added to the test's name, assistant and
// caller ID. Its dial tasks are dropped.
func upload(tb testing.TB, store *campaign.Store, extra, csv string) *campaign.Campaign {
	tb.Helper()
	f := campaigntest.File(tb, extra)
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(csv)), nil }
	c, err := store.Upload(tb.Context(), f, "c.csv", open, discard{}, campaign.UploadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// dial claims contact n's first attempt and, when callID is not empty, records its call.
func (fx *fixture) dial(t *testing.T, n int, callID string) {
	t.Helper()
	ref := campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: n, Attempt: 1}
	campaigntest.Claim(t, fx.store, ref, "w")
	if callID != "" {
		if _, err := fx.store.RecordCall(t.Context(), ref, callID, "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func (fx *fixture) post(t *testing.T, secretHeader, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fx.srv.URL, strings.NewReader(body))
	if secretHeader != "" {
		req.Header.Set("x-interactly-secret", secretHeader)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// report is an end-of-call-report as Interactly sends it: the analysis in message.analysis,
// message.call.analysis empty.
func report(campaignID string, contact int, callID, phoneStatus string) string {
	m := map[string]any{"message": map[string]any{
		"type": "end-of-call-report", "timestamp": 1795000000000,
		"call": map[string]any{
			"id": callID, "status": "finished", "phoneCallStatus": phoneStatus,
			"analysis": map[string]any{}, "callEndTriggerBy": "user",
			"metadata": map[string]any{"campaignId": campaignID, "contactId": contact, "attempt": 1},
		},
		"analysis": map[string]any{"summary": "Confirmed for Tuesday.", "successEvaluation": "Good",
			"structuredData": map[string]any{"confirmed": true}},
		"endAt":     "2026-11-21T10:00:30.000Z",
		"cost":      map[string]any{"callDuration": 28, "totalCost": 0.12},
		"recording": map[string]any{"s3Bucket": "b", "path": "rec/" + callID + ".wav"},
	}}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestRefusals(t *testing.T) {
	fx := setup(t)
	good := report(fx.c.ID, 1, "CC-1", "completed")
	tests := []struct {
		name, secret, body string
		want               int
	}{
		{"no secret", "", good, http.StatusUnauthorized},
		{"wrong secret", "whsec-test-123", good, http.StatusUnauthorized},
		{"oversized", secret, `{"message":{"type":"hang","pad":"` + strings.Repeat("x", DefaultMaxBody) + `"}}`, http.StatusRequestEntityTooLarge},
		{"malformed", secret, `{"message": {"type": `, http.StatusBadRequest},
		{"not a message", secret, `{"hello": 1}`, http.StatusBadRequest},
		{"no type", secret, `{"message": {"call": {}}}`, http.StatusBadRequest},
		{"unknown call", secret, `{"message":{"type":"end-of-call-report","call":{"id":"CC-other","status":"finished"}}}`, http.StatusOK},
		{"unknown type", secret, `{"message":{"type":"transcript","call":{"id":"CC-1"}}}`, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, body := fx.post(t, tt.secret, tt.body)
			if got != tt.want {
				t.Errorf("status = %d (%s), want %d", got, body, tt.want)
			}
			if strings.Contains(body, secret) {
				t.Errorf("answer %q shows the secret", body)
			}
		})
	}
	// None of them recorded anything.
	rec, err := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1})
	if err != nil || rec.State != campaign.AttemptNew {
		t.Errorf("attempt after refusals = %+v, %v; want untouched", rec, err)
	}
}

func TestEndOfCallReportRecordsAndAnnounces(t *testing.T) {
	fx := setup(t)
	fx.dial(t, 1, "CC-1")
	sub := fx.rdb.Subscribe(t.Context(), campaign.EndedChannel)
	defer sub.Close()
	if _, err := sub.Receive(t.Context()); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}

	if got, body := fx.post(t, secret, report(fx.c.ID, 1, "CC-1", "completed")); got != http.StatusOK {
		t.Fatalf("status = %d (%s)", got, body)
	}
	select {
	case m := <-sub.Channel():
		if want := fx.c.ID + ":1:1"; m.Payload != want {
			t.Errorf("announced %q, want %q", m.Payload, want)
		}
	case <-time.After(time.Second):
		t.Fatal("no announcement on the ended channel")
	}
	rec, err := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := rec.Result
	if rec.State != campaign.AttemptDone || r.Outcome != campaign.OutcomeCompleted || r.Summary != "Confirmed for Tuesday." ||
		r.SuccessEvaluation != "Good" || r.StructuredData != `{"confirmed":true}` || r.Cost != "0.12" ||
		r.Recording != "rec/CC-1.wav" || r.EndedAt.IsZero() || r.EndedBy != "user" {
		t.Errorf("recorded %+v %+v", rec.State, r)
	}
	st, err := fx.store.Status(t.Context(), fx.c.ID)
	if err != nil || st.LiveCalls != 0 {
		t.Errorf("live calls = %d, %v; want 0", st.LiveCalls, err)
	}

	// A replay, even one that says otherwise, changes nothing and announces nothing.
	if got, _ := fx.post(t, secret, report(fx.c.ID, 1, "CC-1", "busy")); got != http.StatusOK {
		t.Fatalf("replay status = %d", got)
	}
	again, _ := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1})
	if again.Result != r {
		t.Errorf("replay changed the result:\n%+v\n%+v", again.Result, r)
	}
	select {
	case m := <-sub.Channel():
		t.Errorf("replay announced %q", m.Payload)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestReportOfAnotherCallIsIgnored(t *testing.T) {
	fx := setup(t)
	fx.dial(t, 1, "CC-1")
	if got, _ := fx.post(t, secret, report(fx.c.ID, 1, "CC-forged", "busy")); got != http.StatusOK {
		t.Fatalf("status = %d", got)
	}
	rec, _ := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1})
	if rec.State != campaign.AttemptLive {
		t.Errorf("state = %q, want live: a report of another call must not finish the attempt", rec.State)
	}
	// An attempt nobody claimed is not created by a webhook either.
	if got, _ := fx.post(t, secret, report(fx.c.ID, 2, "CC-2", "busy")); got != http.StatusOK {
		t.Fatalf("status = %d", got)
	}
	if rec, _ := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 2, Attempt: 1}); rec.State != campaign.AttemptNew {
		t.Errorf("unclaimed attempt state = %q, want new", rec.State)
	}
}

// A call can end before the worker records Connect Call's answer; the report wins and the
// worker then learns the call is over.
func TestReportBeforeTheCallIsRecorded(t *testing.T) {
	fx := setup(t)
	fx.dial(t, 1, "")
	if got, _ := fx.post(t, secret, report(fx.c.ID, 1, "CC-1", "no-answer")); got != http.StatusOK {
		t.Fatalf("status = %d", got)
	}
	live, err := fx.store.RecordCall(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}, "CC-1", "http://ctl", time.Now())
	if err != nil || live {
		t.Fatalf("RecordCall after the report = %v, %v; want false", live, err)
	}
	rec, _ := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1})
	if rec.State != campaign.AttemptDone || rec.Result.Outcome != campaign.OutcomeNoAnswer || rec.CallID != "CC-1" {
		t.Errorf("attempt = %+v", rec)
	}
}

func TestStatusUpdateOfEndedCallAnnounces(t *testing.T) {
	fx := setup(t)
	fx.dial(t, 1, "CC-1")
	sub := fx.rdb.Subscribe(t.Context(), campaign.EndedChannel)
	defer sub.Close()
	if _, err := sub.Receive(t.Context()); err != nil {
		t.Fatal(err)
	}
	update := func(phone string) string {
		return `{"message":{"type":"status-update","timestamp":1795000000000,"call":{"id":"CC-1","status":"ongoing","phoneCallStatus":"` +
			phone + `","metadata":{"campaignId":"` + fx.c.ID + `","contactId":"1","attempt":"1"}}}}`
	}
	fx.post(t, secret, update("in-progress"))
	fx.post(t, secret, update("completed"))
	select {
	case m := <-sub.Channel():
		if m.Payload != fx.c.ID+":1:1" {
			t.Errorf("announced %q", m.Payload)
		}
	case <-time.After(time.Second):
		t.Fatal("no announcement of the ended call")
	}
	select {
	case m := <-sub.Channel():
		t.Errorf("a second announcement %q: only the update that shows the end announces", m.Payload)
	case <-time.After(100 * time.Millisecond):
	}
	if rec, _ := fx.store.Attempt(t.Context(), campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}); rec.State != campaign.AttemptLive {
		t.Errorf("a status-update recorded a result: state %q", rec.State)
	}
}

func TestNoSecretConfiguredAcceptsAll(t *testing.T) {
	fx := setup(t)
	h, _ := New(Config{Store: fx.store})
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"message":{"type":"hang","call":{"id":"x"}}}`)))
	if rr.Code != http.StatusOK {
		t.Errorf("status = %d", rr.Code)
	}
	rr = httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	if rr.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET status = %d", rr.Code)
	}
}
