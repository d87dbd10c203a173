package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/callerid"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/frequency"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
)

// TestMain runs more parallel tests at once than the machine has cores: most of them wait.
func TestMain(m *testing.M) { os.Exit(testutil.RunWaiting(m)) }

// callBook is what a fake CallAPI keeps of the calls it placed, under its mutex mu: each by
// its ID, for Get Call, and by its idempotency key, for FindCall (List Calls).
type callBook struct {
	mu    sync.Mutex
	calls map[string]*interactly.Call
	byKey map[string]*interactly.Call
}

func newCallBook() callBook {
	return callBook{calls: map[string]*interactly.Call{}, byKey: map[string]*interactly.Call{}}
}

// get answers Get Call for id, as the API does: the call, or a 404. The caller holds b.mu.
func (b *callBook) get(id string) (*interactly.Call, error) {
	if c, ok := b.calls[id]; ok {
		return c, nil
	}
	return nil, &interactly.APIError{Op: "get call", Status: 404, Message: "call not found"}
}

// GetCall answers Get Call from the book (get).
func (b *callBook) GetCall(_ context.Context, id string) (*interactly.Call, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.get(id)
}

// FindCall returns the call placed with idempotency key key, or nil.
func (b *callBook) FindCall(_ context.Context, key string, _ time.Time) (*interactly.Call, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byKey[key], nil
}

// endedCall is the nth call of a fake whose calls are over at once: "CC-<n>", finished with
// status, created at start and ended a minute later, hung up by trigger.
func endedCall(n int, status interactly.PhoneCallStatus, start time.Time, trigger string) *interactly.Call {
	return &interactly.Call{
		ID: fmt.Sprintf("CC-%d", n), Status: interactly.CallFinished, PhoneCallStatus: status,
		CreatedAt: interactly.Time{Time: start}, EndAt: interactly.Time{Time: start.Add(time.Minute)},
		CallEndTriggerBy: trigger,
	}
}

// fakeAPI places calls that are over at once, with the phoneCallStatus its script gives
// for each Connect Call (the last one repeating), or with connectErr.
type fakeAPI struct {
	callBook
	script     []interactly.PhoneCallStatus
	connectErr error
	connects   []*interactly.ConnectCallRequest
	paced      atomic.Int32
	noAnalysis bool        // completed calls come without their analysis
	live       bool        // calls stay ringing: only a webhook ends them
	getErr     error       // every Get Call fails with it, if set
	forget     bool        // Get Call answers 404 for every call (a restarted API); List Calls finds them
	onGet      func(n int) // called with the number of each Get Call, if set
	gets       int
}

func newFakeAPI(script ...interactly.PhoneCallStatus) *fakeAPI {
	return &fakeAPI{callBook: newCallBook(), script: script}
}

// callStart is when the fake's calls begin: an hour before the tests' now, on their clock.
var callStart = testutil.Now().Add(-time.Hour).Truncate(time.Minute)

