package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// testDB is this package's redistest database.
const testDB = 11

const testCampaign = `
name: reminders
assistantId: asst-1
phoneNumberId: num-1
contacts: {numberColumn: phone, nameColumn: First Name}
`

// The columns are out of alphabetical order, so a JSON object written from a Go map would
// reorder them. Row 2 is invalid at upload and so finished from the start.
const testContacts = "zip,First Name,phone,appointment\n" +
	"94110,Ann,415 555 0101,Tue <9am> & co\n" +
	"94111,Bob,not a number,Wed\n"

var callStart = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// dialEnqueuer swallows the upload's dial tasks.
type dialEnqueuer struct{}

func (dialEnqueuer) EnqueueDial(context.Context, campaign.AttemptRef, time.Time) error { return nil }

// receiver is an HTTP endpoint on loopback that records what it is sent. The n-th request
// (from 0) is answered with statuses[n], or 200 past the end of statuses.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	reqs     []request
	statuses []int
}

type request struct {
	path   string
	query  string
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.reqs)
		rc.reqs = append(rc.reqs, request{r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		status := http.StatusOK
		if n < len(rc.statuses) {
			status = rc.statuses[n]
		}
		rc.mu.Unlock()
		if status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", status)
			return
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d\n\tof the receiver", status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

type fixture struct {
	rdb   *redis.Client
	store *campaign.Store
	c     *campaign.Campaign
	recv  *receiver
	logs  *lab.LockedBuffer // the Handler's and the asynq server's log, written from their goroutines
	h     *Handler
	now   time.Time // Handler's clock; see setClock
	mu    sync.Mutex
	env   map[string]string
}

// setup uploads the test campaign with notify config nc (nil: none) and returns a Handler
// whose receiver answers with statuses. An empty nc.URL becomes the receiver's /hook, and
// "{recv}" in it the receiver's host:port. It marks t parallel (redistest.Parallel): on
// miniredis each test has a Redis of its own.
func setup(t *testing.T, nc *campaign.NotifyConfig, statuses ...int) *fixture {
	t.Helper()
	redistest.Parallel(t)
	rdb, _ := redistest.Setup(t, testDB)
	fx := &fixture{rdb: rdb, store: campaign.NewStore(rdb), recv: newReceiver(t, statuses...),
		logs: &lab.LockedBuffer{}, now: callStart.Add(time.Hour), env: map[string]string{}}
	f, err := campaign.ParseChecked("test.yaml", []byte(testCampaign))
	if err != nil {
		t.Fatal(err)
	}
	if nc != nil && nc.URL == "" {
		nc.URL = "http://{recv}/hook"
	}
	if nc != nil {
		nc.URL = strings.ReplaceAll(nc.URL, "{recv}", fx.recv.srv.Listener.Addr().String())
	}
	f.Notify = nc
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(testContacts)), nil }
	fx.c, err = fx.store.Upload(t.Context(), f, "contacts.csv", open, dialEnqueuer{}, campaign.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fx.h, err = New(Config{
		Store:  fx.store,
		Redis:  fx.rdb,
		Getenv: func(k string) string { fx.mu.Lock(); defer fx.mu.Unlock(); return fx.env[k] },
		Now:    func() time.Time { fx.mu.Lock(); defer fx.mu.Unlock(); return fx.now },
		Logger: slog.New(slog.NewTextHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *fixture) setClock(now time.Time) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.now = now
}

// finishAnn records contact 1's one call and its final outcome, which finishes the campaign.
func (fx *fixture) finishAnn(t *testing.T) {
	t.Helper()
	campaigntest.EndAttempt(t, fx.store, campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}, campaign.Result{
		Outcome: campaign.OutcomeCompleted, CallID: "CC-1", StartedAt: callStart, EndedAt: callStart.Add(time.Minute),
		PhoneCallStatus: "completed", EndedBy: "assistant", SuccessEvaluation: "Good",
		Summary: `Confirmed "Tuesday".`, StructuredData: `{"confirmed":true}`,
	})
}

// process runs the task of event for contact n (0 for the campaign), first enqueued at at,
// through the Handler, as asynq would.
func (fx *fixture) process(t *testing.T, event string, n int, at time.Time) error {
	t.Helper()
	task := newTask(payload{CampaignID: fx.c.ID, ContactID: n, Event: event, At: at})
	return fx.h.ProcessTask(t.Context(), task)
}

func (fx *fixture) stats(t *testing.T) DeliveryStats {
	t.Helper()
	st, err := Stats(t.Context(), fx.rdb, fx.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// hmacHex computes the signature header independently of Sign.
func hmacHex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// refusingAddr returns a loopback address whose every connection is reset at once: a
// listener held until t ends, so that no server of a test running beside it can take the
// port over, as one could a port closed after use.
func refusingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // reset, not a clean close
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 15*time.Second, what, cond)
}

func TestContactFinished(t *testing.T) {
	fx := setup(t, &campaign.NotifyConfig{Secret: "s3cret"})
	fx.finishAnn(t)
	if err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now); err != nil {
		t.Fatal(err)
	}
	reqs := fx.recv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	id := fx.c.ID
	want := `{"event":"contact.finished","id":"` + id + `:1","campaignId":"` + id + `","campaignName":"reminders","contactId":1,` +
		`"row":{"zip":"94110","First Name":"Ann","phone":"415 555 0101","appointment":"Tue <9am> & co",` +
		`"phone_e164":"+14155550101","outcome":"completed","attempts":"1","call_id":"CC-1",` +
		`"started_at":"2026-03-02T15:00:00Z","ended_at":"2026-03-02T15:01:00Z","phone_call_status":"completed",` +
		`"ended_by":"assistant","success_evaluation":"Good","summary":"Confirmed \"Tuesday\".",` +
		`"structured_data":"{\"confirmed\":true}","error":"","cost_usd":"","recording":""}}`
	if diff := cmp.Diff(want, string(r.body)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if !json.Valid(r.body) {
		t.Errorf("body is not valid JSON: %s", r.body)
	}
	gotHeader := map[string]string{}
	for _, k := range []string{"Content-Type", EventHeader, DeliveryHeader, SignatureHeader} {
		gotHeader[k] = r.header.Get(k)
	}
	wantHeader := map[string]string{
		"Content-Type": "application/json", EventHeader: "contact.finished",
		DeliveryHeader: id + ":1", SignatureHeader: hmacHex("s3cret", r.body),
	}
	if diff := cmp.Diff(wantHeader, gotHeader); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(DeliveryStats{Delivered: 1}, fx.stats(t)); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	t.Run("NotSentTwice", func(t *testing.T) {
		// asynq's retention has run out and the event was enqueued again: the done set
		// still stops it.
		if err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now); err != nil {
			t.Fatal(err)
		}
		if n := len(fx.recv.requests()); n != 1 {
			t.Errorf("%d requests after processing the event again, want 1", n)
		}
		if st := fx.stats(t); st.Delivered != 1 {
			t.Errorf("delivered %d, want 1", st.Delivered)
		}
	})
}

func TestSecrets(t *testing.T) {
	t.Run("NoSecretNoSignature", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{})
		fx.finishAnn(t)
		if err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now); err != nil {
			t.Fatal(err)
		}
		r := fx.recv.requests()[0]
		if _, ok := r.header[SignatureHeader]; ok {
			t.Errorf("%s sent without a secret: %q", SignatureHeader, r.header.Get(SignatureHeader))
		}
	})

	t.Run("SecretEnv", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{SecretEnv: "DIALER_NOTIFY_SECRET"})
		fx.env["DIALER_NOTIFY_SECRET"] = "from-env"
		fx.finishAnn(t)
		if err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now); err != nil {
			t.Fatal(err)
		}
		r := fx.recv.requests()[0]
		if got, want := r.header.Get(SignatureHeader), hmacHex("from-env", r.body); got != want {
			t.Errorf("signature %q, want %q (HMAC under the variable's value)", got, want)
		}
	})

	t.Run("SecretEnvUnset", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{SecretEnv: "DIALER_NOTIFY_SECRET"})
		fx.finishAnn(t)
		err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now)
		if err == nil || !strings.Contains(err.Error(), "DIALER_NOTIFY_SECRET") {
			t.Fatalf("error %v, want one naming DIALER_NOTIFY_SECRET", err)
		}
		if n := len(fx.recv.requests()); n != 0 {
			t.Errorf("%d requests sent unsigned, want none", n)
		}
		st := fx.stats(t)
		if st.Errors != 1 || !strings.Contains(st.LastError, "DIALER_NOTIFY_SECRET") {
			t.Errorf("stats %+v, want 1 error naming the variable", st)
		}

		// Once the variable is set (and within the deadline), the retry goes out.
		fx.env["DIALER_NOTIFY_SECRET"] = "late"
		if err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now); err != nil {
			t.Fatal(err)
		}
		if r := fx.recv.requests(); len(r) != 1 || r[0].header.Get(SignatureHeader) != hmacHex("late", r[0].body) {
			t.Errorf("after setting the variable: %d requests, want 1 signed with it", len(r))
		}
	})
}

