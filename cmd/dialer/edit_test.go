package main

import (
	"errors"
	"os/user"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
)

func TestEditRetryRedialSkip(t *testing.T) {
	rdb, e, stdout, _ := redisEnv(t)
	ctx := t.Context()
	dir := t.TempDir()
	run := mustRunner(t, e, stdout)
	out := strings.Fields(run("upload", "--campaign", writeFile(t, dir, "c.yaml", fastCampaign), "--contacts", writeFile(t, dir, "c.csv", fastContacts)))
	id := out[len(out)-1]
	store := campaign.NewStore(rdb)

	got := run("edit", id, "rateLimit.callsPerSecond=0.5", "priority=3", "retry.retryOn=[busy, failed]", "callingWindow={start: '09:00', end: '18:00', timezone: America/Chicago}")
	for _, want := range []string{"priority: (none) -> 3", "rateLimit.callsPerSecond: 20 -> 0.5", `retry.retryOn: ["busy","no-answer"] -> ["busy","failed"]`, `callingWindow.end: (none) -> "18:00"`} {
		if !strings.Contains(got, want) {
			t.Errorf("edit printed %q; want a line %q", got, want)
		}
	}
	c, err := store.Campaign(ctx, id)
	if err != nil || c.File.RateLimit.CallsPerSecond != 0.5 || c.File.Priority != 3 || c.File.CallingWindow == nil || c.File.CallingWindow.End != "18:00" {
		t.Fatalf("stored after edit: %+v, %v", c, err)
	}
	changes := writeFile(t, dir, "changes.yaml", "rateLimit:\n  maxConcurrentCalls: 2\ncallingWindow: null\n")
	if got := run("edit", id, "--file", changes); !strings.Contains(got, "rateLimit.maxConcurrentCalls: 5 -> 2") || !strings.Contains(got, `callingWindow.start: "09:00" -> (none)`) {
		t.Errorf("edit --file printed %q", got)
	}
	err = dispatch(ctx, e, []string{"edit", id, "retry.maxAttempts=0"})
	var fe *campaign.FileError
	if !errors.As(err, &fe) || err.Error() != "retry.maxAttempts: must be between 1 and 10, got 0" {
		t.Errorf("edit to maxAttempts 0 = %v, want the campaign file's message", err)
	}
	for _, args := range [][]string{{"edit", id}, {"edit", id, "priority"}, {"edit", id, "--file", changes, "priority=1"}} {
		if err := dispatch(ctx, e, args); !errors.Is(err, errUsage) {
			t.Errorf("dialer %s = %v, want a usage error", strings.Join(args, " "), err)
		}
	}

	// Ann (row 1) ends no-answer; a retry gives her attempt 2. Bob (row 2) is skipped.
	campaigntest.EndAttempt(t, store, campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: 1}, campaign.Result{Outcome: campaign.OutcomeNoAnswer})
	if got := run("retry", id, "--outcome", "no-answer,failed"); !strings.Contains(got, "1 contact gets another attempt, due now (no-answer 1)") {
		t.Errorf("retry printed %q", got)
	}
	if err := dispatch(ctx, e, []string{"retry", id, "--outcome", "duplicate"}); !errors.Is(err, errUsage) {
		t.Errorf("retry of duplicates = %v, want a usage error", err)
	}
	if got := run("redial", id, "1"); !strings.Contains(got, "attempt 2 is due now") {
		t.Errorf("redial printed %q", got)
	}
	if got := run("skip", id, "2"); !strings.Contains(got, "contact 2 of campaign "+id+" skipped") {
		t.Errorf("skip printed %q", got)
	}
	var cse *campaign.ContactStateError
	if err := dispatch(ctx, e, []string{"skip", id, "2"}); !errors.As(err, &cse) {
		t.Errorf("a second skip = %v, want a *ContactStateError", err)
	}
	run("pause", id)
	run("resume", id)
	run("cancel", id)

	// Every change above is in the audit log, as the local user.
	entries, _, err := audit.New(rdb).List(ctx, audit.ListOptions{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
		if !strings.HasPrefix(en.Actor, "cli") || en.Source != "cli" || en.Target != id || en.Result != "ok" {
			t.Errorf("audit entry %+v", en)
		}
	}
	want := []string{"campaign cancel", "campaign resume", "campaign pause", "contact skip", "contact redial", "campaign retry", "campaign edit", "campaign edit"}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("audit actions, newest first (-want +got):\n%s", diff)
	}
	if u, err := user.Current(); err == nil && entries[0].Actor != "cli:"+u.Username {
		t.Errorf("actor %q, want cli:%s", entries[0].Actor, u.Username)
	}
	if d := entries[len(entries)-1].Detail; !strings.Contains(d, "rateLimit.callsPerSecond: 20 -> 0.5") {
		t.Errorf("the edit's audit detail %q does not say what changed", d)
	}
}
