package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/campaign"
)

// TestArchiveDeleteReport walks a campaign's end of life through the CLI: delete is refused
// while it is live, archive writes it to a directory, delete removes it once done, and report
// (and report --rejected) reads it back from the archive; delete --force cancels a live campaign and removes it.
func TestArchiveDeleteReport(t *testing.T) {
	rdb, e, stdout, _ := redisEnv(t)
	ctx := t.Context()
	dir, campaignPath, contactsPath := fastFiles(t)
	upload := func() string {
		t.Helper()
		stdout.Reset()
		if err := dispatch(ctx, e, []string{"upload", "--campaign", campaignPath, "--contacts", contactsPath}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		return lines[len(lines)-1]
	}
	id := upload()

	err := dispatch(ctx, e, []string{"delete", id})
	if err == nil || !strings.Contains(err.Error(), "is live") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("delete of a live campaign = %v, want a refusal naming --force", err)
	}
	store := campaign.NewStore(rdb)
	for n := 1; n <= 2; n++ {
		if _, err := store.Finalize(ctx, id, n, campaign.OutcomeCompleted, ""); err != nil {
			t.Fatal(err)
		}
	}
	want := filepath.Join(dir, "want.csv")
	if err := dispatch(ctx, e, []string{"report", id, "--out", want}); err != nil {
		t.Fatal(err)
	}
	wantRejected := filepath.Join(dir, "want-rejected.csv")
	if err := dispatch(ctx, e, []string{"report", id, "--rejected", "--out", wantRejected}); err != nil {
		t.Fatal(err)
	}

	archiveDir := filepath.Join(dir, "archive")
	stdout.Reset()
	if err := dispatch(ctx, e, []string{"archive", id, "--to", archiveDir}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "report.csv.gz") || !strings.Contains(stdout.String(), "sha256") {
		t.Errorf("archive printed %q", stdout.String())
	}
	if err := dispatch(ctx, e, []string{"delete", id}); err != nil {
		t.Fatal(err)
	}
	if err := dispatch(ctx, e, []string{"status", id}); err == nil {
		t.Error("status of a deleted campaign succeeded")
	}
	got := filepath.Join(dir, "got.csv")
	if err := dispatch(ctx, e, []string{"report", id, "--out", got}); err != nil {
		t.Fatalf("report of an archived, deleted campaign: %v", err)
	}
	wantBody, _ := os.ReadFile(want)
	gotBody, _ := os.ReadFile(got)
	if string(gotBody) != string(wantBody) || len(wantBody) == 0 {
		t.Errorf("report from the archive:\n%s\nwant:\n%s", gotBody, wantBody)
	}
	gotRejected := filepath.Join(dir, "got-rejected.csv")
	if err := dispatch(ctx, e, []string{"report", id, "--rejected", "--out", gotRejected}); err != nil {
		t.Fatalf("report --rejected of an archived, deleted campaign: %v", err)
	}
	wantBody, _ = os.ReadFile(wantRejected)
	gotBody, _ = os.ReadFile(gotRejected)
	if string(gotBody) != string(wantBody) || !strings.Contains(string(wantBody), "not a number") {
		t.Errorf("rejected rows from the archive:\n%s\nwant:\n%s", gotBody, wantBody)
	}

	stdout.Reset()
	if err := dispatch(ctx, e, []string{"audit", "--limit", "2"}); err != nil {
		t.Fatal(err)
	}
	if out := stdout.String(); !strings.Contains(out, "campaign delete") || !strings.Contains(out, "campaign archive") || !strings.Contains(out, id) {
		t.Errorf("audit log after archive and delete:\n%s", out)
	}

	live := upload()
	stdout.Reset()
	if err := dispatch(ctx, e, []string{"delete", live, "--force"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "canceled: 2 contacts canceled") || !strings.Contains(stdout.String(), "deleted from Redis, with 2 queued tasks") {
		t.Errorf("delete --force printed %q", stdout.String())
	}
	if n := rdb.Exists(ctx, "dialer:{"+live+"}:campaign").Val(); n != 0 {
		t.Error("the forced campaign is still in Redis")
	}
}
