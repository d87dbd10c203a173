package campaigntest

import (
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
)

const testDB = 19

// setup stores a campaign of two dialable contacts in a clean database; their first
// attempts wait in its hopper (Upload with no Enqueuer).
func setup(t *testing.T) (*campaign.Store, string) {
	t.Helper()
	rdb, _ := redistest.Setup(t, testDB)
	store := campaign.NewStore(rdb)
	f := File(t, "")
	open := func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("phone\n+14155550101\n+14155550102\n")), nil
	}
	c, err := store.Upload(t.Context(), f, "c.csv", open, nil, campaign.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return store, c.ID
}

// TestEndAttempt: each contact gets its attempt's outcome, the last one finishes the
// campaign, and ending a finished contact again fails the test.
func TestEndAttempt(t *testing.T) {
	store, id := setup(t)
	ann := campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: 1}
	if f := EndAttempt(t, store, ann, campaign.Result{Outcome: campaign.OutcomeNoAnswer, CallID: "CC-1"}); f != campaign.FinalizedNow {
		t.Errorf("EndAttempt of the first contact = %v, want FinalizedNow", f)
	}
	ct, err := store.Contact(t.Context(), id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Outcome != campaign.OutcomeNoAnswer || ct.Attempts != 1 || ct.Last.CallID != "CC-1" {
		t.Errorf("contact 1: outcome %q, %d attempts, call %q; want no-answer, 1, CC-1", ct.Outcome, ct.Attempts, ct.Last.CallID)
	}
	bob := campaign.AttemptRef{CampaignID: id, ContactID: 2, Attempt: 1}
	if f := EndAttempt(t, store, bob, campaign.Result{Outcome: campaign.OutcomeCompleted}); f != campaign.FinalizedCampaign {
		t.Errorf("EndAttempt of the last contact = %v, want FinalizedCampaign", f)
	}
	if st, err := store.Status(t.Context(), id); err != nil || st.State != campaign.StateDone {
		t.Errorf("campaign after its last outcome: %v, %v; want done", st.State, err)
	}

	again := campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: 2}
	if !fails(t, func(tb testing.TB) { EndAttempt(tb, store, again, campaign.Result{Outcome: campaign.OutcomeBusy}) }) {
		t.Error("EndAttempt of a contact that has its outcome did not fail the test")
	}
}

// TestClaimFinish: Claim takes an attempt once, Finish returns the result that stands, and
// neither gives the contact an outcome.
func TestClaimFinish(t *testing.T) {
	store, id := setup(t)
	ref := campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: 1}
	Claim(t, store, ref, "w1")
	if !fails(t, func(tb testing.TB) { Claim(tb, store, ref, "w2") }) {
		t.Error("a second Claim of one attempt did not fail the test")
	}
	first := campaign.Result{Outcome: campaign.OutcomeBusy, CallID: "CC-1"}
	if got := Finish(t, store, ref, first); got.Outcome != first.Outcome || got.CallID != first.CallID {
		t.Errorf("Finish = %+v, want %+v", got, first)
	}
	if got := Finish(t, store, ref, campaign.Result{Outcome: campaign.OutcomeCompleted, CallID: "CC-1"}); got.Outcome != campaign.OutcomeBusy {
		t.Errorf("a second Finish = outcome %q, want the first result's busy", got.Outcome)
	}
	ct, err := store.Contact(t.Context(), id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Outcome != "" || ct.Attempts != 1 {
		t.Errorf("contact after Claim and Finish: outcome %q, %d attempts; want none, 1", ct.Outcome, ct.Attempts)
	}

	if err := store.Pause(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	next := campaign.AttemptRef{CampaignID: id, ContactID: 2, Attempt: 1}
	if !fails(t, func(tb testing.TB) { Claim(tb, store, next, "w1") }) {
		t.Error("Claim in a paused campaign did not fail the test")
	}
}

// fails reports whether f failed the test it was handed: a stand-in for t whose Fatalf
// records the failure and ends f's goroutine, as testing.T's FailNow does.
func fails(t *testing.T, f func(testing.TB)) bool {
	rec := &failRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	return rec.failed
}

type failRecorder struct {
	testing.TB
	failed bool
}

func (r *failRecorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.Logf("failed as expected: "+format, args...)
	runtime.Goexit()
}