func TestSign(t *testing.T) {
	body := []byte(`{"event":"campaign.finished"}`)
	if got, want := Sign("k", body), hmacHex("k", body); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
	if Sign("k", body) == Sign("other", body) {
		t.Error("Sign ignores the secret")
	}
}

func TestCampaignFinished(t *testing.T) {
	fx := setup(t, &campaign.NotifyConfig{Secret: "s3cret"})
	at := callStart.Add(2 * time.Minute)

	// Ann is still in progress: the campaign is not done, so the event waits (retries).
	err := fx.process(t, campaign.NotifyCampaignFinished, 0, at)
	if err == nil || !strings.Contains(err.Error(), "not done") {
		t.Fatalf("before the campaign is done: error %v, want one saying it is not done", err)
	}
	if n := len(fx.recv.requests()); n != 0 {
		t.Fatalf("%d requests before the campaign is done, want 0", n)
	}

	fx.finishAnn(t)
	if err := fx.process(t, campaign.NotifyCampaignFinished, 0, at); err != nil {
		t.Fatal(err)
	}
	reqs := fx.recv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	id := fx.c.ID
	want := `{"event":"campaign.finished","id":"` + id + `:campaign","campaignId":"` + id + `","campaignName":"reminders",` +
		`"total":2,"outcomes":{"completed":1,"invalid":1},"finishedAt":"2026-03-02T15:02:00Z"}`
	if diff := cmp.Diff(want, string(reqs[0].body)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if got := reqs[0].header.Get(EventHeader); got != "campaign.finished" {
		t.Errorf("%s = %q", EventHeader, got)
	}
	if got := reqs[0].header.Get(DeliveryHeader); got != id+":campaign" {
		t.Errorf("%s = %q", DeliveryHeader, got)
	}
	if got, want := reqs[0].header.Get(SignatureHeader), hmacHex("s3cret", reqs[0].body); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	if st := fx.stats(t); st.Delivered != 1 || st.Errors != 1 || !strings.Contains(st.LastError, "not done") {
		t.Errorf("stats %+v, want 1 delivered and 1 error (the early try)", st)
	}
}

func TestRetryThenDeliver(t *testing.T) {
	fx := setup(t, &campaign.NotifyConfig{Secret: "s3cret"}, 500, 503)
	fx.finishAnn(t)
	at := fx.now
	for i, status := range []int{500, 503} {
		fx.setClock(at.Add(time.Duration(i+1) * time.Minute))
		err := fx.process(t, campaign.NotifyContactFinished, 1, at)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("status %d: answer %d of the receiver", status, status)) {
			t.Fatalf("try %d: error %v, want status %d with the answer's start", i+1, err, status)
		}
		st := fx.stats(t)
		want := DeliveryStats{Errors: i + 1, LastError: err.Error(), LastErrorAt: fx.now}
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("try %d: stats (-want +got):\n%s", i+1, diff)
		}
	}
	if err := fx.process(t, campaign.NotifyContactFinished, 1, at); err != nil {
		t.Fatalf("third try: %v", err)
	}
	reqs := fx.recv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs[1:] {
		if !bytes.Equal(r.body, reqs[0].body) || r.header.Get(DeliveryHeader) != reqs[0].header.Get(DeliveryHeader) {
			t.Errorf("retry %d differs from the first try: %s", i+1, r.body)
		}
	}
	if st := fx.stats(t); st.Delivered != 1 || st.Failed != 0 || st.Errors != 2 {
		t.Errorf("stats %+v, want 1 delivered, 0 failed, 2 errors", st)
	}
}

