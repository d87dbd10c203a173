package operator

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// dialable returns the contacts of campaign id that were not refused at upload.
func dialable(tb testing.TB, op *Operator, id string, rows int) []int {
	tb.Helper()
	cs, err := op.Store().Contacts(tb.Context(), id, 1, rows)
	if err != nil {
		tb.Fatal(err)
	}
	var out []int
	for _, c := range cs {
		if c.Number != "" && c.Outcome == "" {
			out = append(out, c.ID)
		}
	}
	return out
}

// mustDial records attempt a of contact n as dialed and ended with outcome o and, when
// final, as the contact's final outcome.
func mustDial(tb testing.TB, op *Operator, id string, n, a int, o campaign.Outcome, final bool) {
	tb.Helper()
	ref := campaign.AttemptRef{CampaignID: id, ContactID: n, Attempt: a}
	r := campaign.Result{Outcome: o, CallID: "call-" + strconv.Itoa(n)}
	if final {
		campaigntest.EndAttempt(tb, op.Store(), ref, r)
		return
	}
	campaigntest.Claim(tb, op.Store(), ref, "w")
	campaigntest.Finish(tb, op.Store(), ref, r)
}

func TestEdit(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	op := New(rdb, Config{Now: testutil.Now})
	t.Cleanup(func() { op.Close() })
	ctx := t.Context()
	f := mustExample(t)
	f.DefaultTimezone = "America/New_York"
	f.CallingWindow = &campaign.CallingWindowConfig{Start: "09:00", End: "17:00", Timezone: campaign.TimezoneContact}
	c, err := op.Upload(ctx, f, "example.csv", openExample, UploadOptions{ID: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	ds := dialable(t, op, c.ID, c.Rows)

	res, err := op.Edit(ctx, c.ID, map[string]any{"rateLimit": map[string]any{"callsPerSecond": 0.5}, "priority": 5})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"priority: (none) -> 5", "rateLimit.callsPerSecond: 2 -> 0.5"}
	if diff := cmp.Diff(want, res.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	got, err := op.Store().Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.File.RateLimit.CallsPerSecond != 0.5 || got.File.RateLimit.MaxConcurrentCalls != 5 || got.File.Priority != 5 {
		t.Errorf("stored after the edit: version %d, rateLimit %+v, priority %d", got.Version, got.File.RateLimit, got.File.Priority)
	}
	if vs, err := op.Store().Versions(ctx, []string{c.ID, "nope"}); err != nil || !cmp.Equal(vs, []int64{1, -1}) {
		t.Errorf("Versions = %v, %v; want [1 -1]", vs, err)
	}
	if res, err := op.Edit(ctx, c.ID, map[string]any{"priority": 5}); err != nil || len(res.Changes) != 0 {
		t.Errorf("an edit that changes nothing: %v, %v", res.Changes, err)
	}

	var fe *campaign.FileError
	if _, err := op.Edit(ctx, c.ID, map[string]any{"retry": map[string]any{"maxAttempts": 11}}); !errors.As(err, &fe) || fe.Key != "retry.maxAttempts" {
		t.Errorf("maxAttempts 11: %v, want a *FileError of retry.maxAttempts", err)
	}
	past := testutil.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if _, err := op.Edit(ctx, c.ID, map[string]any{"endAt": past}); !errors.Is(err, ErrEndAtPassed) {
		t.Errorf("endAt passed: %v, want ErrEndAtPassed", err)
	}

	// A contact waiting for the old window is woken when the window changes; a retry parked
	// past a new, earlier endAt becomes due at it.
	s := op.Store()
	later := testutil.Now().Add(6 * time.Hour)
	if err := s.WaitForWindow(ctx, c.ID, ds[0], later); err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: c.ID, ContactID: ds[0], Attempt: 1}, later); err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: c.ID, ContactID: ds[1], Attempt: 1}, testutil.Now().Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	end := testutil.Now().Add(24 * time.Hour).Truncate(time.Second)
	res, err = op.Edit(ctx, c.ID, map[string]any{"callingWindow": map[string]any{"end": "20:00"}, "endAt": end.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Woken != 1 || res.DueAtEnd != 1 {
		t.Errorf("woken %d and due at the end %d, want 1 and 1", res.Woken, res.DueAtEnd)
	}
	hopper := "dialer:{" + c.ID + "}:hopper"
	if at := rdb.ZScore(ctx, hopper, strconv.Itoa(ds[0])+":1").Val(); at > float64(testutil.Now().UnixMilli()+1) {
		t.Errorf("the waiting contact is due at %v, want now", time.UnixMilli(int64(at)))
	}
	if at := rdb.ZScore(ctx, hopper, strconv.Itoa(ds[1])+":1").Val(); at != float64(end.UnixMilli()) {
		t.Errorf("the retry past endAt is due at %v, want %v", time.UnixMilli(int64(at)), end)
	}

	if _, err := op.Cancel(ctx, c.ID, false); err != nil {
		t.Fatal(err)
	}
	var se *campaign.StateError
	if _, err := op.Edit(ctx, c.ID, map[string]any{"priority": 1}); !errors.As(err, &se) {
		t.Errorf("edit of a canceled campaign: %v, want a *StateError", err)
	}
	if _, err := op.Edit(ctx, "nope", map[string]any{"priority": 1}); !errors.Is(err, campaign.ErrCampaignNotFound) {
		t.Errorf("edit of no campaign: %v", err)
	}
}

func TestRetryRedialSkip(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	op := New(rdb, Config{Now: testutil.Now})
	t.Cleanup(func() { op.Close() })
	ctx, s := t.Context(), op.Store()
	c, err := op.Upload(ctx, mustExample(t), "example.csv", openExample, UploadOptions{ID: "cr"})
	if err != nil {
		t.Fatal(err)
	}
	ds := dialable(t, op, c.ID, c.Rows)
	invalid := 0
	for n := 1; n <= c.Rows; n++ {
		if ct, _ := s.Contact(ctx, c.ID, n); ct.Outcome == campaign.OutcomeInvalid {
			invalid = n
			break
		}
	}
	hopper := "dialer:{" + c.ID + "}:hopper"
	parked := func(n, a int) bool {
		return rdb.ZScore(ctx, hopper, strconv.Itoa(n)+":"+strconv.Itoa(a)).Err() == nil
	}

	mustDial(t, op, c.ID, ds[0], 1, campaign.OutcomeNoAnswer, true)
	mustDial(t, op, c.ID, ds[1], 1, campaign.OutcomeFailed, true)
	mustDial(t, op, c.ID, ds[2], 1, campaign.OutcomeCompleted, true)
	rdb.ZRem(ctx, hopper, strconv.Itoa(ds[0])+":1", strconv.Itoa(ds[1])+":1", strconv.Itoa(ds[2])+":1")

	if _, err := campaign.ParseRetryOutcomes("invalid"); err == nil {
		t.Error("retrying invalid rows is allowed")
	}
	res, err := op.Retry(ctx, c.ID, []campaign.Outcome{campaign.OutcomeNoAnswer, campaign.OutcomeFailed})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(campaign.RetryResult{Contacts: 2, ByOutcome: map[campaign.Outcome]int{"no-answer": 1, "failed": 1}}, res); diff != "" {
		t.Errorf("retry (-want +got):\n%s", diff)
	}
	ct, _ := s.Contact(ctx, c.ID, ds[0])
	if ct.Outcome != "" || ct.NextAttempt != 2 || !parked(ds[0], 2) {
		t.Errorf("retried contact: outcome %q, next attempt %d, parked %v; want none, 2, true", ct.Outcome, ct.NextAttempt, parked(ds[0], 2))
	}
	if res, _ := op.Retry(ctx, c.ID, []campaign.Outcome{campaign.OutcomeNoAnswer}); res.Contacts != 0 {
		t.Errorf("a second retry gave %d contacts another attempt, want 0", res.Contacts)
	}
	st, _ := s.Status(ctx, c.ID)
	if st.Outcomes[campaign.OutcomeNoAnswer] != 0 || st.Outcomes[campaign.OutcomeCompleted] != 1 {
		t.Errorf("outcomes after the retry: %v", st.Outcomes)
	}

	// Redial: a finished contact gets a new attempt; one in progress is moved to now; one
	// never dialed, or under way, is refused.
	if r, err := op.Redial(ctx, c.ID, ds[2]); err != nil || r != (campaign.RedialResult{Attempt: 2, Retried: campaign.OutcomeCompleted}) {
		t.Errorf("redial of a completed contact: %+v, %v", r, err)
	}
	if err := s.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: c.ID, ContactID: ds[3], Attempt: 1}, testutil.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r, err := op.Redial(ctx, c.ID, ds[3]); err != nil || r.Attempt != 1 || r.Retried != "" {
		t.Errorf("redial of a waiting contact: %+v, %v", r, err)
	}
	if at := rdb.ZScore(ctx, hopper, strconv.Itoa(ds[3])+":1").Val(); at > float64(testutil.Now().UnixMilli()+1) {
		t.Errorf("redialed contact due at %v, want now", time.UnixMilli(int64(at)))
	}
	var cse *campaign.ContactStateError
	if _, err := op.Redial(ctx, c.ID, invalid); !errors.As(err, &cse) {
		t.Errorf("redial of an invalid row: %v", err)
	}
	if _, err := op.Redial(ctx, c.ID, 999); !errors.Is(err, campaign.ErrContactNotFound) {
		t.Errorf("redial of no row: %v", err)
	}
	campaigntest.Claim(t, s, campaign.AttemptRef{CampaignID: c.ID, ContactID: ds[4], Attempt: 1}, "w1")
	if _, err := op.Redial(ctx, c.ID, ds[4]); !errors.As(err, &cse) {
		t.Errorf("redial of a contact being dialed: %v", err)
	}

	// Skip: no dial, the outcome canceled, out of the hopper; a claim then refuses it.
	if err := op.Skip(ctx, c.ID, ds[5]); err != nil {
		t.Fatal(err)
	}
	ct, _ = s.Contact(ctx, c.ID, ds[5])
	if ct.Outcome != campaign.OutcomeCanceled || ct.Last.Error != campaign.SkippedReason || parked(ds[5], 1) {
		t.Errorf("skipped contact: outcome %q, error %q, parked %v", ct.Outcome, ct.Last.Error, parked(ds[5], 1))
	}
	if _, err := s.ClaimAttempt(ctx, campaign.AttemptRef{CampaignID: c.ID, ContactID: ds[5], Attempt: 1}, "w1", campaign.Audit{}); !errors.Is(err, campaign.ErrContactFinished) {
		t.Errorf("claim of a skipped contact: %v, want ErrContactFinished", err)
	}
	if err := op.Skip(ctx, c.ID, ds[5]); !errors.As(err, &cse) {
		t.Errorf("skip of a finished contact: %v", err)
	}
	if err := op.Skip(ctx, c.ID, ds[4]); !errors.As(err, &cse) {
		t.Errorf("skip of a contact being dialed: %v", err)
	}

	// A done campaign runs again after a retry, and is done once more at its end.
	for _, n := range dialable(t, op, c.ID, c.Rows) {
		o := campaign.OutcomeNoAnswer
		if n == ds[4] { // claimed above: its attempt 1 ends busy
			o = campaign.OutcomeBusy
			campaigntest.Finish(t, s, campaign.AttemptRef{CampaignID: c.ID, ContactID: n, Attempt: 1}, campaign.Result{Outcome: o})
		}
		if _, err := s.Finalize(ctx, c.ID, n, o, ""); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := s.Status(ctx, c.ID); st.State != campaign.StateDone {
		t.Fatalf("state %s, want done", st.State)
	}
	var se *campaign.StateError
	if _, err := op.Edit(ctx, c.ID, map[string]any{"priority": 1}); !errors.As(err, &se) {
		t.Errorf("edit of a done campaign: %v", err)
	}
	if err := s.Retire(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	res, err = op.Retry(ctx, c.ID, []campaign.Outcome{campaign.OutcomeBusy})
	if err != nil || res.Contacts != 1 {
		t.Fatalf("retry busy of a done campaign: %+v, %v", res, err)
	}
	if st, _ := s.Status(ctx, c.ID); st.State != campaign.StateRunning || st.Done {
		t.Errorf("after a retry the campaign is %s (done %v), want running", st.State, st.Done)
	}
	if ids, _ := s.ActiveCampaigns(ctx); !cmp.Equal(ids, []string{c.ID}) {
		t.Errorf("active campaigns %v: the feeder would not see the retried one", ids)
	}
	if ct, _ := s.Contact(ctx, c.ID, ds[4]); ct.NextAttempt != 2 || !parked(ds[4], 2) {
		t.Errorf("the busy contact's next attempt is %d, want 2 (attempt 1 was dialed)", ct.NextAttempt)
	}

	if _, err := op.Cancel(ctx, c.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := op.Retry(ctx, c.ID, []campaign.Outcome{campaign.OutcomeNoAnswer}); !errors.As(err, &se) {
		t.Errorf("retry of a canceled campaign: %v, want a *StateError", err)
	}
}
