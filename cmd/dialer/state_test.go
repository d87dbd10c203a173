package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/testutil"
)

// enqueueSpy calls before at the first dial it enqueues, while the upload is under way.
type enqueueSpy struct {
	q      *queue.Client
	once   sync.Once
	before func()
}

func (s *enqueueSpy) EnqueueDial(ctx context.Context, ref campaign.AttemptRef, at time.Time) error {
	s.once.Do(s.before)
	return s.q.EnqueueDial(ctx, ref, at)
}

// TestStateLifeCycle follows `status --json`, `status` and `list` through a campaign's
// whole life: upload → running → paused → running → done, and another's running →
// canceling → canceled, with the refusals of actions that mean nothing on the way.
func TestStateLifeCycle(t *testing.T) {
	rdb, e, stdout, _ := redisEnv(t)
	_, campaignPath, contactsPath := fastFiles(t)
	store := campaign.NewStore(rdb)
	run := mustRunner(t, e, stdout)
	// state reads the state from all three outputs and fails unless they agree.
	state := func(id string) campaign.State {
		t.Helper()
		var st struct {
			State campaign.State `json:"state"`
		}
		if err := json.Unmarshal([]byte(run("status", id, "--json")), &st); err != nil {
			t.Fatalf("status --json: %v", err)
		}
		if first := strings.SplitN(run("status", id), "\n", 2)[0]; !strings.HasSuffix(first, ": "+string(st.State)) {
			t.Errorf("status says %q; status --json says %q", first, st.State)
		}
		var list []campaign.Status
		if err := json.Unmarshal([]byte(run("list", "--json")), &list); err != nil {
			t.Fatalf("list --json: %v", err)
		}
		for _, l := range list {
			if l.CampaignID == id && l.State != st.State {
				t.Errorf("list --json says %q; status --json says %q", l.State, st.State)
			}
		}
		for _, line := range strings.Split(run("list"), "\n") {
			if strings.HasPrefix(line, id) && !strings.Contains(line, " "+string(st.State)+" ") {
				t.Errorf("list line %q; status --json says %q", line, st.State)
			}
		}
		return st.State
	}
	refuse := func(want string, args ...string) {
		t.Helper()
		stdout.Reset()
		err := dispatch(t.Context(), e, args)
		if err == nil || err.Error() != want || exitCode(err) != 1 {
			t.Errorf("dialer %s = %v (exit %d); want %q, exit 1", strings.Join(args, " "), err, exitCode(err), want)
		}
	}

	f, err := campaign.ParseFile(campaignPath)
	if err != nil {
		t.Fatal(err)
	}
	id := campaign.NewCampaignID(testutil.Now())
	var during campaign.State
	q := queue.NewClient(rdb)
	defer q.Close()
	open := func() (io.ReadCloser, error) { return os.Open(contactsPath) }
	spy := &enqueueSpy{q: q, before: func() { during = state(id) }}
	if _, err := store.Upload(t.Context(), f, contactsPath, open, spy, campaign.UploadOptions{ID: id}); err != nil {
		t.Fatal(err)
	}
	if during != campaign.StateUploading {
		t.Errorf("state during the upload = %q, want uploading", during)
	}
	if got := state(id); got != campaign.StateRunning {
		t.Errorf("state after the upload = %q, want running", got)
	}
	refuse("campaign "+id+" is running, not paused; nothing to resume", "resume", id)

	run("pause", id)
	if got := state(id); got != campaign.StatePaused {
		t.Errorf("state after pause = %q, want paused", got)
	}
	refuse("campaign "+id+" is paused already; nothing to pause", "pause", id)
	if out := run("resume", id); !strings.Contains(out, "resumed; 0 held dials are queued again") {
		t.Errorf("resume printed %q", out)
	}
	if got := state(id); got != campaign.StateRunning {
		t.Errorf("state after resume = %q, want running", got)
	}

	// Rows 1 and 2 are the dialable ones; a worker gives them their outcomes.
	for n := 1; n <= 2; n++ {
		if _, err := store.Finalize(t.Context(), id, n, campaign.OutcomeCompleted, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := state(id); got != campaign.StateDone {
		t.Errorf("state once every row has its outcome = %q, want done", got)
	}
	refuse("campaign "+id+" is done; nothing to cancel", "cancel", id)
	refuse("campaign "+id+" is done; nothing to pause", "pause", id)
	refuse("campaign "+id+" is done; nothing to resume", "resume", id)
	if got := state(id); got != campaign.StateDone {
		t.Errorf("state after the refused actions = %q, want done still", got)
	}

	// Another campaign is canceled while one of its calls is live.
	id2 := strings.TrimSpace(run("upload", "--campaign", campaignPath, "--contacts", contactsPath))
	id2 = id2[strings.LastIndex(id2, "\n")+1:]
	campaigntest.Claim(t, store, campaign.AttemptRef{CampaignID: id2, ContactID: 1, Attempt: 1}, "test")
	if out := run("cancel", id2); !strings.Contains(out, "1 contact canceled") {
		t.Errorf("cancel printed %q", out)
	}
	if got := state(id2); got != campaign.StateCanceling {
		t.Errorf("state after cancel with a call under way = %q, want canceling", got)
	}
	refuse("campaign "+id2+" is canceling; a cancel is final, there is nothing to pause", "pause", id2)
	if _, err := store.Finalize(t.Context(), id2, 1, campaign.OutcomeCompleted, ""); err != nil {
		t.Fatal(err)
	}
	if got := state(id2); got != campaign.StateCanceled {
		t.Errorf("state once the last call ended = %q, want canceled", got)
	}
	refuse("campaign "+id2+" is canceled already; nothing to cancel", "cancel", id2)
	refuse("campaign "+id2+" is canceled; a cancel is final, there is nothing to resume", "resume", id2)
}

// TestStateScheduled: a campaign whose startAt lies ahead is scheduled, and says when it starts.
func TestStateScheduled(t *testing.T) {
	_, e, stdout, _ := redisEnv(t)
	dir := t.TempDir()
	start := testutil.Now().Add(36 * time.Hour).UTC().Truncate(time.Second)
	campaignPath := writeFile(t, dir, "c.yaml", fastCampaign+"startAt: "+start.Format(time.RFC3339)+"\n")
	contactsPath := writeFile(t, dir, "c.csv", fastContacts)
	if err := dispatch(t.Context(), e, []string{"upload", "--campaign", campaignPath, "--contacts", contactsPath}); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(stdout.String())
	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"status", id, "--json"}); err != nil {
		t.Fatal(err)
	}
	var st campaign.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.State != campaign.StateScheduled || !st.StartAt.Equal(start) {
		t.Errorf("status --json: state %q, startAt %s; want scheduled, %s", st.State, st.StartAt, start)
	}
	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"status", id}); err != nil {
		t.Fatal(err)
	}
	want := "starts     " + start.Format(time.RFC3339) + "; nothing is dialed before"
	if !strings.Contains(stdout.String(), ": scheduled\n") || !strings.Contains(stdout.String(), want) {
		t.Errorf("status =\n%s\nwant scheduled and %q", stdout, want)
	}
	if err := dispatch(t.Context(), e, []string{"pause", id}); err != nil {
		t.Errorf("pause of a scheduled campaign: %v", err)
	}
}

