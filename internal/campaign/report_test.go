package campaign

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/google/go-cmp/cmp"
)

func TestWriteReport(t *testing.T) {
	rdb, _ := redistest.Setup(t, 1)
	store := NewStore(rdb)
	ctx := t.Context()
	c, err := store.Upload(ctx, mustFile(t), "contacts.csv", opener(contactsCSV), &fakeEnqueuer{}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 21, 17, 0, 0, 123e6, time.UTC)
	if _, err := store.ClaimAttempt(ctx, c.ID, 1, 1, "w"); err != nil {
		t.Fatal(err)
	}
	r := Result{Outcome: OutcomeCompleted, CallID: "CC-1", StartedAt: start, EndedAt: start.Add(90 * time.Second),
		PhoneCallStatus: "completed", EndedBy: "assistant", SuccessEvaluation: "Good",
		Summary: "Ann confirmed, \"Tuesday\".", StructuredData: `{"confirmed":true}`}
	if err := store.FinishAttempt(ctx, c.ID, 1, 1, r); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Finalize(ctx, c.ID, 1, OutcomeCompleted, ""); err != nil {
		t.Fatal(err)
	}

	var b strings.Builder
	n, err := store.WriteReport(ctx, c.ID, &b)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("wrote %d rows, want 5", n)
	}
	got, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatalf("the report is not CSV: %v\n%s", err, b.String())
	}
	header := append([]string{"First Name", "phone", "note"}, ReportColumns...)
	want := [][]string{
		header,
		{"Ann", "(415) 555-0101", "likes mornings, not evenings", "+14155550101", "completed", "1", "CC-1",
			"2026-11-21T17:00:00Z", "2026-11-21T17:01:30Z", "completed", "assistant", "Good", "Ann confirmed, \"Tuesday\".", `{"confirmed":true}`, ""},
		{"Bob", "not a number", "", "", "invalid", "0", "", "", "", "", "", "", "", "", got[2][len(header)-1]},
		{"Cy", "+1 415 555 0101", "same as Ann", "+14155550101", "duplicate", "0", "", "", "", "", "", "", "", "", "same number +14155550101 as line 2; dialed once, for that line"},
		{"Di", "415.555.0102", "multi\nline", "+14155550102", "pending", "0", "", "", "", "", "", "", "", "", ""},
		// A short row is padded to the header's width.
		{"Ed", "415-555-0103", "", "", "invalid", "0", "", "", "", "", "", "", "", "", "row has 2 fields, header has 3"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if got[2][len(header)-1] == "" {
		t.Error("the invalid row's error cell is empty")
	}
}