func (f *fakeAPI) ConnectCall(ctx context.Context, req *interactly.ConnectCallRequest) (*interactly.Call, error) {
	if req.Pace != nil {
		if err := req.Pace(ctx); err != nil {
			return nil, err
		}
		f.paced.Add(1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.connectErr != nil {
		return nil, f.connectErr
	}
	f.connects = append(f.connects, req)
	status := f.script[min(len(f.connects), len(f.script))-1]
	call := endedCall(len(f.connects), status, callStart, "assistant")
	if f.live {
		call.Status, call.PhoneCallStatus, call.EndAt = interactly.CallQueued, interactly.PhoneRinging, interactly.Time{}
	}
	if status == interactly.PhoneCompleted && !f.noAnalysis && !f.live {
		call.Analysis = &interactly.Analysis{Summary: "Confirmed for Tuesday.", SuccessEvaluation: "Good", StructuredData: json.RawMessage(`{"confirmed": true}`)}
	}
	if !f.forget {
		f.calls[call.ID] = call
	}
	f.byKey[req.IdempotencyKey] = call
	return call, nil
}

func (f *fakeAPI) GetCall(_ context.Context, id string) (*interactly.Call, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.onGet != nil {
		f.onGet(f.gets)
	}
	if f.getErr != nil {
		return nil, f.getErr
	}
	return f.get(id)
}

// fakeEnqueuer records the follow-up tasks a handler enqueues.
type fakeEnqueuer struct {
	mu    sync.Mutex
	tasks []string
}

func (f *fakeEnqueuer) EnqueueDial(_ context.Context, ref campaign.AttemptRef, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks = append(f.tasks, fmt.Sprintf("%s:%d:%d@%s", ref.CampaignID, ref.ContactID, ref.Attempt, at.UTC().Format(time.RFC3339)))
	return nil
}

const testCampaign = `
name: reminders
assistantId: asst-1
phoneNumberId: num-1
contacts: {numberColumn: phone, nameColumn: First Name}
retry: {maxAttempts: 2, retryOn: [busy], delay: 30m}
rateLimit: {callsPerSecond: 50, maxConcurrentCalls: 1}
poll: {interval: 100ms, analysisWait: 1s}
metadata: {source: test}
assistantOverrides:
  welcomeMessage: Hi
  dynamicVariables: {clinic: Main Street Clinic, doctor: Dr. Who}
`

const testContacts = "First Name,phone,doctor\nAnn,415 555 0101,Dr. Lee\n"

type fixture struct {
	rdb   *redis.Client
	store *campaign.Store
	api   *fakeAPI
	enq   *fakeEnqueuer
	h     *Handler
	c     *campaign.Campaign
}

func setup(t *testing.T, api *fakeAPI) *fixture {
	t.Helper()
	return setupWith(t, api, testCampaign, nil)
}

// setupWith is setup with campaign file text yaml and a suppression list.
func setupWith(t *testing.T, api *fakeAPI, yaml string, sup Suppression) *fixture {
	t.Helper()
	rdb := testRedis(t)
	return setupOn(t, rdb, api, yaml, sup)
}

// testRedis returns a clean database for t, and marks t parallel when it is a Redis of t's
// own (redistest.Parallel: on miniredis, not with TEST_REDIS_URL). A test calls it once.
func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	redistest.Parallel(t)
	return soleRedis(t)
}

// soleRedis returns a clean database for t without marking t parallel: for a test that holds
// what it measures to a bound of wall time, which the goroutines of parallel tests stretch.
func soleRedis(t *testing.T) *redis.Client {
	t.Helper()
	rdb, _ := redistest.Setup(t, 4)
	return rdb
}

// setupOn is setupWith on the Redis rdb.
func setupOn(t *testing.T, rdb *redis.Client, api *fakeAPI, yaml string, sup Suppression) *fixture {
	t.Helper()
	store := campaign.NewStore(rdb)
	c := uploadTestContacts(t, store, mustFile(t, yaml))
	enq := &fakeEnqueuer{}
	h, err := New(Config{
		Store: store, Enqueuer: enq, API: api,
		Limiter:     ratelimit.NewLimiter(rdb),
		Slots:       ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{}),
		Suppression: sup,
		Frequency:   frequency.New(rdb),
		UploadWait:  300 * time.Millisecond,
		Now:         testutil.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{rdb: rdb, store: store, api: api, enq: enq, h: h, c: c}
}

// uploadTestContacts uploads testContacts to store as a campaign of file f, its dial tasks
// swallowed; a second upload of one file is a second campaign, calling the same numbers.
func uploadTestContacts(t *testing.T, store *campaign.Store, f *campaign.File) *campaign.Campaign {
	t.Helper()
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(testContacts)), nil }
	c, err := store.Upload(t.Context(), f, "contacts.csv", open, &fakeEnqueuer{}, campaign.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustFile reads campaign file text yaml as an upload does (campaign.ParseChecked: parsed,
// defaults, validated, normalised).
func mustFile(tb testing.TB, yaml string) *campaign.File {
	tb.Helper()
	f, err := campaign.ParseChecked("test.yaml", []byte(yaml))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// process runs the dial task of fx's contact 1, attempt attempt, through the Handler.
func (fx *fixture) process(t *testing.T, attempt int) error {
	t.Helper()
	return fx.processOf(t, fx.c.ID, attempt)
}

// processOf runs the dial task of campaign id's contact 1, attempt attempt, through fx's
// Handler.
func (fx *fixture) processOf(t *testing.T, id string, attempt int) error {
	t.Helper()
	return fx.h.ProcessTask(t.Context(), queue.NewDialTask(campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: attempt}))
}

// waitsUndialed runs the first dial task of fx's contact and fails the test unless the task
// is handed back to wait (a *queue.RetryLaterError) and the API was not asked to dial; what
// names the case: "dialed what".
func (fx *fixture) waitsUndialed(t *testing.T, what string) {
	t.Helper()
	var later *queue.RetryLaterError
	if err := fx.process(t, 1); !errors.As(err, &later) {
		t.Fatalf("err = %v, want a *queue.RetryLaterError", err)
	}
	if len(fx.api.connects) != 0 {
		t.Error("dialed " + what)
	}
}

// endsUndialed runs the first dial task of fx's contact and fails the test unless the contact
// ends with outcome want, the API never asked to dial.
func (fx *fixture) endsUndialed(t *testing.T, want campaign.Outcome) {
	t.Helper()
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if ct := fx.contact(t); ct.Outcome != want || len(fx.api.connects) != 0 {
		t.Errorf("outcome %q after %d dials, want %s and none", ct.Outcome, len(fx.api.connects), want)
	}
}

func (fx *fixture) contact(t *testing.T) *campaign.Contact {
	t.Helper()
	ct, err := fx.store.Contact(t.Context(), fx.c.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestCompletedCall(t *testing.T) {
	fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if len(fx.api.connects) != 1 {
		t.Fatalf("%d Connect Calls, want 1", len(fx.api.connects))
	}
	want := &interactly.ConnectCallRequest{
		Direction: "outbound", PhoneNumberID: "num-1", AssistantID: "asst-1",
		Customer: interactly.Customer{Number: "+14155550101", Name: "Ann"},
		AssistantOverrides: map[string]any{
			"welcomeMessage": "Hi",
			// The row's columns win over the campaign's dynamicVariables.
			"dynamicVariables": map[string]any{"clinic": "Main Street Clinic", "doctor": "Dr. Lee", "First Name": "Ann", "phone": "415 555 0101"},
		},
		Metadata:       map[string]any{"source": "test", "campaignId": fx.c.ID, "contactId": 1, "attempt": 1},
		IdempotencyKey: fx.c.ID + ":1:1",
	}
	if fx.api.paced.Load() != 1 {
		t.Errorf("Connect Call paced %d times, want 1", fx.api.paced.Load())
	}
	if diff := cmp.Diff(want, fx.api.connects[0], cmpopts.IgnoreFields(interactly.ConnectCallRequest{}, "Pace", "OnRetry")); diff != "" {
		t.Errorf("Connect Call request (-want +got):\n%s", diff)
	}
	ct := fx.contact(t)
	wantLast := campaign.Result{
		Outcome: campaign.OutcomeCompleted, CallID: "CC-1", StartedAt: callStart, EndedAt: callStart.Add(time.Minute),
		PhoneCallStatus: "completed", EndedBy: "assistant", SuccessEvaluation: "Good",
		Summary: "Confirmed for Tuesday.", StructuredData: `{"confirmed":true}`,
	}
	if diff := cmp.Diff(wantLast, ct.Last); diff != "" {
		t.Errorf("recorded result (-want +got):\n%s", diff)
	}
	if ct.Outcome != campaign.OutcomeCompleted || ct.Attempts != 1 {
		t.Errorf("outcome %q after %d attempts, want completed after 1", ct.Outcome, ct.Attempts)
	}
	if n, _ := ratelimit.NewSemaphore(fx.rdb, ratelimit.SemaphoreConfig{}).Count(t.Context(), campaign.SlotsKey(fx.c.ID)); n != 0 {
		t.Errorf("%d slots still held after the call ended", n)
	}
	// Delivered again, the task finds the outcome and does nothing.
	if err := fx.process(t, 1); err != nil || len(fx.api.connects) != 1 {
		t.Errorf("redelivery: err %v, %d Connect Calls; want nil, 1", err, len(fx.api.connects))
	}
}

func TestRetries(t *testing.T) {
	fx := setup(t, newFakeAPI(interactly.PhoneBusy))
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	next := fmt.Sprintf("%s:1:2@%s", fx.c.ID, callStart.Add(time.Minute+30*time.Minute).Format(time.RFC3339))
	if diff := cmp.Diff([]string{next}, fx.enq.tasks); diff != "" {
		t.Errorf("follow-up tasks (-want +got):\n%s", diff)
	}
	if ct := fx.contact(t); ct.Outcome != "" || ct.NextAttempt != 2 {
		t.Errorf("after a busy first attempt: outcome %q, next attempt %d; want none, 2", ct.Outcome, ct.NextAttempt)
	}
	// The second attempt is the last (maxAttempts 2): busy again is final.
	if err := fx.process(t, 2); err != nil {
		t.Fatal(err)
	}
	if ct := fx.contact(t); ct.Outcome != campaign.OutcomeBusy || ct.Attempts != 2 {
		t.Errorf("after the last attempt: outcome %q after %d attempts; want busy after 2", ct.Outcome, ct.Attempts)
	}
	if len(fx.enq.tasks) != 1 {
		t.Errorf("a third attempt was scheduled: %q", fx.enq.tasks)
	}
}

func TestRefusedCallIsFinal(t *testing.T) {
	api := newFakeAPI(interactly.PhoneCompleted)
	api.connectErr = &interactly.APIError{Op: "connect call", Status: 422, Message: "customer.number: invalid"}
	fx := setup(t, api)
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	ct := fx.contact(t)
	if ct.Outcome != campaign.OutcomeError || !strings.Contains(ct.Last.Error, "customer.number: invalid") {
		t.Errorf("outcome %q, error %q; want error with the API's message", ct.Outcome, ct.Last.Error)
	}
}

func TestRefusedKeyHoldsTheWork(t *testing.T) {
	api := newFakeAPI(interactly.PhoneCompleted)
	api.connectErr = &interactly.APIError{Op: "connect call", Status: 401, Message: "Invalid or missing API key"}
	fx := setup(t, api)
	var later *queue.RetryLaterError
	if err := fx.process(t, 1); !errors.As(err, &later) {
		t.Fatalf("err = %v, want a *queue.RetryLaterError", err)
	}
	if ct := fx.contact(t); ct.Outcome != "" {
		t.Errorf("outcome %q after a refused key; want none: the contact is not to blame", ct.Outcome)
	}
	api.connectErr = nil
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if ct := fx.contact(t); ct.Outcome != campaign.OutcomeCompleted {
		t.Errorf("outcome %q once the key works, want completed", ct.Outcome)
	}
}

func TestRetryableConnectErrorIsRetriedWithoutOutcome(t *testing.T) {
	api := newFakeAPI(interactly.PhoneCompleted)
	api.connectErr = &interactly.APIError{Op: "connect call", Status: 503, Retryable: true}
	fx := setup(t, api)
	if err := fx.process(t, 1); err == nil {
		t.Fatal("a retryable error returned nil; asynq would not retry")
	}
	if ct := fx.contact(t); ct.Outcome != "" {
		t.Errorf("outcome %q after a retryable error, want none yet", ct.Outcome)
	}
	// The attempt stays claimed; the next run looks the call up, finds none, and dials.
	api.connectErr = nil
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if ct := fx.contact(t); ct.Outcome != campaign.OutcomeCompleted || ct.Attempts != 1 {
		t.Errorf("outcome %q after %d attempts; want completed after 1", ct.Outcome, ct.Attempts)
	}
}

func TestRedeliveryNeverDialsTwice(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	t.Run("LiveCallIsResumed", func(t *testing.T) {
		fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
		// A first run claimed, dialed and recorded the call, then died.
		call, _ := fx.api.ConnectCall(t.Context(), &interactly.ConnectCallRequest{IdempotencyKey: fx.c.ID + ":1:1"})
		ref := campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}
		campaigntest.Claim(t, fx.store, ref, "dead")
		if _, err := fx.store.RecordCall(t.Context(), ref, call.ID, "", callStart); err != nil {
			t.Fatal(err)
		}
		if err := fx.process(t, 1); err != nil {
			t.Fatal(err)
		}
		if len(fx.api.connects) != 1 || fx.contact(t).Outcome != campaign.OutcomeCompleted {
			t.Errorf("%d Connect Calls, outcome %q; want 1, completed", len(fx.api.connects), fx.contact(t).Outcome)
		}
	})
	t.Run("InterruptedDialIsFound", func(t *testing.T) {
		fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
		// A first run claimed and dialed, and died before recording the call id.
		campaigntest.Claim(t, fx.store, campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}, "dead")
		_, _ = fx.api.ConnectCall(t.Context(), &interactly.ConnectCallRequest{IdempotencyKey: fx.c.ID + ":1:1"})
		if err := fx.process(t, 1); err != nil {
			t.Fatal(err)
		}
		if len(fx.api.connects) != 1 || fx.contact(t).Last.CallID != "CC-1" {
			t.Errorf("%d Connect Calls, call %q; want 1, CC-1", len(fx.api.connects), fx.contact(t).Last.CallID)
		}
	})
}

// TestSlotFreeWhileAwaitingAnalysis checks that the concurrency slot goes back when the call
// ends, not when its analysis is in: the line is free for the next dial.
func TestSlotFreeWhileAwaitingAnalysis(t *testing.T) {
	api := newFakeAPI(interactly.PhoneCompleted)
	api.noAnalysis = true
	fx := setup(t, api)
	slots := ratelimit.NewSemaphore(fx.rdb, ratelimit.SemaphoreConfig{})
	held, live := map[int]int{}, map[int]int{}
	api.onGet = func(n int) {
		held[n], _ = slots.Count(context.Background(), campaign.SlotsKey(fx.c.ID))
		st, _ := fx.store.Status(context.Background(), fx.c.ID)
		live[n] = st.LiveCalls
	}
	start := testutil.Now()
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if held[1] != 1 || held[2] != 0 || live[1] != 1 || live[2] != 0 {
		t.Errorf("slots held at Get Call 1 and 2 = %d, %d, live calls %d, %d; want 1 while the call may be live, 0 once it ended",
			held[1], held[2], live[1], live[2])
	}
	// analysisWait is 1s: the attempt is recorded without an analysis after it.
	if waited := testutil.Now().Sub(start); waited < time.Second || api.gets < 5 {
		t.Errorf("recorded after %s and %d Get Calls; want the 1s analysisWait spent polling", waited, api.gets)
	}
	if ct := fx.contact(t); ct.Outcome != campaign.OutcomeCompleted || ct.Last.Summary != "" {
		t.Errorf("outcome %q, summary %q; want completed without a summary", ct.Outcome, ct.Last.Summary)
	}
}

func TestUnreadableCallEndsInError(t *testing.T) {
	fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
	// A first run recorded a call id that Get Call does not know (the fake answers 404).
	ref := campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}
	campaigntest.Claim(t, fx.store, ref, "dead")
	if _, err := fx.store.RecordCall(t.Context(), ref, "CC-unknown", "", callStart); err != nil {
		t.Fatal(err)
	}
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	ct := fx.contact(t)
	if ct.Outcome != campaign.OutcomeError || !strings.Contains(ct.Last.Error, "call not found") || fx.api.gets != maxRefusedPolls ||
		!strings.Contains(ct.Last.Error, "List Calls found no call with idempotency key "+fx.c.ID+":1:1 either") {
		t.Errorf("outcome %q (%q) after %d Get Calls; want error after %d", ct.Outcome, ct.Last.Error, fx.api.gets, maxRefusedPolls)
	}
	if len(fx.api.connects) != 0 {
		t.Error("dialed again instead of giving up on the recorded call")
	}
}

// After the API restarts, Get Call answers 404 for a call it placed; the call is found once
// more by its idempotency key, and its real result is recorded instead of error.
func TestCallGetCallForgetsIsFoundByIdempotencyKey(t *testing.T) {
	api := newFakeAPI(interactly.PhoneCompleted)
	api.forget = true
	fx := setup(t, api)
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	ct := fx.contact(t)
	if ct.Outcome != campaign.OutcomeCompleted || ct.Last.CallID != "CC-1" || ct.Last.Summary != "Confirmed for Tuesday." || ct.Last.Error != "" {
		t.Errorf("outcome %q, call %q, summary %q, error %q; want completed CC-1 with its analysis", ct.Outcome, ct.Last.CallID, ct.Last.Summary, ct.Last.Error)
	}
	if api.gets != maxRefusedPolls || len(api.connects) != 1 {
		t.Errorf("%d Get Calls, %d dials; want %d and 1", api.gets, len(api.connects), maxRefusedPolls)
	}
}

// A call that ends while Redis cannot be reached cannot give its slot back at once; the
// release is retried, and the slot is free within seconds of Redis answering again, not when
// its 3-minute lease runs out.
func TestSlotReleaseRetriedUntilRedisAnswers(t *testing.T) {
	fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
	fx.releaseRetried(t, campaign.SlotsKey(fx.c.ID), "slot")
}

// The caller ID's slot of a call that ends while Redis cannot be reached is released again
// once Redis answers, as the campaign's slot is.
func TestCallerIDReleaseRetriedUntilRedisAnswers(t *testing.T) {
	yaml := strings.Replace(testCampaign, "phoneNumberId: num-1", "phoneNumberIds: [{id: num-1, number: \"+14155550100\", maxConcurrentCalls: 2}]", 1)
	fx := setupWith(t, newFakeAPI(interactly.PhoneCompleted), yaml, nil)
	fx.h.cfg.CallerIDs = callerid.New(fx.rdb, fx.h.cfg.Slots)
	fx.releaseRetried(t, callerid.SlotsKey("num-1"), "caller-ID slot")
}

// releaseRetried runs fx's first dial with Redis refusing every ZREM from the moment the call
// is seen to end, and fails the test unless the slot (what) in sorted set key is still held
// while Redis refuses, and free within 10 s of Redis answering again.
func (fx *fixture) releaseRetried(t *testing.T, key, what string) {
	t.Helper()
	outage := &redistest.Outage{Only: "zrem"}            // a slot release
	fx.api.onGet = func(int) { outage.Down.Store(true) } // Redis goes away as the call is seen to end
	fx.rdb.AddHook(outage)
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if n := fx.rdb.ZCard(t.Context(), key).Val(); n != 1 {
		t.Fatalf("%d %ss held while Redis refused the release, want 1", n, what)
	}
	outage.Down.Store(false)
	back := testutil.Now()
	if !testutil.Eventually(10*time.Second, func() bool { return fx.rdb.ZCard(t.Context(), key).Val() == 0 }) {
		t.Fatalf("the %s is still held 10s after Redis answered again", what)
	}
	t.Logf("%s free %v after Redis answered again", what, testutil.Now().Sub(back).Round(time.Millisecond))
}

// downAfterCall is a CallAPI whose Redis goes away for downFor as Connect Call places a call,
// or as List Calls finds one (FindCall): the call exists, and its id cannot be recorded yet.
type downAfterCall struct {
	*fakeAPI
	down    *atomic.Bool
	downFor time.Duration
}

func (d downAfterCall) ConnectCall(ctx context.Context, req *interactly.ConnectCallRequest) (*interactly.Call, error) {
	call, err := d.fakeAPI.ConnectCall(ctx, req)
	d.goDown()
	return call, err
}

func (d downAfterCall) FindCall(ctx context.Context, key string, since time.Time) (*interactly.Call, error) {
	call, err := d.fakeAPI.FindCall(ctx, key, since)
	d.goDown()
	return call, err
}

// downBeforeRetry is a CallAPI whose first Connect Call send is lost (a 504, the call may
// exist) and whose Redis goes away for downFor just then; it sends again, as the client does,
// after the request's Pace lets it.
type downBeforeRetry struct{ downAfterCall }

func (d downBeforeRetry) ConnectCall(ctx context.Context, req *interactly.ConnectCallRequest) (*interactly.Call, error) {
	d.goDown()
	if err := req.Pace(ctx); err != nil {
		return nil, err
	}
	return d.fakeAPI.ConnectCall(ctx, req)
}

func (d downAfterCall) goDown() {
	d.down.Store(true)
	time.AfterFunc(d.downFor, func() { d.down.Store(false) })
}

// A call placed (or found after an interrupted dial) just before Redis becomes unreachable is
// not given up: its id is recorded once Redis answers again, and the same run follows it,
// gives its slot back and records its result. Failing the task instead leaves the slot held,
// with nobody following the call, until asynq runs the task again; while Redis is down asynq
// cannot schedule that retry, and the task waits for its lease to run out (1–2 minutes), the
// call long over.
func TestPlacedCallRecordedOnceRedisAnswers(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	t.Run("Dialed", func(t *testing.T) {
		runRedisAway(t, setup(t, newFakeAPI(interactly.PhoneCompleted)), false)
	})
	t.Run("RetriedSendPacedOnceRedisAnswers", func(t *testing.T) {
		runRedisAway(t, setup(t, newFakeAPI(interactly.PhoneCompleted)), true)
	})
	t.Run("FoundAfterInterruptedDial", func(t *testing.T) {
		fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
		// A first run took the slot, claimed and dialed, and died before recording the call id.
		ref := campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}
		if err := fx.h.cfg.Slots.Hold(t.Context(), campaign.SlotsKey(fx.c.ID), ref.String()); err != nil {
			t.Fatal(err)
		}
		campaigntest.Claim(t, fx.store, ref, "dead")
		_, _ = fx.api.ConnectCall(t.Context(), &interactly.ConnectCallRequest{IdempotencyKey: ref.String()})
		runRedisAway(t, fx, false)
	})
}

// runRedisAway runs fx's first dial with Redis unreachable for 600 ms from the moment the
// call is placed or found (beforeRetry: from a lost first send, before the client's retry
// takes its calls-per-second turn), and checks that the run ends well, the slot given back.
func runRedisAway(t *testing.T, fx *fixture, beforeRetry bool) {
	t.Helper()
	outage := &redistest.Outage{}
	fx.rdb.AddHook(outage)
	// The step fails, and again at its first retry, 250 ms on (see backoff); the second,
	// 750 ms on, finds Redis back.
	d := downAfterCall{fakeAPI: fx.api, down: &outage.Down, downFor: 600 * time.Millisecond}
	fx.h.cfg.API = d
	if beforeRetry {
		fx.h.cfg.API = downBeforeRetry{d}
	}
	if err := fx.process(t, 1); err != nil {
		t.Fatalf("the run failed (%v): the call's slot stays held until asynq runs the task again", err)
	}
	if n := fx.rdb.ZCard(t.Context(), campaign.SlotsKey(fx.c.ID)).Val(); n != 0 {
		t.Errorf("%d slots held after the run, want 0", n)
	}
	if ct := fx.contact(t); ct.Outcome != campaign.OutcomeCompleted || ct.Last.CallID != "CC-1" || len(fx.api.connects) != 1 {
		t.Errorf("outcome %q, call %q after %d dials; want completed, CC-1 after 1", ct.Outcome, ct.Last.CallID, len(fx.api.connects))
	}
}

func TestWaits(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	t.Run("NoSlotFree", func(t *testing.T) {
		fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
		// maxConcurrentCalls is 1, and another call holds it.
		if err := ratelimit.NewSemaphore(fx.rdb, ratelimit.SemaphoreConfig{}).Hold(t.Context(), campaign.SlotsKey(fx.c.ID), "other"); err != nil {
			t.Fatal(err)
		}
		fx.waitsUndialed(t, "without a slot")
	})
	t.Run("CampaignUploading", func(t *testing.T) {
		fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
		fx.rdb.HSet(t.Context(), "dialer:{"+fx.c.ID+"}:campaign", "state", string(campaign.UploadInProgress))
		fx.waitsUndialed(t, "a campaign that is still uploading")
	})
	t.Run("CampaignGone", func(t *testing.T) {
		fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
		if err := fx.store.DeleteCampaign(t.Context(), fx.c.ID); err != nil {
			t.Fatal(err)
		}
		if err := fx.process(t, 1); err != nil || len(fx.api.connects) != 0 {
			t.Errorf("err %v, %d Connect Calls; want the task dropped", err, len(fx.api.connects))
		}
	})
}

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		name   string
		status interactly.CallStatus
		phone  interactly.PhoneCallStatus
		want   campaign.Outcome
	}{
		{"completed", interactly.CallFinished, interactly.PhoneCompleted, campaign.OutcomeCompleted},
		{"busy", interactly.CallFinished, interactly.PhoneBusy, campaign.OutcomeBusy},
		{"no answer", interactly.CallFinished, interactly.PhoneNoAnswer, campaign.OutcomeNoAnswer},
		{"failed", interactly.CallFinished, interactly.PhoneFailed, campaign.OutcomeFailed},
		{"forwarded wins", interactly.CallForwarded, interactly.PhoneCompleted, campaign.OutcomeForwarded},
		// The reference's own sample pairs finished with ringing: never retry a maybe-answered call.
		{"finished while ringing", interactly.CallFinished, interactly.PhoneRinging, campaign.OutcomeCompleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OutcomeOf(&interactly.Call{Status: tt.status, PhoneCallStatus: tt.phone})
			if got != tt.want {
				t.Errorf("outcomeOf(%s, %s) = %s, want %s", tt.status, tt.phone, got, tt.want)
			}
		})
	}
}