func TestGiveUpAfterDeadline(t *testing.T) {
	const token = "tok-8d1f"
	// The URL carries a token in its query, and a user and password.
	fx := setup(t, &campaign.NotifyConfig{URL: "http://hookuser:hookpass@{recv}/hook?token=" + token, Secret: "s3cret-value"}, 500, 500, 500)
	fx.finishAnn(t)

	at := callStart
	fx.setClock(at.Add(59 * time.Minute))
	err := fx.process(t, campaign.NotifyContactFinished, 1, at)
	if err == nil {
		t.Fatal("a failed try within the deadline returned nil, want an error so that asynq retries")
	}
	fx.setClock(at.Add(61 * time.Minute))
	if err := fx.process(t, campaign.NotifyContactFinished, 1, at); err != nil {
		t.Fatalf("failed try past the deadline: %v, want nil so that asynq stops", err)
	}
	if r := fx.recv.requests(); len(r) != 2 || r[1].query != "token="+token {
		t.Fatalf("requests %+v, want 2 to the URL with its query", r)
	}
	st := fx.stats(t)
	if st.Failed != 1 || st.Delivered != 0 || st.Errors != 2 {
		t.Errorf("stats %+v, want 1 failed, 0 delivered, 2 errors", st)
	}

	logs := fx.logs.String()
	if !strings.Contains(logs, "giving up on notification") {
		t.Errorf("no give-up line in the log:\n%s", logs)
	}
	for _, secret := range []string{token, "hookpass", "hookuser", "s3cret-value"} {
		if strings.Contains(logs, secret) || strings.Contains(st.LastError, secret) {
			t.Errorf("%q leaked into the log or the last error:\n%s\n%s", secret, logs, st.LastError)
		}
	}
	if !strings.Contains(logs, "/hook?xxxxx") || !strings.Contains(st.LastError, "/hook?xxxxx") {
		t.Errorf("log and last error should name the URL with its query redacted:\n%s\n%s", logs, st.LastError)
	}

	// Given up is final: the event is not sent again.
	if err := fx.process(t, campaign.NotifyContactFinished, 1, at); err != nil {
		t.Fatal(err)
	}
	if n := len(fx.recv.requests()); n != 2 {
		t.Errorf("%d requests after giving up, want 2", n)
	}
}