// TestPrintStatusCounts: the rows line counts what the upload found, the suppressed outcome
// says which of its rows were suppressed later, and no empty outcomes heading is printed.
func TestPrintStatusCounts(t *testing.T) {
	var b strings.Builder
	st := &campaign.Status{CampaignID: "c1", Name: "n", State: campaign.StateRunning, Total: 1, Dialable: 1, Outcomes: map[campaign.Outcome]int{}}
	printStatus(&b, st)
	for _, want := range []string{"rows       1 row at upload: 1 dialable,", "finished   0 of 1 row\n", "outcomes   none yet\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status before any outcome =\n%s\nwant it to hold %q", &b, want)
		}
	}
	b.Reset()
	st = &campaign.Status{
		CampaignID: "c1", Name: "n", State: campaign.StatePaused, Held: 1, Total: 5, Dialable: 3, Suppressed: 2, Finished: 4,
		Outcomes: map[campaign.Outcome]int{campaign.OutcomeSuppressed: 3, campaign.OutcomeCompleted: 1},
	}
	printStatus(&b, st)
	for _, want := range []string{"paused     1 dial held;", "2 suppressed\n", "  suppressed 3 (2 at upload, 1 suppressed during the run)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status =\n%s\nwant it to hold %q", &b, want)
		}
	}
}