// TestStaleTurnRetaken: a dial whose calls-per-second turn is older than half the headroom's
// slack when it is sent (here a headroom so small that any check outlasts it) takes fresh
// turns before Connect Call, so that it reaches Interactly at about the moment its turn was
// granted; its campaign's rate then grants it two turns for its one send.
func TestStaleTurnRetaken(t *testing.T) {
	fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
	fx.h.cfg.RateHeadroom = 1e-9 // half of it is 0.5 ns: every turn is stale at the send
	grants := &grantCounter{key: campaign.RateKey(fx.c)}
	fx.rdb.AddHook(grants)
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(fx.api.connects); n != 1 {
		t.Fatalf("%d Connect Calls, want 1", n)
	}
	if n := grants.n.Load(); n != 2 {
		t.Errorf("the campaign's rate granted %d turns for one send whose first turn went stale, want 2", n)
	}
	if fx.api.paced.Load() != 1 {
		t.Errorf("Connect Call paced %d times, want 1", fx.api.paced.Load())
	}
}

// TestTurnsTakenTogether: a dial takes its campaign's and its account's calls-per-second
// turns together or not at all. One whose campaign's next turn is 10 s off parks, after
// TokenWait, without taking the account's turn, which stays for the account's other
// campaigns; taken one after the other, the account's turn would have been spent on it.
func TestTurnsTakenTogether(t *testing.T) {
	fx := setupWith(t, newFakeAPI(interactly.PhoneCompleted), strings.Replace(testCampaign, "callsPerSecond: 50", "callsPerSecond: 0.1", 1), nil)
	accounts := account.NewStore(fx.rdb)
	if err := accounts.Set(t.Context(), account.Account{Name: account.Default, CallsPerSecond: 4}); err != nil {
		t.Fatal(err)
	}
	fx.h.cfg.Accounts = accounts
	fx.h.cfg.TokenWait = 100 * time.Millisecond
	// Another dial just took the campaign's turn.
	if _, err := fx.h.cfg.Limiter.Wait(t.Context(), campaign.RateKey(fx.c), 0.1); err != nil {
		t.Fatal(err)
	}
	grants := &grantCounter{key: account.RateKey(account.Default)}
	fx.rdb.AddHook(grants)

	var later *queue.RetryLaterError
	if err := fx.process(t, 1); !errors.As(err, &later) {
		t.Fatalf("err = %v, want a *queue.RetryLaterError: the dial parked", err)
	}
	if n := len(fx.api.connects); n != 0 {
		t.Errorf("%d Connect Calls without the campaign's turn, want 0", n)
	}
	if n := grants.n.Load(); n != 0 {
		t.Errorf("the account's rate granted %d turns to a dial that parked, want 0", n)
	}
}

// grantCounter is a go-redis hook that counts the turns a Limiter granted on key.
type grantCounter struct {
	key string
	n   atomic.Int32
}

func (g *grantCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *grantCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if ratelimit.Granted(cmd, g.key) {
			g.n.Add(1)
		}
		return err
	}
}

func (g *grantCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