func TestFailures(t *testing.T) {
	t.Run("RedirectNotFollowed", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{}, http.StatusFound)
		fx.finishAnn(t)
		err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now)
		if err == nil || !strings.Contains(err.Error(), "status 302 (redirects are not followed") {
			t.Fatalf("error %v, want status 302 and a word on redirects", err)
		}
		if r := fx.recv.requests(); len(r) != 1 || r[0].path != "/hook" {
			t.Errorf("requests %+v, want one, to /hook", r)
		}
	})

	t.Run("NetworkError", func(t *testing.T) {
		addr := refusingAddr(t)
		fx := setup(t, &campaign.NotifyConfig{URL: "http://" + addr + "/hook?key=abc123"})
		fx.finishAnn(t)
		err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now)
		if err == nil || strings.Contains(err.Error(), "abc123") || !strings.Contains(err.Error(), "POST http://"+addr+"/hook?xxxxx") {
			t.Fatalf("error %v, want a POST error naming the URL with its query redacted", err)
		}
	})

	t.Run("BadURLGivesUpAtOnce", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{URL: "ftp://example.invalid/x"})
		fx.finishAnn(t)
		if err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now); err != nil {
			t.Fatalf("error %v, want nil (given up)", err)
		}
		if st := fx.stats(t); st.Failed != 1 || !strings.Contains(st.LastError, "not an absolute http or https URL") {
			t.Errorf("stats %+v, want 1 failed naming the URL problem", st)
		}
	})

	t.Run("ContactWithoutOutcomeWaits", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{})
		err := fx.process(t, campaign.NotifyContactFinished, 1, fx.now)
		if err == nil || !strings.Contains(err.Error(), "no final outcome yet") {
			t.Fatalf("error %v, want one saying the contact has no outcome yet", err)
		}
		if n := len(fx.recv.requests()); n != 0 {
			t.Errorf("%d requests, want 0", n)
		}
	})
}

func TestDropped(t *testing.T) {
	for _, tt := range []struct {
		name string
		nc   *campaign.NotifyConfig
		run  func(t *testing.T, fx *fixture) error
	}{
		{"CampaignGone", &campaign.NotifyConfig{}, func(t *testing.T, fx *fixture) error {
			if err := fx.store.DeleteCampaign(t.Context(), fx.c.ID); err != nil {
				t.Fatal(err)
			}
			return fx.process(t, campaign.NotifyContactFinished, 1, fx.now)
		}},
		{"NoSuchContact", &campaign.NotifyConfig{}, func(t *testing.T, fx *fixture) error {
			return fx.process(t, campaign.NotifyContactFinished, 99, fx.now)
		}},
		{"NoNotify", nil, func(t *testing.T, fx *fixture) error {
			return fx.process(t, campaign.NotifyContactFinished, 2, fx.now)
		}},
		{"EventNotAsked", &campaign.NotifyConfig{Events: []string{campaign.NotifyCampaignFinished}}, func(t *testing.T, fx *fixture) error {
			return fx.process(t, campaign.NotifyContactFinished, 2, fx.now)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t, tt.nc)
			if err := tt.run(t, fx); err != nil {
				t.Fatalf("error %v, want nil (dropped)", err)
			}
			if n := len(fx.recv.requests()); n != 0 {
				t.Errorf("%d requests, want 0", n)
			}
			if !strings.Contains(fx.logs.String(), "dropping notification") {
				t.Errorf("no line about the dropped notification:\n%s", fx.logs.String())
			}
		})
	}

	t.Run("MalformedPayload", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{})
		err := fx.h.ProcessTask(t.Context(), asynq.NewTask(TypeContact, []byte(`{"c":"x"}`)))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("error %v, want one wrapping asynq.SkipRetry", err)
		}
	})
}

func TestEnqueuerNoOp(t *testing.T) {
	t.Parallel()
	// This loopback port resets every connection: an Enqueuer that touched Redis would fail.
	rdb := redis.NewClient(&redis.Options{Addr: refusingAddr(t), MaxRetries: -1})
	defer rdb.Close()
	client := asynq.NewClientFromRedisClient(rdb)
	enq := NewEnqueuer(client, campaign.NewStore(rdb))

	c := &campaign.Campaign{ID: "c1"}
	contactOnly := &campaign.NotifyConfig{URL: "http://127.0.0.1/x", Events: []string{campaign.NotifyContactFinished}}
	campaignOnly := &campaign.NotifyConfig{URL: "http://127.0.0.1/x", Events: []string{campaign.NotifyCampaignFinished}}
	for _, tt := range []struct {
		name    string
		nc      *campaign.NotifyConfig
		enqueue func(ctx context.Context) error
		want    bool // whether Redis is called (and so fails)
	}{
		{"NoNotifyContact", nil, func(ctx context.Context) error { return enq.ContactFinished(ctx, c, 1) }, false},
		{"NoNotifyCampaign", nil, func(ctx context.Context) error { return enq.CampaignFinished(ctx, c) }, false},
		{"ContactNotAsked", campaignOnly, func(ctx context.Context) error { return enq.ContactFinished(ctx, c, 1) }, false},
		{"CampaignNotAsked", contactOnly, func(ctx context.Context) error { return enq.CampaignFinished(ctx, c) }, false},
		// The control: an event that is asked for does reach (the missing) Redis.
		{"ContactAsked", contactOnly, func(ctx context.Context) error { return enq.ContactFinished(ctx, c, 1) }, true},
		{"DefaultEvents", &campaign.NotifyConfig{URL: "http://127.0.0.1/x"}, func(ctx context.Context) error { return enq.CampaignFinished(ctx, c) }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c.File.Notify = tt.nc
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := tt.enqueue(ctx)
			if got := err != nil; got != tt.want {
				t.Errorf("error %v; want a Redis error: %v", err, tt.want)
			}
		})
	}
}

// serve runs Run on fx's Redis until the test ends.
func (fx *fixture) serve(t *testing.T) {
	t.Helper()
	o := fx.rdb.Options()
	opt := asynq.RedisClientOpt{Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, opt, fx.h, 2, slog.New(slog.NewTextHandler(fx.logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestServe(t *testing.T) {
	t.Run("EnqueueTwiceSendOnce", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{Secret: "s3cret"})
		fx.h.cfg.Now = time.Now // the asynq server runs on the wall clock
		fx.finishAnn(t)
		enq := NewEnqueuer(asynq.NewClientFromRedisClient(fx.rdb), fx.store)
		c, err := fx.store.Campaign(t.Context(), fx.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := enq.ContactFinished(t.Context(), c, 1); err != nil {
				t.Fatal(err)
			}
		}
		fx.serve(t)
		waitFor(t, "the notification", func() bool { return len(fx.recv.requests()) >= 1 })

		insp := asynq.NewInspectorFromRedisClient(fx.rdb)
		taskID := "notify:" + c.ID + ":1"
		waitFor(t, "the task to complete", func() bool {
			info, err := insp.GetTaskInfo(Queue, taskID)
			return err == nil && info.State == asynq.TaskStateCompleted
		})
		// Enqueued again after delivery (a redelivered dial task): still one task, kept
		// completed, and nothing pending.
		if err := enq.ContactFinished(t.Context(), c, 1); err != nil {
			t.Fatal(err)
		}
		info, err := insp.GetTaskInfo(Queue, taskID)
		if err != nil || info.State != asynq.TaskStateCompleted {
			t.Fatalf("task after enqueueing again: %+v, %v; want it completed", info, err)
		}
		if info.Retention != Retention {
			t.Errorf("retention %s, want %s", info.Retention, Retention)
		}
		pending, err := insp.ListPendingTasks(Queue)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 0 {
			t.Errorf("%d pending tasks after enqueueing a delivered event again, want 0", len(pending))
		}
		if n := len(fx.recv.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if st := fx.stats(t); st.Delivered != 1 {
			t.Errorf("stats %+v, want 1 delivered", st)
		}
	})

	// An operator's redial takes a contact's final outcome back; its new final outcome, and
	// the campaign's new finish, are new events and are sent too.
	t.Run("RedialedContactNotifiedAgain", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{})
		fx.h.cfg.Now = time.Now
		ctx, id := t.Context(), fx.c.ID
		enq := NewEnqueuer(asynq.NewClientFromRedisClient(fx.rdb), fx.store)
		finished := func() {
			t.Helper()
			for _, err := range []error{enq.ContactFinished(ctx, fx.c, 1), enq.CampaignFinished(ctx, fx.c)} {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		fx.finishAnn(t)
		finished()
		fx.serve(t)
		waitFor(t, "the first two notifications", func() bool { return len(fx.recv.requests()) >= 2 })

		res, err := fx.store.Redial(ctx, id, 1)
		if err != nil || res.Attempt != 2 || res.Retried != campaign.OutcomeCompleted {
			t.Fatalf("redial: %+v, %v", res, err)
		}
		ref := campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: 2}
		if f := campaigntest.EndAttempt(t, fx.store, ref, campaign.Result{Outcome: campaign.OutcomeNoAnswer, CallID: "CC-2", PhoneCallStatus: "no-answer"}); f != campaign.FinalizedCampaign {
			t.Fatalf("finalize after the redial: %v", f)
		}
		finished()
		waitFor(t, "the notifications of the new outcome", func() bool { return len(fx.recv.requests()) >= 4 })

		type sent struct{ Delivery, Outcome, Attempts string }
		var got []sent
		for _, r := range fx.recv.requests() {
			var body struct {
				Row map[string]string `json:"row"`
			}
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			got = append(got, sent{r.header.Get(DeliveryHeader), body.Row["outcome"], body.Row["attempts"]})
		}
		want := []sent{
			{id + ":1", "completed", "1"}, {id + ":campaign", "", ""},
			{id + ":1:r1", "no-answer", "2"}, {id + ":campaign:r1", "", ""},
		}
		less := func(a, b sent) bool { return a.Delivery < b.Delivery }
		if diff := cmp.Diff(want, got, cmpopts.SortSlices(less)); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
		// The receiver has the fourth request before the server counts its delivery.
		waitFor(t, "4 deliveries counted", func() bool { return fx.stats(t).Delivered >= 4 })
		if st := fx.stats(t); st.Delivered != 4 {
			t.Errorf("stats %+v, want 4 delivered", st)
		}
	})

	t.Run("RetriedUntilDelivered", func(t *testing.T) {
		fx := setup(t, &campaign.NotifyConfig{}, 500)
		fx.h.cfg.Now = time.Now
		// Retried at the server's next look at its retries (each second), not after
		// RetryDelay's 1–2 s.
		var asked []int
		var mu sync.Mutex
		fx.h.cfg.RetryDelay = func(n int, _ error, _ *asynq.Task) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, n)
			return 0
		}
		fx.finishAnn(t)
		enq := NewEnqueuer(asynq.NewClientFromRedisClient(fx.rdb), fx.store)
		if err := enq.ContactFinished(t.Context(), fx.c, 1); err != nil {
			t.Fatal(err)
		}
		fx.serve(t)
		waitFor(t, "delivery after a 500", func() bool {
			st, err := Stats(t.Context(), fx.rdb, fx.c.ID)
			return err == nil && st.Delivered == 1
		})
		if st, n := fx.stats(t), len(fx.recv.requests()); st.Errors != 1 || n != 2 {
			t.Errorf("%d requests and stats %+v, want 2 requests and 1 error", n, st)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(asked, []int{0}) {
			t.Errorf("Config.RetryDelay asked for retries %v, want [0]", asked)
		}
	})
}

func TestRetryDelay(t *testing.T) {
	for n := range 20 {
		full := min(2*time.Second<<n, 5*time.Minute)
		for range 50 {
			if d := RetryDelay(n, errors.New("x"), nil); d < full/2 || d > full {
				t.Fatalf("RetryDelay(%d) = %s, want within [%s, %s]", n, d, full/2, full)
			}
		}
	}
	// The sum of waits over the first hour stays bounded: about 25 tries, well under MaxRetry.
	var total time.Duration
	tries := 0
	for total < time.Hour {
		total += RetryDelay(tries, nil, nil)
		tries++
	}
	if tries > 40 {
		t.Errorf("%d tries in an hour, want at most 40", tries)
	}
}

func TestNew(t *testing.T) {
	_, err := New(Config{})
	if err == nil || !strings.Contains(err.Error(), "Config.Store") {
		t.Errorf("New without a store: %v, want an error naming Config.Store", err)
	}
	rdb, _ := redistest.Setup(t, testDB)
	_, err = New(Config{Store: campaign.NewStore(rdb), Redis: rdb, Deadline: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "Config.Deadline") {
		t.Errorf("New with a negative deadline: %v, want an error naming Config.Deadline", err)
	}
	h, err := New(Config{Store: campaign.NewStore(rdb), Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	if h.cfg.Deadline != time.Hour || h.cfg.HTTPClient.Timeout != 10*time.Second {
		t.Errorf("defaults: deadline %s, HTTP timeout %s; want 1h and 10s", h.cfg.Deadline, h.cfg.HTTPClient.Timeout)
	}
	// The default retry delay is RetryDelay's: 1–2 s before the first retry, 2–4 s before the second.
	for n, full := range []time.Duration{2 * time.Second, 4 * time.Second} {
		if d := h.cfg.RetryDelay(n, nil, nil); d < full/2 || d > full {
			t.Errorf("default RetryDelay(%d) = %s, want within [%s, %s]", n, d, full/2, full)
		}
	}
}

func TestStatsUnknownCampaign(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	st, err := Stats(t.Context(), rdb, "nope")
	if err != nil || st != (DeliveryStats{}) {
		t.Errorf("Stats of an unknown campaign = %+v, %v; want zero, nil", st, err)
	}
}

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://hooks.example.com/dialer", "https://hooks.example.com/dialer"},
		{"https://hooks.example.com/dialer?token=abc&x=1#frag", "https://hooks.example.com/dialer?xxxxx"},
		{"https://u:p@hooks.example.com/x", "https://xxxxx@hooks.example.com/x"},
		{"https://hooks.example.com/x?", "https://hooks.example.com/x?xxxxx"},
		{"://bad", "(unparsable notify.url)"},
	} {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
